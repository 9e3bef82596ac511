/**
 * The sealing blob store on the emulators (s3rver, dynalite keys table): what
 * lands in the bucket is ciphertext with its metadata, it opens to the original
 * bytes and content type while the owner's keys stand, and no longer once a
 * subject or epoch key is shredded; a moved object does not open; objects from
 * before shredding pass through; uploads are pointed into quarantine and
 * downloads at the API.
 */
import { randomBytes } from 'node:crypto';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyStore, MasterKeyWrapper } from '../../shared/adapters/crypto/key-store.js';
import { SealedBlobError, SealedBlobStore } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { epochOf } from '../../shared/adapters/crypto/sealed-record-store.js';
import { DownloadTokens, downloadLinks } from '../../shared/app/download-links.js';
import { blobKey, keys, type RecordItem } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';

const NOW = new Date('2026-03-04T05:06:07.000Z');
const SECRET = 'sealed-blob-store-test-secret';
const BASE = 'https://api.lethe.example';

let stores: Stores;
let keyStore: KeyStore;
let clock: TestClock;
let sealed: SealedBlobStore;

beforeAll(async () => {
  clock = new TestClock(NOW);
  stores = await makeStores({ clock });
  // No reader cache: each read sees the keys table as it is now (as a fresh container would).
  keyStore = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper: new MasterKeyWrapper(randomBytes(32)), cacheMs: 0 });
  sealed = new SealedBlobStore({ inner: stores.blobs, keys: keyStore, downloadUrl: downloadLinks({ refSecret: SECRET, publicApiUrl: `${BASE}/`, clock }) });
});

/** A customer's recording record and its object key, in a tenant of its own. */
function recording(): { item: RecordItem; key: string } {
  const tenantId = `t-${uniqueSuffix()}`;
  const subjectId = 'cust-1';
  const key = blobKey('recordings', tenantId, subjectId, 'rec-1');
  const item: RecordItem = {
    pk: keys.subjectPk(tenantId, subjectId),
    sk: keys.recordingSk('call-1', 'rec-1'),
    tenantId,
    category: 'call_recording',
    id: 'rec-1',
    subjectId,
    callId: 'call-1',
    clockStart: NOW.toISOString(),
    retentionPk: `T#${tenantId}#call_recording#3`,
    retentionSk: `${NOW.toISOString()}#rec-1`,
    blobBucket: 'recordings',
    blobKey: key,
  };
  return { item, key };
}

async function raw(bucket: string, key: string): Promise<{ bytes: Buffer; contentType?: string; metadata: Record<string, string> }> {
  const output = await stores.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { bytes: Buffer.from(await output.Body!.transformToByteArray()), ...(output.ContentType !== undefined && { contentType: output.ContentType }), metadata: output.Metadata ?? {} };
}

const VOICE = 'the voice of Wilhelmina Ashdown, +14155550199';

describe('a blob stored under its record', () => {
  it('is ciphertext in the bucket, marked sealed, and opens to its bytes and content type', async () => {
    const { item, key } = recording();

    await sealed.put('recordings', key, Buffer.from(VOICE), 'audio/wav', item);

    const stored = await raw(stores.bucketNames.recordings, key);
    expect(stored.bytes.toString('latin1')).not.toContain('Wilhelmina');
    expect(stored.bytes.toString('latin1')).not.toContain('+14155550199');
    expect(stored.contentType).toBe('application/octet-stream');
    expect(stored.metadata).toMatchObject({ 'lethe-sealed': '1', 'lethe-content-type': 'audio%2Fwav' });
    expect(await sealed.read('recordings', key)).toEqual({ body: new Uint8Array(Buffer.from(VOICE)), contentType: 'audio/wav' });
    expect(Buffer.from((await sealed.get('recordings', key))!).toString()).toBe(VOICE);
  });

  it('no longer opens once its subject key is shredded (erasure)', async () => {
    const { item, key } = recording();
    await sealed.put('recordings', key, VOICE, 'audio/wav', item);

    expect(await keyStore.shredSubject(item.pk)).toBe(true);

    expect(await sealed.read('recordings', key)).toBeUndefined();
    expect(await sealed.get('recordings', key)).toBeUndefined();
  });

  it('no longer opens once its epoch key is shredded (the sweep), while its subject key stands', async () => {
    const { item, key } = recording();
    await sealed.put('recordings', key, VOICE, 'audio/wav', item);

    // As the sweep's shredding ends: the epoch's rows gone from the keys table.
    expect(await keyStore.shredEpoch(item.tenantId, epochOf(item))).toBe(true);

    expect(await sealed.read('recordings', key)).toBeUndefined();
  });

  it('does not open when copied to another key (the key is bound to it)', async () => {
    const { item, key } = recording();
    await sealed.put('recordings', key, VOICE, 'audio/wav', item);
    const moved = key.replace('rec-1', 'rec-2');
    await stores.s3.send(new CopyObjectCommand({ Bucket: stores.bucketNames.recordings, Key: moved, CopySource: `${stores.bucketNames.recordings}/${key}` }));

    await expect(sealed.read('recordings', moved)).rejects.toBeInstanceOf(SealedBlobError);
  });

  it('is sealed again under a new key when its subject key is destroyed while it is being stored (a returning customer during an erasure)', async () => {
    const { item, key } = recording();
    let shredded = false;
    const racing = Object.assign(Object.create(stores.blobs) as typeof stores.blobs, {
      putObject: async (...a: Parameters<typeof stores.blobs.putObject>) => {
        await stores.blobs.putObject(...a);
        if (!shredded) shredded = await keyStore.shredSubject(item.pk);
      },
    });
    const store = new SealedBlobStore({ inner: racing, keys: keyStore });

    await store.put('recordings', key, VOICE, 'audio/wav', item);

    expect(shredded).toBe(true);
    expect(Buffer.from((await store.get('recordings', key))!).toString()).toBe(VOICE);
  });

  it('is refused without an owner, and nothing is stored', async () => {
    const { key } = recording();

    await expect(sealed.put('recordings', key, VOICE, 'audio/wav')).rejects.toThrow(/needs the record or subjects/);
    expect(await stores.blobs.get('recordings', key)).toBeUndefined();
  });
});

describe('an access export sealed under its subjects', () => {
  it('opens while every subject key stands, and no longer once any one of them is shredded', async () => {
    const tenantId = `t-${uniqueSuffix()}`;
    const subjectPks = [keys.subjectPk(tenantId, 'a'), keys.subjectPk(tenantId, 'b')];
    const key = `exports/${tenantId}/req-1.json`;
    await sealed.put('exports', key, '{"phone":"+14155550123"}', 'application/json', { tenantId, subjectPks });

    expect(await sealed.read('exports', key)).toEqual({ body: new Uint8Array(Buffer.from('{"phone":"+14155550123"}')), contentType: 'application/json' });
    expect((await raw(stores.bucketNames.exports, key)).bytes.toString('latin1')).not.toContain('+14155550123');

    await keyStore.shredSubject(subjectPks[1] as string);

    expect(await sealed.read('exports', key)).toBeUndefined();
  });
});

describe('objects the store passes through', () => {
  it('reads an object stored before shredding as it is, and lists and deletes as the S3 store does', async () => {
    const { key } = recording();
    await stores.blobs.put('recordings', key, 'plain old', 'audio/wav');

    expect(await sealed.read('recordings', key)).toEqual({ body: new Uint8Array(Buffer.from('plain old')), contentType: 'audio/wav' });
    expect((await sealed.list('recordings', key)).map((o) => o.key)).toEqual([key]);
    expect(await sealed.deleteBatch('recordings', [key])).toEqual({ succeeded: [key], failed: [] });
    expect(await sealed.read('recordings', key)).toBeUndefined();
  });
});

describe('links', () => {
  it('points an upload URL into quarantine, signed for the content type', async () => {
    const { key } = recording();

    const url = new URL(await sealed.presignPut('recordings', key, 'audio/wav', 900));

    expect(decodeURIComponent(url.pathname)).toBe(`/${stores.bucketNames.recordings}/quarantine/${key}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body: 'RIFF' });
    expect(put.status).toBe(200);
    await stores.s3.send(new HeadObjectCommand({ Bucket: stores.bucketNames.recordings, Key: `quarantine/${key}` }));
    expect(await stores.blobs.get('recordings', key)).toBeUndefined();
  });

  it('answers a download link of the API naming the object and its expiry, never an S3 link', async () => {
    const { key } = recording();

    const url = await sealed.presignGet('recordings', key, 600);

    expect(url.startsWith(`${BASE}/v1/downloads/`)).toBe(true);
    expect(url).not.toMatch(/X-Amz/u);
    const check = new DownloadTokens(SECRET).check(url.slice(`${BASE}/v1/downloads/`.length), NOW);
    expect(check).toEqual({ ok: true, target: { bucket: 'recordings', key, expiresAt: new Date(NOW.getTime() + 600_000) } });
  });

  it('cannot make a download link where it is not told the API URL', async () => {
    const bare = new SealedBlobStore({ inner: stores.blobs, keys: keyStore });

    await expect(bare.presignGet('recordings', 'recordings/t/c/r', 60)).rejects.toThrow(/PUBLIC_API_URL/);
  });
});
