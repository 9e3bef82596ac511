/**
 * The Sweep's Distributed Map as synthesized: the ItemReader over the run's
 * manifest, bounded concurrency, a tolerated-failure threshold, the closing
 * step whichever way the map ends, and the IAM a Distributed Map needs (start
 * its own child executions, read the manifest and decrypt it) and no more.
 */
import { describe, expect, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { buildApp } from '../../infra/app.js';
import { SweepWorkflow } from '../../infra/constructs/sweep-workflow.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { renderSweepStateMachine } from '../../shared/local/asl.js';
import { testApp } from './helpers.js';

type Json = Record<string, any>;

const built = () => {
  const lethe = buildApp(testApp({ profile: 'voice', mailFrom: 'alerts@lethe.example' }), { nag: false });
  const resources = Template.fromStack(lethe.stateless).toJSON().Resources as Record<string, Json>;
  const machine = lethe.stateless.sweep.stateMachine;
  const roleId = lethe.stateless.getLogicalId(machine.role.node.defaultChild as CfnElement);
  const statements = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
  return { lethe, resources, machine, statements, machineId: lethe.stateless.getLogicalId(machine.node.defaultChild as CfnElement) };
};

describe('the Sweep state machine\'s Distributed Map', () => {
  const { definition } = renderSweepStateMachine(loadProfile('voice'));
  const states = definition.States as Json;
  const map = states['Sweep groups'];

  it('reads the groups from the manifest the list step wrote, one Standard child execution per group', () => {
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' },
    });
    expect(map.ItemsPath).toBeUndefined();
    expect(map.ItemSelector).toEqual({ 'tenantIds.$': '$$.Map.Item.Value.tenantIds', 'runId.$': '$.runId', 'dryRun.$': '$.dryRun' });
  });

  it('bounds the concurrency by the profile and tolerates some failed groups', () => {
    expect(map.MaxConcurrency).toBe(loadProfile('voice').sweep.tenantConcurrency);
    expect(map.ToleratedFailurePercentage).toBe(10);
    expect(map.Label).toBe('SweepGroups');
  });

  it('closes the run after the map whether it succeeded or failed, then fails the execution when the map did', () => {
    expect(map.Next).toBe('Close runs');
    expect(states['Close runs'].Parameters.Payload).toMatchObject({ action: 'close', 'runId.$': '$.runId', 'manifest.$': '$.manifest', 'dryRun.$': '$.dryRun' });
    expect(states['Close runs'].Next).toBe('Sweep done');
    expect(map.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: 'Close runs after failure' }]);
    expect(states['Close runs after failure'].Next).toBe('Sweep groups failed');
    expect(states['Sweep groups failed'].Type).toBe('Fail');
  });

  it('keeps each child\'s output empty, so the collected results stay small', () => {
    const child = map.ItemProcessor.States as Json;
    expect(child['Group runs done'].OutputPath).toBeNull();
    expect(child['Group runs not completed'].OutputPath).toBeNull();
  });
});

describe('the Sweep state machine\'s IAM', () => {
  const { statements, machineId } = built();
  const exportsBucketArn = (s: Json) => JSON.stringify(s.Resource);

  it('may start, describe and stop its own executions (the map\'s children), and no other state machine\'s', () => {
    const states = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('states:')));
    const start = states.find((s) => [s.Action].flat().includes('states:StartExecution'))!;
    expect(start.Resource).toEqual({ Ref: machineId });
    const describe = states.find((s) => [s.Action].flat().includes('states:DescribeExecution'))!;
    expect([describe.Action].flat()).toEqual(expect.arrayContaining(['states:DescribeExecution', 'states:StopExecution']));
    expect(JSON.stringify(describe.Resource)).toContain(machineId);
    for (const s of states) expect(JSON.stringify(s.Resource), JSON.stringify(s.Action)).toContain(machineId);
  });

  it('may read only the sweep manifests of the exports bucket, and decrypt them', () => {
    const reads = statements.filter((s) => [s.Action].flat().includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    expect(exportsBucketArn(reads[0]!)).toContain('sweeps/*');
    expect(exportsBucketArn(reads[0]!)).toContain('BlobsExports');
    expect(statements.filter((s) => [s.Action].flat().some((a: string) => /^s3:(Put|Delete)/.test(a)))).toEqual([]);
    const kms = statements.filter((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(kms).toHaveLength(1);
    expect([kms[0]!.Action].flat()).toEqual(['kms:Decrypt']);
    expect(JSON.stringify(kms[0]!.Resource)).not.toContain('Shredding');
  });
});

describe('the SweepWorkflow props', () => {
  it('refuses a tolerated-failure percentage outside 0–100 at synth', () => {
    const stack = new Stack(new App(), 'S');
    const fn = new LambdaFunction(stack, 'F', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
    const bucket = new Bucket(stack, 'B', { encryption: BucketEncryption.KMS, encryptionKey: new Key(stack, 'K') });
    expect(
      () =>
        new SweepWorkflow(stack, 'Sweep', {
          listTenantsFunction: fn,
          stageFunction: fn,
          lifecycleFunction: fn,
          tenantConcurrency: 4,
          manifestBucket: bucket,
          stageTimeout: Duration.minutes(6),
          toleratedFailurePercentage: 150,
        }),
    ).toThrow(/toleratedFailurePercentage must be between 0 and 100, got 150/);
  });
});
