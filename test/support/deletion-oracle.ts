/**
 * Rules every deletion path must keep, written from DESIGN.md rather than from
 * the executor: what stays when some records stay (their ancestors, and a kept
 * profile's identifiers), and the checks that nothing is orphaned.
 */
import { expect } from 'vitest';
import type { Category } from '../../shared/domain/catalog.js';
import type { CategoryCounts } from '../../shared/domain/receipt.js';
import { ancestorSks, isIdentifierSk, keys, recordKeyString, type RecordItem, type RecordKey } from '../../shared/domain/records.js';

export const keyOf = (r: RecordKey): string => recordKeyString(r);

/**
 * Everything that must stay when `staying` stays: each record keeps every
 * ancestor of its partition, and a profile that stays keeps its identifiers.
 */
export function withAncestors(items: readonly RecordItem[], staying: Iterable<string>): Set<string> {
  const byKey = new Map(items.map((i) => [keyOf(i), i]));
  const out = new Set<string>();
  for (const k of staying) {
    const item = byKey.get(k);
    if (item === undefined) continue;
    out.add(k);
    for (const sk of ancestorSks(item.sk)) {
      const ancestor = keyOf({ pk: item.pk, sk });
      if (byKey.has(ancestor)) out.add(ancestor);
    }
  }
  for (const i of items) if (isIdentifierSk(i.sk) && out.has(keyOf({ pk: i.pk, sk: keys.profileSk() }))) out.add(keyOf(i));
  return out;
}

/** Expected deletions less what must stay because `failing` records stay. */
export function lessWhatStays(items: readonly RecordItem[], expected: ReadonlySet<string>, failing: (item: RecordItem) => boolean): Set<string> {
  const staying = withAncestors(items, items.filter((i) => expected.has(keyOf(i)) && failing(i)).map(keyOf));
  return new Set([...expected].filter((k) => !staying.has(k)));
}

/**
 * No record without the records above it (a parent goes only after its
 * children), among the records that existed before: `before` and `after` are
 * the stored records around one deletion.
 */
export function expectNoOrphanedRecords(before: readonly RecordItem[], after: readonly RecordItem[]): void {
  const existed = new Set(before.map(keyOf));
  const present = new Set(after.map(keyOf));
  for (const item of after) {
    for (const sk of ancestorSks(item.sk)) {
      const ancestor = keyOf({ pk: item.pk, sk });
      if (existed.has(ancestor)) expect(present.has(ancestor), `${item.sk} lost its ancestor ${sk}`).toBe(true);
    }
  }
}

/** Every category's counts add up: examined = deleted + held + failed + kept, and the kept reasons add up to kept. */
export function expectReconciled(categories: Partial<Record<Category, CategoryCounts>>, label = 'counts'): void {
  for (const [category, c] of Object.entries(categories) as [Category, CategoryCounts][]) {
    expect(c.examined, `${label}: ${category} examined = deleted + held + failed + kept`).toBe(c.deleted + c.held + c.failed + (c.kept ?? 0));
    const reasons = Object.values(c.keptReasons ?? {}).reduce((n, r) => n + r, 0);
    expect(reasons, `${label}: ${category} kept reasons`).toBe(c.kept ?? 0);
  }
}
