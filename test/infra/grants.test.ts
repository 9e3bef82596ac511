import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import type { StatefulStack } from '../../infra/stateful-stack.js';
import { testApp } from './helpers.js';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** A stateless stack beside the stateful one, with one role bound by `bind`. */
function boundRole(bind: (stateful: StatefulStack, role: Role) => void): { actions: string[]; statements: Statement[] } {
  const app = testApp({ profile: 'voice' });
  const { stateful } = buildApp(app, { nag: false });
  const stateless = new Stack(app, 'Stateless');
  const role = new Role(stateless, 'Fn', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  bind(stateful, role);
  app.synth(); // a dependency cycle between the stacks would throw here
  expect(stateless.dependencies).toContain(stateful);
  expect(stateful.dependencies).not.toContain(stateless);
  const policies = Template.fromStack(stateless).findResources('AWS::IAM::Policy');
  const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  return { actions, statements };
}

const RISKY_S3 = ['s3:PutObject*', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:PutObjectAcl', 's3:*', 's3:BypassGovernanceRetention'];

describe('table grants', () => {
  it('read: queries the table and its indexes and decrypts, but cannot write', () => {
    const { actions, statements } = boundRole((s, role) => s.records.grantRead(role));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem', 'kms:Decrypt']));
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(JSON.stringify(statements)).toContain('/index/*');
  });

  it('readWrite: puts, updates and deletes items and encrypts with the data key', () => {
    const { actions } = boundRole((s, role) => s.control.grantAccess(role, 'readWrite'));
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'kms:Encrypt']),
    );
  });
});

describe('bucket grants', () => {
  it('delete: removes objects and every version, lists versions to find them, needs no key', () => {
    const { actions } = boundRole((s, role) => s.blobs.grantDelete(role, 'media'));
    expect(actions).toEqual(expect.arrayContaining(['s3:DeleteObject*', 's3:ListBucket', 's3:ListBucketVersions']));
    expect(actions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('s3:Put'))).toEqual([]);
  });

  it('put: writes encrypted objects but never sets retention, legal holds or ACLs', () => {
    const { actions } = boundRole((s, role) => s.blobs.grantPut(role, 'recordings'));
    expect(actions).toEqual(expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload', 'kms:GenerateDataKey']));
    for (const risky of RISKY_S3) expect(actions).not.toContain(risky);
  });

  it('readWrite: reads, puts and deletes, still without retention, legal holds or ACLs', () => {
    const { actions } = boundRole((s, role) => s.blobs.grantAccess(role, 'recordings', 'readWrite'));
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*', 'kms:Decrypt']));
    for (const risky of RISKY_S3) expect(actions).not.toContain(risky);
  });

  it('legalHold: sets and reads legal holds on Object Lock buckets', () => {
    const { actions } = boundRole((s, role) => s.blobs.grantLegalHold(role, 'media'));
    expect(actions).toEqual(expect.arrayContaining(['s3:PutObjectLegalHold', 's3:GetObjectLegalHold', 's3:ListBucketVersions']));
    expect(actions).not.toContain('s3:PutObjectRetention');
    expect(actions).not.toContain('s3:DeleteObject*');
  });

  it('legalHold: is refused for the exports bucket, which has no Object Lock', () => {
    expect(() => boundRole((s, role) => s.blobs.grantLegalHold(role, 'exports'))).toThrow(/no Object Lock/);
  });
});
