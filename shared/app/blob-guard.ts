/**
 * The blob guard: every object created in the recordings and media buckets is
 * checked against the records. An object no stored record points to (an
 * upload through a pre-signed URL that arrived after its record was deleted,
 * or an ingest that failed after storing its blobs) is deleted at once, every
 * version of it, and a PII-free log line says so. In AWS the buckets send
 * their `Object Created` events to EventBridge, which invokes the guard's
 * function; in local mode the S3 emulator's events call the same handler.
 *
 * Ingest stores an inline blob before the record that points to it, within
 * one API request: an object younger than `settleMs` that no record points to
 * yet is looked at again when it is a second old (most ingests have written
 * their records by then) and when it is `settleMs` old, and deleted only then.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { CATALOG, type BucketName, type Category } from '../domain/catalog.js';
import type { BlobStore, Clock, RecordStore } from '../domain/ports.js';
import { parseBlobKey, type RecordItem } from '../domain/records.js';

/** Key prefixes of the blob categories, by bucket: the objects records point to. */
export const GUARDED_PREFIXES: ReadonlyMap<BucketName, ReadonlyMap<string, Category>> = (() => {
  const out = new Map<BucketName, Map<string, Category>>();
  for (const [category, entry] of Object.entries(CATALOG) as [Category, (typeof CATALOG)[Category]][]) {
    if (entry.store.kind !== 'blob') continue;
    let prefixes = out.get(entry.store.bucket);
    if (prefixes === undefined) out.set(entry.store.bucket, (prefixes = new Map()));
    prefixes.set(entry.store.prefix, category);
  }
  return out;
})();

/** The buckets the guard watches (recordings and media; exports holds no record's blob). */
export const GUARDED_BUCKETS: readonly BucketName[] = [...GUARDED_PREFIXES.keys()];

/**
 * Default settling time: twice the admin API function's 30-second timeout, so
 * every ingest request that stored a blob has written its records, or ended.
 */
export const DEFAULT_BLOB_GUARD_SETTLE_MS = 60_000;

/** Age of an object at the first look again, before the last one at `settleMs`. */
const FIRST_RECHECK_MS = 1_000;

export interface BlobGuardDeps {
  readonly records: Pick<RecordStore, 'findBySubject'>;
  readonly blobs: Pick<BlobStore, 'deleteBatch'>;
  readonly clock: Clock;
}

export interface BlobGuardOptions {
  readonly logger: Logger;
  /** How old an object must be before the absence of its record is final (default `DEFAULT_BLOB_GUARD_SETTLE_MS`). */
  readonly settleMs?: number;
  /** Waits; tests and local mode's shutdown pass their own. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** One object created, as the events name it. */
export interface CreatedObject {
  readonly bucket: BucketName;
  readonly key: string;
  readonly createdAt: Date;
}

export type GuardOutcome =
  | { readonly outcome: 'kept' }
  | { readonly outcome: 'deleted' }
  | { readonly outcome: 'ignored'; readonly reason: 'unguarded_bucket' | 'unknown_key' };

/** Whether the record points to the object and still stands for it (a tombstone or an anonymised record does not). */
function pointsTo(item: RecordItem, bucket: BucketName, key: string): boolean {
  if (item.blobBucket !== bucket || item.blobKey !== key) return false;
  if (item.status === 'deleted' || item.data?.deleted === true) return false;
  return (item as { anonymizedAt?: unknown }).anonymizedAt === undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Keeps the object if a stored record points to it, or deletes every version
 * of it. Keys Lethe never writes (`<prefix>/<tenant>/<subject>/<id>` with a
 * blob category's prefix) are left alone and logged. A failed deletion throws,
 * so the event is delivered again.
 */
export async function guardBlob(deps: BlobGuardDeps, object: CreatedObject, options: BlobGuardOptions): Promise<GuardOutcome> {
  const prefixes = GUARDED_PREFIXES.get(object.bucket);
  if (prefixes === undefined) return { outcome: 'ignored', reason: 'unguarded_bucket' };
  const parsed = parseBlobKey(object.key);
  const category = parsed === undefined ? undefined : prefixes.get(parsed.prefix);
  if (parsed === undefined || category === undefined) {
    options.logger.warn('blob guard left an object whose key Lethe does not write', { bucket: object.bucket });
    return { outcome: 'ignored', reason: 'unknown_key' };
  }
  const pointed = async () =>
    // Records past their backstop too: a held one keeps its blob, and the sweep deletes the others with theirs.
    (await deps.records.findBySubject(parsed.tenantId, parsed.subjectId, { includeExpired: true })).some((i) => pointsTo(i, object.bucket, object.key));
  if (await pointed()) return { outcome: 'kept' };

  const settleMs = options.settleMs ?? DEFAULT_BLOB_GUARD_SETTLE_MS;
  for (const at of [Math.min(FIRST_RECHECK_MS, settleMs), settleMs]) {
    const age = deps.clock.now().getTime() - object.createdAt.getTime();
    if (age >= settleMs) break;
    if (age >= at) continue;
    await (options.sleep ?? defaultSleep)(at - Math.max(0, age));
    if (await pointed()) return { outcome: 'kept' };
  }

  const result = await deps.blobs.deleteBatch(object.bucket, [object.key]);
  const log = { tenantId: parsed.tenantId, bucket: object.bucket, category };
  if (result.failed.length > 0) {
    options.logger.error('blob guard could not delete an object no record points to', { ...log, error: result.failed[0]?.reason });
    throw new Error(`blob guard: deleting an orphan object of tenant ${parsed.tenantId} failed`);
  }
  options.logger.warn('blob guard deleted an object no record points to, every version', log);
  return { outcome: 'deleted' };
}

const name = z.string().min(1).max(1024);
const eventBridgeEvent = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  time: z.string(),
  detail: z.object({ bucket: z.object({ name }), object: z.object({ key: name }) }),
});
const notificationEvent = z.object({
  Records: z.array(
    z.object({
      eventName: z.string(),
      eventTime: z.string(),
      s3: z.object({ bucket: z.object({ name }), object: z.object({ key: name }) }),
    }),
  ),
});

/** S3 notifications URL-encode keys (a space as `+`); undefined when the encoding is broken. */
function decodeNotificationKey(key: string): string | undefined {
  try {
    return decodeURIComponent(key.replaceAll('+', '%20'));
  } catch {
    return undefined;
  }
}

function instant(value: string, fallback: Date): Date {
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? fallback : at;
}

/**
 * The guard's event handler: an EventBridge `Object Created` event (AWS), or
 * an S3 notification with `ObjectCreated:*` records (the local S3 emulator).
 * Buckets are named physically in events; `bucketNames` maps them back.
 */
export function blobGuardHandler(deps: BlobGuardDeps, options: BlobGuardOptions & { readonly bucketNames: Readonly<Record<BucketName, string>> }) {
  const logical = new Map((Object.entries(options.bucketNames) as [BucketName, string][]).map(([logicalName, physical]) => [physical, logicalName]));
  return async (event: unknown): Promise<{ readonly outcomes: GuardOutcome[] }> => {
    const now = deps.clock.now();
    const objects: { bucket: string; key: string | undefined; createdAt: Date }[] = [];
    const bridged = eventBridgeEvent.safeParse(event);
    if (bridged.success) {
      objects.push({ bucket: bridged.data.detail.bucket.name, key: bridged.data.detail.object.key, createdAt: instant(bridged.data.time, now) });
    } else {
      for (const r of notificationEvent.parse(event).Records) {
        if (!r.eventName.startsWith('ObjectCreated:')) continue;
        objects.push({ bucket: r.s3.bucket.name, key: decodeNotificationKey(r.s3.object.key), createdAt: instant(r.eventTime, now) });
      }
    }
    const outcomes: GuardOutcome[] = [];
    for (const o of objects) {
      const bucket = logical.get(o.bucket);
      if (bucket === undefined || o.key === undefined) {
        outcomes.push({ outcome: 'ignored', reason: bucket === undefined ? 'unguarded_bucket' : 'unknown_key' });
        continue;
      }
      outcomes.push(await guardBlob(deps, { bucket, key: o.key, createdAt: o.createdAt }, options));
    }
    return { outcomes };
  };
}
