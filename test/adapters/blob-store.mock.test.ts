/**
 * What s3rver cannot do (per-key DeleteObjects errors, versioning, Object Lock)
 * checked against a mocked S3 client. The mock replaces the client's `send`, so
 * the SDK's own retries never run here: a rejection stands for what the client
 * answers once its retries are spent (whole-request throttling on the SDK's
 * retries is in blob-store.test.ts).
 */
import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  PutObjectLegalHoldCommand,
  S3Client,
  S3ServiceException,
  type DeleteObjectsCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3BlobStore, type BucketFeatures } from '../../shared/adapters/s3/blob-store.js';
import type { BucketName } from '../../shared/domain/catalog.js';

const BUCKET_NAMES = { recordings: 'phys-recordings', media: 'phys-media', exports: 'phys-exports' } as const;
const LOCKED: BucketFeatures = { versioned: true, objectLock: true };
const PLAIN: BucketFeatures = { versioned: false, objectLock: false };

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const s3Mock = mockClient(s3);

function store(features: Partial<Record<BucketName, BucketFeatures>> = {}): S3BlobStore {
  return new S3BlobStore({
    s3,
    bucketNames: BUCKET_NAMES,
    bucketFeatures: { recordings: PLAIN, media: PLAIN, exports: PLAIN, ...features },
    retry: { sleep: async () => {} },
  });
}

function s3Error(name: string, status: number, attempts = 1): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: status, attempts }, message: name });
}

function deletedObjects(call: number): DeleteObjectsCommandInput['Delete'] {
  return (s3Mock.commandCalls(DeleteObjectsCommand)[call]?.args[0].input as DeleteObjectsCommandInput).Delete;
}

beforeEach(() => {
  s3Mock.reset();
});

describe('S3BlobStore.deleteBatch on an unversioned bucket', () => {
  it('returns a per-key error as failed while the other keys succeed', async () => {
    const keys = ['inbound/t1/c1/a', 'inbound/t1/c1/b', 'inbound/t1/c1/c'];
    s3Mock.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: 'inbound/t1/c1/b', Code: 'AccessDenied', Message: 'Access Denied' }],
    });

    const result = await store().deleteBatch('media', keys);

    expect(result).toEqual({
      succeeded: ['inbound/t1/c1/a', 'inbound/t1/c1/c'],
      failed: [{ key: 'inbound/t1/c1/b', reason: 'AccessDenied' }],
    });
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
  });

  it('sends quiet requests of at most 1000 keys each', async () => {
    const keys = Array.from({ length: 2_001 }, (_, i) => `inbound/t1/c${i % 3}/m${i}`);
    s3Mock.on(DeleteObjectsCommand).resolves({});

    await store().deleteBatch('media', keys);

    const sizes = s3Mock.commandCalls(DeleteObjectsCommand).map((_, i) => deletedObjects(i)?.Objects?.length);
    expect(sizes.sort()).toEqual([1, 1000, 1000]);
    expect(deletedObjects(0)?.Quiet).toBe(true);
  });

  it('retries only the keys that failed with a retryable code', async () => {
    const keys = ['inbound/t1/c1/a', 'inbound/t1/c1/b'];
    s3Mock
      .on(DeleteObjectsCommand)
      .resolvesOnce({ Errors: [{ Key: 'inbound/t1/c1/b', Code: 'SlowDown' }] })
      .resolves({});

    const result = await store().deleteBatch('media', keys);

    expect(result.failed).toEqual([]);
    expect(s3Mock).toHaveReceivedNthCommandWith(DeleteObjectsCommand, 2, {
      Delete: { Objects: [{ Key: 'inbound/t1/c1/b' }], Quiet: true },
    });
  });

  it('reports the keys of a request the client gave up on as failed, without sending it again or throwing', async () => {
    s3Mock.on(DeleteObjectsCommand).rejects(s3Error('SlowDown', 503, 5));

    const result = await store().deleteBatch('media', ['inbound/t1/c1/a', 'inbound/t1/c1/b']);

    expect(result.succeeded).toEqual([]);
    expect(result.failed).toEqual([
      { key: 'inbound/t1/c1/a', reason: 'SlowDown after 5 attempts' },
      { key: 'inbound/t1/c1/b', reason: 'SlowDown after 5 attempts' },
    ]);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
  });

  it('fails only the keys still pending when a later round of per-key retries is refused as a whole', async () => {
    const keys = ['inbound/t1/c1/a', 'inbound/t1/c1/b', 'inbound/t1/c1/c'];
    s3Mock
      .on(DeleteObjectsCommand)
      .resolvesOnce({ Errors: [{ Key: 'inbound/t1/c1/b', Code: 'SlowDown' }, { Key: 'inbound/t1/c1/c', Code: 'AccessDenied' }] })
      .rejects(s3Error('SlowDown', 503, 5));

    const result = await store().deleteBatch('media', keys);

    expect(result).toEqual({
      succeeded: ['inbound/t1/c1/a'],
      failed: [
        { key: 'inbound/t1/c1/b', reason: 'SlowDown after 5 attempts' },
        { key: 'inbound/t1/c1/c', reason: 'AccessDenied' },
      ],
    });
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 2);
  });

  it('reports the keys of a request refused outright as failed, after one attempt', async () => {
    s3Mock.on(DeleteObjectsCommand).rejects(s3Error('AccessDenied', 403));

    const result = await store().deleteBatch('media', ['inbound/t1/c1/a']);

    expect(result.failed).toEqual([{ key: 'inbound/t1/c1/a', reason: 'AccessDenied' }]);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
  });
});

describe('S3BlobStore.deleteBatch on a versioned bucket', () => {
  it('deletes every version and delete marker of the keys, listing each folder once', async () => {
    s3Mock.on(ListObjectVersionsCommand, { Prefix: 'recordings/t1/c1/' }).resolves({
      Versions: [
        { Key: 'recordings/t1/c1/r1', VersionId: 'v2' },
        { Key: 'recordings/t1/c1/r1', VersionId: 'v1' },
        { Key: 'recordings/t1/c1/r2', VersionId: 'v1' },
        { Key: 'recordings/t1/c1/keep', VersionId: 'v1' },
      ],
      DeleteMarkers: [{ Key: 'recordings/t1/c1/r1', VersionId: 'dm1' }],
    });
    s3Mock.on(ListObjectVersionsCommand, { Prefix: 'recordings/t1/c2/' }).resolves({
      Versions: [{ Key: 'recordings/t1/c2/r3', VersionId: 'v1' }],
    });
    s3Mock.on(DeleteObjectsCommand).resolves({});

    const result = await store({ recordings: LOCKED }).deleteBatch('recordings', [
      'recordings/t1/c1/r1',
      'recordings/t1/c1/r2',
      'recordings/t1/c2/r3',
    ]);

    expect(result.failed).toEqual([]);
    expect(s3Mock).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 2);
    const deleted = s3Mock.commandCalls(DeleteObjectsCommand).flatMap((_, i) => deletedObjects(i)?.Objects ?? []);
    expect(deleted).toEqual(
      expect.arrayContaining([
        { Key: 'recordings/t1/c1/r1', VersionId: 'v2' },
        { Key: 'recordings/t1/c1/r1', VersionId: 'v1' },
        { Key: 'recordings/t1/c1/r1', VersionId: 'dm1' },
        { Key: 'recordings/t1/c1/r2', VersionId: 'v1' },
        { Key: 'recordings/t1/c2/r3', VersionId: 'v1' },
      ]),
    );
    expect(deleted).toHaveLength(5);
  });

  it('follows the version listing over several pages', async () => {
    s3Mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce({
        Versions: [{ Key: 'recordings/t1/c1/r1', VersionId: 'v3' }],
        IsTruncated: true,
        NextKeyMarker: 'recordings/t1/c1/r1',
        NextVersionIdMarker: 'v3',
      })
      .resolves({ Versions: [{ Key: 'recordings/t1/c1/r1', VersionId: 'v2' }] });
    s3Mock.on(DeleteObjectsCommand).resolves({});

    await store({ recordings: LOCKED }).deleteBatch('recordings', ['recordings/t1/c1/r1']);

    expect(s3Mock).toHaveReceivedNthCommandWith(ListObjectVersionsCommand, 2, {
      KeyMarker: 'recordings/t1/c1/r1',
      VersionIdMarker: 'v3',
    });
    expect(deletedObjects(0)?.Objects).toEqual([
      { Key: 'recordings/t1/c1/r1', VersionId: 'v3' },
      { Key: 'recordings/t1/c1/r1', VersionId: 'v2' },
    ]);
  });

  it('fails a key when one of its versions cannot be deleted (a version under legal hold)', async () => {
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: 'recordings/t1/c1/r1', VersionId: 'v2' },
        { Key: 'recordings/t1/c1/r1', VersionId: 'v1' },
        { Key: 'recordings/t1/c1/r2', VersionId: 'v1' },
      ],
    });
    s3Mock.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: 'recordings/t1/c1/r1', VersionId: 'v1', Code: 'AccessDenied' }],
    });

    const result = await store({ recordings: LOCKED }).deleteBatch('recordings', [
      'recordings/t1/c1/r1',
      'recordings/t1/c1/r2',
    ]);

    expect(result).toEqual({
      succeeded: ['recordings/t1/c1/r2'],
      failed: [{ key: 'recordings/t1/c1/r1', reason: 'AccessDenied' }],
    });
  });

  it('fails the keys of a folder whose versions cannot be listed', async () => {
    s3Mock.on(ListObjectVersionsCommand).rejects(s3Error('AccessDenied', 403));

    const result = await store({ recordings: LOCKED }).deleteBatch('recordings', ['recordings/t1/c1/r1']);

    expect(result.failed).toEqual([{ key: 'recordings/t1/c1/r1', reason: 'AccessDenied' }]);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 0);
  });
});

describe('S3BlobStore.setLegalHold', () => {
  it.each([
    [true, 'ON'],
    [false, 'OFF'],
  ] as const)('sends PutObjectLegalHold (%s → %s) for every version of the key, delete markers and other keys aside', async (on, status) => {
    s3Mock.on(PutObjectLegalHoldCommand).resolves({});
    s3Mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce({
        IsTruncated: true,
        NextKeyMarker: 'recordings/t1/c1/r1',
        NextVersionIdMarker: 'v2',
        Versions: [
          { Key: 'recordings/t1/c1/r1', VersionId: 'v1' },
          { Key: 'recordings/t1/c1/r1', VersionId: 'v2' },
        ],
      })
      .resolvesOnce({
        Versions: [
          { Key: 'recordings/t1/c1/r1', VersionId: 'v3' },
          { Key: 'recordings/t1/c1/r10', VersionId: 'other' },
        ],
        DeleteMarkers: [{ Key: 'recordings/t1/c1/r1', VersionId: 'marker' }],
      });

    const answer = await store({ recordings: LOCKED }).setLegalHold('recordings', 'recordings/t1/c1/r1', on);

    expect(answer).toBe('applied');
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Bucket: 'phys-recordings', Prefix: 'recordings/t1/c1/r1' });
    const sent = s3Mock.commandCalls(PutObjectLegalHoldCommand).map((c) => c.args[0].input);
    expect(sent).toEqual(
      ['v1', 'v2', 'v3'].map((VersionId) => ({ Bucket: 'phys-recordings', Key: 'recordings/t1/c1/r1', VersionId, LegalHold: { Status: status } })),
    );
  });

  it('answers unsupported without a request where the bucket has no Object Lock', async () => {
    const answer = await store().setLegalHold('exports', 'exports/t1/c1/e1', true);

    expect(answer).toBe('unsupported');
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectLegalHoldCommand, 0);
  });

  it('throws when S3 refuses the hold for another reason', async () => {
    s3Mock.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'recordings/t1/c1/r1', VersionId: 'v1' }] });
    s3Mock.on(PutObjectLegalHoldCommand).rejects(s3Error('AccessDenied', 403));

    const hold = store({ recordings: LOCKED }).setLegalHold('recordings', 'recordings/t1/c1/r1', true);

    await expect(hold).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('S3BlobStore.list', () => {
  it('follows truncated listings with the last key as marker', async () => {
    s3Mock
      .on(ListObjectsCommand)
      .resolvesOnce({ Contents: [{ Key: 'inbound/t1/c1/a', Size: 1 }], IsTruncated: true })
      .resolves({ Contents: [{ Key: 'inbound/t1/c1/b', Size: 2 }], IsTruncated: false });

    const listed = await store().list('media', 'inbound/t1/');

    expect(listed).toEqual([
      { key: 'inbound/t1/c1/a', size: 1 },
      { key: 'inbound/t1/c1/b', size: 2 },
    ]);
    expect(s3Mock).toHaveReceivedNthCommandWith(ListObjectsCommand, 2, { Marker: 'inbound/t1/c1/a' });
  });
});
