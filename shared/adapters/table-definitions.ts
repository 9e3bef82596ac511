/**
 * The one definition of Lethe's DynamoDB tables and S3 buckets. The stateful CDK
 * stack and the embedded-emulator harness (tests, local mode) both build from
 * it, so there is no second hand-written schema.
 */
import { RETENTION_PROJECTION } from '../domain/records.js';
import type { BucketName } from '../domain/catalog.js';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /** 'KEYS_ONLY', 'ALL', or the non-key attributes to project. */
  readonly projection: 'KEYS_ONLY' | 'ALL' | readonly string[];
}

export interface TableDefinition {
  /** Logical name; the physical name is chosen by CDK or by the harness. */
  readonly id: 'records' | 'control' | 'keys';
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /** TTL attribute (epoch seconds), if any. */
  readonly timeToLiveAttribute?: string;
  /** Whether point-in-time recovery may be enabled; never for the keys table, or a restore would resurrect shredded keys. */
  readonly pointInTimeRecovery: boolean;
}

/** The records table's retention index (what sweeps query, and whose throttling alarms). */
export const RETENTION_INDEX_NAME = 'byRetention';

export const RECORDS_TABLE: TableDefinition = {
  id: 'records',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: RETENTION_INDEX_NAME,
      partitionKey: { name: 'retentionPk', type: 'S' },
      sortKey: { name: 'retentionSk', type: 'S' },
      projection: RETENTION_PROJECTION,
    },
    {
      indexName: 'byIdentifier',
      partitionKey: { name: 'identifierPk', type: 'S' },
      sortKey: { name: 'identifierSk', type: 'S' },
      // expiresAt: lookups honour the TTL backstop without reading the base table.
      projection: ['tenantId', 'subjectId', 'expiresAt'],
    },
  ],
  timeToLiveAttribute: 'expiresAt',
  pointInTimeRecovery: true,
};

export const CONTROL_TABLE: TableDefinition = {
  id: 'control',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  pointInTimeRecovery: true,
};

export const KEYS_TABLE: TableDefinition = {
  id: 'keys',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  pointInTimeRecovery: false,
};

export const TABLES: readonly TableDefinition[] = [RECORDS_TABLE, CONTROL_TABLE, KEYS_TABLE];

export interface BucketDefinition {
  readonly id: BucketName;
  /** Key prefixes governed by categories (lifecycle backstops are set per prefix). */
  readonly prefixes: readonly string[];
  /** Versioning with Object Lock, so legal holds can be set on objects. */
  readonly objectLock: boolean;
  /** Fixed expiry for every object, in days (exports). */
  readonly expireAllAfterDays?: number;
}

export const BUCKETS: readonly BucketDefinition[] = [
  { id: 'recordings', prefixes: ['recordings'], objectLock: true },
  { id: 'media', prefixes: ['inbound', 'outbound', 'email'], objectLock: true },
  { id: 'exports', prefixes: ['exports'], objectLock: false, expireAllAfterDays: 7 },
];
