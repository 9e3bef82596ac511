/**
 * Lifecycle backstops for the blob buckets: per governed prefix, the age at
 * which S3 expires current objects, derived from the platform policy's caps.
 * S3 lifecycle runs daily and asynchronously, so this is never the deadline
 * (the sweeper is); it only guarantees nothing outlives its cap for long.
 */
import type { BucketDefinition } from '../shared/adapters/table-definitions.js';
import { CATALOG, CATEGORIES, type BucketName, type Category } from '../shared/domain/catalog.js';
import { backstopCapDays, graceMs, periodMs, type PlatformPolicy } from '../shared/domain/policy.js';

const DAY_MS = 86_400_000;

export interface PrefixBackstop {
  /** The governed prefix, without the trailing slash. */
  readonly prefix: string;
  /** Categories whose blobs live under `<prefix>/`. */
  readonly categories: readonly Category[];
  /**
   * Whole days after creation at which S3 expires current objects under
   * `<prefix>/`: the longest cap of those categories plus grace, rounded up
   * (S3 counts whole days, so at least 1). Null when any of them has no cap.
   */
  readonly expirationDays: number | null;
}

/** Blob categories stored under `<prefix>/` of a bucket, per the catalog. */
export function categoriesUnder(bucket: BucketName, prefix: string): Category[] {
  return CATEGORIES.filter((c) => {
    const store = CATALOG[c].store;
    return store.kind === 'blob' && store.bucket === bucket && store.prefix === prefix;
  });
}

/**
 * Days after which nothing of these categories may remain: cap + grace, rounded
 * up to whole days, at least 1; null when one of them is kept indefinitely.
 */
export function backstopDays(policy: PlatformPolicy, categories: readonly Category[]): number | null {
  let longestMs = 0;
  for (const category of categories) {
    // The records' own backstop span: none under a subject clock or the account lifetime (their clocks move or wait on the account).
    const cap = backstopCapDays(policy, category);
    if (cap === null) return null;
    longestMs = Math.max(longestMs, periodMs(cap) + graceMs(policy));
  }
  return Math.max(1, Math.ceil(longestMs / DAY_MS));
}

/** The backstop of every governed prefix of a bucket that holds catalog categories. */
export function prefixBackstops(policy: PlatformPolicy, bucket: BucketDefinition): PrefixBackstop[] {
  return bucket.prefixes
    .map((prefix) => ({ prefix, categories: categoriesUnder(bucket.id, prefix) }))
    .filter(({ categories }) => categories.length > 0)
    .map(({ prefix, categories }) => ({ prefix, categories, expirationDays: backstopDays(policy, categories) }));
}

/**
 * Definition errors that would leave blobs without a backstop: a blob category
 * whose bucket/prefix no definition governs, or a governed prefix that holds
 * no category and has no bucket-wide expiry.
 */
export function backstopGaps(buckets: readonly BucketDefinition[]): string[] {
  const gaps: string[] = [];
  for (const category of CATEGORIES) {
    const store = CATALOG[category].store;
    if (store.kind !== 'blob') continue;
    const governed = buckets.some((b) => b.id === store.bucket && b.prefixes.includes(store.prefix));
    if (!governed) gaps.push(`${category} is stored under ${store.bucket}/${store.prefix}/, which no bucket definition governs`);
  }
  for (const bucket of buckets) {
    if (bucket.expireAllAfterDays !== undefined) continue;
    for (const prefix of bucket.prefixes) {
      if (categoriesUnder(bucket.id, prefix).length === 0) {
        gaps.push(`${bucket.id}/${prefix}/ holds no catalog category and ${bucket.id} has no bucket-wide expiry`);
      }
    }
  }
  return gaps;
}
