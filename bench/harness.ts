/**
 * The bench's emulator harness: embedded emulators with counted SDK clients,
 * uniquely named tables and buckets, seeding through the real adapters, and
 * verification of what is left.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClients, createS3Client } from '../shared/adapters/clients.js';
import { KeyStore, type KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { SealedRecordStore } from '../shared/adapters/crypto/sealed-record-store.js';
import { DynamoControlStore } from '../shared/adapters/dynamodb/control-store.js';
import { DynamoRecordStore } from '../shared/adapters/dynamodb/record-store.js';
import { provisionBuckets, provisionTables, type BucketNames, type TableNames } from '../shared/adapters/provision.js';
import { mapConcurrent } from '../shared/adapters/retry.js';
import { S3BlobStore, type BucketFeatures } from '../shared/adapters/s3/blob-store.js';
import type { BucketName } from '../shared/domain/catalog.js';
import type { Clock, RecordStore } from '../shared/domain/ports.js';
import { parseIdentifierSk, type RecordItem } from '../shared/domain/records.js';
import { S3RVER_CREDENTIALS, startEmulators, type Emulators } from '../shared/local/emulators.js';
import { RequestCounter } from './instrument.js';
import { blobOf, keyOf, type BenchWorld } from './world.js';

const REGION = 'us-east-1';
const SCAN_SEGMENTS = 4;
/** Records handed to one putBatch call while seeding (it chunks by 25 itself). */
const SEED_SLICE = 5_000;

/** s3rver has neither versioning nor Object Lock. */
export const EMULATOR_BUCKET_FEATURES: Readonly<Record<BucketName, BucketFeatures>> = {
  recordings: { versioned: false, objectLock: false },
  media: { versioned: false, objectLock: false },
  exports: { versioned: false, objectLock: false },
};

export interface Harness {
  readonly emulators: Emulators;
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly counter: RequestCounter;
  close(): Promise<void>;
}

/**
 * Starts dynalite (in memory) and s3rver, and counted clients on them.
 * @param s3Directory where s3rver keeps its objects; default a fresh temporary
 * directory (the caller owns and removes a directory it names).
 */
export async function startHarness(s3Directory?: string): Promise<Harness> {
  const emulators = await startEmulators(s3Directory === undefined ? {} : { s3Directory });
  const { client, doc } = createDynamoClients({
    region: REGION,
    endpoint: emulators.dynamoEndpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const s3 = createS3Client({ region: REGION, endpoint: emulators.s3Endpoint, credentials: S3RVER_CREDENTIALS });
  const counter = new RequestCounter();
  counter.attach(client, 'dynamodb');
  counter.attach(s3, 's3');
  return {
    emulators,
    dynamo: client,
    doc,
    s3,
    counter,
    close: async () => {
      client.destroy();
      s3.destroy();
      await emulators.close();
    },
  };
}

export interface Stage {
  readonly label: string;
  readonly tableNames: TableNames;
  readonly bucketNames: BucketNames;
}

/** Uniquely named tables and buckets for one measurement, provisioned from the shared definitions. */
export async function provisionStage(h: Harness, label: string): Promise<Stage> {
  const suffix = `${label}-${Date.now().toString(36)}`;
  const tableNames: TableNames = { records: `records-${suffix}`, control: `control-${suffix}`, keys: `keys-${suffix}` };
  const bucketNames: BucketNames = {
    recordings: `lethe-${suffix}-recordings`,
    media: `lethe-${suffix}-media`,
    exports: `lethe-${suffix}-exports`,
  };
  await Promise.all([provisionTables(h.dynamo, tableNames), provisionBuckets(h.s3, bucketNames)]);
  h.counter.labelTables({ [tableNames.records]: 'records', [tableNames.control]: 'control', [tableNames.keys]: 'keys' });
  return { label, tableNames, bucketNames };
}

export interface SeedResult {
  readonly seconds: number;
  readonly records: number;
  readonly blobs: number;
  /** Seeded sealed (crypto-shredding on): the records through a `SealedRecordStore`. */
  readonly sealed?: boolean;
}

export interface SeedOptions {
  readonly blobConcurrency: number;
  /**
   * Seal the records as ingest stores them with shredding on: through a
   * `SealedRecordStore` over the stage's keys table, so a subject key exists
   * for every customer and an epoch key for every epoch. Blobs are written as
   * they are either way: the sweep deletes them by key without reading them.
   */
  readonly keyWrapper?: KeyWrapper;
}

/** The record store of a stage: the DynamoDB one, sealed when a key wrapper is given (as `composeRunDeps` builds it). */
export function stageRecordStore(h: Harness, stage: Stage, clock: Clock, keyWrapper?: KeyWrapper): RecordStore {
  const plain = new DynamoRecordStore({ doc: h.doc, tableName: stage.tableNames.records, clock });
  if (keyWrapper === undefined) return plain;
  return new SealedRecordStore({ inner: plain, keys: new KeyStore({ doc: h.doc, tableName: stage.tableNames.keys, wrapper: keyWrapper }) });
}

/** Writes the world through the real adapters: tenants, records (putBatch), blobs (put, bounded concurrency). */
export async function seed(h: Harness, stage: Stage, world: BenchWorld, clock: Clock, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const control = new DynamoControlStore({ doc: h.doc, tableName: stage.tableNames.control });
  const records = stageRecordStore(h, stage, clock, options.keyWrapper);
  const blobs = new S3BlobStore({ s3: h.s3, bucketNames: stage.bucketNames, bucketFeatures: EMULATOR_BUCKET_FEATURES });
  const blobRefs = world.items.map(blobOf).filter((b) => b !== undefined);
  const body = new Uint8Array(256).fill(0x61);
  // Records and blobs at once: s3rver's file I/O overlaps with dynalite's work.
  await Promise.all([
    (async () => {
      await Promise.all(world.tenants.map((t) => control.putTenant(t)));
      for (let i = 0; i < world.items.length; i += SEED_SLICE) {
        await records.putBatch(world.items.slice(i, i + SEED_SLICE));
      }
    })(),
    mapConcurrent(blobRefs, options.blobConcurrency, (b) => blobs.put(b.bucket, b.key, body, 'application/octet-stream')),
  ]);
  return {
    seconds: (performance.now() - started) / 1000,
    records: world.items.length,
    blobs: blobRefs.length,
    ...(options.keyWrapper !== undefined && { sealed: true }),
  };
}

/**
 * Identifier kinds the `SealedRecordStore` stores under a blind index (its
 * personal kinds). Should the store change them, verification fails loudly:
 * records missing and strangers in the table.
 */
const BLINDED_KINDS: ReadonlySet<string> = new Set(['PHONE', 'EMAIL', 'NAME', 'EXTERNAL']);

/**
 * The key each world item is stored under when seeded sealed: an identifier's
 * value replaced by its blind index (under the tenant's key in the stage's
 * keys table, so call it after seeding); other keys as they are.
 */
export async function sealedKeyOf(h: Harness, stage: Stage, world: BenchWorld, keyWrapper: KeyWrapper): Promise<(item: RecordItem) => string> {
  const keyStore = new KeyStore({ doc: h.doc, tableName: stage.tableNames.keys, wrapper: keyWrapper });
  const blinded = new Map<string, string>();
  for (const item of world.items) {
    const identifier = parseIdentifierSk(item.sk);
    if (identifier === undefined || !BLINDED_KINDS.has(identifier.kind)) continue;
    const blind = await keyStore.blindIndex(item.tenantId, identifier.kind, identifier.value);
    blinded.set(keyOf(item), keyOf({ pk: item.pk, sk: `ID#${identifier.kind}#${blind}` }));
  }
  return (item) => blinded.get(keyOf(item)) ?? keyOf(item);
}

export interface Verification {
  readonly ok: boolean;
  readonly recordsGone: number;
  readonly blobsGone: number;
  readonly problems: string[];
}

/**
 * Checks that exactly the records (and their blobs) `gone` names are absent
 * and every other one is still there.
 */
export async function verify(
  h: Harness,
  stage: Stage,
  world: BenchWorld,
  gone: (index: number) => boolean,
  /** The key an item is stored under (default its own: `sealedKeyOf` for a world seeded sealed). */
  storedKeyOf: (item: RecordItem) => string = keyOf,
  /** Records the run itself writes and must leave (e.g. analytics events an erasure unlinks to the account partition). */
  created: readonly { readonly pk: string; readonly sk: string }[] = [],
): Promise<Verification> {
  const [presentKeys, presentBlobs] = await Promise.all([scanKeys(h.doc, stage.tableNames.records), listBlobs(h, stage)]);
  const problems: string[] = [];
  let missing = 0;
  let lingering = 0;
  let blobsMissing = 0;
  let blobsLingering = 0;
  let recordsGone = 0;
  let blobsGone = 0;
  const known = new Set<string>();
  world.items.forEach((item, i) => {
    const k = storedKeyOf(item);
    known.add(k);
    const shouldGo = gone(i);
    const present = presentKeys.has(k);
    if (!present) recordsGone += 1;
    if (shouldGo && present) {
      if (lingering++ < 5) problems.push(`record should be gone but is present: ${item.category} ${item.pk} ${item.sk}`);
    } else if (!shouldGo && !present) {
      if (missing++ < 5) problems.push(`record should remain but is gone: ${item.category} ${item.pk} ${item.sk}`);
    }
    const blob = blobOf(item);
    if (blob === undefined) return;
    const blobPresent = presentBlobs.has(`${blob.bucket}\u0000${blob.key}`);
    if (!blobPresent) blobsGone += 1;
    if (shouldGo && blobPresent) {
      if (blobsLingering++ < 5) problems.push(`blob should be gone but is present: ${blob.bucket} ${blob.key}`);
    } else if (!shouldGo && !blobPresent) {
      if (blobsMissing++ < 5) problems.push(`blob should remain but is gone: ${blob.bucket} ${blob.key}`);
    }
  });
  let absent = 0;
  for (const k of created) {
    known.add(keyOf(k));
    if (!presentKeys.has(keyOf(k)) && absent++ < 5) problems.push(`a record the run should have written is absent: ${k.pk} ${k.sk}`);
  }
  const strangers = [...presentKeys].filter((k) => !known.has(k)).length;
  if (strangers > 0) problems.push(`${strangers} records in the table that the world never wrote`);
  if (lingering + missing + blobsLingering + blobsMissing > 0) {
    problems.unshift(
      `records: ${lingering} should be gone but remain, ${missing} should remain but are gone; ` +
        `blobs: ${blobsLingering} should be gone but remain, ${blobsMissing} should remain but are gone`,
    );
  }
  return { ok: problems.length === 0, recordsGone, blobsGone, problems };
}

async function scanKeys(doc: DynamoDBDocumentClient, tableName: string): Promise<Set<string>> {
  const keys = new Set<string>();
  await Promise.all(
    Array.from({ length: SCAN_SEGMENTS }, async (_, segment) => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const output = await doc.send(
          new ScanCommand({
            TableName: tableName,
            Segment: segment,
            TotalSegments: SCAN_SEGMENTS,
            ProjectionExpression: '#pk, #sk',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ConsistentRead: true,
            ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
          }),
        );
        for (const item of output.Items ?? []) keys.add(keyOf(item as { pk: string; sk: string }));
        startKey = output.LastEvaluatedKey;
      } while (startKey !== undefined);
    }),
  );
  return keys;
}

async function listBlobs(h: Harness, stage: Stage): Promise<Set<string>> {
  const blobs = new S3BlobStore({ s3: h.s3, bucketNames: stage.bucketNames, bucketFeatures: EMULATOR_BUCKET_FEATURES });
  const out = new Set<string>();
  for (const bucket of ['recordings', 'media'] as const) {
    for (const o of await blobs.list(bucket, '')) out.add(`${bucket}\u0000${o.key}`);
  }
  return out;
}
