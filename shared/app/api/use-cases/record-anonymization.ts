/**
 * Anonymisation of one communication record through the admin API: a call
 * (with its recordings and third-party data), a message (with its attachments
 * and media), a form submission or a web session. Its identifying values are
 * replaced by random tokens, its blobs and the provider's copy deleted through
 * the one executor, and the record kept for counts. Refused (409) when a legal
 * hold covers the record or anything under it; a PII-free receipt (kind
 * `manual`) and an audit event record it. Repeatable: a repeat replaces the
 * tokens and finishes what a failed provider left.
 */
import { randomBytes } from 'node:crypto';
import type { Category } from '../../../domain/catalog.js';
import { totalCounts } from '../../../domain/deletion/counts.js';
import { NotFoundError } from '../../../domain/errors.js';
import { holdMatcher, holdsOn } from '../../../domain/holds.js';
import { anonymizeRecords, type AnonymizableRecordType } from '../../../domain/privacy/record-anonymization.js';
import type { CategoryCounts, Receipt } from '../../../domain/receipt.js';
import { keys, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import { HeldError } from '../errors.js';

/** Which record: its type and id, and what finds its partition (see `locate`). */
export interface RecordSelector {
  readonly type: AnonymizableRecordType;
  readonly id: string;
  /** The customer it belongs to: needed for form submissions and web sessions, checked when given for the others. */
  readonly customerId?: string;
  /** The conversation of a message. */
  readonly conversationId?: string;
}

export interface RecordAnonymizationOutcome {
  readonly receiptId: string;
  readonly status: 'completed' | 'failed';
  readonly type: AnonymizableRecordType;
  /** Records whose identifying values were replaced: the record and what hangs off it. */
  readonly anonymized: number;
  /** Records whose blob or provider copy could not be deleted yet (a repeat retries them). */
  readonly failed: number;
  /** Per category: `deleted` = content gone and values replaced (the records stay). */
  readonly categories: Partial<Record<Category, CategoryCounts>>;
}

/**
 * How long the work may take inside the request: the record and its children
 * are read before it starts; only the provider calls are bounded.
 */
const CALL_BUDGET_MS = 20_000;

/** Blobs that belong to one message (`data.messageId`). */
const MESSAGE_BLOBS: ReadonlySet<Category> = new Set<Category>(['email_attachment', 'inbound_media', 'outbound_media']);

async function partitions(app: ApiApp, tenantId: string, kind: 'CALL' | 'CONVERSATION', id: string): Promise<string[]> {
  return (await app.deps.records.findByIdentifier(tenantId, kind, id)).map((s) => keys.subjectPk(tenantId, s));
}

/** The record and what hangs off it; a 404 naming the field that found nothing. */
async function locate(app: ApiApp, tenantId: string, s: RecordSelector, idField: string): Promise<RecordItem[]> {
  const { records } = app.deps;
  const ofCustomer = (i: RecordItem) => s.customerId === undefined || i.subjectId === s.customerId;
  if (s.type === 'call') {
    for (const pk of await partitions(app, tenantId, 'CALL', s.id)) {
      const items = (await records.findByPartition(pk, { skPrefix: keys.callSk(s.id) })).filter((i) => i.callId === s.id && ofCustomer(i));
      if (items.some((i) => i.sk === keys.callSk(s.id))) return items.filter((i) => i.sk === keys.callSk(s.id) || i.sk.startsWith(keys.childPrefix(keys.callSk(s.id))));
    }
    throw new NotFoundError(`${idField}: no such call`, { field: idField });
  }
  if (s.type === 'message') {
    const conversationId = s.conversationId as string;
    const pks = await partitions(app, tenantId, 'CONVERSATION', conversationId);
    if (pks.length === 0) throw new NotFoundError('conversationId: no such conversation', { field: 'conversationId' });
    for (const pk of pks) {
      const items = (await records.findByPartition(pk, { skPrefix: keys.childPrefix(keys.conversationSk(conversationId)) })).filter(
        (i) => i.conversationId === conversationId && ofCustomer(i),
      );
      const message = items.find((i) => i.category === 'message' && i.id === s.id);
      if (message !== undefined) return [message, ...items.filter((i) => MESSAGE_BLOBS.has(i.category) && i.data?.messageId === s.id)];
    }
    throw new NotFoundError(`${idField}: no such message in this conversation`, { field: idField });
  }
  const customerId = s.customerId as string;
  const item = (await records.findBySubject(tenantId, customerId)).find((i) => i.category === s.type && i.id === s.id);
  if (item === undefined) throw new NotFoundError(`${idField}: no such ${s.type.replace('_', ' ')} of this customer`, { field: idField });
  return [item];
}

const token = (): string => `anon_${randomBytes(12).toString('base64url')}`;

/**
 * Anonymises one communication record. `idField` is the request field that
 * names its id (a path parameter or a body field), for the 404 and 409.
 */
export async function anonymizeRecord(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  selector: RecordSelector,
  idField: string,
): Promise<RecordAnonymizationOutcome> {
  const { deps } = app;
  const tenantId = tenant.tenantId;
  const items = await locate(app, tenantId, selector, idField);
  const holds = await deps.control.listHolds(tenantId);
  const held = new Set(items.flatMap((i) => holdsOn(holds, i, caller.now).map((h) => h.holdId)));
  if (held.size > 0) throw new HeldError([...held].sort(), idField);

  const started = deps.clock.now();
  const result = await anonymizeRecords(deps, {
    tenant,
    items,
    isHeld: holdMatcher(holds, caller.now),
    token,
    now: caller.now,
    deadline: started,
    callsUntil: new Date(started.getTime() + CALL_BUDGET_MS),
  });
  const finished = deps.clock.now();
  const policy = await deps.control.getPolicy(tenantId);
  const receipt: Receipt = {
    runId: app.ids.next('manual'),
    tenantId,
    kind: 'manual',
    status: result.failed > 0 ? 'failed' : 'completed',
    dryRun: false,
    policyVersion: policy?.version ?? 0,
    profile: deps.platform.profile,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    cutoffs: {},
    categories: result.counts,
    subjectRefs: [...result.subjects].map((s) => app.refs.subject(tenantId, s)),
    completedStages: [1, 2, 3, 4],
  };
  await deps.control.putReceipt(receipt);
  const all = totalCounts(result.counts);
  await audit(app, caller, {
    tenantId,
    action: `${selector.type}.anonymized`,
    refs: { record: app.refs.record(tenantId, selector.type, selector.type === 'message' ? `${selector.conversationId}/${selector.id}` : selector.id), receiptId: receipt.runId },
    after: { anonymized: result.anonymized, contentDeleted: all.deleted, failed: result.failed },
  });
  return {
    receiptId: receipt.runId,
    status: receipt.status === 'failed' ? 'failed' : 'completed',
    type: selector.type,
    anonymized: result.anonymized,
    failed: result.failed,
    categories: result.counts,
  };
}
