import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { applyFeatureFlags, buildApp, FEATURE_FLAGS, stackName } from '../../infra/app.js';
import { ValidationError } from '../../infra/errors.js';
import { UnknownProfileError } from '../../shared/config/profiles.js';
import { built, NO_BUNDLING, resourceOf, testApp } from './helpers.js';

describe('buildApp', () => {
  it('deploys the conversations profile when no profile is given', () => {
    const { profile, stateful } = built();
    expect(profile).toBe('conversations');
    expect(stateful.stackName).toBe('Lethe-conversations-Stateful');
  });

  it('takes the profile from the context', () => {
    const { profile, stateful, platformPolicy } = built({ profile: 'call-tracking' });
    expect(profile).toBe('call-tracking');
    expect(platformPolicy.profile).toBe('call-tracking');
    expect(stateful.stackName).toBe(stackName('call-tracking', 'Stateful'));
  });

  it('names the choices when the profile is unknown', () => {
    const app = new App({ context: { ...NO_BUNDLING, profile: 'contact-centre' } });
    expect(() => buildApp(app)).toThrow(UnknownProfileError);
    expect(() => buildApp(new App({ context: { ...NO_BUNDLING, profile: 'contact-centre' } }))).toThrow(
      /unknown profile "contact-centre"; choose one of conversations, voice, chatbot, call-tracking, support-desk/,
    );
  });

  it('reads the PITR window from the pitrDays context, as -c passes it (a string)', () => {
    const { stateful, template } = built({ profile: 'voice', pitrDays: '14' });
    expect(resourceOf(template, stateful.recordsTable).Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
      RecoveryPeriodInDays: 14,
    });
  });

  it('rejects a pitrDays context that is not a whole number', () => {
    expect(() => built({ pitrDays: 'two weeks' })).toThrow(ValidationError);
  });

  it('applies its feature flags unless the context sets them', () => {
    const { app } = built();
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) expect(app.node.tryGetContext(flag)).toBe(value);
    const overridden = testApp({ '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': false });
    applyFeatureFlags(overridden);
    expect(overridden.node.tryGetContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy')).toBe(false);
  });

  it('tags the stateful resources with their profile', () => {
    const { template } = built({ profile: 'chatbot' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      Tags: [{ Key: 'lethe:profile', Value: 'chatbot' }],
    });
  });
});
