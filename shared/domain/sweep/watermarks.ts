/**
 * Retention watermarks: per tenant × partition (category, or the identifiers')
 * × write shard, a lower bound of the index clocks still stored there, kept in
 * the control table, so a sweep skips every pass whose bound is not before its
 * cutoff (nothing there can be due) and an idle sweep costs a batched read per
 * group instead of a query per tenant × category × shard.
 *
 * What makes the bound safe (the sweep may never skip a due record):
 * - A bound is used only when a sweep set it (`trusted`); no item, or one that
 *   ingest invalidated, means "query".
 * - Ingest, before it writes a batch (so a crash leaves the bound lower, never
 *   higher), sends per partition-shard one conditional update with the batch's
 *   oldest index clock `c`: where a trusted bound is after `c` (or says empty),
 *   or a raise is pending, it invalidates the watermark (`trusted` removed,
 *   `gen` incremented). An older record, even a late one, is never hidden.
 * - A sweep raises a bound in two steps a sweep apart, like epoch keys: after
 *   a pass that queried the partition it *flags* it (`flaggedAt`, `flagGen`);
 *   a later pass, at least {@link WATERMARK_SETTLE_MS} after the flag, reads the
 *   oldest entries left (one query per shard, `Limit 1`) and sets the bound
 *   only if nothing touched the watermark since the flag (`gen` unchanged).
 *   Any ingest that checked before the flag wrote its records before the flag
 *   plus its own time limit (15 minutes), so the index shows them by then; any
 *   ingest that checked after it invalidated the flag.
 * - Held or failed records stay in the index: the oldest entry is theirs, and
 *   the bound stays before the cutoff, so the next sweep looks again.
 * - Every shard of a partition gets the partition's overall oldest clock (a
 *   bound for each shard), and a pass is skipped only when every shard's
 *   bound allows it.
 */
import type { RetentionPartition } from '../records.js';

/** How long after a flag a watermark may be raised: an ingest's time limit (15 min) plus the index's lag, with room. */
export const WATERMARK_SETTLE_MS = 20 * 60_000;

export interface WatermarkKey {
  readonly tenantId: string;
  readonly partition: RetentionPartition;
  readonly shard: number;
}

/** A watermark as stored. */
export interface Watermark extends WatermarkKey {
  /** Set by a sweep's raise; ingest removes it when a record might be below the bound. */
  readonly trusted?: boolean;
  /** The oldest index clock left when the bound was set; absent with `empty`. */
  readonly oldest?: string;
  /** Nothing was left when the bound was set. */
  readonly empty?: boolean;
  /** Incremented by every ingest invalidation and every raise. */
  readonly gen: number;
  /** When a sweep flagged it for a raise, and at which `gen`. */
  readonly flaggedAt?: string;
  readonly flagGen?: number;
}

/** Ingest's check for one partition-shard of a batch: the oldest index clock it writes there. */
export interface WatermarkLower extends WatermarkKey {
  readonly clock: string;
}

/** Watermarks in the control table (`DynamoControlStore`). */
export interface RetentionWatermarks {
  /** The watermarks that exist among `keys` (one batched read), in no particular order. */
  getWatermarks(keys: readonly WatermarkKey[]): Promise<Watermark[]>;
  /** One conditional update per lower: invalidates a watermark whose bound is after the clock, or that is flagged. */
  lowerWatermarks(lowers: readonly WatermarkLower[]): Promise<void>;
  /** Flags a watermark for a raise, unless it changed since `gen` was read (then false). */
  flagWatermark(key: WatermarkKey, expectedGen: number | undefined, at: string): Promise<boolean>;
  /** Sets a trusted bound (oldest, or empty when undefined), only if the watermark is still as flagged (then true). */
  raiseWatermark(key: WatermarkKey, flag: { readonly gen: number; readonly flaggedAt: string }, oldest: string | undefined): Promise<boolean>;
}

/** Whether nothing stored under these watermarks can be before `cutoff`: every shard has a trusted bound at or after it. */
export function noneBefore(watermarks: readonly (Watermark | undefined)[], cutoff: string): boolean {
  return watermarks.length > 0 && watermarks.every((w) => w !== undefined && w.trusted === true && (w.empty === true || (w.oldest !== undefined && w.oldest >= cutoff)));
}

/** What a sweep does with a partition-shard's watermark after a pass that queried it: raise it (flag old enough, untouched) or flag it. */
export function afterPass(watermark: Watermark | undefined, now: Date): 'raise' | 'flag' | 'none' {
  if (watermark?.flaggedAt !== undefined && watermark.flagGen === watermark.gen) {
    return Date.parse(watermark.flaggedAt) <= now.getTime() - WATERMARK_SETTLE_MS ? 'raise' : 'none';
  }
  return 'flag';
}

/**
 * Ingest's checks for a batch: per tenant × partition × shard written, the
 * oldest index clock (`retentionPk` `T#<tenant>#<partition>#<shard>`,
 * `retentionSk` `<indexClock>#<id>`).
 */
export function watermarkLowers(items: readonly { readonly retentionPk?: string; readonly retentionSk?: string }[]): WatermarkLower[] {
  const oldest = new Map<string, WatermarkLower>();
  for (const item of items) {
    if (item.retentionPk === undefined || item.retentionSk === undefined) continue;
    const parts = item.retentionPk.split('#');
    const shard = Number(parts.at(-1));
    const partition = parts.at(-2) as RetentionPartition;
    const tenantId = parts.slice(1, -2).join('#');
    const clock = item.retentionSk.slice(0, item.retentionSk.lastIndexOf('#'));
    const known = oldest.get(item.retentionPk);
    if (known === undefined || clock < known.clock) oldest.set(item.retentionPk, { tenantId, partition, shard, clock });
  }
  return [...oldest.values()];
}
