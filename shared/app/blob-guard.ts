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
 *
 * Uploads through pre-signed URLs land in quarantine (`quarantine/<key>`, where
 * a sealing blob store points them). An upload whose record still stands (the
 * record is written before its URL is handed out, so no settling) is read,
 * stored at its key through the blob store — sealed under the record's keys —
 * and then deleted from quarantine, every version; one whose record is gone,
 * tombstoned or anonymised is only deleted. A redelivered event finds the
 * quarantine empty and does nothing; a record erased while its upload was
 * being placed is caught by the look after it, and the placed object deleted.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { CATALOG, type BucketName, type Category } from '../domain/catalog.js';
import { QUARANTINE_PREFIX } from '../adapters/crypto/sealed-blob-store.js';
import { holdMatcher } from '../domain/holds.js';
import type { BlobStore, Clock, ControlStore, RecordStore } from '../domain/ports.js';
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
  /**
   * The tenant's legal holds: an upload over a blob a hold keeps is refused
   * (an upload URL issued before the hold, used after it). Absent: no check.
   */
  readonly control?: Pick<ControlStore, 'listHolds'>;
  /** Where blobs are sealed, the sealing store: what it puts, it seals under the owner's keys. */
  readonly blobs: Pick<BlobStore, 'deleteBatch' | 'read' | 'put' | 'list'>;
  readonly clock: Clock;
}

/** Where uploads land until the guard places them (shared/adapters/crypto/sealed-blob-store.ts points them there). */
export const QUARANTINE = QUARANTINE_PREFIX;

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
  /** An upload sealed into place at its key and gone from quarantine. */
  | { readonly outcome: 'placed' }
  | { readonly outcome: 'ignored'; readonly reason: 'unguarded_bucket' | 'unknown_key' | 'already_handled' };

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
  const quarantined = object.key.startsWith(QUARANTINE);
  const key = quarantined ? object.key.slice(QUARANTINE.length) : object.key;
  const parsed = parseBlobKey(key);
  const category = parsed === undefined ? undefined : prefixes.get(parsed.prefix);
  if (parsed === undefined || category === undefined) {
    options.logger.warn('blob guard left an object whose key Lethe does not write', { bucket: object.bucket });
    return { outcome: 'ignored', reason: 'unknown_key' };
  }
  // Records past their backstop too: a held one keeps its blob, and the sweep deletes the others with theirs.
  const owner = async () => (await deps.records.findBySubject(parsed.tenantId, parsed.subjectId, { includeExpired: true })).find((i) => pointsTo(i, object.bucket, key));
  const log = { tenantId: parsed.tenantId, bucket: object.bucket, category };
  if (quarantined) return placeUpload(deps, { bucket: object.bucket, quarantineKey: object.key, key }, owner, log, options);

  const pointed = async () => (await owner()) !== undefined;
  if (await pointed()) return { outcome: 'kept' };

  const settleMs = options.settleMs ?? DEFAULT_BLOB_GUARD_SETTLE_MS;
  for (const at of [Math.min(FIRST_RECHECK_MS, settleMs), settleMs]) {
    const age = deps.clock.now().getTime() - object.createdAt.getTime();
    if (age >= settleMs) break;
    if (age >= at) continue;
    await (options.sleep ?? defaultSleep)(at - Math.max(0, age));
    if (await pointed()) return { outcome: 'kept' };
  }

  await deleteOrphan(deps, object.bucket, object.key, log, options);
  return { outcome: 'deleted' };
}

/** What a log line of the guard says: no key, no customer. */
type GuardLog = { readonly tenantId: string; readonly bucket: BucketName; readonly category: Category };

/** Deletes every version of an object no record points to; throws (the event comes again) when that fails. */
async function deleteOrphan(
  deps: BlobGuardDeps,
  bucket: BucketName,
  key: string,
  log: GuardLog,
  options: BlobGuardOptions,
  message = 'blob guard deleted an object no record points to, every version',
): Promise<void> {
  const result = await deps.blobs.deleteBatch(bucket, [key]);
  if (result.failed.length > 0) {
    options.logger.error('blob guard could not delete an object no record points to', { ...log, error: result.failed[0]?.reason });
    throw new Error(`blob guard: deleting an orphan object of tenant ${log.tenantId} failed`);
  }
  options.logger.warn(message, log);
}

/**
 * An upload in quarantine: sealed into place at `key` under its record's keys
 * while the record stands, then deleted from quarantine (every version); only
 * deleted when the record is gone. The record is looked at again after the
 * placing: one erased meanwhile takes the placed object with it.
 */
async function placeUpload(
  deps: BlobGuardDeps,
  upload: { readonly bucket: BucketName; readonly quarantineKey: string; readonly key: string },
  owner: () => Promise<RecordItem | undefined>,
  log: GuardLog,
  options: BlobGuardOptions,
): Promise<GuardOutcome> {
  const record = await owner();
  if (record === undefined) {
    await deleteOrphan(deps, upload.bucket, upload.quarantineKey, log, options);
    return { outcome: 'deleted' };
  }
  // Held means untouched: a blob a hold keeps is not replaced by an upload (a URL issued before the hold).
  if (deps.control !== undefined && holdMatcher(await deps.control.listHolds(log.tenantId), deps.clock.now())(record)) {
    const stored = await deps.blobs.list(upload.bucket, upload.key);
    if (stored.some((o) => o.key === upload.key)) {
      await deleteOrphan(deps, upload.bucket, upload.quarantineKey, log, options, 'blob guard refused an upload over a held blob, every version');
      return { outcome: 'deleted' };
    }
  }
  const content = await deps.blobs.read(upload.bucket, upload.quarantineKey);
  // Placed and cleared by an earlier delivery of the event.
  if (content === undefined) return { outcome: 'ignored', reason: 'already_handled' };
  const declared = typeof record.data?.contentType === 'string' ? record.data.contentType : undefined;
  await deps.blobs.put(upload.bucket, upload.key, content.body, declared ?? content.contentType, record);
  if ((await owner()) === undefined) {
    await deleteOrphan(deps, upload.bucket, upload.key, log, options);
    await deleteOrphan(deps, upload.bucket, upload.quarantineKey, log, options);
    return { outcome: 'deleted' };
  }
  const cleared = await deps.blobs.deleteBatch(upload.bucket, [upload.quarantineKey]);
  if (cleared.failed.length > 0) {
    options.logger.error('blob guard placed an upload but could not clear it from quarantine', { ...log, error: cleared.failed[0]?.reason });
    throw new Error(`blob guard: clearing an upload of tenant ${log.tenantId} from quarantine failed`);
  }
  options.logger.info('blob guard sealed an upload into place', log);
  return { outcome: 'placed' };
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
