/**
 * The buckets behind the `BlobStore` port. Which buckets are versioned and
 * which have Object Lock is configuration, not discovery: the composition root
 * knows how the stack built them (CDK: `bucketFeaturesFrom(BUCKETS)`; the
 * emulator has neither). Throttled or failed requests are the client's to
 * retry (`clients.ts`); the store itself sends again only the keys a
 * DeleteObjects answered with a retryable per-key error.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BucketName } from '../../domain/catalog.js';
import { ValidationError } from '../../domain/errors.js';
import type { BatchResult, BlobObject, BlobOwner, BlobStore, StoredBlob } from '../../domain/ports.js';
import { backoffDelayMs, chunk, errorName, errorReason, mapConcurrent, retryOptions, type RetryOptions } from '../retry.js';
import type { BucketDefinition } from '../table-definitions.js';

/** DeleteObjects takes at most 1000 keys. */
const DELETE_OBJECTS_MAX = 1000;
/** SigV4 pre-signed URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Per-key DeleteObjects error codes worth another attempt; any other code is final (e.g. AccessDenied on a held version). */
const RETRYABLE_KEY_CODES = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable']);

export interface BucketFeatures {
  /** Objects have versions; a deletion removes every one of them. */
  readonly versioned: boolean;
  /** Object Lock is enabled, so legal holds can be set on objects. */
  readonly objectLock: boolean;
}

/** Features of buckets built from the definitions as the stack builds them: Object Lock implies versioning. */
export function bucketFeaturesFrom(definitions: readonly BucketDefinition[]): Record<BucketName, BucketFeatures> {
  const features = {} as Record<BucketName, BucketFeatures>;
  for (const d of definitions) features[d.id] = { versioned: d.objectLock, objectLock: d.objectLock };
  return features;
}

/** An object as S3 holds it: bytes, content type and user metadata (names lower-case). */
export interface StoredObject extends StoredBlob {
  readonly metadata: Readonly<Record<string, string>>;
}

export interface S3BlobStoreOptions {
  readonly s3: S3Client;
  /** Physical bucket names by logical name. */
  readonly bucketNames: Readonly<Record<BucketName, string>>;
  readonly bucketFeatures: Readonly<Record<BucketName, BucketFeatures>>;
  /** DeleteObjects requests in flight at once per call (default 4). */
  readonly concurrency?: number;
  /**
   * Version listings in flight at once per call (default 16): a versioned
   * bucket needs one per folder (`<prefix>/<tenant>/<subject>/`) before its
   * deletes, and a sweep chunk may cover thousands of folders.
   */
  readonly listConcurrency?: number;
  /** Rounds and backoff for keys a DeleteObjects answered with a retryable per-key error (default 8 rounds, full jitter). */
  readonly retry?: Partial<RetryOptions>;
}

export class S3BlobStore implements BlobStore {
  private readonly s3: S3Client;
  private readonly bucketNames: Readonly<Record<BucketName, string>>;
  private readonly bucketFeatures: Readonly<Record<BucketName, BucketFeatures>>;
  private readonly concurrency: number;
  private readonly listConcurrency: number;
  private readonly retry: RetryOptions;

  constructor(options: S3BlobStoreOptions) {
    this.s3 = options.s3;
    this.bucketNames = options.bucketNames;
    this.bucketFeatures = options.bucketFeatures;
    this.concurrency = options.concurrency ?? 4;
    this.listConcurrency = options.listConcurrency ?? 16;
    this.retry = retryOptions(options.retry);
  }

  /** Stores the blob as given: the owner is for stores that seal (`SealedBlobStore`). */
  async put(bucket: BucketName, key: string, body: Uint8Array | string, contentType: string, _owner?: BlobOwner): Promise<void> {
    await this.putObject(bucket, key, body, { contentType });
  }

  /** Stores an object with user metadata (`x-amz-meta-<name>`; names lower-case, values ASCII). */
  async putObject(bucket: BucketName, key: string, body: Uint8Array | string, options: { readonly contentType: string; readonly metadata?: Readonly<Record<string, string>> }): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketNames[bucket],
        Key: key,
        Body: body,
        ContentType: options.contentType,
        ...(options.metadata !== undefined && { Metadata: { ...options.metadata } }),
        // End-to-end integrity, and what S3 demands of uploads into Object Lock buckets.
        ChecksumAlgorithm: 'CRC32',
      }),
    );
  }

  async get(bucket: BucketName, key: string): Promise<Uint8Array | undefined> {
    return (await this.getObject(bucket, key))?.body;
  }

  async read(bucket: BucketName, key: string): Promise<StoredBlob | undefined> {
    const object = await this.getObject(bucket, key);
    return object === undefined ? undefined : { body: object.body, contentType: object.contentType };
  }

  /** The current version's bytes, content type and user metadata; undefined when there is no such object. */
  async getObject(bucket: BucketName, key: string): Promise<StoredObject | undefined> {
    try {
      const output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketNames[bucket], Key: key }));
      return {
        body: output.Body === undefined ? new Uint8Array() : await output.Body.transformToByteArray(),
        contentType: output.ContentType ?? 'application/octet-stream',
        metadata: output.Metadata ?? {},
      };
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Pages with ListObjects (v1) and the last key as marker: s3rver cannot page
   * ListObjectsV2 on Node 20 (its continuation tokens use DES, which OpenSSL 3
   * no longer offers, so every truncated listing fails with InternalError).
   */
  async list(bucket: BucketName, prefix: string): Promise<BlobObject[]> {
    const objects: BlobObject[] = [];
    let marker: string | undefined;
    do {
      const output = await this.s3.send(
        new ListObjectsCommand({
          Bucket: this.bucketNames[bucket],
          Prefix: prefix,
          ...(marker !== undefined && { Marker: marker }),
        }),
      );
      for (const o of output.Contents ?? []) {
        if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0 });
      }
      marker = output.IsTruncated === true ? (output.NextMarker ?? objects.at(-1)?.key) : undefined;
    } while (marker !== undefined);
    return objects;
  }

  async deleteBatch(bucket: BucketName, keys: readonly string[]): Promise<BatchResult<string>> {
    const unique = [...new Set(keys)];
    const bucketName = this.bucketNames[bucket];
    const failures = new Map<string, string>();

    let targets: ObjectIdentifier[];
    if (this.bucketFeatures[bucket].versioned) {
      const listed = await this.listVersions(bucketName, unique);
      targets = listed.objects;
      for (const [key, reason] of listed.failed) failures.set(key, reason);
    } else {
      targets = unique.map((key) => ({ Key: key }));
    }

    const results = await mapConcurrent(chunk(targets, DELETE_OBJECTS_MAX), this.concurrency, (part) =>
      this.deleteChunk(bucketName, part),
    );
    for (const { key, reason } of results.flat()) {
      if (!failures.has(key)) failures.set(key, reason);
    }
    return {
      succeeded: unique.filter((key) => !failures.has(key)),
      failed: unique.filter((key) => failures.has(key)).map((key) => ({ key, reason: failures.get(key) as string })),
    };
  }

  /**
   * Sets or clears the legal hold on every version of the key, not only the
   * current one: a version written while the hold stood (or before it) must
   * not stay locked after the release, where no sweep could ever delete it.
   * Delete markers carry no legal hold and are left alone.
   */
  async setLegalHold(bucket: BucketName, key: string, on: boolean): Promise<'applied' | 'unsupported'> {
    if (!this.bucketFeatures[bucket].objectLock) return 'unsupported';
    const bucketName = this.bucketNames[bucket];
    try {
      const versions = this.bucketFeatures[bucket].versioned ? await this.versionIdsOf(bucketName, key) : [undefined];
      for (const versionId of versions) {
        await this.s3.send(
          new PutObjectLegalHoldCommand({
            Bucket: bucketName,
            Key: key,
            ...(versionId !== undefined && { VersionId: versionId }),
            LegalHold: { Status: on ? 'ON' : 'OFF' },
          }),
        );
      }
      return 'applied';
    } catch (error) {
      // Configured for Object Lock, but the server has none (s3rver answers 405).
      if (isUnsupportedOperation(error)) return 'unsupported';
      throw error;
    }
  }

  /** The version ids of one key's object versions (delete markers aside), over every page of the listing. */
  private async versionIdsOf(bucketName: string, key: string): Promise<string[]> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const output = await this.s3.send(
        new ListObjectVersionsCommand({
          Bucket: bucketName,
          Prefix: key,
          ...(keyMarker !== undefined && { KeyMarker: keyMarker }),
          ...(versionIdMarker !== undefined && { VersionIdMarker: versionIdMarker }),
        }),
      );
      for (const v of output.Versions ?? []) if (v.Key === key && v.VersionId !== undefined) ids.push(v.VersionId);
      const truncated = output.IsTruncated === true;
      keyMarker = truncated ? output.NextKeyMarker : undefined;
      versionIdMarker = truncated ? output.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    return ids;
  }

  presignGet(bucket: BucketName, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucketNames[bucket], Key: key }), {
      expiresIn: checkExpiry(expiresInSeconds),
    });
  }

  /** The uploader must send the same `Content-Type`: it is part of the signature. */
  presignPut(bucket: BucketName, key: string, contentType: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.s3,
      new PutObjectCommand({ Bucket: this.bucketNames[bucket], Key: key, ContentType: contentType }),
      { expiresIn: checkExpiry(expiresInSeconds) },
    );
  }

  /**
   * Every version and delete marker of the keys. Keys are `<prefix>/<tenant>/<subject>/<id>`,
   * so one listing per folder finds the versions of all keys in it.
   */
  private async listVersions(
    bucketName: string,
    keys: readonly string[],
  ): Promise<{ objects: ObjectIdentifier[]; failed: Map<string, string> }> {
    const folders = new Map<string, Set<string>>();
    for (const key of keys) {
      const slash = key.lastIndexOf('/');
      const folder = slash < 0 ? key : key.slice(0, slash + 1);
      let wanted = folders.get(folder);
      if (wanted === undefined) folders.set(folder, (wanted = new Set()));
      wanted.add(key);
    }

    const objects: ObjectIdentifier[] = [];
    const failed = new Map<string, string>();
    await mapConcurrent([...folders], this.listConcurrency, async ([folder, wanted]) => {
      const found: ObjectIdentifier[] = [];
      try {
        let keyMarker: string | undefined;
        let versionIdMarker: string | undefined;
        do {
          const output = await this.s3.send(
            new ListObjectVersionsCommand({
              Bucket: bucketName,
              Prefix: folder,
              ...(keyMarker !== undefined && { KeyMarker: keyMarker }),
              ...(versionIdMarker !== undefined && { VersionIdMarker: versionIdMarker }),
            }),
          );
          for (const v of [...(output.Versions ?? []), ...(output.DeleteMarkers ?? [])]) {
            if (v.Key !== undefined && wanted.has(v.Key)) {
              found.push({ Key: v.Key, ...(v.VersionId !== undefined && { VersionId: v.VersionId }) });
            }
          }
          const truncated = output.IsTruncated === true;
          keyMarker = truncated ? output.NextKeyMarker : undefined;
          versionIdMarker = truncated ? output.NextVersionIdMarker : undefined;
        } while (keyMarker !== undefined);
        objects.push(...found);
      } catch (error) {
        for (const key of wanted) failed.set(key, errorReason(error));
      }
    });
    return { objects, failed };
  }

  /**
   * One DeleteObjects of at most 1000 objects (quiet: only errors come back).
   * Keys answered with a retryable per-key error are sent again with backoff; a
   * request that fails outright was already retried by the client, and fails
   * its keys. Resolves with the keys that still failed, never rejects.
   */
  private async deleteChunk(
    bucketName: string,
    objects: ObjectIdentifier[],
  ): Promise<{ key: string; reason: string }[]> {
    const failed: { key: string; reason: string }[] = [];
    let pending = objects;
    let lastReason = 'unknown';
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      if (attempt > 1) await this.retry.sleep(backoffDelayMs(attempt - 1, this.retry));
      let errors;
      try {
        const output = await this.s3.send(
          new DeleteObjectsCommand({ Bucket: bucketName, Delete: { Objects: pending, Quiet: true } }),
        );
        errors = output.Errors ?? [];
      } catch (error) {
        const reason = errorReason(error);
        return [...failed, ...pending.map((o) => ({ key: o.Key as string, reason }))];
      }
      const retry = new Set<string>();
      for (const e of errors) {
        if (e.Key === undefined) continue;
        const code = e.Code ?? 'UnknownError';
        if (RETRYABLE_KEY_CODES.has(code)) {
          retry.add(objectId(e.Key, e.VersionId));
          lastReason = code;
        } else {
          failed.push({ key: e.Key, reason: code });
        }
      }
      pending = pending.filter((o) => retry.has(objectId(o.Key as string, o.VersionId)));
      if (pending.length === 0) return failed;
    }
    const reason = `${lastReason} after ${this.retry.maxAttempts} attempts`;
    return [...failed, ...pending.map((o) => ({ key: o.Key as string, reason }))];
  }
}

function objectId(key: string, versionId: string | undefined): string {
  return JSON.stringify([key, versionId ?? null]);
}

function isUnsupportedOperation(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NotImplemented' || name === 'MethodNotAllowed') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 405 || status === 501;
}

function checkExpiry(expiresInSeconds: number): number {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new ValidationError('expiresInSeconds', `a pre-signed URL lives 1 to ${MAX_PRESIGN_SECONDS} seconds`);
  }
  return expiresInSeconds;
}
