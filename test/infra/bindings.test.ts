import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { acknowledgementsUnder, REASONS } from '../../infra/acknowledgements.js';
import { applyFeatureFlags } from '../../infra/app.js';
import { LetheFunction } from '../../infra/constructs/lethe-function.js';
import { LetheRuntime } from '../../infra/constructs/lethe-runtime.js';
import { ValidationError } from '../../infra/errors.js';
import { StatefulStack } from '../../infra/stateful-stack.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { testApp } from './helpers.js';

type Json = Record<string, any>;

/** A stateful stack and a stack of functions beside it, in one app without bundling. */
function world() {
  const app = testApp();
  applyFeatureFlags(app);
  const stateful = new StatefulStack(app, 'Stateful', { platformPolicy: loadProfile('voice') });
  const stack = new Stack(app, 'Functions');
  const newFunction = (id: string) => new LetheFunction(stack, id, { functionDir: 'sweep-stage', description: `test function ${id}` });
  /** The export name a cross-stack reference to a stateful value gets, as the template writes it. */
  const imported = (value: string) => stack.resolve(stateful.exportValue(value)) as { 'Fn::ImportValue': string };
  const synth = () => {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
    const logicalId = (fn: LetheFunction) => stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
    const variables = (fn: LetheFunction): Json => resources[logicalId(fn)]!.Properties.Environment.Variables;
    const statements = (fn: LetheFunction): Json[] => {
      const roleId = stack.getLogicalId(fn.function.role!.node.defaultChild as CfnElement);
      return Object.values(resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
        .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
    };
    /** Actions granted on resources whose ARN mentions `ref` (an export name, a logical id). */
    const actionsOn = (fn: LetheFunction, ref: string): string[] =>
      statements(fn)
        .filter((s) => JSON.stringify(s.Resource).includes(ref))
        .flatMap((s) => [s.Action].flat() as string[]);
    return { resources, variables, statements, actionsOn };
  };
  return { app, stateful, stack, newFunction, imported, synth };
}

const INDEX_USE = 'The test function queries the byRetention index to prove the binding acknowledges it.';

describe('LetheFunction.bindTable', () => {
  const w = world();
  const reader = w.newFunction('Reader');
  reader.bindTable(w.stateful.records, { envVar: 'RECORDS_TABLE', access: 'read', indexUse: INDEX_USE });
  const writer = w.newFunction('Writer');
  writer.bindTable(w.stateful.control, { envVar: 'CONTROL_TABLE', access: 'readWrite' });
  const nameOnly = w.newFunction('NameOnly');
  nameOnly.bindTable(w.stateful.keys, { envVar: 'KEYS_TABLE', access: 'none' });
  const s = w.synth();
  const recordsArn = w.imported(w.stateful.recordsTable.tableArn)['Fn::ImportValue'];
  const controlArn = w.imported(w.stateful.controlTable.tableArn)['Fn::ImportValue'];

  it('puts the table name in the variable it is given', () => {
    expect(s.variables(reader).RECORDS_TABLE).toEqual(w.imported(w.stateful.recordsTable.tableName));
    expect(s.variables(writer).CONTROL_TABLE).toEqual(w.imported(w.stateful.controlTable.tableName));
    expect(s.variables(nameOnly).KEYS_TABLE).toEqual(w.imported(w.stateful.keysTable.tableName));
  });

  it('grants read access with it: queries the table and its indexes, writes nothing', () => {
    const actions = s.actionsOn(reader, recordsArn);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem']));
    expect(actions.filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
    expect(JSON.stringify(s.statements(reader))).toContain('/index/*');
  });

  it('grants readWrite access with it, on that table only', () => {
    expect(s.actionsOn(writer, controlArn)).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']));
    expect(s.actionsOn(writer, recordsArn)).toEqual([]);
  });

  it('grants nothing for access none: the function only knows the name', () => {
    expect(s.statements(nameOnly).flatMap((st) => [st.Action].flat()).filter((a: string) => a.startsWith('dynamodb:'))).toEqual([]);
  });

  it('acknowledges the index wildcard with the reason given, and the key wildcards of a write', () => {
    const readerAcks = acknowledgementsUnder(reader);
    expect(readerAcks).toContainEqual(expect.objectContaining({ ruleId: `AwsSolutions-IAM5[Resource::${recordsArn}/index/*]`, reason: INDEX_USE }));
    expect(readerAcks.map((a) => a.ruleId)).not.toContain('AwsSolutions-IAM5[Action::kms:GenerateDataKey*]');
    expect(acknowledgementsUnder(writer)).toContainEqual(
      expect.objectContaining({ ruleId: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: REASONS.tableKeyWrite }),
    );
  });

  it('refuses a table with indexes granted without saying why the function may query them', () => {
    const fresh = world();
    const fn = fresh.newFunction('Careless');
    expect(() => fn.bindTable(fresh.stateful.records, { envVar: 'RECORDS_TABLE', access: 'readWrite' })).toThrow(ValidationError);
    expect(() => fn.bindTable(fresh.stateful.records, { envVar: 'RECORDS_TABLE', access: 'readWrite' })).toThrow(/indexUse/);
  });
});

describe('LetheFunction.bindBucket', () => {
  const w = world();
  const deleter = w.newFunction('Deleter');
  deleter.bindBucket(w.stateful.blobs, 'media', { envVar: 'MEDIA_BUCKET', access: ['delete'], objectUse: 'The test function deletes media objects and all their versions.' });
  deleter.bindBucket(w.stateful.blobs, 'exports', { envVar: 'EXPORTS_BUCKET', access: [] });
  const s = w.synth();
  const mediaArn = w.imported(w.stateful.mediaBucket.bucketArn)['Fn::ImportValue'];
  const exportsArn = w.imported(w.stateful.exportsBucket.bucketArn)['Fn::ImportValue'];

  it('puts the bucket name in the variable and grants the object actions asked for, on that bucket only', () => {
    expect(s.variables(deleter).MEDIA_BUCKET).toEqual(w.imported(w.stateful.mediaBucket.bucketName));
    expect(s.variables(deleter).EXPORTS_BUCKET).toEqual(w.imported(w.stateful.exportsBucket.bucketName));
    expect(s.actionsOn(deleter, mediaArn)).toEqual(expect.arrayContaining(['s3:DeleteObject*', 's3:ListBucketVersions']));
    expect(s.actionsOn(deleter, mediaArn).filter((a) => a.startsWith('s3:Put') || a.startsWith('s3:GetObject'))).toEqual([]);
    expect(s.actionsOn(deleter, exportsArn)).toEqual([]);
  });

  it('acknowledges the object wildcard with the use given', () => {
    expect(acknowledgementsUnder(deleter)).toContainEqual(
      expect.objectContaining({ ruleId: `AwsSolutions-IAM5[Resource::${mediaArn}/*]`, reason: 'The test function deletes media objects and all their versions.' }),
    );
  });

  it('refuses object access without saying what the objects are used for', () => {
    const fresh = world();
    const fn = fresh.newFunction('Careless');
    expect(() => fn.bindBucket(fresh.stateful.blobs, 'recordings', { envVar: 'RECORDINGS_BUCKET', access: ['read'] })).toThrow(ValidationError);
  });
});

describe('LetheFunction secret, state machine and mail bindings', () => {
  const w = world();
  const secret = new Secret(w.stack, 'Secret');
  const machine = new StateMachine(w.stack, 'Machine', { definitionBody: DefinitionBody.fromChainable(new Pass(w.stack, 'Nothing')) });
  const starter = w.newFunction('Starter');
  starter.bindSecret(secret, { envVar: 'REF_SECRET_ARN', access: 'read' });
  starter.bindStateMachine(machine, { envVar: 'SWEEP_STATE_MACHINE_ARN', access: 'start' });
  starter.bindMailSender('alerts@lethe.example', { envVar: 'MAIL_FROM', access: 'send' });
  const quiet = w.newFunction('Quiet');
  quiet.bindSecret(secret, { envVar: 'REF_SECRET_ARN', access: 'none' });
  quiet.bindMailSender('alerts@lethe.example', { envVar: 'MAIL_FROM', access: 'none' });
  const s = w.synth();
  const id = (c: Construct) => w.stack.getLogicalId(c.node.defaultChild as CfnElement);

  it('tells the function the ARN of the state machine and lets it start executions of that one only', () => {
    expect(s.variables(starter).SWEEP_STATE_MACHINE_ARN).toEqual({ Ref: id(machine) });
    const starts = s.statements(starter).filter((st) => [st.Action].flat().some((a: string) => a.startsWith('states:')));
    expect(starts.map((st) => [st.Action, st.Resource])).toEqual([['states:StartExecution', { Ref: id(machine) }]]);
  });

  it('tells the function the secret ARN, and lets it read the value only with read access', () => {
    expect(s.variables(starter).REF_SECRET_ARN).toEqual({ Ref: id(secret) });
    expect(s.variables(quiet).REF_SECRET_ARN).toEqual({ Ref: id(secret) });
    expect(s.actionsOn(starter, id(secret))).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue']));
    expect(s.actionsOn(quiet, id(secret))).toEqual([]);
  });

  it('lets a sender send only as the address and its domain, and a function told the address send nothing', () => {
    expect(s.variables(starter).MAIL_FROM).toBe('alerts@lethe.example');
    expect(s.variables(quiet).MAIL_FROM).toBe('alerts@lethe.example');
    const ses = s.statements(starter).filter((st) => [st.Action].flat().includes('ses:SendEmail'));
    const identities = JSON.stringify(ses.map((st) => st.Resource));
    expect(identities).toContain('identity/alerts@lethe.example');
    expect(identities).toContain('identity/lethe.example');
    expect(identities).not.toContain('identity/*');
    expect(s.statements(quiet).filter((st) => [st.Action].flat().includes('ses:SendEmail'))).toEqual([]);
  });

  it('refuses to set one variable twice', () => {
    const fn = w.newFunction('Twice');
    fn.bindSecret(secret, { envVar: 'REF_SECRET_ARN', access: 'none' });
    expect(() => fn.bindMailSender('alerts@lethe.example', { envVar: 'REF_SECRET_ARN', access: 'none' })).toThrow(ValidationError);
  });
});

describe('the acknowledgements a bound function carries', () => {
  /** A service added later, written the way the Hold workflow's worker would be: no acknowledgement of its own. */
  class NewService extends Construct {
    readonly worker: LetheFunction;
    constructor(scope: Construct, id: string, runtime: LetheRuntime) {
      super(scope, id);
      this.worker = runtime.newFunction(this, 'Worker', {
        functionDir: 'sweep-stage',
        description: 'A service added later',
        access: {
          tables: { records: { access: 'readWrite', indexUse: INDEX_USE }, control: { access: 'readWrite' } },
          buckets: {
            recordings: { access: ['legalHold', 'read'], objectUse: 'Sets legal holds on the recordings of the records in scope.' },
            media: { access: ['legalHold'], objectUse: 'Sets legal holds on the media of the records in scope.' },
          },
          readsReferenceSecret: true,
        },
      });
    }
  }
  const w = world();
  const runtime = new LetheRuntime({
    records: w.stateful.records,
    control: w.stateful.control,
    keys: w.stateful.keys,
    blobs: w.stateful.blobs,
    shreddingKey: w.stateful.shreddingKey,
    referenceSecret: new Secret(w.stack, 'Secret'),
    platformPolicy: loadProfile('voice'),
    operatorEmails: [],
    mailFrom: 'alerts@lethe.example',
    stageBudget: Duration.minutes(4),
  });
  const service = new NewService(w.stack, 'NewService', runtime);
  w.synth();

  it('acknowledges the findings every function has, once each, with the reasons written in one place', () => {
    const acks = acknowledgementsUnder(service.worker);
    const fn = service.worker.function;
    expect(acks).toContainEqual(expect.objectContaining({ ruleId: 'AwsSolutions-L1', path: fn.node.defaultChild!.node.path, reason: REASONS.pinnedRuntime }));
    expect(acks).toContainEqual(expect.objectContaining({ path: fn.role!.node.defaultChild!.node.path, reason: REASONS.basicExecutionRole }));
    expect(acks).toContainEqual(expect.objectContaining({ ruleId: 'AwsSolutions-IAM5[Resource::*]', reason: REASONS.functionTracing }));
    const keys = acks.map((a) => `${a.path} ${a.ruleId}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('lets a new service pass cdk-nag without a hand-written acknowledgement', () => {
    // Checked on the service only: the secret is the stack's, which acknowledges its rotation finding itself.
    const report = new AwsSolutionsChecks(w.app).validateScope(service);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
