import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { acknowledgementsUnder } from '../../infra/acknowledgements.js';
import { buildApp } from '../../infra/app.js';
import { PROFILE_NAMES } from '../../shared/config/profiles.js';
import { built, resourceOf, testApp } from './helpers.js';

describe.each(PROFILE_NAMES)('cdk-nag AwsSolutions on the %s stateful stack', (profile) => {
  const { app, stateful, template } = built({ profile }, { nag: false });

  it('reports no unacknowledged finding, error or warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(stateful);
    expect(report.violations.map((v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges findings only with a specific reason', () => {
    for (const ack of acknowledgementsUnder(stateful)) {
      expect(ack.reason.trim().length, `${ack.ruleId} at ${ack.path}`).toBeGreaterThan(40);
    }
  });

  it('acknowledges exactly one finding: PITR off on the keys table, by design', () => {
    const acks = acknowledgementsUnder(stateful);
    expect(acks.map((a) => a.ruleId)).toEqual(['AwsSolutions-DDB3']);
    expect(acks[0]?.path.startsWith(stateful.keys.node.path)).toBe(true);
    expect(acks[0]?.reason).toMatch(/crypto-shredding/);
    expect(resourceOf(template, stateful.keysTable).Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: false,
    });
  });
});

describe('cdk-nag at synth', () => {
  it('passes for the app as bin/app.ts builds it', () => {
    const app = testApp({ profile: 'voice' });
    buildApp(app);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const app = testApp({ profile: 'voice' });
    const { stateful } = buildApp(app);
    new Bucket(stateful, 'Careless');
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });
});
