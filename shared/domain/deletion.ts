/**
 * The one deletion path. Sweeps, manual deletes and erasure requests all hand it
 * a set of root records; it expands their descendants (cascade), and deletes in
 * the safe order: blobs, then third-party data, then records children-first.
 * A held or failed record keeps every ancestor for a later run, so there is never
 * a blob without a pointer nor a pointer to nothing.
 */
import { CATALOG, SWEEP_ORDER, type Category } from './catalog.js';
import type { HoldTarget } from './holds.js';
import type { BlobStore, ExternalDataProvider, RecordStore } from './ports.js';
import type { CategoryCounts } from './receipt.js';
import { isIdentifierSk, keys, recordKeyString, type DueRecord, type RecordItem } from './records.js';
import type { Tenant } from './tenant.js';

export interface DeletionDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly external: ExternalDataProvider;
}

export type Outcome = 'deleted' | 'held' | 'deferred' | 'failed';

export interface DeletionRequest {
  readonly tenant: Tenant;
  /** Records to delete, each with everything that cascades from it. */
  readonly roots: readonly DueRecord[];
  readonly isHeld: (target: HoldTarget) => boolean;
  readonly dryRun: boolean;
  /**
   * Whether a descendant was already accounted for by an earlier pass of the same
   * run (it, or one of its ancestors, was due in a category handled earlier).
   * Such a record, if still present in a real run, was held or failed then: it
   * blocks its ancestors and is not counted again. `ancestors` are those in the set.
   */
  readonly alreadyCounted?: (item: DueRecord, ancestors: readonly DueRecord[]) => boolean;
  /** Set on conversations closed because their retention passed. */
  readonly closedAt: string;
  /**
   * Roots known to have no descendants left (the caller proved every one was
   * due, handled and gone earlier in the run): no partition query for them.
   */
  readonly childrenGone?: (root: DueRecord) => boolean;
  /**
   * What happens to a profile's identifier items: they go with it (default), or
   * they are left alone because the caller deletes them itself once the profile
   * is gone (the sweep's identifier pass).
   */
  readonly identifiers?: 'with_profile' | 'leave';
}

export interface DeletionReport {
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  /** Outcome of every record counted, keyed by `pk\u0000sk`. */
  readonly outcomes: ReadonlyMap<string, Outcome>;
  /** Subjects (customer ids) that lost at least one record. */
  readonly subjectsTouched: ReadonlySet<string>;
  /** Short, PII-free reasons of failures (e.g. `s3:AccessDenied`). */
  readonly failureReasons: readonly string[];
}

const keyOf = recordKeyString;

/**
 * Categories whose descendants live under their own key (`<sk>#…`), or, for a
 * profile, in the whole partition. A message's attachments sit beside it
 * under the conversation, so only a manual message delete looks for them.
 */
const EXPANDING: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation', 'call', 'customer_profile']);

/** The profile item itself (identifier items share its category but cascade to nothing). */
const isProfile = (r: DueRecord): boolean => r.category === 'customer_profile' && r.sk === keys.profileSk();

function expands(r: DueRecord): boolean {
  return r.category === 'customer_profile' ? isProfile(r) : EXPANDING.has(r.category);
}

/** Deletion depth: deeper records (longer sk) go first; the profile and its identifiers go last, together. */
function depth(sk: string): number {
  return sk === keys.profileSk() || isIdentifierSk(sk) ? 0 : Math.ceil(sk.split('#').length / 2);
}

/** The `sk`s of every possible ancestor of a record in its partition. */
function ancestorSks(sk: string): string[] {
  if (sk === keys.profileSk()) return [];
  const parts = sk.split('#');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('#'));
  out.push(keys.profileSk());
  return out;
}

export function emptyCounts(): CategoryCounts {
  return { examined: 0, deleted: 0, held: 0, failed: 0 };
}

export function addCounts(
  into: Partial<Record<Category, CategoryCounts>>,
  from: Partial<Record<Category, CategoryCounts>>,
): Partial<Record<Category, CategoryCounts>> {
  for (const [category, c] of Object.entries(from) as [Category, CategoryCounts][]) {
    const t = (into[category] ??= emptyCounts());
    t.examined += c.examined;
    t.deleted += c.deleted;
    t.held += c.held;
    t.failed += c.failed;
  }
  return into;
}

/**
 * Expands roots with their descendants: one query per partition — the whole
 * partition when it holds a profile root or several roots, else the root's
 * key prefix.
 */
async function expand(
  records: RecordStore,
  roots: readonly DueRecord[],
  childrenGone: (root: DueRecord) => boolean,
): Promise<Map<string, DueRecord>> {
  const all = new Map<string, DueRecord>();
  const byPartition = new Map<string, DueRecord[]>();
  for (const root of roots) {
    all.set(keyOf(root), root);
    if (!expands(root) || childrenGone(root)) continue;
    const list = byPartition.get(root.pk) ?? [];
    list.push(root);
    byPartition.set(root.pk, list);
  }
  await forEachLimited([...byPartition.entries()], 8, async ([pk, parents]) => {
    const wholePartition = parents.some(isProfile);
    const found =
      wholePartition || parents.length > 1
        ? await records.findByPartition(pk, { includeExpired: true })
        : await records.findByPartition(pk, { skPrefix: keys.childPrefix((parents[0] as DueRecord).sk), includeExpired: true });
    const prefixes = parents.map((p) => keys.childPrefix(p.sk));
    for (const item of found) {
      if (!wholePartition && !prefixes.some((prefix) => item.sk.startsWith(prefix))) continue;
      const k = keyOf(item);
      if (!all.has(k)) all.set(k, item);
    }
  });
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

/**
 * Deletes the roots and their descendants in the safe order and reports what
 * happened per category. Never throws for a per-record failure; it is counted.
 */
export async function deleteRecords(deps: DeletionDeps, request: DeletionRequest): Promise<DeletionReport> {
  const { dryRun } = request;
  const alreadyCounted = request.alreadyCounted ?? (() => false);
  const rootKeys = new Set(request.roots.map(keyOf));
  const set = await expand(deps.records, request.roots, request.childrenGone ?? (() => false));
  if (request.identifiers === 'leave') {
    for (const [k, item] of set) if (!rootKeys.has(k) && isIdentifierSk(item.sk)) set.delete(k);
  }

  const outcomes = new Map<string, Outcome>();
  const blocked = new Map<string, 'held' | 'deferred'>();
  const failureReasons: string[] = [];
  const present = (pk: string, sk: string) => set.has(`${pk}\u0000${sk}`);

  // A customer's identifiers go with the profile, never before it: while the profile
  // stays (a child held or failed), the customer must stay findable.
  const identifiersOf = new Map<string, DueRecord[]>();
  for (const item of set.values()) {
    if (item.category !== 'customer_profile' || !isIdentifierSk(item.sk)) continue;
    const list = identifiersOf.get(item.pk) ?? [];
    list.push(item);
    identifiersOf.set(item.pk, list);
  }
  const mark = (pk: string, sk: string, why: 'held' | 'deferred') => {
    const k = `${pk}\u0000${sk}`;
    if (blocked.get(k) !== 'held') blocked.set(k, why);
  };
  const block = (item: DueRecord, why: 'held' | 'deferred') => {
    for (const sk of ancestorSks(item.sk)) {
      if (!present(item.pk, sk)) continue;
      mark(item.pk, sk, why);
      if (sk === keys.profileSk()) for (const id of identifiersOf.get(item.pk) ?? []) if (id !== item) mark(id.pk, id.sk, why);
    }
  };

  // Holds, and records an earlier pass of this run left behind, keep their ancestors.
  const candidates: DueRecord[] = [];
  const ancestorsInSet = (item: DueRecord): DueRecord[] =>
    ancestorSks(item.sk)
      .map((sk) => set.get(`${item.pk}\u0000${sk}`))
      .filter((a): a is DueRecord => a !== undefined);
  for (const [k, item] of set) {
    const counted = !rootKeys.has(k) && alreadyCounted(item, ancestorsInSet(item));
    const held = request.isHeld(item);
    if (counted) {
      if (held) block(item, 'held');
      else if (!dryRun) block(item, 'deferred');
      continue;
    }
    if (held) {
      outcomes.set(k, 'held');
      block(item, 'held');
      continue;
    }
    candidates.push(item);
  }

  const deletable = () => candidates.filter((c) => !blocked.has(keyOf(c)) && !outcomes.has(keyOf(c)));

  const fail = (item: DueRecord, reason: string) => {
    outcomes.set(keyOf(item), 'failed');
    failureReasons.push(reason);
    block(item, 'deferred');
  };

  if (!dryRun) {
    // Open conversations past retention are closed first, then deleted in the same run.
    for (const item of deletable()) {
      if (item.status !== 'open') continue;
      try {
        await deps.records.update(
          item,
          { set: { status: 'closed', closedReason: 'retention', closedAt: request.closedAt } },
          { equals: { status: 'open' } },
        );
      } catch (error) {
        fail(item, `close:${errorName(error)}`);
      }
    }

    // Stage 1: blobs, before the records that point to them.
    const byBucket = new Map<string, DueRecord[]>();
    for (const item of deletable()) {
      if (item.blobBucket === undefined || item.blobKey === undefined) continue;
      const list = byBucket.get(item.blobBucket) ?? [];
      list.push(item);
      byBucket.set(item.blobBucket, list);
    }
    for (const [bucket, items] of byBucket) {
      const byKey = new Map(items.map((i) => [i.blobKey as string, i]));
      try {
        const result = await deps.blobs.deleteBatch(bucket as NonNullable<DueRecord['blobBucket']>, [...byKey.keys()]);
        for (const f of result.failed) {
          const item = byKey.get(f.key);
          if (item !== undefined) fail(item, `s3:${f.reason}`);
        }
      } catch (error) {
        for (const item of items) fail(item, `s3:${errorName(error)}`);
      }
    }

    // Stage 2: third-party data, before its marker record.
    const external = deletable().filter((i) => CATALOG[i.category].store.kind === 'external');
    await forEachLimited(external, 8, async (item) => {
      const endpoints = request.tenant.thirdPartyEndpoints ?? [];
      if (item.externalRef === undefined) return; // nothing was ever sent out
      if (endpoints.length === 0) {
        fail(item, 'external:no_endpoint');
        return;
      }
      try {
        for (const endpoint of endpoints) {
          await deps.external.deleteCallData(request.tenant, endpoint, item.externalRef);
        }
      } catch (error) {
        fail(item, `external:${errorName(error)}`);
      }
    });

    // Stages 3–4: records, deepest first; a failure keeps its ancestors.
    const waves = new Map<number, DueRecord[]>();
    for (const item of deletable()) {
      const d = depth(item.sk);
      const list = waves.get(d) ?? [];
      list.push(item);
      waves.set(d, list);
    }
    for (const d of [...waves.keys()].sort((a, b) => b - a)) {
      const wave = (waves.get(d) ?? []).filter((c) => !blocked.has(keyOf(c)) && !outcomes.has(keyOf(c)));
      if (wave.length === 0) continue;
      const result = await deps.records.deleteBatch(wave.map((w) => ({ pk: w.pk, sk: w.sk })));
      for (const f of result.failed) {
        const item = set.get(keyOf(f.key));
        if (item !== undefined) fail(item, `dynamodb:${f.reason}`);
      }
      for (const k of result.succeeded) outcomes.set(keyOf(k), 'deleted');
    }
  } else {
    for (const item of deletable()) outcomes.set(keyOf(item), 'deleted');
  }

  for (const item of candidates) {
    const k = keyOf(item);
    if (!outcomes.has(k)) outcomes.set(k, blocked.get(k) ?? 'deferred');
  }

  const counts: Partial<Record<Category, CategoryCounts>> = {};
  const subjectsTouched = new Set<string>();
  for (const [k, outcome] of outcomes) {
    const item = set.get(k) as DueRecord;
    const c = (counts[item.category] ??= emptyCounts());
    c.examined += 1;
    if (outcome === 'deleted') {
      c.deleted += 1;
      if (item.subjectId !== undefined) subjectsTouched.add(item.subjectId);
    } else if (outcome === 'held') c.held += 1;
    else if (outcome === 'failed') c.failed += 1;
  }
  return { counts, outcomes, subjectsTouched, failureReasons };
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return 'unknown';
}

/** Position of a category in the run order, for "was it handled earlier?" checks. */
export const ORDER_INDEX: Readonly<Record<Category, number>> = Object.fromEntries(
  SWEEP_ORDER.map((c, i) => [c, i]),
) as Record<Category, number>;

export type { RecordItem };
