import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KEYS_TABLE, RECORDS_TABLE } from '../../shared/adapters/table-definitions.js';
import { LetheTable } from '../../infra/constructs/lethe-table.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { arnOf, built, resourceOf, statefulStack, testApp } from './helpers.js';

const { stateful, template } = built({ profile: 'conversations' });
const records = resourceOf(template, stateful.recordsTable);
const control = resourceOf(template, stateful.controlTable);
const keys = resourceOf(template, stateful.keysTable);
const allTables = { records, control, keys };

function index(name: string): Record<string, any> {
  const found = (records.Properties.GlobalSecondaryIndexes as Record<string, any>[]).find((i) => i.IndexName === name);
  if (found === undefined) throw new Error(`no index ${name}`);
  return found;
}

describe('records table', () => {
  it('expires items through TTL on expiresAt', () => {
    expect(records.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('is keyed by pk and sk', () => {
    expect(records.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  it('has the byRetention index keyed by retentionPk/retentionSk, projecting only what a sweep needs', () => {
    const byRetention = index('byRetention');
    expect(byRetention.KeySchema).toEqual([
      { AttributeName: 'retentionPk', KeyType: 'HASH' },
      { AttributeName: 'retentionSk', KeyType: 'RANGE' },
    ]);
    expect(byRetention.Projection.ProjectionType).toBe('INCLUDE');
    const definition = RECORDS_TABLE.globalSecondaryIndexes.find((i) => i.indexName === 'byRetention');
    expect(byRetention.Projection.NonKeyAttributes).toEqual(definition?.projection);
    expect(byRetention.Projection.NonKeyAttributes).toEqual(expect.arrayContaining(['blobKey', 'status', 'parentSk']));
  });

  it('has the byIdentifier index keyed by identifierPk/identifierSk, projecting the subject reference', () => {
    const byIdentifier = index('byIdentifier');
    expect(byIdentifier.KeySchema).toEqual([
      { AttributeName: 'identifierPk', KeyType: 'HASH' },
      { AttributeName: 'identifierSk', KeyType: 'RANGE' },
    ]);
    expect(byIdentifier.Projection.ProjectionType).toBe('INCLUDE');
    expect(byIdentifier.Projection.NonKeyAttributes).toEqual(expect.arrayContaining(['tenantId', 'subjectId']));
  });

  it('declares the index key attributes as strings', () => {
    expect(records.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        ['retentionPk', 'retentionSk', 'identifierPk', 'identifierSk'].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
      ),
    );
  });
});

describe('keys table', () => {
  it('is keyed as the shared definition says: pk and the sort key sk the key store writes', () => {
    expect(KEYS_TABLE.sortKey).toEqual({ name: 'sk', type: 'S' });
    expect(keys.Properties.KeySchema).toEqual([
      { AttributeName: KEYS_TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: KEYS_TABLE.sortKey!.name, KeyType: 'RANGE' },
    ]);
    expect(keys.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]);
  });

  it('has no index and no TTL: a key goes only when crypto-shredding destroys it', () => {
    expect(keys.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(keys.Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('has PITR off while the records table it unlocks has PITR on', () => {
    expect(keys.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(false);
    expect(records.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
  });

  it('refuses a PITR window asked for it at synth', () => {
    const stack = new Stack(testApp(), 'Tables');
    const encryptionKey = new Key(stack, 'Key');
    expect(() => new LetheTable(stack, 'Restorable', { definition: KEYS_TABLE, encryptionKey, pointInTimeRecoveryPeriodDays: 7 })).toThrow(
      /keys table must not have point-in-time recovery/,
    );
  });
});

describe('point-in-time recovery', () => {
  it('is on for the records and control tables with a 35-day window by default', () => {
    for (const table of [records, control]) {
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
        RecoveryPeriodInDays: 35,
      });
    }
  });

  it('uses the configured window', () => {
    const { stack, template: t } = statefulStack({
      platformPolicy: loadProfile('voice'),
      pointInTimeRecoveryPeriodDays: 7,
    });
    for (const table of [stack.recordsTable, stack.controlTable]) {
      expect(resourceOf(t, table).Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
        RecoveryPeriodInDays: 7,
      });
    }
  });

  it('is off for the keys table, so a restore cannot bring shredded keys back', () => {
    expect(keys.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
  });

  it.each([0, 36, 7.5])('rejects a window of %s days at synth', (days) => {
    expect(() =>
      statefulStack({ platformPolicy: loadProfile('voice'), pointInTimeRecoveryPeriodDays: days }),
    ).toThrow(/pointInTimeRecoveryPeriodDays must be an integer from 1 to 35/);
  });
});

describe.each(Object.entries(allTables))('%s table', (_name, table) => {
  it('is encrypted with the customer-managed data key', () => {
    expect(table.Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: arnOf(stateful.encryptionKey),
    });
  });

  it('bills on demand', () => {
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('has deletion protection on and is retained when removed from the stack', () => {
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });
});

describe('KMS keys', () => {
  it('rotate automatically and are retained', () => {
    for (const key of [stateful.encryptionKey, stateful.shreddingKey]) {
      const resource = resourceOf(template, key);
      expect(resource.Properties.EnableKeyRotation).toBe(true);
      expect(resource.DeletionPolicy).toBe('Retain');
    }
  });

  it('keep data encryption and subject-key wrapping apart', () => {
    template.hasResourceProperties('AWS::KMS::Key', { Description: Match.stringLikeRegexp('crypto-shredding') });
    expect(stateful.shreddingKey).not.toBe(stateful.encryptionKey);
  });
});

describe('removal options', () => {
  it('refuse DESTROY while deletion protection is on', () => {
    expect(() => statefulStack({ platformPolicy: loadProfile('voice'), removalPolicy: RemovalPolicy.DESTROY })).toThrow(
      /deletionProtection: false/,
    );
  });

  it('allow DESTROY for throw-away environments when deletion protection is off', () => {
    const { stack, template: t } = statefulStack({
      platformPolicy: loadProfile('voice'),
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
    });
    const table = resourceOf(t, stack.recordsTable);
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
  });
});
