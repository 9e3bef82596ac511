/**
 * Structural lower bounds: the fewest requests *any* sweep could send on a
 * world while keeping the design's shape (DESIGN.md §3–4): due records are
 * found through the `byRetention` index, whose partitions are
 * `T#<tenant>#<category>#<shard>`, and each tenant is swept by its own run, so
 * no request carries two tenants' keys.
 *
 * - DynamoDB: one Query for every index partition that holds a record past its
 *   own cutoff (a Query reads one partition), plus ⌈due records / 25⌉ BatchWriteItem per
 *   tenant. Records outside the index (identifiers), cascades, pages beyond
 *   the first and the control table would only add to it.
 * - S3: ⌈due blobs / 1000⌉ DeleteObjects per tenant and bucket.
 *
 * The floor knows every key beforehand and batches across tenants, so these
 * bounds say how close to it an engine of this design can come at all.
 */
import type { BucketName } from '../shared/domain/catalog.js';
import type { RecordItem } from '../shared/domain/records.js';
import { blobOf, type BenchWorld } from './world.js';

const BATCH_WRITE_MAX = 25;
const DELETE_OBJECTS_MAX = 1000;

export interface StructuralBounds {
  /** `byRetention` partitions holding at least one record past its own cutoff (≥ one Query each). */
  readonly duePartitions: number;
  /** Σ over tenants of ⌈due records / 25⌉. */
  readonly perTenantBatchWrites: number;
  readonly dynamodbRequests: number;
  /** Σ over tenants and buckets of ⌈due blobs / 1000⌉. */
  readonly s3Requests: number;
  /** The floor's first attempts: Σ over buckets of ⌈due blobs / 1000⌉, tenants mixed. */
  readonly floorS3FirstAttempts: number;
  readonly floorBatchWrites: number;
}

/**
 * `dueByOwnClock`: whether a due record is past its own category's cutoff (the
 * rest are due only through an ancestor, found by the cascade, and need no
 * index partition of their own).
 */
export function structuralBounds(world: BenchWorld, dueByOwnClock: (item: RecordItem) => boolean): StructuralBounds {
  const partitions = new Set<string>();
  const recordsByTenant = new Map<string, number>();
  const blobsByTenantBucket = new Map<string, number>();
  const blobsByBucket = new Map<BucketName, number>();
  let due = 0;
  world.items.forEach((item: RecordItem, i) => {
    if (world.due[i] !== true) return;
    due += 1;
    if (item.retentionPk !== undefined && dueByOwnClock(item)) partitions.add(item.retentionPk);
    recordsByTenant.set(item.tenantId, (recordsByTenant.get(item.tenantId) ?? 0) + 1);
    const blob = blobOf(item);
    if (blob === undefined) return;
    const k = `${item.tenantId}\u0000${blob.bucket}`;
    blobsByTenantBucket.set(k, (blobsByTenantBucket.get(k) ?? 0) + 1);
    blobsByBucket.set(blob.bucket, (blobsByBucket.get(blob.bucket) ?? 0) + 1);
  });
  const batches = (counts: Iterable<number>, size: number): number => [...counts].reduce((n, c) => n + Math.ceil(c / size), 0);
  const perTenantBatchWrites = batches(recordsByTenant.values(), BATCH_WRITE_MAX);
  return {
    duePartitions: partitions.size,
    perTenantBatchWrites,
    dynamodbRequests: partitions.size + perTenantBatchWrites,
    s3Requests: batches(blobsByTenantBucket.values(), DELETE_OBJECTS_MAX),
    floorS3FirstAttempts: batches(blobsByBucket.values(), DELETE_OBJECTS_MAX),
    floorBatchWrites: Math.ceil(due / BATCH_WRITE_MAX),
  };
}
