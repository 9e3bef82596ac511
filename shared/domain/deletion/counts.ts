/**
 * Per-category counts of deletion work, and the small helpers every deletion
 * path folds them with. Every record examined lands in exactly one of deleted,
 * held, failed and kept.
 */
import type { Category } from '../catalog.js';
import type { CategoryCounts, DeletedReason, KeptReason } from '../receipt.js';

export type Outcome = 'deleted' | 'held' | 'failed' | 'kept';

export type CountsByCategory = Partial<Record<Category, CategoryCounts>>;

export function emptyCounts(): CategoryCounts {
  return { examined: 0, deleted: 0, held: 0, failed: 0, kept: 0 };
}

/** Counts one examined record of a category under its outcome (and a kept one's reason). */
export function countOutcome(into: CountsByCategory, category: Category, outcome: Outcome, keptReason?: KeptReason): void {
  const c = (into[category] ??= emptyCounts());
  c.examined += 1;
  c[outcome] += 1;
  if (outcome === 'kept' && keptReason !== undefined) {
    const reasons = (c.keptReasons ??= {});
    reasons[keptReason] = (reasons[keptReason] ?? 0) + 1;
  }
}

/** Adds `from` into `into`, scaled by `factor` (−1 takes a chunk's counts back out). Receipts of older versions have no `kept`. */
export function addCounts(into: CountsByCategory, from: CountsByCategory, factor = 1): CountsByCategory {
  for (const [category, c] of Object.entries(from) as [Category, CategoryCounts][]) {
    const t = (into[category] ??= emptyCounts());
    t.examined += factor * c.examined;
    t.deleted += factor * c.deleted;
    t.held += factor * c.held;
    t.failed += factor * c.failed;
    t.kept = (t.kept ?? 0) + factor * (c.kept ?? 0);
    for (const [reason, n] of Object.entries(c.keptReasons ?? {}) as [KeptReason, number][]) {
      const reasons = (t.keptReasons ??= {});
      reasons[reason] = (reasons[reason] ?? 0) + factor * n;
    }
    for (const [reason, n] of Object.entries(c.deletedReasons ?? {}) as [DeletedReason, number][]) {
      const reasons = (t.deletedReasons ??= {});
      reasons[reason] = (reasons[reason] ?? 0) + factor * n;
    }
  }
  return into;
}

/** All categories together. */
export function totalCounts(counts: CountsByCategory): CategoryCounts {
  const all = emptyCounts();
  for (const c of Object.values(counts)) {
    all.examined += c.examined;
    all.deleted += c.deleted;
    all.held += c.held;
    all.failed += c.failed;
    all.kept += c.kept ?? 0;
  }
  return all;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
