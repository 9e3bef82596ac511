/**
 * Builds the use cases' dependencies from clients and names. One place for the
 * wiring, shared by the Lambda composition root and local mode.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { BUCKETS } from '../adapters/table-definitions.js';
import { DynamoControlStore } from '../adapters/dynamodb/control-store.js';
import { DynamoRecordStore } from '../adapters/dynamodb/record-store.js';
import { KeyStore, type KeyWrapper } from '../adapters/crypto/key-store.js';
import { SealedBlobStore } from '../adapters/crypto/sealed-blob-store.js';
import { SealedRecordStore } from '../adapters/crypto/sealed-record-store.js';
import { HttpExternalDataProvider } from '../adapters/http/external-provider.js';
import type { BucketNames, TableNames } from '../adapters/provision.js';
import { bucketFeaturesFrom, S3BlobStore, type BucketFeatures } from '../adapters/s3/blob-store.js';
import type { BucketName } from '../domain/catalog.js';
import type { EventPublisher } from '../domain/events.js';
import type { PlatformPolicy } from '../domain/policy.js';
import type { Clock, ExternalDataProvider, Mailer } from '../domain/ports.js';
import type { RunDeps } from '../domain/runs.js';
import { downloadLinks } from './download-links.js';

export const systemClock: Clock = { now: () => new Date() };

export interface ComposeOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly tableNames: TableNames;
  readonly bucketNames: BucketNames;
  /** Default: from the bucket definitions (Object Lock and versioning on recordings and media). */
  readonly bucketFeatures?: Readonly<Record<BucketName, BucketFeatures>>;
  readonly platform: PlatformPolicy;
  readonly mailer: Mailer;
  readonly refSecret: string;
  readonly operatorEmails: readonly string[];
  readonly clock?: Clock;
  readonly external?: ExternalDataProvider;
  /**
   * Wraps tenants' key-encryption keys (KMS in AWS, the master key file in
   * local mode): with it, personal data is sealed under subject and epoch keys
   * in the keys table and deletions shred them (DESIGN.md §3). Without it
   * (benchmarks comparing the cost) data is stored as given.
   */
  readonly keyWrapper?: KeyWrapper;
  /** How old a sweep's retirement marker must be before the epoch keys it names go (`KeyStoreOptions.retireAfterMs`). */
  readonly retireEpochKeysAfterMs?: number;
  /**
   * The API's base URL (`PUBLIC_API_URL`), for the download links of sealed
   * blobs (`<url>/v1/downloads/<token>`); a function when it is known only
   * later (local mode listens after composing). Absent: a function that would
   * hand out a link fails saying so (the sweep and the blob guard never do).
   */
  readonly publicApiUrl?: string | (() => string);
  /** Deletion events (an EventBridge bus in AWS, NDJSON files locally); absent: none are published. */
  readonly events?: EventPublisher;
}

export function composeRunDeps(options: ComposeOptions): RunDeps {
  const clock = options.clock ?? systemClock;
  const plain = new DynamoRecordStore({ doc: options.doc, tableName: options.tableNames.records, clock });
  const plainBlobs = new S3BlobStore({
    s3: options.s3,
    bucketNames: options.bucketNames,
    bucketFeatures: options.bucketFeatures ?? bucketFeaturesFrom(BUCKETS),
  });
  // One keys table for records and blobs: a blob is sealed under its record's keys.
  const keys = options.keyWrapper === undefined ? undefined : new KeyStore({
          doc: options.doc,
          tableName: options.tableNames.keys,
          wrapper: options.keyWrapper,
          ...(options.retireEpochKeysAfterMs !== undefined && { retireAfterMs: options.retireEpochKeysAfterMs }),
        });
  const sealed = keys === undefined ? undefined : new SealedRecordStore({ inner: plain, keys });
  const publicApiUrl = options.publicApiUrl;
  const blobs =
    keys === undefined
      ? plainBlobs
      : new SealedBlobStore({
          inner: plainBlobs,
          keys,
          ...(publicApiUrl !== undefined && { downloadUrl: downloadLinks({ refSecret: options.refSecret, publicApiUrl, clock }) }),
        });
  const control = new DynamoControlStore({ doc: options.doc, tableName: options.tableNames.control });
  return {
    records: sealed ?? plain,
    ...(sealed !== undefined && { keys: sealed }),
    control,
    // Retention watermarks live in the control table: sweeps skip what cannot be due, ingest keeps them safe.
    watermarks: control,
    blobs,
    external: options.external ?? new HttpExternalDataProvider(),
    mailer: options.mailer,
    clock,
    platform: options.platform,
    refSecret: options.refSecret,
    operatorEmails: options.operatorEmails,
    ...(options.events !== undefined && { events: options.events }),
  };
}
