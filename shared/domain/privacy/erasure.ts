/** Erasure of a request's subjects (named, or found by a bulk filter page by page), a chunk at a time. */
import { addCounts, forEachLimited, type CountsByCategory } from '../deletion/counts.js';
import { makeEvent, publishEvents, type EventOrigin } from '../events.js';
import { executeDeletion, reportOf, type DeletionRoot } from '../deletion/executor.js';
import { holdMatcher } from '../holds.js';
import type { Receipt } from '../receipt.js';
import type { Tenant } from '../tenant.js';
import { earliestContact, firstContactOf, keys, retentionShardsOf, type RecordItem } from '../records.js';
import { subjectRef } from '../references.js';
import { load, tenantOf, type PrivacyDeps } from './deps.js';
import { deleteAccessExports, storedAccessExports } from './exports.js';
import type { ErasureProgress, PrivacyOutcome, PrivacyRequestBody } from './request.js';

/** Subjects whose partitions are read and erased together. */
const ERASURE_SUBJECTS_PER_BATCH = 25;
/** Profiles of a bulk request's search read per page. */
const BULK_PAGE = 100;
/** Partitions read at once. */
const PARTITION_READS = 8;

/** A receipt lists at most this many subject references (the rest is counted as truncated). */
const MAX_SUBJECT_REFS = 1000;

/** The outcome of one execution chunk: `done` false means call again (the workflow loops). */
export interface ErasureChunkOutcome extends PrivacyOutcome {
  readonly done: boolean;
}

function hasOpenConversation(items: readonly RecordItem[]): boolean {
  return items.some((i) => i.status === 'open');
}

/**
 * Whether a customer's records match a bulk filter: first contact in the range
 * (her first conversation or call when her records do not say, whatever her
 * last contact: `firstContactOf`), a conversation on the bot and/or channel.
 */
export function matchesBulkFilter(items: readonly RecordItem[], filter: NonNullable<PrivacyRequestBody['filter']>): boolean {
  const p = items.find((i) => i.sk === keys.profileSk());
  if (p === undefined) return false;
  const data = (p.data ?? {}) as { botId?: string };
  // Also the conversations and calls read now, in case one was written while her profile was not yet lowered.
  const stored = earliestContact(items);
  const said = firstContactOf(p);
  const firstContact = stored !== undefined && stored < said ? stored : said;
  if (filter.firstContactFrom !== undefined && firstContact < filter.firstContactFrom) return false;
  if (filter.firstContactTo !== undefined && firstContact >= filter.firstContactTo) return false;
  if (filter.botId === undefined && filter.channel === undefined) return true;
  return items
    .filter((i) => i.category === 'conversation' || i.category === 'whatsapp_conversation')
    .some((c) => {
      const d = (c.data ?? {}) as { botId?: string; channel?: string };
      return (filter.botId === undefined || d.botId === filter.botId || data.botId === filter.botId) && (filter.channel === undefined || d.channel === filter.channel);
    });
}

/** The customers of one page of a bulk request's search that match its filter, with their records. */
async function bulkPage(
  deps: Pick<PrivacyDeps, 'records'>,
  tenant: Tenant,
  filter: NonNullable<PrivacyRequestBody['filter']>,
  cursor: string | undefined,
): Promise<{ readonly subjects: Map<string, RecordItem[]>; readonly cursor?: string }> {
  const page = await deps.records.findDueForDeletion(tenant.tenantId, 'customer_profile', END_OF_TIME, {
    shards: retentionShardsOf(tenant),
    limit: BULK_PAGE,
    ...(cursor !== undefined && { cursor }),
  });
  const subjects = new Map<string, RecordItem[]>();
  await forEachLimited(page.items, PARTITION_READS, async (profile) => {
    const subjectId = profile.subjectId ?? profile.id;
    const items = await deps.records.findBySubject(tenant.tenantId, subjectId, { includeExpired: true });
    if (matchesBulkFilter(items, filter)) subjects.set(subjectId, items);
  });
  return { subjects, ...(page.cursor !== undefined && { cursor: page.cursor }) };
}

/**
 * `SubjectErased` for each subject of the batch of whom nothing is left: none
 * of her records held, failed or kept but for analytics events unlinked from
 * her. A subject whose erasure is deferred or failed gets hers when it completes.
 */
function subjectErasedEvents(
  tenantId: string,
  at: Date,
  origin: EventOrigin,
  batch: ReadonlyMap<string, readonly RecordItem[]>,
  outcomes: Iterable<{ readonly record: { readonly subjectId?: string }; readonly outcome: string; readonly keptReason?: string }>,
) {
  const deleted = new Map<string, number>();
  const left = new Set<string>();
  for (const o of outcomes) {
    const s = o.record.subjectId;
    if (s === undefined) continue;
    if (o.outcome === 'deleted') deleted.set(s, (deleted.get(s) ?? 0) + 1);
    else if (!(o.outcome === 'kept' && o.keptReason === 'unlinked')) left.add(s);
  }
  return [...batch.keys()]
    .filter((s) => !left.has(s))
    .map((customerId) => makeEvent('SubjectErased', tenantId, at, { origin, customerId, deleted: deleted.get(customerId) ?? 0 }, [origin.requestId, customerId]));
}

const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

async function readPartitions(deps: Pick<PrivacyDeps, 'records'>, tenantId: string, subjectIds: readonly string[]): Promise<Map<string, RecordItem[]>> {
  const out = new Map<string, RecordItem[]>();
  await forEachLimited(subjectIds, PARTITION_READS, async (subjectId) => {
    out.set(subjectId, await deps.records.findBySubject(tenantId, subjectId, { includeExpired: true }));
  });
  // In the order asked, so a chunk's work is the same on a retry.
  return new Map(subjectIds.map((s) => [s, out.get(s) ?? []]));
}

/**
 * Erases every record and blob of the request's subjects through the one
 * deletion executor, a chunk at a time: it works until `deadline` and keeps
 * its progress on the request, and the workflow calls again until `done`.
 * A bulk request finds its subjects here, page by page, not when it is filed.
 * Earlier access exports of each erased subject are deleted with her records
 * (counted in the receipt's `exportsDeleted`; a failed one fails the request).
 * Held parts stay (the request ends `partially_completed` and resumes when the
 * hold is released); open conversations reject a request naming its subjects
 * unless `force` (a bulk request skips those customers and says so).
 */
export async function executeErasure(
  deps: PrivacyDeps,
  tenantId: string,
  requestId: string,
  options: { readonly deadline: Date },
): Promise<ErasureChunkOutcome> {
  const request = await load(deps, tenantId, requestId);
  const tenant = await tenantOf(deps, tenantId);
  const now = deps.clock.now();
  const bulk = request.selector === 'filter';
  const subjects = request.deferredSubjectIds ?? request.subjectIds;
  let progress: ErasureProgress = request.progress ?? {
    runId: `${requestId}-${(request.runIds?.length ?? 0) + 1}`,
    startedAt: now.toISOString(),
    next: 0,
    counts: {},
    deferred: [],
    failed: 0,
    matched: 0,
    skippedOpen: 0,
    subjectRefs: [],
  };

  if (!bulk && request.progress === undefined && !request.force) {
    // All or nothing: no subject is touched while one of them is in an open conversation.
    const partitions = await readPartitions(deps, tenantId, subjects);
    if ([...partitions.values()].some(hasOpenConversation)) {
      const outcome: PrivacyOutcome = { status: 'rejected', reason: 'open_conversation' };
      await deps.privacy.put({ ...request, ...outcome, updatedAt: now.toISOString() });
      return { ...outcome, done: true };
    }
  }

  const holds = await deps.control.listHolds(tenantId);
  const isHeld = holdMatcher(holds, now);
  const exports = await storedAccessExports(deps, tenantId);
  let finished = false;
  do {
    let batch: Map<string, RecordItem[]>;
    let next = progress.next;
    let cursor = progress.cursor;
    if (bulk) {
      const page = await bulkPage(deps, tenant, request.filter ?? {}, progress.cursor);
      batch = page.subjects;
      cursor = page.cursor;
      finished = page.cursor === undefined;
      if (!request.force) {
        for (const [subjectId, items] of batch) {
          if (!hasOpenConversation(items)) continue;
          batch.delete(subjectId);
          progress = { ...progress, skippedOpen: progress.skippedOpen + 1 };
        }
      }
      progress = { ...progress, matched: progress.matched + batch.size };
    } else {
      const ids = subjects.slice(progress.next, progress.next + ERASURE_SUBJECTS_PER_BATCH);
      batch = await readPartitions(deps, tenantId, ids);
      next = progress.next + ids.length;
      finished = next >= subjects.length;
    }
    const roots: DeletionRoot[] = [...batch.values()].flat().map((record) => ({ tenant, record, expand: false }));
    // Her analytics events stay, unlinked from her (counted kept: unlinked).
    const origin: EventOrigin = { kind: 'erasure', requestId, runId: progress.runId };
    const result = await executeDeletion(deps, { roots, rules: () => ({ isHeld }), dryRun: false, deadline: options.deadline, unlinkAnalytics: true, origin });
    const report = reportOf(result, tenantId);
    const deferred = new Set(progress.deferred);
    let failed = progress.failed;
    for (const item of result.items.values()) {
      if (item.outcome === 'held' && item.record.subjectId !== undefined) deferred.add(item.record.subjectId);
      if (item.outcome === 'failed' || (item.outcome === 'kept' && item.keptReason !== 'unlinked')) failed += 1;
    }
    // The subjects' access exports die with them (held ones' too: the hold keeps her records, not copies made for her).
    const exportDeletion = await deleteAccessExports(deps, exports, batch.keys(), requestId);
    failed += exportDeletion.failed;
    const eventsUnpublished = (report.eventsUnpublished ?? 0) + (await publishEvents(deps.events, subjectErasedEvents(tenantId, deps.clock.now(), origin, batch, result.items.values())));
    const refs = new Set(progress.subjectRefs);
    let truncated = progress.subjectRefsTruncated === true;
    for (const subjectId of batch.keys()) {
      if (refs.size >= MAX_SUBJECT_REFS) truncated = true;
      else refs.add(subjectRef(deps.refSecret, tenantId, subjectId));
    }
    progress = {
      ...progress,
      next,
      ...(cursor === undefined ? { cursor: undefined } : { cursor }),
      counts: addCounts(structuredClone(progress.counts) as CountsByCategory, report.counts),
      deferred: [...deferred],
      failed,
      exportsDeleted: (progress.exportsDeleted ?? 0) + exportDeletion.deleted,
      subjectKeysShredded: (progress.subjectKeysShredded ?? 0) + (report.subjectKeysShredded ?? 0),
      ...((progress.eventsUnpublished ?? 0) + eventsUnpublished > 0 && { eventsUnpublished: (progress.eventsUnpublished ?? 0) + eventsUnpublished }),
      subjectRefs: [...refs],
      ...(truncated && { subjectRefsTruncated: true }),
    };
  } while (!finished && deps.clock.now().getTime() < options.deadline.getTime());

  if (!finished) {
    await deps.privacy.put({ ...request, status: 'running', progress, updatedAt: deps.clock.now().toISOString() });
    return { status: 'running', done: false };
  }

  const receipt: Receipt = {
    runId: progress.runId,
    tenantId,
    kind: 'privacy_request',
    status: progress.failed > 0 ? 'failed' : 'completed',
    dryRun: false,
    policyVersion: 0,
    profile: '',
    startedAt: progress.startedAt,
    finishedAt: deps.clock.now().toISOString(),
    cutoffs: {},
    categories: progress.counts,
    exportsDeleted: progress.exportsDeleted ?? 0,
    shredded: { subjectKeys: progress.subjectKeysShredded ?? 0, epochKeys: 0 },
    ...(progress.eventsUnpublished !== undefined && { eventsUnpublished: progress.eventsUnpublished }),
    subjectRefs: progress.subjectRefs,
    ...(progress.subjectRefsTruncated === true && { subjectRefsTruncated: true }),
  };
  await deps.control.putReceipt(receipt);
  const outcome: PrivacyOutcome =
    progress.failed > 0
      ? { status: 'failed', reason: 'deletion_failed' }
      : progress.deferred.length > 0
        ? { status: 'partially_completed', reason: 'legal_hold' }
        : progress.skippedOpen > 0
          ? { status: 'partially_completed', reason: 'open_conversation' }
          : { status: 'completed' };
  const { progress: _done, ...rest } = request;
  await deps.privacy.put({
    ...rest,
    ...outcome,
    // A resumed erasure that completes drops the reason the earlier run ended with (legal_hold).
    reason: outcome.reason,
    counts: addCounts(structuredClone(request.counts) as CountsByCategory, progress.counts),
    deferredSubjectIds: progress.deferred.length > 0 ? progress.deferred : undefined,
    exportsDeleted: (request.exportsDeleted ?? 0) + (progress.exportsDeleted ?? 0),
    subjectKeysShredded: (request.subjectKeysShredded ?? 0) + (progress.subjectKeysShredded ?? 0),
    ...(bulk && { matchedSubjects: (request.matchedSubjects ?? 0) + progress.matched }),
    runIds: [...(request.runIds ?? []), progress.runId],
    updatedAt: deps.clock.now().toISOString(),
  });
  return { ...outcome, done: true };
}
