/**
 * The one deletion executor. Sweeps (direct and looked-up parents), manual
 * deletes, erasure and anonymisation all hand it roots, from any number of
 * tenants; it finds what cascades from the roots that need it, and deletes in
 * the safe order — blobs, then third-party data, then records deepest first —
 * in shared requests across tenants and buckets (DeleteObjects of up to 1,000
 * keys, BatchWriteItem of 25).
 *
 * A held or failed record keeps every ancestor for a later run, so there is
 * never a blob without a pointer nor a pointer to nothing. Every record it
 * examines is counted in exactly one of deleted, held, failed and kept.
 *
 * Analytics events are not deleted with their customer when the job says so
 * (`unlinkAnalytics`: erasure, anonymisation, manual deletes): in the records
 * stage, before any record goes, each is moved out of her partition without
 * anything that names her, keeping its own category clock, and counted kept
 * (`unlinked`); one that cannot be moved keeps her profile, as a failure does.
 *
 * Time is bounded: partitions are not read once the deadline has passed (their
 * roots come back in `remaining`, uncounted, for the caller's continuation);
 * third-party calls stop starting a while after it, get the deadline to bound
 * their own retries, and an endpoint that failed repeatedly in a row is not
 * called again in the same execution.
 */
import { watermarkLowers, type RetentionWatermarks } from '../sweep/watermarks.js';
import { CATALOG, type BucketName } from '../catalog.js';
import { makeEvent, publishEvents, recordsDeletedEvents, type EventOrigin, type EventPublisher, type LetheEvent } from '../events.js';
import type { HoldTarget } from '../holds.js';
import type { BlobStore, Clock, ExternalDataProvider, KeyShredder, RecordStore } from '../ports.js';
import type { KeptReason } from '../receipt.js';
import type { Tenant } from '../tenant.js';
import {
  ancestorSks,
  isIdentifierSk,
  keys,
  recordKeyString,
  retentionShardsOf,
  unlinkedAnalyticsEvent,
  type DueRecord,
  type RecordItem,
} from '../records.js';
import { countOutcome, forEachLimited, type CountsByCategory, type Outcome } from './counts.js';

export interface DeletionDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly external: ExternalDataProvider;
  readonly clock: Clock;
  /** Crypto-shredding: a subject's key goes once nothing of the subject is left (absent: nothing is sealed). */
  readonly keys?: KeyShredder;
  /** Deletion events (`RecordsDeleted`, `KeysShredded`), published after the deletions they report; absent: none. */
  readonly events?: EventPublisher;
  /** Retention watermarks (sweep/watermarks.ts): told before a record moves to another retention partition (unlinked analytics events). */
  readonly watermarks?: RetentionWatermarks;
}

/** Partitions read at once while finding descendants. */
const EXPAND_CONCURRENCY = 8;
/** Third-party deletions in flight at once. */
export const EXTERNAL_CONCURRENCY = 16;
/** Third-party calls still start this long past the deadline (callers leave that much margin before their own timeout). */
export const EXTERNAL_GRACE_MS = 60_000;
/** Failures in a row after which a provider endpoint is not called again in the execution. */
export const EXTERNAL_BREAKER_FAILURES = 5;

/** A record to delete, with everything that cascades from it. */
export interface DeletionRoot {
  readonly tenant: Tenant;
  readonly record: DueRecord;
  /**
   * Whether its descendants must be found (its partition read) and go with it.
   * False when the caller proved nothing is left under it, or handed every
   * record of the partition in as roots itself.
   */
  readonly expand: boolean;
  /**
   * Delete only what the record points to — its blob, its third-party data —
   * and keep the record itself (anonymisation); its outcome `deleted` then
   * says that content is gone.
   */
  readonly contentOnly?: boolean;
}

/** How one tenant's records are judged. */
export interface TenantRules {
  readonly isHeld: (target: HoldTarget) => boolean;
  /**
   * Whether a descendant found under `root` was already accounted for by an
   * earlier pass of the same run (due in a category handled before). Such a
   * record, if still present in a real run, was held or failed then: it keeps
   * its ancestors and is not counted again.
   */
  readonly alreadyCounted?: (item: DueRecord, root: DueRecord) => boolean;
}

export interface DeletionJob {
  readonly roots: readonly DeletionRoot[];
  readonly rules: (tenantId: string) => TenantRules;
  readonly dryRun: boolean;
  /** No partition is read after it (at least one is, so every call makes progress); third-party calls stop `EXTERNAL_GRACE_MS` later. */
  readonly deadline: Date;
  /**
   * A profile's identifier items go with it (default), or are left alone
   * because the caller deletes them itself once the profile is gone.
   */
  readonly identifiers?: 'with_profile' | 'leave';
  /**
   * Read every partition even past the deadline (a sweep chunk, whose pages
   * already bound the work of one call, and whose index cursor has moved on).
   */
  readonly readPastDeadline?: boolean;
  /** No third-party call starts after it (default: `EXTERNAL_GRACE_MS` past the deadline). */
  readonly callsUntil?: Date;
  /**
   * The analytics events of a customer's partition the job reaches (roots, or
   * found under her profile) are unlinked from her instead of deleted (see
   * `unlinkedAnalyticsEvent`); default false: deleted, as a sweep deletes an
   * event due by its own clock.
   */
  readonly unlinkAnalytics?: boolean;
  /** What the deletion is part of, named in its events (default: a manual deletion). */
  readonly origin?: EventOrigin;
}

export interface ItemOutcome {
  readonly tenantId: string;
  readonly record: DueRecord;
  readonly outcome: Outcome;
  readonly keptReason?: KeptReason;
}

/** What happened for one tenant. */
export interface TenantDeletionReport {
  readonly counts: CountsByCategory;
  /** Subjects (customer ids) that lost at least one record. */
  readonly subjectsTouched: Set<string>;
  /** Short, PII-free reasons of failures (e.g. `s3:AccessDenied`). */
  readonly failureReasons: string[];
  /** Subject keys destroyed because nothing of their subject was left (crypto-shredding). */
  subjectKeysShredded?: number;
  /** Events about this execution that could not be published (counted on the caller's receipt). */
  eventsUnpublished?: number;
}

export interface DeletionResult {
  /** Outcome of every record examined, by `recordKeyString`. */
  readonly items: ReadonlyMap<string, ItemOutcome>;
  readonly tenants: ReadonlyMap<string, TenantDeletionReport>;
  /** Roots not started because the deadline came first: nothing of them was touched or counted. */
  readonly remaining: readonly DeletionRoot[];
  /** Tenants a partition of which could not be read, with the error's name: those roots were neither touched nor counted. */
  readonly readErrors: ReadonlyMap<string, string>;
}

const keyOf = recordKeyString;

/** Categories whose descendants live under their own key (`<sk>#…`), or, for a profile, in the whole partition. */
const EXPANDING = new Set(['conversation', 'whatsapp_conversation', 'call', 'customer_profile']);

const isProfile = (r: DueRecord): boolean => r.category === 'customer_profile' && r.sk === keys.profileSk();

function expands(r: DueRecord): boolean {
  return r.category === 'customer_profile' ? isProfile(r) : EXPANDING.has(r.category);
}

/** Deletion depth: deeper records (longer sk) go first; the profile and its identifiers go last, together. */
function depth(sk: string): number {
  return sk === keys.profileSk() || isIdentifierSk(sk) ? 0 : Math.ceil(sk.split('#').length / 2);
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}

interface Entry {
  readonly tenant: Tenant;
  readonly record: DueRecord;
  /** The root it was found under (itself for a root). */
  readonly root: DueRecord;
  readonly isRoot: boolean;
  readonly contentOnly?: boolean;
}

/**
 * Finds the descendants of the roots that need it: one query per partition —
 * the whole partition when it holds a profile root or several roots, else the
 * root's key prefix. Partitions not reached by the deadline stay out.
 */
async function expand(
  deps: DeletionDeps,
  job: DeletionJob,
): Promise<{ readonly entries: Map<string, Entry>; readonly remaining: DeletionRoot[]; readonly readErrors: Map<string, string> }> {
  const entries = new Map<string, Entry>();
  const byPartition = new Map<string, DeletionRoot[]>();
  for (const root of job.roots) {
    if (root.expand && expands(root.record)) {
      const list = byPartition.get(root.record.pk);
      if (list === undefined) byPartition.set(root.record.pk, [root]);
      else list.push(root);
    } else if (!entries.has(keyOf(root.record))) {
      entries.set(keyOf(root.record), { tenant: root.tenant, record: root.record, root: root.record, isRoot: true, ...(root.contentOnly === true && { contentOnly: true }) });
    }
  }
  const remaining: DeletionRoot[] = [];
  const readErrors = new Map<string, string>();
  let started = 0;
  await forEachLimited([...byPartition.values()], EXPAND_CONCURRENCY, async (parents) => {
    if (job.readPastDeadline !== true && started > 0 && deps.clock.now().getTime() >= job.deadline.getTime()) {
      remaining.push(...parents);
      return;
    }
    started += 1;
    const first = parents[0] as DeletionRoot;
    const wholePartition = parents.some((p) => isProfile(p.record));
    let found: DueRecord[];
    try {
      found =
        wholePartition || parents.length > 1
          ? await deps.records.findByPartition(first.record.pk, { includeExpired: true })
          : await deps.records.findByPartition(first.record.pk, { skPrefix: keys.childPrefix(first.record.sk), includeExpired: true });
    } catch (error) {
      readErrors.set(first.tenant.tenantId, errorName(error));
      return;
    }
    for (const p of parents) entries.set(keyOf(p.record), { tenant: p.tenant, record: p.record, root: p.record, isRoot: true });
    for (const item of found) {
      const k = keyOf(item);
      if (entries.has(k)) continue;
      const root = wholePartition ? parents.find((p) => isProfile(p.record)) : parents.find((p) => item.sk.startsWith(keys.childPrefix(p.record.sk)));
      if (root === undefined) continue;
      entries.set(k, { tenant: root.tenant, record: item, root: root.record, isRoot: false });
    }
  });
  return { entries, remaining, readErrors };
}

/**
 * Deletes the roots and what cascades from them in the safe order, and reports
 * every record's outcome. Never throws for a per-record failure (a blob, a
 * provider call, a key the records store reports unprocessed); it is counted.
 * A records-store call that throws ends the execution with that error: the
 * caller's retry finds what is left.
 */
export async function executeDeletion(deps: DeletionDeps, job: DeletionJob): Promise<DeletionResult> {
  const { dryRun } = job;
  const { entries, remaining, readErrors } = await expand(deps, job);
  if (job.identifiers === 'leave') {
    for (const [k, e] of entries) if (!e.isRoot && isIdentifierSk(e.record.sk)) entries.delete(k);
  }
  const rulesOf = new Map<string, TenantRules>();
  const rules = (tenantId: string): TenantRules => {
    let r = rulesOf.get(tenantId);
    if (r === undefined) rulesOf.set(tenantId, (r = job.rules(tenantId)));
    return r;
  };

  const outcomes = new Map<string, { outcome: Outcome; keptReason?: KeptReason }>();
  /**
   * Records kept because of something under them (or their profile), and why:
   * one kept by a held record is held itself (the hold keeps it).
   */
  const blocked = new Map<string, 'held' | KeptReason>();
  const failureReasons = new Map<string, string[]>();
  const present = (pk: string, sk: string) => entries.has(`${pk}\u0000${sk}`);

  // A customer's identifiers go with the profile, never before it: while the
  // profile stays, the customer must stay findable.
  const identifiersOf = new Map<string, Entry[]>();
  for (const e of entries.values()) {
    if (e.record.category !== 'customer_profile' || !isIdentifierSk(e.record.sk)) continue;
    const list = identifiersOf.get(e.record.pk);
    if (list === undefined) identifiersOf.set(e.record.pk, [e]);
    else list.push(e);
  }
  const mark = (pk: string, sk: string, why: 'held' | KeptReason) => {
    const k = `${pk}\u0000${sk}`;
    if (blocked.get(k) !== 'held') blocked.set(k, why);
  };
  const block = (item: DueRecord, why: 'held' | 'child_failed') => {
    for (const sk of ancestorSks(item.sk)) {
      if (!present(item.pk, sk)) continue;
      mark(item.pk, sk, why);
      if (sk === keys.profileSk()) {
        for (const id of identifiersOf.get(item.pk) ?? []) if (id.record !== item) mark(id.record.pk, id.record.sk, why === 'held' ? 'held' : 'profile_kept');
      }
    }
  };

  // Holds, and records an earlier pass of the run left behind, keep their ancestors.
  const candidates: Entry[] = [];
  for (const [k, e] of entries) {
    const tenantRules = rules(e.tenant.tenantId);
    const held = tenantRules.isHeld(e.record);
    if (!e.isRoot && tenantRules.alreadyCounted?.(e.record, e.root) === true) {
      if (held) block(e.record, 'held');
      else if (!dryRun) block(e.record, 'child_failed');
      continue;
    }
    if (held) {
      outcomes.set(k, { outcome: 'held' });
      block(e.record, 'held');
      continue;
    }
    candidates.push(e);
  }

  const decided = (e: Entry) => blocked.has(keyOf(e.record)) || outcomes.has(keyOf(e.record));
  const fail = (e: Entry, reason: string) => {
    outcomes.set(keyOf(e.record), { outcome: 'failed' });
    const list = failureReasons.get(e.tenant.tenantId);
    if (list === undefined) failureReasons.set(e.tenant.tenantId, [reason]);
    else list.push(reason);
    block(e.record, 'child_failed');
  };

  const unlinked = (e: Entry) => outcomes.set(keyOf(e.record), { outcome: 'kept', keptReason: 'unlinked' });
  const toUnlink = (e: Entry) => job.unlinkAnalytics === true && isCustomerAnalyticsEvent(e.record) && !decided(e);
  if (dryRun) {
    for (const e of candidates) if (toUnlink(e)) unlinked(e);
    for (const e of candidates) if (!decided(e)) outcomes.set(keyOf(e.record), { outcome: 'deleted' });
  } else {
    await deleteBlobs(deps, candidates.filter((e) => !decided(e)), fail);
    await deleteExternal(deps, job, candidates.filter((e) => !decided(e)), fail);
    for (const e of candidates) if (e.contentOnly === true && !decided(e)) outcomes.set(keyOf(e.record), { outcome: 'deleted' });
    await unlinkAnalyticsEvents(deps, candidates.filter(toUnlink), fail, unlinked);
    await deleteRecordsDeepestFirst(deps, candidates, decided, fail, (e) => outcomes.set(keyOf(e.record), { outcome: 'deleted' }));
  }
  const noteFailure = (e: Entry, reason: string) => {
    const list = failureReasons.get(e.tenant.tenantId);
    if (list === undefined) failureReasons.set(e.tenant.tenantId, [reason]);
    else list.push(reason);
  };
  const shredded = dryRun ? new Map<string, number>() : await shredSubjects(deps, job, candidates.filter((e) => outcomes.get(keyOf(e.record))?.outcome === 'deleted'), noteFailure);
  for (const e of candidates) {
    const k = keyOf(e.record);
    if (outcomes.has(k)) continue;
    const why = blocked.get(k) ?? 'child_failed';
    outcomes.set(k, why === 'held' ? { outcome: 'held' } : { outcome: 'kept', keptReason: why });
  }

  const items = new Map<string, ItemOutcome>();
  const tenants = new Map<string, TenantDeletionReport>();
  for (const [k, o] of outcomes) {
    const e = entries.get(k) as Entry;
    const tenantId = e.tenant.tenantId;
    items.set(k, { tenantId, record: e.record, outcome: o.outcome, ...(o.keptReason !== undefined && { keptReason: o.keptReason }) });
    let report = tenants.get(tenantId);
    if (report === undefined) tenants.set(tenantId, (report = { counts: {}, subjectsTouched: new Set(), failureReasons: failureReasons.get(tenantId) ?? [] }));
    countOutcome(report.counts, e.record.category, o.outcome, o.keptReason);
    if (o.outcome === 'deleted' && e.record.subjectId !== undefined) report.subjectsTouched.add(e.record.subjectId);
  }
  for (const [tenantId, reasons] of failureReasons) {
    if (!tenants.has(tenantId)) tenants.set(tenantId, { counts: {}, subjectsTouched: new Set(), failureReasons: reasons });
  }
  for (const [tenantId, n] of shredded) {
    const report = tenants.get(tenantId);
    if (report !== undefined) report.subjectKeysShredded = n;
  }
  if (!dryRun && deps.events !== undefined) await publishDeletionEvents(deps, job, entries, outcomes, tenants);
  return { items, tenants, remaining, readErrors };
}

/**
 * After the deletions, never before: one `RecordsDeleted` per tenant and
 * category (split past `MAX_IDS_PER_EVENT` ids) for the records that went —
 * not identifier items (their profile reports the customer) nor records that
 * only lost their content (anonymisation reports those) — and a
 * `KeysShredded` where subject keys were destroyed. Events that cannot be
 * published are counted on the tenant's report and its failure reasons; the
 * deletions stand.
 */
async function publishDeletionEvents(
  deps: DeletionDeps,
  job: DeletionJob,
  entries: ReadonlyMap<string, Entry>,
  outcomes: ReadonlyMap<string, { outcome: Outcome }>,
  tenants: Map<string, TenantDeletionReport>,
): Promise<void> {
  const origin: EventOrigin = job.origin ?? { kind: 'manual' };
  const now = deps.clock.now();
  const deletedBy = new Map<string, { category: DueRecord['category']; id: string; pk: string }[]>();
  for (const [k, o] of outcomes) {
    const e = entries.get(k);
    if (e === undefined || o.outcome !== 'deleted' || e.contentOnly === true || isIdentifierSk(e.record.sk)) continue;
    const list = deletedBy.get(e.tenant.tenantId);
    const item = { category: e.record.category, id: e.record.id, pk: e.record.pk };
    if (list === undefined) deletedBy.set(e.tenant.tenantId, [item]);
    else list.push(item);
  }
  await Promise.all(
    [...tenants].map(async ([tenantId, report]) => {
      const deleted = deletedBy.get(tenantId) ?? [];
      const events: LetheEvent[] = recordsDeletedEvents(tenantId, now, origin, deleted);
      if ((report.subjectKeysShredded ?? 0) > 0) {
        const batch = [...new Set(deleted.map((d) => d.pk))].sort();
        events.push(makeEvent('KeysShredded', tenantId, now, { origin, subjectKeys: report.subjectKeysShredded ?? 0, epochKeys: 0 }, [origin, batch]));
      }
      const unpublished = await publishEvents(deps.events, events);
      if (unpublished > 0) {
        report.eventsUnpublished = unpublished;
        report.failureReasons.push('events:unpublished');
      }
    }),
  );
}

/**
 * Last: the key of every subject (customer or user) whose profile, user record
 * or identifiers went, once nothing of the subject is left — so no backup or
 * old copy of what she had can be read again. A key that cannot be destroyed
 * now is reported among the failure reasons (the records are gone either way).
 */
async function shredSubjects(deps: DeletionDeps, job: DeletionJob, deleted: readonly Entry[], note: (e: Entry, reason: string) => void): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (deps.keys === undefined) return counts;
  const shredder = deps.keys;
  const bySubject = new Map<string, Entry>();
  for (const e of deleted) {
    const sk = e.record.sk;
    // Where identifiers outlive their profile in this job (a sweep deletes them in a later pass), that pass shreds: asking now would only find them.
    const profileGoesLast = sk === keys.profileSk() && job.identifiers !== 'leave';
    if (profileGoesLast || sk === keys.userSk() || isIdentifierSk(sk)) bySubject.set(e.record.pk, e);
  }
  await forEachLimited([...bySubject.values()], EXPAND_CONCURRENCY, async (e) => {
    try {
      if (await shredder.shredSubject(e.record.pk)) counts.set(e.tenant.tenantId, (counts.get(e.tenant.tenantId) ?? 0) + 1);
    } catch (error) {
      note(e, `keys:${errorName(error)}`);
    }
  });
  return counts;
}

/** Stage 1: blobs, before the records that point to them; one request per 1,000 keys of a bucket, buckets side by side. */
async function deleteBlobs(deps: DeletionDeps, entries: readonly Entry[], fail: (e: Entry, reason: string) => void): Promise<void> {
  const byBucket = new Map<BucketName, Map<string, Entry>>();
  for (const e of entries) {
    const { blobBucket, blobKey } = e.record;
    if (blobBucket === undefined || blobKey === undefined) continue;
    let byKey = byBucket.get(blobBucket);
    if (byKey === undefined) byBucket.set(blobBucket, (byKey = new Map()));
    byKey.set(blobKey, e);
  }
  await Promise.all(
    [...byBucket].map(async ([bucket, byKey]) => {
      try {
        const result = await deps.blobs.deleteBatch(bucket, [...byKey.keys()]);
        for (const f of result.failed) {
          const e = byKey.get(f.key);
          if (e !== undefined) fail(e, `s3:${f.reason}`);
        }
      } catch (error) {
        for (const e of byKey.values()) fail(e, `s3:${errorName(error)}`);
      }
    }),
  );
}

/**
 * Stage 2: third-party data, before its marker record. A provider that does
 * not answer must not hold the caller past its own timeout: calls stop
 * starting a while after the deadline and are told the deadline, and an
 * endpoint that failed repeatedly in a row is not called again. What is left
 * counts as failed (its record stays) and a later run tries again.
 */
async function deleteExternal(deps: DeletionDeps, job: DeletionJob, entries: readonly Entry[], fail: (e: Entry, reason: string) => void): Promise<void> {
  // A record with no provider reference never had anything sent out: it just goes.
  const external = entries.filter((e) => CATALOG[e.record.category].store.kind === 'external' && e.record.externalRef !== undefined);
  if (external.length === 0) return;
  const stopCallsAt = job.callsUntil ?? new Date(job.deadline.getTime() + EXTERNAL_GRACE_MS);
  const failuresInARow = new Map<string, number>();
  await forEachLimited(external, EXTERNAL_CONCURRENCY, async (e) => {
    const endpoints = e.tenant.thirdPartyEndpoints ?? [];
    if (endpoints.length === 0) {
      fail(e, 'external:no_endpoint');
      return;
    }
    for (const endpoint of endpoints) {
      const breaker = `${e.tenant.tenantId}\u0000${endpoint.name}`;
      if ((failuresInARow.get(breaker) ?? 0) >= EXTERNAL_BREAKER_FAILURES) {
        fail(e, 'external:endpoint_unavailable');
        return;
      }
      if (deps.clock.now().getTime() > stopCallsAt.getTime()) {
        fail(e, 'external:out_of_time');
        return;
      }
      try {
        // The provider is told how long it has (not when: its clock need not be ours).
        const budgetMs = Math.max(1, stopCallsAt.getTime() - deps.clock.now().getTime());
        await deps.external.deleteCallData(e.tenant, endpoint, e.record.externalRef as string, { budgetMs });
        failuresInARow.set(breaker, 0);
      } catch (error) {
        failuresInARow.set(breaker, (failuresInARow.get(breaker) ?? 0) + 1);
        fail(e, `external:${errorName(error)}`);
        return;
      }
    }
  });
}

/** An analytics event in a customer's partition (one written without a customer lives in the account's). */
function isCustomerAnalyticsEvent(r: DueRecord): boolean {
  return r.category === 'analytics_event' && r.subjectId !== undefined && r.sk === keys.analyticsEventSk(r.id);
}

/**
 * Stage 3, first: each analytics event moves out of its customer's partition
 * (`unlinkedAnalyticsEvent`): written at its new key, then deleted at its old
 * one. The new key depends on the event alone, so a retry after a failure in
 * between writes the same item again and leaves one copy. One that could not
 * be moved fails, and keeps her profile.
 */
async function unlinkAnalyticsEvents(
  deps: DeletionDeps,
  entries: readonly Entry[],
  fail: (e: Entry, reason: string) => void,
  unlinked: (e: Entry) => void,
): Promise<void> {
  if (entries.length === 0) return;
  let stored: Map<string, RecordItem>;
  try {
    // Whole items: a root may come from the index, without its data.
    stored = new Map((await deps.records.getBatch(entries.map((e) => ({ pk: e.record.pk, sk: e.record.sk })))).map((i) => [keyOf(i), i]));
  } catch (error) {
    for (const e of entries) fail(e, `dynamodb:${errorName(error)}`);
    return;
  }
  const moving = entries.filter((e) => stored.has(keyOf(e.record)));
  // Already gone from her partition (moved or deleted meanwhile): nothing names her.
  for (const e of entries) if (!stored.has(keyOf(e.record))) unlinked(e);
  try {
    const unlinkedItems = moving.map((e) => unlinkedAnalyticsEvent(stored.get(keyOf(e.record)) as RecordItem, retentionShardsOf(e.tenant)));
    // An unlinked event may land on another shard, whose watermark must not hide it from the sweep.
    if (deps.watermarks !== undefined) await deps.watermarks.lowerWatermarks(watermarkLowers(unlinkedItems));
    await deps.records.putBatch(unlinkedItems);
  } catch (error) {
    for (const e of moving) fail(e, `dynamodb:${errorName(error)}`);
    return;
  }
  const byKey = new Map(moving.map((e) => [keyOf(e.record), e]));
  const result = await deps.records.deleteBatch(moving.map((e) => ({ pk: e.record.pk, sk: e.record.sk })));
  for (const f of result.failed) {
    const e = byKey.get(keyOf(f.key));
    if (e !== undefined) fail(e, `dynamodb:${f.reason}`);
  }
  for (const k of result.succeeded) {
    const e = byKey.get(keyOf(k));
    if (e !== undefined) unlinked(e);
  }
}

/**
 * Stages 3–4: records in waves, every wave one batched delete across tenants:
 * first every record with nothing of its own left in the set, then the
 * parents, deepest first. A failure keeps its ancestors. A profile and its
 * identifiers go in the same wave.
 */
async function deleteRecordsDeepestFirst(
  deps: DeletionDeps,
  candidates: readonly Entry[],
  decided: (e: Entry) => boolean,
  fail: (e: Entry, reason: string) => void,
  deleted: (e: Entry) => void,
): Promise<void> {
  const parents = new Set<string>();
  for (const e of candidates) {
    if (decided(e) || isIdentifierSk(e.record.sk)) continue;
    for (const sk of ancestorSks(e.record.sk)) parents.add(`${e.record.pk}\u0000${sk}`);
  }
  const hasParentWork = (e: Entry) => parents.has(keyOf(e.record)) || (isIdentifierSk(e.record.sk) && parents.has(`${e.record.pk}\u0000${keys.profileSk()}`));
  const waves = new Map<number, Entry[]>();
  for (const e of candidates) {
    if (decided(e)) continue;
    // Wave "infinitely deep" (first) for a record with nothing under it left to wait for.
    const d = hasParentWork(e) ? depth(e.record.sk) : Number.MAX_SAFE_INTEGER;
    const list = waves.get(d);
    if (list === undefined) waves.set(d, [e]);
    else list.push(e);
  }
  for (const d of [...waves.keys()].sort((a, b) => b - a)) {
    const wave = (waves.get(d) ?? []).filter((e) => !decided(e));
    if (wave.length === 0) continue;
    const byKey = new Map(wave.map((e) => [keyOf(e.record), e]));
    // Keys the store could not delete are counted; an error of the whole call (the store gave up, the
    // process is going down) ends the execution: its caller retries it, and what went stays gone.
    const result = await deps.records.deleteBatch(wave.map((e) => ({ pk: e.record.pk, sk: e.record.sk })));
    for (const f of result.failed) {
      const e = byKey.get(keyOf(f.key));
      if (e !== undefined) fail(e, `dynamodb:${f.reason}`);
    }
    for (const k of result.succeeded) {
      const e = byKey.get(keyOf(k));
      if (e !== undefined) deleted(e);
    }
  }
}

/** The one report of a single tenant's execution (manual deletes, erasure), or an empty one. */
export function reportOf(result: DeletionResult, tenantId: string): TenantDeletionReport {
  return result.tenants.get(tenantId) ?? { counts: {}, subjectsTouched: new Set(), failureReasons: [] };
}
