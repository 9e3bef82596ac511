/**
 * The blob guard's handler against the emulator-backed stores, fed the events
 * AWS and the local S3 emulator send (an EventBridge `Object Created` event,
 * an S3 notification): an object no stored record points to goes at once,
 * one a record points to stays, a young one is looked at again once it has
 * settled (an inline blob is stored before its record), keys Lethe never
 * writes are left alone, and the log says what went without personal data.
 * Uploads in quarantine are sealed into place while their record stands, and
 * deleted otherwise.
 * Versioned buckets (which s3rver lacks) are checked with a mocked S3 client.
 */
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client, type DeleteObjectsCommandInput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { KeyStore, MasterKeyWrapper } from '../../shared/adapters/crypto/key-store.js';
import { SealedBlobStore } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { S3BlobStore } from '../../shared/adapters/s3/blob-store.js';
import { blobGuardHandler, QUARANTINE, type BlobGuardDeps } from '../../shared/app/blob-guard.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import { blobKey, keys, type RecordItem } from '../../shared/domain/records.js';
import { CapturingLogger } from '../support/api.js';
import { TestClock } from '../support/clock.js';
import { makeStores, type Stores } from '../support/env.js';

const T = 'guarded';
const NOW = new Date('2026-11-22T10:00:00.000Z');
const SETTLE_MS = 60_000;

let stores: Stores;
let clock: TestClock;

beforeAll(async () => {
  clock = new TestClock(NOW);
  stores = await makeStores({ clock });
});

let n = 0;
/** A customer's recording and its object key (stored by the test as it likes). */
function recording(extra: Partial<RecordItem> = {}, idSuffix = ''): { item: RecordItem; key: string; subjectId: string } {
  n += 1;
  const subjectId = `cust-${n}-Harriet-Vane`;
  const id = `rec-${n}${idSuffix}`;
  const key = blobKey('recordings', T, subjectId, id);
  const item: RecordItem = {
    pk: keys.subjectPk(T, subjectId),
    sk: keys.recordingSk(`call-${n}`, id),
    tenantId: T,
    category: 'call_recording',
    id,
    subjectId,
    callId: `call-${n}`,
    clockStart: NOW.toISOString(),
    blobBucket: 'recordings',
    blobKey: key,
    data: { contentType: 'audio/wav' },
    ...extra,
  };
  return { item, key, subjectId };
}

interface Guard {
  readonly handle: (event: unknown) => Promise<{ outcomes: { outcome: string; reason?: string }[] }>;
  readonly lines: string[];
  readonly sleeps: number[];
}

function guard(options: { onSleep?: () => Promise<void>; deps?: Partial<BlobGuardDeps> } = {}): Guard {
  const lines: string[] = [];
  const sleeps: number[] = [];
  const handle = blobGuardHandler(
    { records: stores.records, blobs: stores.blobs, clock, ...options.deps },
    {
      logger: new CapturingLogger(lines),
      bucketNames: stores.bucketNames,
      settleMs: SETTLE_MS,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
        await options.onSleep?.();
      },
    },
  );
  return { handle, lines, sleeps };
}

/** The EventBridge event S3 sends for a created object. */
function bridged(bucket: BucketName, key: string, createdAt: Date): unknown {
  return {
    version: '0',
    id: 'c9888434-815d-c6f4-9fc2-4dd7bdeccaaf',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: createdAt.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${stores.bucketNames[bucket]}`],
    detail: {
      version: '0',
      bucket: { name: stores.bucketNames[bucket] },
      object: { key, size: 5, etag: 'e', sequencer: '00' },
      'request-id': 'R',
      requester: '123456789012',
      reason: 'PutObject',
    },
  };
}

/** The store's methods the guard uses, bound (to override one of them). */
const bound = (blobs: BlobGuardDeps['blobs']): BlobGuardDeps['blobs'] => ({
  read: (...a) => blobs.read(...a),
  put: (...a) => blobs.put(...a),
  deleteBatch: (...a) => blobs.deleteBatch(...a),
  list: (...a) => blobs.list(...a),
});

const longAgo = () => new Date(clock.now().getTime() - 10 * 60_000);
const exists = async (bucket: BucketName, key: string) => (await stores.blobs.get(bucket, key)) !== undefined;

describe('an object created in a guarded bucket', () => {
  it('is deleted at once when no stored record points to it, and the log says so without the key or the customer', async () => {
    const { key, subjectId } = recording();
    await stores.blobs.put('recordings', key, 'late upload', 'audio/wav');
    const g = guard();

    const result = await g.handle(bridged('recordings', key, longAgo()));

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', key)).toBe(false);
    expect(g.sleeps).toEqual([]);
    const said = g.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(said).toEqual([expect.objectContaining({ message: expect.stringContaining('deleted'), tenantId: T, bucket: 'recordings', category: 'call_recording' })]);
    for (const line of g.lines) for (const value of [key, subjectId, 'Harriet']) expect(line).not.toContain(value);
  });

  it('stays when a stored record points to it', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');
    const g = guard();

    const result = await g.handle(bridged('recordings', key, new Date(clock.now().getTime() - 100)));

    expect(result.outcomes).toEqual([{ outcome: 'kept' }]);
    expect(await exists('recordings', key)).toBe(true);
    expect(g.sleeps).toEqual([]);
  });

  it('stays when its record is past its TTL backstop but not yet deleted (a hold may keep it; the sweep deletes both otherwise)', async () => {
    const { item, key } = recording({ expiresAt: Math.floor(NOW.getTime() / 1000) - 3600 });
    await stores.records.putBatch([item]);
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');

    expect((await guard().handle(bridged('recordings', key, longAgo()))).outcomes).toEqual([{ outcome: 'kept' }]);
    expect(await exists('recordings', key)).toBe(true);
  });

  it('is deleted when the only record pointing to it is a tombstone or anonymised', async () => {
    const tomb = recording({ status: 'deleted' });
    const anonymised = recording();
    await stores.records.putBatch([tomb.item, { ...anonymised.item, anonymizedAt: NOW.toISOString() } as RecordItem]);
    for (const r of [tomb, anonymised]) await stores.blobs.put('recordings', r.key, 'voice', 'audio/wav');
    const g = guard();

    for (const r of [tomb, anonymised]) expect((await g.handle(bridged('recordings', r.key, longAgo()))).outcomes).toEqual([{ outcome: 'deleted' }]);

    expect(await exists('recordings', tomb.key)).toBe(false);
    expect(await exists('recordings', anonymised.key)).toBe(false);
  });

  it('is deleted when another record of the customer points elsewhere', async () => {
    const { item, subjectId } = recording();
    await stores.records.putBatch([item]);
    const stray = blobKey('recordings', T, subjectId, 'never-ingested');
    await stores.blobs.put('recordings', stray, 'x', 'audio/wav');

    expect((await guard().handle(bridged('recordings', stray, longAgo()))).outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', stray)).toBe(false);
  });
});

describe('a young object no record points to yet', () => {
  it('is looked at again a second after its creation, and stays when its record was written meanwhile (an inline blob of an ingest)', async () => {
    const { item, key } = recording();
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');
    const g = guard({ onSleep: () => stores.records.putBatch([item]) });

    const result = await g.handle(bridged('recordings', key, new Date(clock.now().getTime() - 200)));

    expect(result.outcomes).toEqual([{ outcome: 'kept' }]);
    expect(g.sleeps).toEqual([800]);
    expect(await exists('recordings', key)).toBe(true);
  });

  it('is looked at again once it has settled, and stays when its record was written by then (a slow ingest)', async () => {
    const { item, key } = recording();
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');
    let looks = 0;
    const g = guard({ onSleep: async () => (looks += 1) === 2 ? stores.records.putBatch([item]) : undefined });

    const result = await g.handle(bridged('recordings', key, new Date(clock.now().getTime() - 200)));

    expect(result.outcomes).toEqual([{ outcome: 'kept' }]);
    expect(g.sleeps).toEqual([800, SETTLE_MS - 1_000]);
    expect(await exists('recordings', key)).toBe(true);
  });

  it('is deleted once it has settled when still no record points to it', async () => {
    const { key } = recording();
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');
    const g = guard();

    const result = await g.handle(bridged('recordings', key, clock.now()));

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }]);
    // A look again at one second, and the last one when it has settled.
    expect(g.sleeps).toEqual([1_000, SETTLE_MS - 1_000]);
    expect(await exists('recordings', key)).toBe(false);
  });
});

describe('an upload in quarantine (where sealing stores point upload URLs)', () => {
  let sealed: SealedBlobStore;
  let keyStore: KeyStore;
  beforeAll(() => {
    keyStore = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper: new MasterKeyWrapper(randomBytes(32)) });
    sealed = new SealedBlobStore({ inner: stores.blobs, keys: keyStore });
  });
  const sealedGuard = (records: BlobGuardDeps['records'] = stores.records) => guard({ deps: { blobs: sealed, records } });
  const upload = (key: string, body = 'voice of Harriet Vane') => stores.blobs.put('recordings', `${QUARANTINE}${key}`, body, 'audio/wav');

  it('is sealed into place under its record\'s keys and cleared from quarantine while its record stands', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await upload(key);
    const g = sealedGuard();

    const result = await g.handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()));

    expect(result.outcomes).toEqual([{ outcome: 'placed' }]);
    expect(await exists('recordings', `${QUARANTINE}${key}`)).toBe(false);
    // Ciphertext (its header names the customer's partition, as the object key does, and nothing of the content).
    expect(Buffer.from((await stores.blobs.get('recordings', key))!).toString('latin1')).not.toContain('voice of');
    expect(await sealed.read('recordings', key)).toEqual({ body: new Uint8Array(Buffer.from('voice of Harriet Vane')), contentType: 'audio/wav' });
    // No waiting: the record was written before its upload URL was handed out.
    expect(g.sleeps).toEqual([]);
    expect(g.lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([expect.objectContaining({ message: 'blob guard sealed an upload into place', tenantId: T, category: 'call_recording' })]);
    for (const line of g.lines) for (const value of [key, item.subjectId as string, 'Harriet']) expect(line).not.toContain(value);

    await keyStore.shredSubject(item.pk);
    expect(await sealed.read('recordings', key)).toBeUndefined();
  });

  it('is deleted, and nothing is placed, when its record is gone', async () => {
    const { key } = recording();
    await upload(key);
    const g = sealedGuard();

    const result = await g.handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()));

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', `${QUARANTINE}${key}`)).toBe(false);
    expect(await exists('recordings', key)).toBe(false);
    expect(g.sleeps).toEqual([]);
  });

  it('is deleted when its record is a tombstone', async () => {
    const { item, key } = recording({ status: 'deleted' });
    await stores.records.putBatch([item]);
    await upload(key);

    expect((await sealedGuard().handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()))).outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', key)).toBe(false);
  });

  it('does nothing more when the event is delivered again', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await upload(key);
    const event = bridged('recordings', `${QUARANTINE}${key}`, clock.now());
    await sealedGuard().handle(event);

    const again = await sealedGuard().handle(event);

    expect(again.outcomes).toEqual([{ outcome: 'ignored', reason: 'already_handled' }]);
    expect(Buffer.from((await sealed.get('recordings', key))!).toString()).toBe('voice of Harriet Vane');
  });

  it('takes the placed object with it when its record is erased while it is being placed', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await upload(key);
    let looks = 0;
    // The first look finds the record; by the second (after placing) an erasure has deleted it.
    const erasedMeanwhile: BlobGuardDeps['records'] = { findBySubject: async (...a) => ((looks += 1) === 1 ? stores.records.findBySubject(...a) : []) };

    const result = await sealedGuard(erasedMeanwhile).handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()));

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', key)).toBe(false);
    expect(await exists('recordings', `${QUARANTINE}${key}`)).toBe(false);
  });

  it('stays in quarantine, and the event comes again, when clearing it fails', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await upload(key);
    const g = guard({ deps: { blobs: { ...bound(sealed), deleteBatch: async (_bucket, keys) => ({ succeeded: [], failed: keys.map((k) => ({ key: k, reason: 'SlowDown' })) }) } } });

    await expect(g.handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()))).rejects.toThrow(/quarantine/);
    expect(await exists('recordings', `${QUARANTINE}${key}`)).toBe(true);
  });

  it('is refused over a blob a legal hold keeps, which stays as it was; placed where the hold keeps nothing yet', async () => {
    const { item, key } = recording();
    await stores.records.putBatch([item]);
    await sealed.put('recordings', key, 'held evidence', 'audio/wav', item);
    const holds = { listHolds: async () => [{ tenantId: T, holdId: 'hold-1', scope: { customerId: item.subjectId as string }, reason: 'litigation', createdAt: NOW.toISOString(), createdBy: 'h:test' }] };
    await upload(key, 'replacement audio');
    const g = guard({ deps: { blobs: sealed, records: stores.records, control: holds } });

    const result = await g.handle(bridged('recordings', `${QUARANTINE}${key}`, clock.now()));

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }]);
    expect(await exists('recordings', `${QUARANTINE}${key}`)).toBe(false);
    expect(await sealed.read('recordings', key)).toEqual({ body: new Uint8Array(Buffer.from('held evidence')), contentType: 'audio/wav' });
    expect(g.lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['blob guard refused an upload over a held blob, every version']);

    // A held recording whose audio never arrived takes its first upload.
    const first = recording();
    await stores.records.putBatch([first.item]);
    await upload(first.key, 'first audio');
    const held = { listHolds: async () => [{ ...(await holds.listHolds())[0]!, scope: { customerId: first.item.subjectId as string } }] };
    const placed = await guard({ deps: { blobs: sealed, records: stores.records, control: held } }).handle(bridged('recordings', `${QUARANTINE}${first.key}`, clock.now()));
    expect(placed.outcomes).toEqual([{ outcome: 'placed' }]);
  });
});

describe('events the guard leaves alone', () => {
  it('an object of the exports bucket, or of a bucket it does not know', async () => {
    const key = `exports/${T}/req-1.json`;
    await stores.blobs.put('exports', key, '{}', 'application/json');
    const g = guard();

    expect((await g.handle(bridged('exports', key, longAgo()))).outcomes).toEqual([{ outcome: 'ignored', reason: 'unguarded_bucket' }]);
    const foreign = { ...(bridged('recordings', 'recordings/a/b/c', longAgo()) as Record<string, any>) };
    foreign.detail = { ...foreign.detail, bucket: { name: 'someone-elses-bucket' } };
    expect((await g.handle(foreign)).outcomes).toEqual([{ outcome: 'ignored', reason: 'unguarded_bucket' }]);
    expect(await exists('exports', key)).toBe(true);
  });

  it('a key Lethe never writes (another prefix, another depth), logged without the key', async () => {
    const keysLetheNeverWrites = ['quarantine/guarded/c/1', 'recordings/guarded/c', 'inbound/guarded/c/1', 'recordings/guarded/c/1/extra'];
    for (const key of keysLetheNeverWrites) await stores.blobs.put('recordings', key, 'x', 'audio/wav');
    const g = guard();

    for (const key of keysLetheNeverWrites) {
      expect((await g.handle(bridged('recordings', key, longAgo()))).outcomes, key).toEqual([{ outcome: 'ignored', reason: 'unknown_key' }]);
      expect(await exists('recordings', key), key).toBe(true);
    }
    for (const line of g.lines) expect(line).not.toContain('quarantine/');
  });
});

describe('the S3 notification the local emulator sends', () => {
  it('is handled alike: an ObjectCreated record is checked (its key URL-decoded), other records are skipped', async () => {
    // Ids may hold a colon, which S3 notifications URL-encode.
    const orphan = recording({}, ':2026');
    const kept = recording();
    await stores.records.putBatch([kept.item]);
    for (const r of [orphan, kept]) await stores.blobs.put('recordings', r.key, 'voice', 'audio/wav');
    const record = (eventName: string, key: string) => ({
      eventName,
      eventTime: longAgo().toISOString(),
      s3: { bucket: { name: stores.bucketNames.recordings }, object: { key } },
    });

    const result = await guard().handle({
      Records: [record('ObjectCreated:Put', orphan.key.replaceAll(':', '%3A')), record('ObjectRemoved:Delete', kept.key), record('ObjectCreated:Put', kept.key)],
    });

    expect(result.outcomes).toEqual([{ outcome: 'deleted' }, { outcome: 'kept' }]);
    expect(await exists('recordings', orphan.key)).toBe(false);
    expect(await exists('recordings', kept.key)).toBe(true);
  });

  it('refuses an event of neither shape (the invocation fails, nothing is deleted)', async () => {
    await expect(guard().handle({ hello: 'world' })).rejects.toThrow();
  });
});

describe('a deletion that fails', () => {
  it('throws, so the event is delivered again, and logs the failure without the key', async () => {
    const { key } = recording();
    await stores.blobs.put('recordings', key, 'voice', 'audio/wav');
    const g = guard({ deps: { blobs: { ...bound(stores.blobs), deleteBatch: async (_bucket, keys) => ({ succeeded: [], failed: keys.map((k) => ({ key: k, reason: 'AccessDenied' })) }) } } });

    await expect(g.handle(bridged('recordings', key, longAgo()))).rejects.toThrow(/blob guard/);
    expect(await exists('recordings', key)).toBe(true);
    expect(g.lines.some((l) => l.includes('could not delete') && l.includes('AccessDenied'))).toBe(true);
    for (const line of g.lines) expect(line).not.toContain(key);
  });
});

describe('in a versioned bucket (AWS; s3rver has no versions)', () => {
  it('deletes every version and delete marker of the object', async () => {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const s3Mock = mockClient(s3);
    const { key } = recording();
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    s3Mock.on(ListObjectVersionsCommand, { Bucket: 'phys-recordings', Prefix: folder }).resolves({
      Versions: [
        { Key: key, VersionId: 'v2' },
        { Key: key, VersionId: 'v1' },
        { Key: `${folder}other`, VersionId: 'o1' },
      ],
      DeleteMarkers: [{ Key: key, VersionId: 'm1' }],
    });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const blobs = new S3BlobStore({
      s3,
      bucketNames: { recordings: 'phys-recordings', media: 'phys-media', exports: 'phys-exports' },
      bucketFeatures: { recordings: { versioned: true, objectLock: true }, media: { versioned: true, objectLock: true }, exports: { versioned: false, objectLock: false } },
      retry: { sleep: async () => {} },
    });
    const handle = blobGuardHandler({ records: stores.records, blobs, clock }, {
      logger: new CapturingLogger(),
      bucketNames: { recordings: 'phys-recordings', media: 'phys-media', exports: 'phys-exports' },
      settleMs: SETTLE_MS,
    });
    const event = bridged('recordings', key, longAgo()) as Record<string, any>;
    event.detail = { ...event.detail, bucket: { name: 'phys-recordings' } };

    expect((await handle(event)).outcomes).toEqual([{ outcome: 'deleted' }]);

    const deletes = s3Mock.commandCalls(DeleteObjectsCommand).map((c) => (c.args[0].input as DeleteObjectsCommandInput).Delete?.Objects);
    expect(deletes).toEqual([
      expect.arrayContaining([
        { Key: key, VersionId: 'v2' },
        { Key: key, VersionId: 'v1' },
        { Key: key, VersionId: 'm1' },
      ]),
    ]);
    expect(deletes[0]).toHaveLength(3);
  });
});
