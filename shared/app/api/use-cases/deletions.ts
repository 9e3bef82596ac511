/**
 * Manual deletion of a customer, a conversation, a message or a call's
 * recordings. Every one goes through the one deletion executor:
 * the same order (blobs, third-party data, records children-first), the same
 * hold checks, and a PII-free receipt of kind `manual`. A request whose every
 * record is held is refused (409) before anything is touched.
 */
import type { Category } from '../../../domain/catalog.js';
import { addCounts, totalCounts, type CountsByCategory } from '../../../domain/deletion/counts.js';
import { executeDeletion, reportOf, type DeletionJob } from '../../../domain/deletion/executor.js';
import { publishEvents, recordsDeletedEvents } from '../../../domain/events.js';
import { ConflictError, NotFoundError } from '../../../domain/errors.js';
import { TOMBSTONE } from '../../../domain/export.js';
import { holdMatcher, holdsOn, type LegalHold } from '../../../domain/holds.js';
import type { CategoryCounts, Receipt } from '../../../domain/receipt.js';
import { keys, type DueRecord, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { leftWork } from '../../deletion-tasks.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import { HeldError } from '../errors.js';

const CONVERSATION_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation']);
/** Blobs that may belong to one message (`data.messageId`). */
const MESSAGE_BLOB_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['email_attachment', 'inbound_media', 'outbound_media']);

export interface DeletionOutcome {
  readonly receiptId: string;
  /**
   * `continuing`: what the request could not finish in its time (roots not
   * read yet, records a provider or the store failed on) goes on in a
   * `Deletion` workflow; the receipt follows it (`continuedBy`, final status).
   */
  readonly status: 'completed' | 'failed' | 'continuing';
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  readonly categories: Partial<Record<Category, CategoryCounts>>;
  /** Holds that kept part of what was asked for. */
  readonly holdIds?: readonly string[];
  /** Roots the request had no time to start; the workflow takes them. */
  readonly remaining?: number;
}

function holdIdsOn(holds: readonly LegalHold[], items: readonly DueRecord[], now: Date): string[] {
  const ids = new Set<string>();
  for (const item of items) for (const h of holdsOn(holds, item, now)) ids.add(h.holdId);
  return [...ids].sort();
}

interface ManualDeletion {
  readonly tenant: Tenant;
  readonly roots: readonly DueRecord[];
  /** Every record the request reaches, to name the holds that keep some of them. */
  readonly reach: readonly DueRecord[];
  /** The request field a refusal names. */
  readonly field: string;
  readonly action: string;
  readonly refs: Readonly<Record<string, string>>;
  /** Work after the deletion (a message's tombstone), with its counts and the subject it touched. */
  readonly after?: () => Promise<{ counts: CountsByCategory; subject?: string }>;
}

/**
 * How long a manual deletion may work inside its API request (API Gateway
 * answers after 29 s): no partition is read after the first budget, no
 * third-party call starts after the second and none runs past it. What is left
 * then continues in a `Deletion` workflow.
 */
const MANUAL_READ_BUDGET_MS = 10_000;
const MANUAL_CALL_BUDGET_MS = 20_000;

/**
 * Deletes through the shared path: a dry run first, to refuse a request whose
 * every record is held without touching anything; then the real run, a
 * receipt and an audit event. Work left at the end of the request's time
 * becomes a `DeletionTask` and its workflow is started (the answer says
 * `continuing`).
 */
async function deleteManually(app: ApiApp, caller: Caller, job: ManualDeletion): Promise<DeletionOutcome> {
  const { deps } = app;
  const tenantId = job.tenant.tenantId;
  const holds = await deps.control.listHolds(tenantId);
  const started = deps.clock.now();
  const isHeld = holdMatcher(holds, caller.now);
  const request: DeletionJob = {
    roots: job.roots.map((record) => ({ tenant: job.tenant, record, expand: true })),
    rules: () => ({ isHeld }),
    dryRun: true,
    deadline: new Date(started.getTime() + MANUAL_READ_BUDGET_MS),
    callsUntil: new Date(started.getTime() + MANUAL_CALL_BUDGET_MS),
    // A customer's analytics events stay, unlinked from her, when she is deleted.
    unlinkAnalytics: true,
  };
  const holdIds = holdIdsOn(holds, job.reach, caller.now);
  let report: ReturnType<typeof reportOf> | undefined;
  let continues = false;
  let remaining = 0;
  if (job.roots.length > 0) {
    const rehearsal = totalCounts(reportOf(await executeDeletion(deps, request), tenantId).counts);
    if (rehearsal.deleted === 0 && rehearsal.held > 0 && job.after === undefined) throw new HeldError(holdIds, job.field);
    const result = await executeDeletion(deps, { ...request, dryRun: false });
    report = reportOf(result, tenantId);
    remaining = result.remaining.length + [...result.readErrors.keys()].length;
    continues = leftWork(result, totalCounts(report.counts).failed);
  }
  const categories = structuredClone(report?.counts ?? {});
  const subjects = new Set(report?.subjectsTouched ?? []);
  if (job.after !== undefined) {
    const extra = await job.after();
    addCounts(categories, extra.counts);
    if (extra.subject !== undefined) subjects.add(extra.subject);
  }
  const all = totalCounts(categories);
  const finished = deps.clock.now();
  const policy = await deps.control.getPolicy(tenantId);
  const receipt: Receipt = {
    runId: app.ids.next('manual'),
    tenantId,
    kind: 'manual',
    status: continues ? 'running' : all.failed > 0 ? 'failed' : 'completed',
    dryRun: false,
    policyVersion: policy?.version ?? 0,
    profile: deps.platform.profile,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    cutoffs: {},
    categories,
    ...(report?.subjectKeysShredded !== undefined && { shredded: { subjectKeys: report.subjectKeysShredded, epochKeys: 0 } }),
    ...(report?.eventsUnpublished !== undefined && { eventsUnpublished: report.eventsUnpublished }),
    subjectRefs: [...subjects].map((s) => app.refs.subject(tenantId, s)),
    completedStages: [1, 2, 3, 4],
    ...(continues && { continuedBy: [] }),
  };
  if (continues) {
    // The task first: a workflow started on it, or a retried start, always finds it.
    await deps.control.putDeletionTask({
      tenantId,
      taskId: receipt.runId,
      action: job.action,
      roots: job.roots.map((r) => ({ pk: r.pk, sk: r.sk, expand: true })),
      status: 'continuing',
      attempts: 0,
      receiptIds: [],
      requestedBy: caller.actor,
      createdAt: finished.toISOString(),
      updatedAt: finished.toISOString(),
    });
  }
  await deps.control.putReceipt(receipt);
  if (continues) await deps.deletionWork.start({ tenantId, taskId: receipt.runId, executionName: receipt.runId });
  await audit(app, caller, {
    tenantId,
    action: job.action,
    refs: { ...job.refs, receiptId: receipt.runId },
    after: { deleted: all.deleted, held: all.held, failed: all.failed, ...(continues && { continuing: true }) },
  });
  return {
    receiptId: receipt.runId,
    status: continues ? 'continuing' : receipt.status === 'failed' ? 'failed' : 'completed',
    deleted: all.deleted,
    held: all.held,
    failed: all.failed,
    categories,
    ...(all.held > 0 && { holdIds }),
    ...(remaining > 0 && { remaining }),
  };
}

/** The customer partitions holding a conversation or call, found through its locator. */
async function partitionsOf(app: ApiApp, tenantId: string, kind: 'CONVERSATION' | 'CALL', id: string): Promise<string[]> {
  const subjects = await app.deps.records.findByIdentifier(tenantId, kind, id);
  return subjects.map((s) => keys.subjectPk(tenantId, s));
}

/**
 * Deletes a customer with everything of theirs (the whole partition, cascading
 * from the profile). Refused while one of their conversations is open.
 */
export async function deleteCustomer(app: ApiApp, caller: Caller, tenant: Tenant, customerId: string): Promise<DeletionOutcome> {
  const items = await app.deps.records.findBySubject(tenant.tenantId, customerId);
  if (items.length === 0) throw new NotFoundError('id: no such customer', { field: 'id' });
  const open = items.filter((i) => CONVERSATION_CATEGORIES.has(i.category) && i.status === 'open');
  if (open.length > 0) {
    throw new ConflictError(
      `id: the customer has ${open.length} open conversation(s); close them before deleting the customer`,
      { code: 'conversation_open', field: 'id' },
    );
  }
  const profile = items.find((i) => i.sk === keys.profileSk());
  return deleteManually(app, caller, {
    tenant,
    roots: profile !== undefined ? [profile] : items,
    reach: items,
    field: 'id',
    action: 'customer.deleted',
    refs: { customer: app.refs.subject(tenant.tenantId, customerId) },
  });
}

/** Deletes a conversation (or e-mail thread) with its messages, logs, media and attachments. */
export async function deleteConversation(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  conversationId: string,
): Promise<DeletionOutcome> {
  const roots: RecordItem[] = [];
  const reach: RecordItem[] = [];
  for (const pk of await partitionsOf(app, tenant.tenantId, 'CONVERSATION', conversationId)) {
    const items = await app.deps.records.findByPartition(pk, { skPrefix: keys.conversationSk(conversationId) });
    const ours = items.filter((i) => i.conversationId === conversationId);
    const root = ours.find((i) => i.sk === keys.conversationSk(conversationId));
    if (root !== undefined) roots.push(root);
    reach.push(...ours);
  }
  if (roots.length === 0) throw new NotFoundError('id: no such conversation', { field: 'id' });
  return deleteManually(app, caller, {
    tenant,
    roots,
    reach,
    field: 'id',
    action: 'conversation.deleted',
    refs: { conversation: app.refs.record(tenant.tenantId, 'conversation', conversationId) },
  });
}

/**
 * Deletes one message: its attachments and media go through the deletion path,
 * the message itself stays as a tombstone (`{"deleted": true, "text": …}`), so
 * the thread still shows that something was there. Idempotent.
 */
export async function deleteMessage(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  conversationId: string,
  messageId: string,
): Promise<DeletionOutcome> {
  const { records, control } = app.deps;
  const pks = await partitionsOf(app, tenant.tenantId, 'CONVERSATION', conversationId);
  if (pks.length === 0) throw new NotFoundError('id: no such conversation', { field: 'id' });
  let message: RecordItem | undefined;
  let children: RecordItem[] = [];
  for (const pk of pks) {
    const items = await records.findByPartition(pk, { skPrefix: keys.childPrefix(keys.conversationSk(conversationId)) });
    const found = items.find((i) => i.category === 'message' && i.id === messageId && i.conversationId === conversationId);
    if (found !== undefined) {
      message = found;
      children = items;
      break;
    }
  }
  if (message === undefined) throw new NotFoundError('msgId: no such message in this conversation', { field: 'msgId' });
  const holds = await control.listHolds(tenant.tenantId);
  if (holdMatcher(holds, caller.now)(message)) throw new HeldError(holdIdsOn(holds, [message], caller.now), 'msgId');

  const target = message;
  const blobs = children.filter(
    (i) => MESSAGE_BLOB_CATEGORIES.has(i.category) && i.conversationId === conversationId && i.data?.messageId === messageId,
  );
  return deleteManually(app, caller, {
    tenant,
    roots: blobs,
    reach: [target, ...blobs],
    field: 'msgId',
    action: 'message.deleted',
    refs: {
      conversation: app.refs.record(tenant.tenantId, 'conversation', conversationId),
      message: app.refs.record(tenant.tenantId, 'message', `${conversationId}/${messageId}`),
    },
    after: async () => {
      // A tombstone already (a repeated request): nothing left to examine, so nothing to count.
      if (target.status === 'deleted') return { counts: {} };
      const counts = { examined: 1, deleted: 0, held: 0, failed: 0, kept: 0 };
      const done = await records.update(
        { pk: target.pk, sk: target.sk },
        { set: { data: TOMBSTONE, status: 'deleted', deletedAt: caller.now.toISOString() } },
      );
      if (done) counts.deleted = 1;
      else counts.failed = 1;
      // Its content is gone (a tombstone stays): copies downstream drop it too.
      if (done) await publishEvents(app.deps.events, recordsDeletedEvents(tenant.tenantId, caller.now, { kind: 'manual' }, [{ category: 'message', id: messageId }]));
      return { counts: { message: counts }, ...(done && target.subjectId !== undefined && { subject: target.subjectId }) };
    },
  });
}

/** Deletes every recording of one call (the call record itself stays). */
export async function deleteCallRecordings(app: ApiApp, caller: Caller, tenant: Tenant, callId: string): Promise<DeletionOutcome> {
  const pks = await partitionsOf(app, tenant.tenantId, 'CALL', callId);
  if (pks.length === 0) throw new NotFoundError('id: no such call', { field: 'id' });
  const recordings: RecordItem[] = [];
  for (const pk of pks) {
    const items = await app.deps.records.findByPartition(pk, { skPrefix: keys.childPrefix(keys.callSk(callId)) });
    recordings.push(...items.filter((i) => i.category === 'call_recording' && i.callId === callId));
  }
  if (recordings.length === 0) throw new NotFoundError('id: the call has no recording', { field: 'id' });
  return deleteManually(app, caller, {
    tenant,
    roots: recordings,
    reach: recordings,
    field: 'id',
    action: 'call_recording.deleted',
    refs: { call: app.refs.record(tenant.tenantId, 'call', callId) },
  });
}

/**
 * Deletes one e-mail attachment or inbound or outbound media item of a
 * conversation: its blob and its record, through the shared path; the message
 * it came with stays as it is. `kind` picks one when an attachment and a media
 * item share the id (refused as ambiguous without it). A repeat answers 404:
 * the item is gone.
 */
export async function deleteAttachment(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  conversationId: string,
  attachmentId: string,
  kind?: Category,
): Promise<DeletionOutcome> {
  const pks = await partitionsOf(app, tenant.tenantId, 'CONVERSATION', conversationId);
  if (pks.length === 0) throw new NotFoundError('id: no such conversation', { field: 'id' });
  const found: RecordItem[] = [];
  for (const pk of pks) {
    const items = await app.deps.records.findByPartition(pk, { skPrefix: keys.childPrefix(keys.conversationSk(conversationId)) });
    found.push(
      ...items.filter(
        (i) => MESSAGE_BLOB_CATEGORIES.has(i.category) && (kind === undefined || i.category === kind) && i.id === attachmentId && i.conversationId === conversationId,
      ),
    );
  }
  if (found.length === 0) throw new NotFoundError('attachmentId: no such attachment or media item in this conversation', { field: 'attachmentId' });
  const categories = new Set(found.map((i) => i.category));
  if (categories.size > 1) {
    throw new ConflictError(`attachmentId: names ${[...categories].sort().join(' and ')} items of this conversation; say which with kind`, {
      code: 'ambiguous',
      field: 'attachmentId',
    });
  }
  const category = found[0]?.category as Category;
  return deleteManually(app, caller, {
    tenant,
    roots: found,
    reach: found,
    field: 'attachmentId',
    action: `${category}.deleted`,
    refs: {
      conversation: app.refs.record(tenant.tenantId, 'conversation', conversationId),
      attachment: app.refs.record(tenant.tenantId, category, `${conversationId}/${attachmentId}`),
    },
  });
}

/** What a caller selected to delete through the shared path (e.g. admin activity logs). */
export interface SelectedDeletion {
  readonly records: readonly RecordItem[];
  /** The request field a refusal names. */
  readonly field: string;
  /** The audit event's action. */
  readonly action: string;
  /** Opaque ids and keyed HMACs only. */
  readonly refs: Readonly<Record<string, string>>;
}

/**
 * Deletes records a caller selected, each with what cascades from it, through
 * the shared path (hold checks, order, receipt, audit); refused (409) when
 * every one of them is held.
 */
export async function deleteSelected(app: ApiApp, caller: Caller, tenant: Tenant, selection: SelectedDeletion): Promise<DeletionOutcome> {
  return deleteManually(app, caller, {
    tenant,
    roots: selection.records,
    reach: selection.records,
    field: selection.field,
    action: selection.action,
    refs: selection.refs,
  });
}
