import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { CONTROL_TABLE, KEYS_TABLE, RECORDS_TABLE } from '../shared/adapters/table-definitions.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import { BlobBuckets } from './constructs/blob-buckets.js';
import { LetheEncryptionKey } from './constructs/encryption-key.js';
import { DeletionEventBus } from './constructs/event-bus.js';
import { LetheTable, MAX_PITR_PERIOD_DAYS } from './constructs/lethe-table.js';

export interface StatefulStackProps extends StackProps {
  /** The loaded platform-policy profile (bucket lifecycle backstops follow its caps). */
  readonly platformPolicy: PlatformPolicy;
  /**
   * Days of point-in-time recovery on the records and control tables (1–35).
   * The keys table never has PITR.
   * @default 35
   */
  readonly pointInTimeRecoveryPeriodDays?: number;
  /**
   * What happens to tables, buckets and keys when they leave the stack.
   * Anything but RETAIN is for throw-away environments.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether DynamoDB refuses to delete the tables. Must be false with RemovalPolicy.DESTROY.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Days S3 server access logs are kept.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
}

/**
 * Everything Lethe keeps: the records, control and keys tables, the blob
 * buckets and the KMS keys. Kept apart from the stateless stack so functions
 * and workflows can be replaced freely without touching data.
 */
export class StatefulStack extends Stack {
  readonly platformPolicy: PlatformPolicy;
  /** Encrypts the tables and the governed buckets. */
  readonly encryptionKey: IKey;
  /** Wraps the per-subject data keys kept in the keys table (crypto-shredding). */
  readonly shreddingKey: IKey;
  readonly recordsTable: ITable;
  readonly controlTable: ITable;
  readonly keysTable: ITable;
  readonly recordingsBucket: IBucket;
  readonly mediaBucket: IBucket;
  readonly exportsBucket: IBucket;
  /** The table constructs, for least-privilege grants (`grantRead`, `grantReadWrite`). */
  readonly records: LetheTable;
  readonly control: LetheTable;
  readonly keys: LetheTable;
  /** The bucket construct, for least-privilege grants (`grantRead`, `grantPut`, `grantDelete`, `grantLegalHold` …). */
  readonly blobs: BlobBuckets;
  /** The bus of deletion events (with its replay archive): subscribers' rules outlive the stateless stack. */
  readonly events: DeletionEventBus;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    const { platformPolicy, pointInTimeRecoveryPeriodDays, removalPolicy, deletionProtection, accessLogRetentionDays, ...stackProps } =
      props;
    super(scope, id, {
      description: `Lethe stateful resources (${platformPolicy.profile} profile): tables, buckets, KMS keys`,
      ...stackProps,
    });
    this.platformPolicy = platformPolicy;
    const removal = removalPolicy ?? RemovalPolicy.RETAIN;
    const pitrDays = pointInTimeRecoveryPeriodDays ?? MAX_PITR_PERIOD_DAYS;

    this.encryptionKey = new LetheEncryptionKey(this, 'DataKey', {
      description: `Lethe ${platformPolicy.profile}: encryption at rest of the tables and blob buckets`,
      removalPolicy: removal,
    }).key;
    this.shreddingKey = new LetheEncryptionKey(this, 'ShreddingKey', {
      description: `Lethe ${platformPolicy.profile}: wraps the per-subject data keys (crypto-shredding)`,
      removalPolicy: removal,
    }).key;

    const tableProps = {
      encryptionKey: this.encryptionKey,
      removalPolicy: removal,
      ...(deletionProtection === undefined ? {} : { deletionProtection }),
    };
    this.records = new LetheTable(this, 'RecordsTable', {
      ...tableProps,
      definition: RECORDS_TABLE,
      pointInTimeRecoveryPeriodDays: pitrDays,
    });
    this.control = new LetheTable(this, 'ControlTable', {
      ...tableProps,
      definition: CONTROL_TABLE,
      pointInTimeRecoveryPeriodDays: pitrDays,
    });
    this.keys = new LetheTable(this, 'KeysTable', { ...tableProps, definition: KEYS_TABLE });
    this.recordsTable = this.records.table;
    this.controlTable = this.control.table;
    this.keysTable = this.keys.table;

    this.blobs = new BlobBuckets(this, 'Blobs', {
      platformPolicy,
      encryptionKey: this.encryptionKey,
      removalPolicy: removal,
      ...(accessLogRetentionDays === undefined ? {} : { accessLogRetentionDays }),
    });
    this.recordingsBucket = this.blobs.bucket('recordings');
    this.mediaBucket = this.blobs.bucket('media');
    this.exportsBucket = this.blobs.bucket('exports');
    this.events = new DeletionEventBus(this, 'DeletionEvents', { eventBusName: `lethe-${platformPolicy.profile}-events`, removalPolicy: removal });
  }
}
