import { CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { applyFeatureFlags, buildApp } from '../../infra/app.js';
import { LetheEncryptionKey } from '../../infra/constructs/encryption-key.js';
import { LetheFunction } from '../../infra/constructs/lethe-function.js';
import { BUCKET_VARIABLES, TABLE_VARIABLES } from '../../infra/constructs/lethe-runtime.js';
import { ValidationError } from '../../infra/errors.js';
import { groupedLogicalId, isUnderGrouping } from '../../infra/logical-ids.js';
import { StatefulStack } from '../../infra/stateful-stack.js';
import { StatelessStack, type StatelessStackProps } from '../../infra/stateless-stack.js';
import { readLambdaConfig } from '../../shared/config/lambda-env.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { built, testApp } from './helpers.js';

type Json = Record<string, any>;

/** What CloudFormation would put in a variable given as a reference: a URL where one is expected. */
const resolvedAtDeploy = (name: string): string => (name === 'PUBLIC_API_URL' ? 'https://abc123.execute-api.eu-west-1.amazonaws.com' : `resolved-${name}`);

function stateless() {
  const app = testApp({ profile: 'voice', mailFrom: 'alerts@lethe.example' });
  const lethe = buildApp(app, { nag: false });
  const stack = lethe.stateless;
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  // Lethe's own functions (CDK's custom-resource handlers, such as the console bucket's auto-delete, are not bound to the runtime contract).
  const own = new Set(stack.node.findAll().filter((c): c is LetheFunction => c instanceof LetheFunction).map((f) => stack.getLogicalId(f.function.node.defaultChild as CfnElement)));
  const functions = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && own.has(id));
  const imported = (value: string) => stack.resolve(lethe.stateful.exportValue(value)) as Json;
  return { app, lethe, stack, resources, functions, imported };
}

describe('the runtime contract every function is bound to', () => {
  const s = stateless();

  it('gives every function of the stateless stack each variable the Lambda runtime config requires', () => {
    expect(s.functions.length).toBeGreaterThan(0);
    for (const [id, fn] of s.functions) {
      const variables = fn.Properties.Environment.Variables as Json;
      // At deploy time CloudFormation resolves the references; any string stands for them here.
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : resolvedAtDeploy(k)]));
      expect(() => readLambdaConfig({ AWS_REGION: 'eu-west-1', ...env }), id).not.toThrow();
    }
  });

  it('puts each table, bucket and the reference key in its own variable', () => {
    const { stateful } = s.lethe;
    const tables = { records: stateful.recordsTable, control: stateful.controlTable, keys: stateful.keysTable };
    const buckets = { recordings: stateful.recordingsBucket, media: stateful.mediaBucket, exports: stateful.exportsBucket };
    for (const [id, fn] of s.functions) {
      const variables = fn.Properties.Environment.Variables as Json;
      for (const [name, table] of Object.entries(tables)) {
        expect(variables[TABLE_VARIABLES[name as keyof typeof tables]], `${id} ${name}`).toEqual(s.imported(table.tableName));
      }
      for (const [name, bucket] of Object.entries(buckets)) {
        expect(variables[BUCKET_VARIABLES[name as keyof typeof buckets]], `${id} ${name}`).toEqual(s.imported(bucket.bucketName));
      }
      expect(variables.REF_SECRET_ARN, id).toEqual({ Ref: s.stack.getLogicalId(s.stack.referenceSecret.node.defaultChild as CfnElement) });
      expect(variables.MAIL_FROM, id).toBe('alerts@lethe.example');
    }
  });
});

describe('logical ids of the resources the service constructs gathered', () => {
  const s = stateless();
  const elements = s.stack.node.findAll().filter((c): c is CfnElement => CfnElement.isCfnElement(c));

  it('are CDK\'s own wherever no service construct groups the resource', () => {
    const ungrouped = elements.filter((e) => !isUnderGrouping(e));
    expect(ungrouped.length).toBeGreaterThan(10);
    for (const element of ungrouped) expect(groupedLogicalId(element), element.node.path).toBe(s.stack.getLogicalId(element));
  });

  it('are the ids the same resources get at the place they had before the grouping, so a deploy replaces nothing', () => {
    const before = new Stack(testApp(), 'Before');
    const flatStage = new LetheFunction(before, 'SweepStage', { functionDir: 'sweep-stage', description: 'as before' });
    const flatWorker = new LetheFunction(before, 'PrivacyWorker', { functionDir: 'privacy-worker', description: 'as before' });
    const flatApi = new Construct(before, 'AdminApi');
    const flatPool = new UserPool(flatApi, 'UserPool');
    const flatHttpApi = new HttpApi(flatApi, 'Api');
    const flatAudit = new LetheFunction(flatApi, 'AuditFunction', { functionDir: 'api-audit', description: 'as before' });
    const pairs: [Construct, Construct][] = [
      [s.stack.sweep.stageFunction, flatStage.function],
      [s.stack.sweep.stageFunction.role!, flatStage.function.role!],
      [s.stack.privacy.workerFunction, flatWorker.function],
      [s.stack.adminApi.userPool!, flatPool],
      [s.stack.adminApi.api, flatHttpApi],
      [s.stack.adminApi.functionOf('audit'), flatAudit.function],
    ];
    for (const [grouped, flat] of pairs) {
      expect(s.stack.getLogicalId(grouped.node.defaultChild as CfnElement), grouped.node.path).toBe(before.getLogicalId(flat.node.defaultChild as CfnElement));
    }
  });
});

describe('synth-time refusals', () => {
  function statelessWith(props: Partial<StatelessStackProps>) {
    const app = testApp();
    applyFeatureFlags(app);
    const platformPolicy = loadProfile('voice');
    const stateful = new StatefulStack(app, 'Stateful', { platformPolicy });
    return new StatelessStack(app, 'Stateless', { stateful, platformPolicy, operatorEmails: [], mailFrom: 'alerts@lethe.example', ...props });
  }
  const cases: [string, () => unknown, RegExp][] = [
    ['a blank sender address', () => statelessWith({ mailFrom: ' ' }), /mailFrom must be a verified SES sender address/],
    ['an admin route group listed twice', () => statelessWith({ adminApi: { groups: ['audit', 'audit'] } }), /groups lists a group twice/],
    [
      'an external issuer that is not https',
      () => statelessWith({ adminApi: { jwtIssuer: { issuer: 'http://login.lethe.example/', audience: ['lethe'] } } }),
      /must be an https URL/,
    ],
    ['a PITR window past 35 days', () => built({ pitrDays: 40 }), /pointInTimeRecoveryPeriodDays must be an integer from 1 to 35/],
    ['a pitrDays context that is not a number', () => built({ pitrDays: 'two weeks' }), /must be a whole number/],
    [
      'a key rotation period under 90 days',
      () => new LetheEncryptionKey(new Stack(testApp(), 'Keys'), 'Key', { description: 'test', rotationPeriodDays: 30, removalPolicy: RemovalPolicy.DESTROY }),
      /rotationPeriodDays must be an integer from 90 to 2560/,
    ],
  ];

  /** The error `build` throws; fails the test when it throws none. */
  function thrown(build: () => unknown): Error {
    try {
      build();
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a refusal, but the app was built');
  }

  it.each(cases)('refuses %s with a ValidationError that says what to change', (_, build, message) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.name).toBe('ValidationError');
    expect(error.message).toMatch(message);
  });

  it('names the construct whose props it refuses', () => {
    expect(thrown(() => statelessWith({ mailFrom: '' })).message).toMatch(/^Stateless: mailFrom/);
    expect((thrown(() => statelessWith({ adminApi: { groups: ['audit', 'audit'] } })) as ValidationError).constructPath).toBe('Stateless/AdminApi');
  });
});
