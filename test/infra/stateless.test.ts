import { describe, expect, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { acknowledgementsUnder } from '../../infra/acknowledgements.js';
import { buildApp } from '../../infra/app.js';
import { PROFILE_NAMES, loadProfile } from '../../shared/config/profiles.js';
import { renderSweepStateMachine } from '../../shared/local/asl.js';
import { capabilitiesOf, testApp } from './helpers.js';

type Json = Record<string, any>;

function stateless(profile: string, context: Record<string, unknown> = {}) {
  const app = testApp({ profile, mailFrom: 'alerts@lethe.example', ...context });
  const lethe = buildApp(app, { nag: false });
  const template = Template.fromStack(lethe.stateless);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const logicalId = (c: { node: { defaultChild?: unknown } }) => lethe.stateless.getLogicalId(c.node.defaultChild as CfnElement);
  /** Every IAM statement attached to a function's role. */
  const statementsOf = (fn: IFunction): Json[] => {
    const roleId = lethe.stateless.getLogicalId(fn.role!.node.defaultChild as CfnElement);
    return Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
  };
  const actionsOf = (fn: IFunction): string[] => statementsOf(fn).flatMap((s) => [s.Action].flat());
  return { app, lethe, template, resources, logicalId, statementsOf, actionsOf, sweep: lethe.stateless.sweep };
}

type Stateless = ReturnType<typeof stateless>;

/** What a function may do, in words (see capabilitiesOf). */
const capabilities = (s: Stateless, fn: IFunction): string[] => capabilitiesOf(s.lethe, s.resources, fn);

/** Follows `Next` from a state, collecting the states visited in a Map's processor. */
function chain(states: Json, from: string, until: string): string[] {
  const out: string[] = [];
  let name: string | undefined = from;
  while (name !== undefined && name !== until) {
    out.push(name);
    const state: Json = states[name];
    name = state.Type === 'Choice' ? state.Choices.find((c: Json) => c.BooleanEquals === true)?.Next : state.Next;
  }
  return out;
}

describe('the Sweep state machine', () => {
  const { definition } = renderSweepStateMachine(loadProfile('voice'));
  const map = (definition.States as Json)['Sweep groups'];
  const states = map.ItemProcessor.States as Json;

  it('lists tenants in groups to a manifest, then sweeps the groups in a Distributed Map bounded by the profile concurrency', () => {
    expect(definition.StartAt).toBe('List tenants');
    expect((definition.States as Json)['List tenants'].Parameters.Payload).toEqual({ 'runId.$': '$$.Execution.Name', 'request.$': '$' });
    expect((definition.States as Json)['List tenants'].Next).toBe('Sweep groups');
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ItemReader.Parameters).toEqual({ 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' });
    expect(map.MaxConcurrency).toBe(loadProfile('voice').sweep.tenantConcurrency);
    expect(map.ItemSelector).toMatchObject({ 'runId.$': '$.runId', 'tenantIds.$': '$$.Map.Item.Value.tenantIds' });
  });

  it('runs the four stages in order between starting and finishing the runs of a group', () => {
    const path = chain(states, map.ItemProcessor.StartAt, 'Finish runs');
    const stages = path.filter((s) => /^Stage \d \w+$/.test(s));
    expect(stages).toEqual(['Stage 1 blobs', 'Stage 2 external', 'Stage 3 records', 'Stage 4 subjects']);
    expect(path[0]).toBe('Start runs');
  });

  it('hands every task the whole group of tenants', () => {
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Task')) {
      expect((state as Json).Parameters.Payload['tenantIds.$'], name).toBe('$.tenantIds');
    }
  });

  it('loops each stage on its continuation until the chunk says done', () => {
    for (const n of [1, 2, 3, 4]) {
      const label = Object.keys(states).find((s) => new RegExp(`^Stage ${n} \\w+$`).test(s))!;
      const choice = states[`${label}: done?`];
      expect(states[label].Next).toBe(`${label}: done?`);
      expect(choice.Default).toBe(`${label}: continue`);
      expect(states[`${label}: continue`].Next).toBe(label);
      expect(states[label].Parameters.Payload['continuation.$']).toBe('$.continuation');
    }
  });

  it('gives each stage chunk longer than its function may run, so a retry never overlaps a running attempt', () => {
    const built = stateless('voice');
    const fn = built.resources[built.logicalId(built.sweep.stageFunction)]!.Properties;
    for (const n of [1, 2, 3, 4]) {
      const label = Object.keys(states).find((s) => new RegExp(`^Stage ${n} \\w+$`).test(s))!;
      expect(states[label].TimeoutSeconds, label).toBeGreaterThan(fn.Timeout);
    }
  });

  it('retries throttling and killed invocations with backoff and full jitter', () => {
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Task')) {
      const retry = (state as Json).Retry[0];
      expect(retry.ErrorEquals, name).toEqual(expect.arrayContaining(['Lambda.TooManyRequestsException', 'Sandbox.Timedout', 'ThrottlingException']));
      expect(retry.BackoffRate).toBe(2);
      expect(retry.JitterStrategy).toBe('FULL');
    }
  });

  it('catches a failed stage, records it and moves on to the next stage', () => {
    const catcher = states['Stage 2 external'].Catch[0];
    expect(catcher.ErrorEquals).toEqual(['States.ALL']);
    expect(catcher.Next).toBe('Stage 2 external: record failure');
    expect(states['Stage 2 external: record failure'].Next).toBe('Stage 3 records: begin');
    expect(states['Stage 4 subjects: record failure'].Next).toBe('Finish runs');
  });

  it('alerts only when the finished run is critical', () => {
    const choice = states['Critical?'];
    expect(states['Finish runs'].Next).toBe('Critical?');
    expect(choice.Choices[0]).toMatchObject({ Variable: '$.outcome.critical', BooleanEquals: true, Next: 'Alert admins' });
    expect(choice.Default).toBe('Group runs done');
  });
});

describe.each(PROFILE_NAMES)('the %s stateless stack', (profile) => {
  const s = stateless(profile);
  const platform = loadProfile(profile);

  it('schedules the sweep at the profile cadence, with retries and a dead-letter queue', () => {
    const schedule = Object.values(s.resources).find((r) => r.Type === 'AWS::Scheduler::Schedule')!;
    const minutes = platform.sweep.cadenceMinutes;
    const expression = minutes % 1440 === 0 ? `rate(${minutes / 1440} day${minutes === 1440 ? '' : 's'})` : minutes % 60 === 0 ? `rate(${minutes / 60} hour${minutes === 60 ? '' : 's'})` : `rate(${minutes} minutes)`;
    expect(schedule.Properties.ScheduleExpression).toBe(expression);
    expect(schedule.Properties.Target.RetryPolicy.MaximumRetryAttempts).toBe(5);
    expect(schedule.Properties.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [s.logicalId(s.sweep.scheduleDeadLetterQueue), 'Arn'] });
    expect(schedule.Properties.Target.Arn).toEqual({ Ref: s.logicalId(s.sweep.stateMachine) });
  });

  it('runs every function on Node.js 22, ARM64, traced, with a log group that has a retention', () => {
    for (const fn of [s.sweep.listTenantsFunction, s.sweep.stageFunction, s.sweep.lifecycleFunction]) {
      const props = s.resources[s.logicalId(fn)]!.Properties;
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      const logGroupId = props.LoggingConfig.LogGroup.Ref as string;
      expect(s.resources[logGroupId]!.Properties.RetentionInDays).toBeGreaterThan(0);
      expect(props.Environment.Variables.PLATFORM_POLICY).toBe(JSON.stringify(platform));
    }
  });

  it('lets the tenant lister only read control data', () => {
    const actions = s.actionsOf(s.sweep.listTenantsFunction);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query']));
    expect(actions.filter((a) => /dynamodb:(Put|Delete|Update|BatchWrite)/.test(a) || a.startsWith('ses:'))).toEqual([]);
    // Its one write: the run's manifest of groups, in the exports bucket.
    expect(capabilities(s, s.sweep.listTenantsFunction).filter((c) => /^(recordings|media|exports):/.test(c))).toEqual(['exports:put']);
  });

  it('lets the stage function delete records and blobs, but not write blobs or send mail', () => {
    const actions = s.actionsOf(s.sweep.stageFunction);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchWriteItem', 's3:DeleteObject*', 's3:ListBucketVersions']));
    expect(actions.filter((a) => /^s3:(PutObject|PutObjectRetention|PutObjectLegalHold|PutBucket)/.test(a) || a.startsWith('ses:'))).toEqual([]);
  });

  it('lets the stage function start Hold executions only (the release of holds that expired), and tells it which', () => {
    const starts = s.statementsOf(s.sweep.stageFunction).filter((st) => [st.Action].flat().some((a: string) => a.startsWith('states:')));
    const holdMachine = s.logicalId(s.lethe.stateless.holds.stateMachine);
    expect(starts.map((st) => [st.Action, st.Resource])).toEqual([['states:StartExecution', { Ref: holdMachine }]]);
    const env = s.resources[s.logicalId(s.sweep.stageFunction)]!.Properties.Environment.Variables as Record<string, unknown>;
    expect(env.HOLD_STATE_MACHINE_ARN).toEqual({ Ref: holdMachine });
  });

  it('lets the lifecycle function send mail only as the configured sender, and never touch records or blobs', () => {
    const statements = s.statementsOf(s.sweep.lifecycleFunction);
    const ses = statements.filter((st) => [st.Action].flat().includes('ses:SendEmail'));
    const arns = JSON.stringify(ses.map((st) => st.Resource));
    expect(arns).toContain('identity/alerts@lethe.example');
    expect(arns).toContain('identity/lethe.example');
    expect(arns).not.toContain('identity/*');
    const recordsTableId = s.lethe.stateful.getLogicalId(s.lethe.stateful.recordsTable.node.defaultChild as CfnElement);
    expect(JSON.stringify(statements)).not.toContain(recordsTableId);
    // It reads the run's manifest (exports bucket) to close the run, and touches no governed blob.
    expect(capabilities(s, s.sweep.lifecycleFunction).filter((c) => /^(recordings|media|exports):/.test(c))).toEqual(['exports:read']);
  });

  const sweepGrants: [string, (sweep: Stateless['sweep']) => IFunction, string[]][] = [
    ['tenant lister', (sweep) => sweep.listTenantsFunction, ['control:read', 'exports:put', 'kms', 'secret:read', 'xray']],
    [
      'stage function',
      (sweep) => sweep.stageFunction,
      [
        'control:read', 'control:write',
        'events:put',
        // A run's first chunk releases the holds that expired since the last run.
        'hold:start',
        'keys:read', 'keys:write',
        'kms',
        'media:delete', 'media:listVersions',
        'recordings:delete', 'recordings:listVersions',
        'records:read', 'records:write',
        'secret:read',
        'shredding:generate', 'shredding:unwrap',
        'xray',
      ],
    ],
    ['lifecycle function', (sweep) => sweep.lifecycleFunction, ['control:read', 'control:write', 'events:put', 'exports:read', 'kms', 'secret:read', 'ses:send', 'xray']],
  ];
  it.each(sweepGrants)('grants the sweep %s exactly what its part of the sweep uses', (_, fnOf, expected) => {
    expect(capabilities(s, fnOf(s.sweep))).toEqual(expected);
  });

  it('runs the privacy worker on Node.js 22, ARM64, traced, for up to 15 minutes with 1 GB, with the sweep functions\' environment', () => {
    const worker = s.resources[s.logicalId(s.lethe.stateless.privacy.workerFunction)]!.Properties;
    const stage = s.resources[s.logicalId(s.sweep.stageFunction)]!.Properties;
    expect(worker).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' }, Timeout: 900, MemorySize: 1024 });
    const { HOLD_STATE_MACHINE_ARN: _releasesExpiredHolds, ...shared } = stage.Environment.Variables;
    // The worker builds download links (access exports); the stage does not (test/infra/download-links.test.ts).
    const { PUBLIC_API_URL: _links, ...workerEnv } = worker.Environment.Variables;
    expect(workerEnv).toEqual(shared);
  });

  it('lets the privacy worker do what the three kinds of request need, and nothing more', () => {
    expect(capabilities(s, s.lethe.stateless.privacy.workerFunction)).toEqual([
      'control:read', 'control:write',
      'events:put',
      'exports:put', 'exports:read',
      'keys:read', 'keys:write',
      'kms',
      'media:delete', 'media:listVersions', 'media:read',
      'recordings:delete', 'recordings:listVersions', 'recordings:read',
      'records:read', 'records:write',
      'secret:read',
      'ses:send',
      'shredding:generate', 'shredding:unwrap',
      'xray',
    ]);
    const actions = s.actionsOf(s.lethe.stateless.privacy.workerFunction);
    expect(actions.filter((a) => /^s3:(PutObjectLegalHold|PutObjectRetention|PutObjectAcl|PutBucket|BypassGovernanceRetention)/.test(a) || a.startsWith('states:'))).toEqual([]);
  });

  it('lets the privacy worker send mail only as the configured sender', () => {
    const ses = s.statementsOf(s.lethe.stateless.privacy.workerFunction).filter((st) => [st.Action].flat().includes('ses:SendEmail'));
    const arns = JSON.stringify(ses.map((st) => st.Resource));
    expect(arns).toContain('identity/alerts@lethe.example');
    expect(arns).toContain('identity/lethe.example');
    expect(arns).not.toContain('identity/*');
  });

  it('lets the PrivacyRequest state machine invoke its worker and no other function', () => {
    const machine = s.lethe.stateless.privacy.stateMachine;
    const roleId = s.logicalId(machine.role);
    const invokes = Object.values(s.resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[])
      .filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'));
    const workerId = s.logicalId(s.lethe.stateless.privacy.workerFunction);
    expect(invokes.flatMap((st) => [st.Resource].flat())).toEqual([
      { 'Fn::GetAtt': [workerId, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [workerId, 'Arn'] }, ':*']] },
    ]);
    expect(s.resources[s.logicalId(machine)]!.Properties).toMatchObject({ StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
  });

  it('synthesizes with cdk-nag and no unacknowledged finding, each acknowledgement with a reason', () => {
    const app = testApp({ profile, mailFrom: 'alerts@lethe.example' });
    const { stateless: stack } = buildApp(app);
    expect(() => app.synth()).not.toThrow();
    for (const ack of acknowledgementsUnder(stack)) expect(ack.reason.trim().length, ack.ruleId).toBeGreaterThan(40);
  });
});
