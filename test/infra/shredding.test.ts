/**
 * Crypto-shredding in the synthesized stacks: the functions that read or
 * write records (whose personal fields are sealed) are told the shredding
 * key's ARN, may read and write the keys table and may generate and unwrap
 * tenants' key-encryption keys under that key, for the `lethe-kek` purpose
 * only; every other function gets none of it.
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { mockClient } from 'aws-sdk-client-mock';
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { LetheFunction, SHREDDING_KEY_PURPOSE } from '../../infra/constructs/lethe-function.js';
import { LetheRuntime, SHREDDING_KEY_VARIABLE, type FunctionAccess } from '../../infra/constructs/lethe-runtime.js';
import { ValidationError } from '../../infra/errors.js';
import { KmsKeyWrapper } from '../../shared/adapters/crypto/kms-wrapper.js';
import { readLambdaConfig } from '../../shared/config/lambda-env.js';
import { loadProfile, PROFILE_NAMES } from '../../shared/config/profiles.js';
import { capabilitiesOf, statementsOf, testApp } from './helpers.js';

type Json = Record<string, any>;

/** What CloudFormation would put in a variable given as a reference: a URL where one is expected. */
const resolvedAtDeploy = (name: string): string => (name === 'PUBLIC_API_URL' ? 'https://abc123.execute-api.eu-west-1.amazonaws.com' : `resolved-${name}`);

function synth(profile: string) {
  const app = testApp({ profile, mailFrom: 'alerts@lethe.example' });
  const lethe = buildApp(app, { nag: false });
  const stack = lethe.stateless;
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const exported = (value: string) => stack.resolve(lethe.stateful.exportValue(value)) as { 'Fn::ImportValue': string };
  const functions = stack.node.findAll().filter((c): c is LetheFunction => c instanceof LetheFunction);
  const variables = (fn: LetheFunction): Json => resources[stack.getLogicalId(fn.function.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
  const capabilities = (fn: LetheFunction) => capabilitiesOf(lethe, resources, fn.function);
  return { app, lethe, stack, resources, exported, functions, variables, capabilities };
}

/** The functions that read or write the records table, by construct id. */
const RECORD_FUNCTIONS = ['BlobGuard', 'CustomersFunction', 'DeletionWorker', 'HoldWorker', 'IngestFunction', 'PolicyFunction', 'PrivacyFunction', 'PrivacyWorker', 'SweepStage'];
const OTHER_FUNCTIONS = ['AuditFunction', 'HoldsFunction', 'OpenapiFunction', 'RunsFunction', 'SweepLifecycle', 'SweepListTenants', 'TenantsFunction'];

describe.each(PROFILE_NAMES)('the shredding key under the %s profile', (profile) => {
  const s = synth(profile);
  const keyArn = s.exported(s.lethe.stateful.shreddingKey.keyArn);
  const touchesRecords = (fn: LetheFunction) => s.capabilities(fn).some((c) => c.startsWith('records:'));

  it('finds the functions that read or write records, and the others', () => {
    const ids = (list: LetheFunction[]) => list.map((fn) => fn.node.id).sort();
    expect(ids(s.functions.filter(touchesRecords))).toEqual(RECORD_FUNCTIONS);
    expect(ids(s.functions.filter((fn) => !touchesRecords(fn)))).toEqual(OTHER_FUNCTIONS);
  });

  it('tells every function that touches records the key ARN, and lets it read and write the keys table and generate and unwrap under the key', () => {
    for (const fn of s.functions.filter(touchesRecords)) {
      expect(s.variables(fn)[SHREDDING_KEY_VARIABLE], fn.node.id).toEqual(keyArn);
      expect(s.capabilities(fn), fn.node.id).toEqual(expect.arrayContaining(['keys:read', 'keys:write', 'shredding:generate', 'shredding:unwrap']));
    }
  });

  it('gives the other functions neither the key, its ARN, nor the keys table', () => {
    for (const fn of s.functions.filter((f) => !touchesRecords(f))) {
      expect(s.variables(fn), fn.node.id).not.toHaveProperty(SHREDDING_KEY_VARIABLE);
      expect(s.capabilities(fn).filter((c) => c.startsWith('keys:') || c.startsWith('shredding:')), fn.node.id).toEqual([]);
      expect(JSON.stringify(statementsOf(s.resources, fn.function)), fn.node.id).not.toContain(keyArn['Fn::ImportValue']);
    }
  });

  it('grants GenerateDataKey and Decrypt on the key alone, only with a tenant and the lethe-kek purpose in the encryption context', () => {
    for (const fn of s.functions.filter(touchesRecords)) {
      const onKey = statementsOf(s.resources, fn.function).filter((st) => JSON.stringify(st.Resource).includes(keyArn['Fn::ImportValue']));
      expect(onKey, fn.node.id).toEqual([
        {
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: keyArn,
          Condition: {
            StringEquals: { 'kms:EncryptionContext:purpose': SHREDDING_KEY_PURPOSE },
            Null: { 'kms:EncryptionContext:tenant': 'false' },
          },
        },
      ]);
    }
  });

  it('lets nothing but those functions use the key: no state machine, queue or other role', () => {
    const roles = new Set(s.functions.filter(touchesRecords).map((fn) => s.stack.getLogicalId(fn.function.role!.node.defaultChild as CfnElement)));
    const policies = Object.values(s.resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes(keyArn['Fn::ImportValue']));
    for (const policy of policies) {
      for (const role of policy.Properties.Roles as Json[]) expect(roles.has(role.Ref as string), role.Ref).toBe(true);
    }
    expect(policies.length).toBe(roles.size);
  });

  it('is read by the Lambda runtime config exactly where it is set', () => {
    for (const fn of s.functions) {
      const env = Object.fromEntries(Object.entries(s.variables(fn)).map(([k, v]) => [k, typeof v === 'string' ? v : resolvedAtDeploy(k)]));
      const config = readLambdaConfig({ AWS_REGION: 'eu-west-1', ...env });
      expect(config.shreddingKeyArn !== undefined, fn.node.id).toBe(touchesRecords(fn));
    }
  });
});

describe('the KMS calls the runtime makes under the shredding key', () => {
  it('carry the tenant and the purpose the grant is conditioned on', async () => {
    const kms = mockClient(KMSClient);
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(8) });
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32) });
    const wrapper = new KmsKeyWrapper(new KMSClient({ region: 'eu-west-1' }), 'arn:aws:kms:eu-west-1:111122223333:key/test');
    const { wrapped } = await wrapper.generate('tenant-a');
    await wrapper.unwrap('tenant-a', wrapped);
    const contexts = [...kms.commandCalls(GenerateDataKeyCommand), ...kms.commandCalls(DecryptCommand)].map((call) => call.args[0].input.EncryptionContext);
    expect(contexts).toEqual([
      { tenant: 'tenant-a', purpose: SHREDDING_KEY_PURPOSE },
      { tenant: 'tenant-a', purpose: SHREDDING_KEY_PURPOSE },
    ]);
    kms.restore();
  });
});

describe('the runtime binding of the keys', () => {
  function runtimeWorld() {
    const app = testApp({ profile: 'voice' });
    const { stateful } = buildApp(app, { nag: false });
    const stack = new Stack(app, 'Functions');
    const runtime = new LetheRuntime({
      records: stateful.records,
      control: stateful.control,
      keys: stateful.keys,
      blobs: stateful.blobs,
      shreddingKey: stateful.shreddingKey,
      referenceSecret: new Secret(stack, 'Secret'),
      platformPolicy: loadProfile('voice'),
      operatorEmails: [],
      mailFrom: 'alerts@lethe.example',
      stageBudget: Duration.minutes(4),
    });
    const make = (id: string, access: FunctionAccess) => runtime.newFunction(stack, id, { functionDir: 'sweep-stage', description: `test ${id}`, access });
    return { make };
  }
  const records = { access: 'read', indexUse: 'The test function reads the records table to prove the keys come with it.' } as const;

  it('refuses a function with records access that says it seals nothing', () => {
    const w = runtimeWorld();
    expect(() => w.make('Reader', { tables: { records }, sealsPersonalData: false })).toThrow(ValidationError);
    expect(() => runtimeWorld().make('Reader', { tables: { records }, sealsPersonalData: false })).toThrow(/sealsPersonalData/);
  });

  it('refuses keys-table access asked for on its own', () => {
    const w = runtimeWorld();
    const access = { tables: { keys: { access: 'read' } } } as unknown as FunctionAccess;
    expect(() => w.make('Sneaky', access)).toThrow(/tables\.keys/);
  });
});
