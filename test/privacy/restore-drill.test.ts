/**
 * The restore drill of crypto-shredding (DESIGN.md §3): a copy of the records
 * table and of every object of the buckets taken before an erasure and a
 * sweep — what a point-in-time restore, or an old object version, would bring
 * back — is read with the live keys table afterwards. The erased customer's
 * items, blobs and access export and the swept (expired) ones no longer open;
 * every kept item and blob still opens to what was ingested; and nothing
 * personal is in the copies in plaintext to begin with. The live side too:
 * the erased customer's earlier access-export link answers 404, and an upload
 * through a URL issued before the erasure leaves no object in the bucket.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { SealedBlobStore } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { SealedRecordStore } from '../../shared/adapters/crypto/sealed-record-store.js';
import { provisionBuckets, createTableInput, type BucketNames } from '../../shared/adapters/provision.js';
import { S3BlobStore } from '../../shared/adapters/s3/blob-store.js';
import { RECORDS_TABLE } from '../../shared/adapters/table-definitions.js';
import { blobGuardHandler } from '../../shared/app/blob-guard.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import { blobKey, type RecordItem } from '../../shared/domain/records.js';
import { apiWorld, CapturingLogger, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';
import { EMULATOR_BUCKET_FEATURES, uniqueSuffix } from '../support/env.js';

const T = 'drill';
const COMPLIANCE = token('ComplianceAdministrator', T);
const ADMIN = token('Administrator', T);

const erased: CustomerFixture = { id: 'dr-erased', name: 'Philippa Drummond-Hay', phone: '+14155558801', email: 'philippa@private.example', secret: 'erased-secret-text', age: 10 };
const kept: CustomerFixture = { id: 'dr-kept', name: 'Ottoline Castellane', phone: '+14155558802', email: 'ottoline@private.example', secret: 'kept-secret-text', age: 10 };
const expired: CustomerFixture = { id: 'dr-expired', name: 'Leopold Vanstone', phone: '+14155558803', email: 'leopold@private.example', secret: 'expired-secret-text', age: 2000 };

let w: ApiWorld;

async function scan(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await w.stores.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start !== undefined && { ExclusiveStartKey: start }) }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** A copy of the records table as it is now, in a table of its own: what a point-in-time restore gives. */
async function backup(): Promise<string> {
  const name = `restored-${uniqueSuffix()}`;
  await w.stores.dynamo.send(new CreateTableCommand(createTableInput(RECORDS_TABLE, name)));
  const items = await scan(w.stores.tableNames.records);
  for (let i = 0; i < items.length; i += 25) {
    await w.stores.doc.send(new BatchWriteCommand({ RequestItems: { [name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
  return name;
}

/** The restored table read through the live keys. */
function restoredStore(table: string): SealedRecordStore {
  const inner = new DynamoRecordStore({ doc: w.stores.doc, tableName: table, clock: w.clock, retry: { sleep: async () => {} } });
  return new SealedRecordStore({ inner, keys: w.keyStore as NonNullable<ApiWorld['keyStore']> });
}

const BUCKETS: readonly BucketName[] = ['recordings', 'media', 'exports'];

/** Every key of a bucket, quarantine included. */
async function keysOf(physical: string): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  do {
    const page = await w.stores.s3.send(new ListObjectsCommand({ Bucket: physical, ...(marker !== undefined && { Marker: marker }) }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    marker = page.IsTruncated === true ? keys.at(-1) : undefined;
  } while (marker !== undefined);
  return keys;
}

/**
 * A copy of every object of the buckets (s3rver keeps one version per key: the
 * current one is every version there is), bytes, content type and metadata,
 * in buckets of their own: what a restored bucket or an old version gives.
 */
async function backupBuckets(): Promise<{ names: BucketNames; keys: Record<BucketName, string[]> }> {
  const suffix = uniqueSuffix();
  const names: BucketNames = { recordings: `restored-${suffix}-rec`, media: `restored-${suffix}-media`, exports: `restored-${suffix}-exp` };
  await provisionBuckets(w.stores.s3, names);
  const keys = {} as Record<BucketName, string[]>;
  for (const bucket of BUCKETS) {
    keys[bucket] = await keysOf(w.stores.bucketNames[bucket]);
    for (const key of keys[bucket]) {
      const object = await w.stores.s3.send(new GetObjectCommand({ Bucket: w.stores.bucketNames[bucket], Key: key }));
      await w.stores.s3.send(
        new PutObjectCommand({ Bucket: names[bucket], Key: key, Body: await object.Body!.transformToByteArray(), ContentType: object.ContentType, Metadata: object.Metadata }),
      );
    }
  }
  return { names, keys };
}

/** The restored buckets read through the live keys. */
function restoredBlobs(names: BucketNames): SealedBlobStore {
  const inner = new S3BlobStore({ s3: w.stores.s3, bucketNames: names, bucketFeatures: EMULATOR_BUCKET_FEATURES });
  return new SealedBlobStore({ inner, keys: w.keyStore as NonNullable<ApiWorld['keyStore']> });
}

/** The blobs `customerRecords` ingests for a customer, by bucket and key, with their content. */
function blobsOf(c: CustomerFixture): { bucket: BucketName; key: string; content: string }[] {
  const conv = `${c.id}-conv`;
  return [
    { bucket: 'media', key: blobKey('email', T, c.id, `${conv}-att`), content: `attachment ${c.secret}` },
    { bucket: 'media', key: blobKey('inbound', T, c.id, `${conv}-in`), content: `photo ${c.secret}` },
    { bucket: 'media', key: blobKey('outbound', T, c.id, `${conv}-out`), content: 'brochure' },
    { bucket: 'recordings', key: blobKey('recordings', T, c.id, `${c.id}-call-rec`), content: `voice ${c.secret}` },
  ];
}

/** Everything of a customer's partition in the restored copy, expired items included. */
function partitionOf(store: SealedRecordStore, c: CustomerFixture): Promise<RecordItem[]> {
  return store.findBySubject(T, c.id, { includeExpired: true });
}

let before: Map<string, RecordItem>;
let restoredTable: string;
let restoredBuckets: { names: BucketNames; keys: Record<BucketName, string[]> };
/** The access requests of the erased and the kept customer, before the erasure: export key and link. */
const accessOf = new Map<string, { exportKey: string; exportUrl: string; served: string }>();
/** An upload URL issued for a recording of the erased customer, sent nothing before the erasure. */
let lateUpload: { url: string; headers: Record<string, string>; key: string };

async function access(c: CustomerFixture): Promise<void> {
  const submitted = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { customerId: c.id } }, token: COMPLIANCE });
  const request = await w.privacyDeps.privacy.get(T, submitted.body.requestId);
  expect(request?.status).toBe('completed');
  const served = await fetch(request?.exportUrl as string);
  expect(served.status).toBe(200);
  accessOf.set(c.id, { exportKey: request?.exportKey as string, exportUrl: request?.exportUrl as string, served: await served.text() });
}

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  for (const c of [erased, kept, expired]) await ingest(w, T, customerRecords(c));
  const uploads = await ingest(w, T, [{ type: 'recording', id: `${erased.id}-late`, callId: `${erased.id}-call`, customerId: erased.id, contentType: 'audio/wav' }]);
  lateUpload = { ...uploads.body.uploads[0], key: blobKey('recordings', T, erased.id, `${erased.id}-late`) };
  before = new Map((await Promise.all([erased, kept, expired].map((c) => w.runDeps.records.findBySubject(T, c.id)))).flat().map((i) => [`${i.pk}|${i.sk}`, i]));
  for (const c of [erased, kept]) await access(c);
  restoredTable = await backup();
  restoredBuckets = await backupBuckets();

  const erasure = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'erasure', subject: { customerId: erased.id } }, token: COMPLIANCE });
  expect(erasure.status).toBe(202);
  const run = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN });
  expect(run.status).toBe(202);
  // Epoch keys retire in two steps, a sweep apart: the second sweep destroys what the first marked.
  expect((await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN })).status).toBe(202);
}, 180_000);

describe('a restored copy of the records table, read with the live keys after an erasure and a sweep', () => {
  it('holds no name, phone, e-mail or message text in plaintext', async () => {
    const raw = JSON.stringify(await scan(restoredTable));
    for (const c of [erased, kept, expired]) {
      for (const value of [c.name, c.phone, c.email, c.secret]) expect(raw).not.toContain(value);
    }
  });

  it('no longer opens anything of the erased customer', async () => {
    const items = await partitionOf(restoredStore(restoredTable), erased);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) expect(item.data, item.sk).toBeUndefined();
  });

  it('no longer opens the records the sweep deleted as expired', async () => {
    const items = await partitionOf(restoredStore(restoredTable), expired);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) expect(item.data, item.sk).toBeUndefined();
  });

  it('still opens every kept record to what was ingested', async () => {
    const items = await partitionOf(restoredStore(restoredTable), kept);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) {
      const original = before.get(`${item.pk}|${item.sk}`);
      expect(original?.data, item.sk).toBeDefined();
      expect(item.data, item.sk).toEqual(original?.data);
    }
    const live = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: kept.phone }, token: ADMIN });
    expect(JSON.stringify(live.body)).toContain(kept.id);
  });

  it('counts the keys it destroyed: the erased subject key on the request, the swept subject key and the retired epoch keys on the runs', async () => {
    const requests = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests`, token: COMPLIANCE })).body.requests as { kind: string; status: string; subjectKeysShredded?: number }[];
    expect(requests.find((r) => r.kind === 'erasure')).toMatchObject({ status: 'completed', subjectKeysShredded: 1 });
    const runs = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN })).body.runs as { kind: string; shredded?: { subjectKeys: number; epochKeys: number } }[];
    const sweeps = runs.filter((r) => r.kind === 'sweep');
    expect(sweeps).toHaveLength(2);
    const total = (field: 'subjectKeys' | 'epochKeys') => sweeps.reduce((sum, r) => sum + (r.shredded?.[field] ?? 0), 0);
    expect(total('subjectKeys')).toBe(1);
    expect(total('epochKeys')).toBeGreaterThan(0);
  });
});

describe('a restored copy of the buckets, read with the live keys after an erasure and a sweep', () => {
  it('holds every blob and both access exports, and no name, phone, e-mail, message or attachment text in plaintext', async () => {
    for (const c of [erased, kept, expired]) for (const b of blobsOf(c)) expect(restoredBuckets.keys[b.bucket], b.key).toContain(b.key);
    expect(restoredBuckets.keys.exports).toHaveLength(2);
    for (const bucket of BUCKETS) {
      for (const key of restoredBuckets.keys[bucket]) {
        const object = await w.stores.s3.send(new GetObjectCommand({ Bucket: restoredBuckets.names[bucket], Key: key }));
        const bytes = Buffer.from(await object.Body!.transformToByteArray());
        for (const text of [bytes.toString('utf8'), bytes.toString('latin1')]) {
          for (const c of [erased, kept, expired]) for (const value of [c.name, c.phone, c.email, c.secret, 'brochure']) expect(text, `${bucket} ${key}`).not.toContain(value);
        }
      }
    }
  });

  it("no longer opens the erased customer's blobs or access export", async () => {
    const store = restoredBlobs(restoredBuckets.names);
    for (const b of blobsOf(erased)) expect(await store.read(b.bucket, b.key), b.key).toBeUndefined();
    expect(await store.read('exports', accessOf.get(erased.id)!.exportKey)).toBeUndefined();
  });

  it('no longer opens the blobs of the records the sweep deleted as expired', async () => {
    const store = restoredBlobs(restoredBuckets.names);
    for (const b of blobsOf(expired)) expect(await store.read(b.bucket, b.key), b.key).toBeUndefined();
  });

  it("still opens every kept blob, and the kept customer's access export, to their original bytes", async () => {
    const store = restoredBlobs(restoredBuckets.names);
    for (const b of blobsOf(kept)) expect(Buffer.from((await store.get(b.bucket, b.key)) ?? []).toString(), b.key).toBe(b.content);
    const document = await store.read('exports', accessOf.get(kept.id)!.exportKey);
    expect(Buffer.from(document?.body ?? []).toString()).toBe(accessOf.get(kept.id)!.served);
    expect(accessOf.get(kept.id)!.served).toContain(kept.phone);
  });
});

describe('the live side after the erasure', () => {
  it("answers 404 for the erased customer's earlier access-export link, and still serves the kept one's", async () => {
    expect((await fetch(accessOf.get(erased.id)!.exportUrl)).status).toBe(404);
    expect((await fetch(accessOf.get(kept.id)!.exportUrl)).status).toBe(200);
  });

  it('keeps no blob of an upload sent, through a URL issued before, after the record was deleted (the bucket listed with quarantine/)', async () => {
    const sent = await fetch(lateUpload.url, { method: 'PUT', headers: lateUpload.headers, body: `late voice ${erased.secret}` });
    expect(sent.status).toBe(200);
    expect(await keysOf(w.stores.bucketNames.recordings)).toContain(`quarantine/${lateUpload.key}`);

    // What S3 sends the blob guard for the upload.
    const guard = blobGuardHandler({ records: w.runDeps.records, blobs: w.runDeps.blobs, clock: w.clock }, { logger: new CapturingLogger(), bucketNames: w.stores.bucketNames });
    const outcome = await guard({
      Records: [{ eventName: 'ObjectCreated:Put', eventTime: daysAgo(0), s3: { bucket: { name: w.stores.bucketNames.recordings }, object: { key: `quarantine/${lateUpload.key}` } } }],
    });

    expect(outcome.outcomes).toEqual([{ outcome: 'deleted' }]);
    const left = await keysOf(w.stores.bucketNames.recordings);
    expect(left.filter((k) => k.includes(`/${erased.id}/`))).toEqual([]);
  });
});
