import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { InitializeMiddleware } from '@smithy/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../shared/adapters/s3/blob-store.js';
import { mapConcurrent } from '../../shared/adapters/retry.js';
import { DEFAULT_MAX_ATTEMPTS } from '../../shared/adapters/clients.js';
import { blobKey } from '../../shared/domain/records.js';
import { EMULATOR_BUCKET_FEATURES, makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { clearFaults, failAttempts, fastRetryClients } from './sdk-faults.js';

const COUNTER = 'countS3Commands';

let stores: Stores;

beforeAll(async () => {
  stores = await makeStores();
});

afterEach(() => {
  stores.s3.middlewareStack.remove(COUNTER);
});

/** Counts the requests the adapter sends, by command name. */
function countCommands(): Map<string, number> {
  const counts = new Map<string, number>();
  const middleware: InitializeMiddleware<object, object> = (next, context) => (args) => {
    const name = context.commandName ?? 'unknown';
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return next(args);
  };
  stores.s3.middlewareStack.add(middleware as never, { step: 'initialize', name: COUNTER });
  return counts;
}

function tenant(): string {
  return `t-${uniqueSuffix()}`;
}

describe('S3BlobStore on the emulator', () => {
  it('stores a blob and reads it back', async () => {
    const key = blobKey('recordings', tenant(), 'c1', 'rec1.wav');

    await stores.blobs.put('recordings', key, new Uint8Array([1, 2, 3]), 'audio/wav');

    expect(await stores.blobs.get('recordings', key)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('reads a missing blob as undefined', async () => {
    expect(await stores.blobs.get('media', blobKey('inbound', tenant(), 'c1', 'nothing'))).toBeUndefined();
  });

  it('lists the blobs under a prefix and nothing outside it', async () => {
    const tenantId = tenant();
    const keys = ['c1/m1', 'c1/m2', 'c2/m1'].map((rest) => `inbound/${tenantId}/${rest}`);
    await Promise.all(keys.map((key) => stores.blobs.put('media', key, 'xy', 'text/plain')));
    await stores.blobs.put('media', blobKey('inbound', `${tenantId}-other`, 'c1', 'm1'), 'x', 'text/plain');

    const listed = await stores.blobs.list('media', `inbound/${tenantId}/`);

    expect(listed.sort((a, b) => a.key.localeCompare(b.key))).toEqual(keys.map((key) => ({ key, size: 2 })));
  });

  it('deletes 2,500 blobs in at most 3 DeleteObjects requests and leaves their neighbours alone', async () => {
    const tenantId = tenant();
    // Spread over one folder per customer, as real keys are. Each folder keeps a
    // neighbour that must survive (and that spares s3rver a race of its own:
    // it fails a DeleteObjects that empties a folder from two keys at once).
    const keys = Array.from({ length: 2_500 }, (_, i) => blobKey('inbound', tenantId, `c${i % 50}`, `m${i}`));
    const neighbours = Array.from({ length: 50 }, (_, i) => blobKey('inbound', tenantId, `c${i}`, 'keep'));
    await mapConcurrent([...keys, ...neighbours], 8, (key) => stores.blobs.put('media', key, 'x', 'text/plain'));
    // The listing pages three times on the emulator; that it finds them all is part of the setup.
    expect(await stores.blobs.list('media', `inbound/${tenantId}/`)).toHaveLength(2_550);
    const counts = countCommands();

    const result = await stores.blobs.deleteBatch('media', keys);

    expect(counts.get('DeleteObjectsCommand')).toBeLessThanOrEqual(3);
    expect(result.failed).toEqual([]);
    expect(result.succeeded).toHaveLength(2_500);
    const left = await stores.blobs.list('media', `inbound/${tenantId}/`);
    expect(left.map((o) => o.key).sort()).toEqual([...neighbours].sort());
  });

  it('counts a blob that is already gone as deleted', async () => {
    const key = blobKey('email', tenant(), 'c1', 'never-written');

    const result = await stores.blobs.deleteBatch('media', [key]);

    expect(result).toEqual({ succeeded: [key], failed: [] });
  });

  it('answers unsupported for a legal hold on a bucket without Object Lock, and sends nothing', async () => {
    const key = blobKey('recordings', tenant(), 'c1', 'rec1');
    await stores.blobs.put('recordings', key, 'x', 'audio/wav');
    const counts = countCommands();

    const answer = await stores.blobs.setLegalHold('recordings', key, true);

    expect(answer).toBe('unsupported');
    expect(counts.size).toBe(0);
  });

  it('answers unsupported when the bucket is configured for Object Lock but the server has none', async () => {
    const key = blobKey('recordings', tenant(), 'c1', 'rec1');
    await stores.blobs.put('recordings', key, 'x', 'audio/wav');
    const locked = new S3BlobStore({
      s3: stores.s3,
      bucketNames: stores.bucketNames,
      bucketFeatures: {
        recordings: { versioned: false, objectLock: true },
        media: { versioned: false, objectLock: false },
        exports: { versioned: false, objectLock: false },
      },
      retry: { sleep: async () => {} },
    });

    const answer = await locked.setLegalHold('recordings', key, true);

    expect(answer).toBe('unsupported');
  });

  it('pre-signs a GET URL that downloads the blob', async () => {
    const key = blobKey('exports', tenant(), 'c1', 'export.json');
    await stores.blobs.put('exports', key, '{"ok":true}', 'application/json');

    const url = await stores.blobs.presignGet('exports', key, 300);
    const response = await fetch(url);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"ok":true}');
  });

  it('pre-signs a PUT URL that uploads a blob with the signed content type', async () => {
    const key = blobKey('recordings', tenant(), 'c1', 'upload.wav');

    const url = await stores.blobs.presignPut('recordings', key, 'audio/wav', 300);
    const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body: 'RIFF' });

    expect(response.status).toBe(200);
    const stored = await stores.s3.send(new GetObjectCommand({ Bucket: stores.bucketNames.recordings, Key: key }));
    expect(stored.ContentType).toBe('audio/wav');
    expect(await stored.Body?.transformToString()).toBe('RIFF');
  });
});

describe('S3BlobStore when S3 throttles a whole DeleteObjects', () => {
  /** The SDK client under this store: its retries do not wait, and faults are injected on it. */
  const sdk = fastRetryClients();
  let sleeps: number[] = [];
  const throttled = (): S3BlobStore =>
    new S3BlobStore({
      s3: sdk.s3,
      bucketNames: stores.bucketNames,
      bucketFeatures: EMULATOR_BUCKET_FEATURES,
      retry: {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    });

  afterEach(() => {
    clearFaults(sdk.s3);
    sdk.retries.length = 0;
    sleeps = [];
  });

  it('deletes the blobs on the SDK\'s retries, and sends the request no more often', async () => {
    const key = blobKey('inbound', tenant(), 'c1', 'm1');
    await stores.blobs.put('media', key, 'x', 'text/plain');
    const injected = failAttempts(sdk.s3, 'DeleteObjectsCommand', 'SlowDown', { failures: 2, status: 503 });

    const result = await throttled().deleteBatch('media', [key]);

    expect(result).toEqual({ succeeded: [key], failed: [] });
    expect(injected.sends()).toBe(3);
    expect(sdk.retries).toHaveLength(2);
    expect(sleeps).toEqual([]);
    expect(await stores.blobs.get('media', key)).toBeUndefined();
  });

  it('reports the keys of a request that stays throttled as failed after the SDK\'s attempts, without throwing', async () => {
    const tenantId = tenant();
    const keys = [blobKey('inbound', tenantId, 'c1', 'a'), blobKey('inbound', tenantId, 'c1', 'b')];
    await Promise.all(keys.map((key) => stores.blobs.put('media', key, 'x', 'text/plain')));
    const injected = failAttempts(sdk.s3, 'DeleteObjectsCommand', 'SlowDown', { status: 503 });

    const result = await throttled().deleteBatch('media', keys);

    expect(result.succeeded).toEqual([]);
    expect(result.failed).toEqual(keys.map((key) => ({ key, reason: `SlowDown after ${DEFAULT_MAX_ATTEMPTS} attempts` })));
    expect(injected.sends()).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(sleeps).toEqual([]);
    expect(await stores.blobs.list('media', `inbound/${tenantId}/`)).toHaveLength(2);
  });
});
