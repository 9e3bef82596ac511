/**
 * Per-file test environment on the run's emulators: uniquely named tables and
 * buckets, provisioned from the same definitions as the stack, and the adapters
 * built on them.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDynamoClients, createS3Client } from '../../shared/adapters/clients.js';
import { DynamoControlStore } from '../../shared/adapters/dynamodb/control-store.js';
import { DynamoRecordStore, type DynamoRecordStoreOptions } from '../../shared/adapters/dynamodb/record-store.js';
import { provisionBuckets, provisionTables, type BucketNames, type TableNames } from '../../shared/adapters/provision.js';
import type { RetryOptions } from '../../shared/adapters/retry.js';
import { S3BlobStore, type BucketFeatures } from '../../shared/adapters/s3/blob-store.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import type { Clock } from '../../shared/domain/ports.js';
import { S3RVER_CREDENTIALS } from '../../shared/local/emulators.js';
import { TestClock } from './clock.js';

export const REGION = 'us-east-1';

/** s3rver has neither versioning nor Object Lock. */
export const EMULATOR_BUCKET_FEATURES: Readonly<Record<BucketName, BucketFeatures>> = {
  recordings: { versioned: false, objectLock: false },
  media: { versioned: false, objectLock: false },
  exports: { versioned: false, objectLock: false },
};

/** A short unique suffix, valid in table and bucket names. */
export function uniqueSuffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 12);
}

export function uniqueNames(): { tableNames: TableNames; bucketNames: BucketNames } {
  const suffix = uniqueSuffix();
  return {
    tableNames: { records: `records-${suffix}`, control: `control-${suffix}`, keys: `keys-${suffix}` },
    bucketNames: {
      recordings: `lethe-${suffix}-recordings`,
      media: `lethe-${suffix}-media`,
      exports: `lethe-${suffix}-exports`,
    },
  };
}

export interface EmulatorClients {
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
}

/** Fresh clients on the run's emulators; each call gets its own middleware stacks. */
export function emulatorClients(): EmulatorClients {
  const { client, doc } = createDynamoClients({
    region: REGION,
    endpoint: inject('dynamoEndpoint'),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const s3 = createS3Client({ region: REGION, endpoint: inject('s3Endpoint'), credentials: S3RVER_CREDENTIALS });
  return { dynamo: client, doc, s3 };
}

export interface MakeStoresOptions {
  readonly clock?: Clock;
  readonly shardCount?: number;
  readonly bucketFeatures?: Readonly<Record<BucketName, BucketFeatures>>;
  /** Backoff of the adapters; tests pass a sleep that does not wait. */
  readonly retry?: Partial<RetryOptions>;
  readonly recordStore?: Partial<Omit<DynamoRecordStoreOptions, 'doc' | 'tableName' | 'clock'>>;
}

export interface Stores extends EmulatorClients {
  readonly clock: Clock;
  readonly tableNames: TableNames;
  readonly bucketNames: BucketNames;
  readonly records: DynamoRecordStore;
  readonly control: DynamoControlStore;
  readonly blobs: S3BlobStore;
}

/** Creates this caller's own tables and buckets and the adapters on them. */
export async function makeStores(options: MakeStoresOptions = {}): Promise<Stores> {
  const clients = emulatorClients();
  const { tableNames, bucketNames } = uniqueNames();
  await Promise.all([provisionTables(clients.dynamo, tableNames), provisionBuckets(clients.s3, bucketNames)]);
  const clock = options.clock ?? new TestClock();
  const retry = options.retry ?? { sleep: async () => {} };
  return {
    ...clients,
    clock,
    tableNames,
    bucketNames,
    records: new DynamoRecordStore({
      retry,
      ...(options.shardCount !== undefined && { shardCount: options.shardCount }),
      ...options.recordStore,
      doc: clients.doc,
      tableName: tableNames.records,
      clock,
    }),
    control: new DynamoControlStore({ doc: clients.doc, tableName: tableNames.control }),
    blobs: new S3BlobStore({
      s3: clients.s3,
      bucketNames,
      bucketFeatures: options.bucketFeatures ?? EMULATOR_BUCKET_FEATURES,
      retry,
    }),
  };
}
