/**
 * Privacy requests: erasure, access export and anonymisation of data subjects,
 * executed asynchronously (the `PrivacyRequest` state machine calls these use
 * cases). Erasure goes through the one deletion path, so holds, order and
 * receipts are the sweep's. DESIGN.md §4.
 */
import { z } from 'zod';
import type { BucketName, Category } from './catalog.js';
import { addCounts, deleteRecords, type DeletionDeps } from './deletion.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { buildSubjectExports } from './export.js';
import { holdMatcher } from './holds.js';
import { normaliseIdentifier } from './identifiers.js';
import type { BlobStore, Clock, ControlStore, Mailer, RecordStore } from './ports.js';
import type { CategoryCounts, Receipt } from './receipt.js';
import { keys, type IdentifierKind, type RecordItem } from './records.js';
import { subjectRef } from './references.js';
import type { Tenant } from './tenant.js';

const DAY_MS = 86_400_000;
/** Statutory answer time (GDPR Art. 12(3)): one month, kept as 30 days. */
export const PRIVACY_DUE_DAYS = 30;
/**
 * How long an access export's links work (the document's, and the blob links
 * inside it): 7 days, since they go out by e-mail to someone who may read it
 * days later. The export route's links are shorter (`DEFAULT_EXPORT_LINK_SECONDS`).
 */
export const EXPORT_LINK_SECONDS = 7 * 24 * 3600;

export const PRIVACY_KINDS = ['erasure', 'access', 'anonymization'] as const;
export type PrivacyKind = (typeof PRIVACY_KINDS)[number];

export const PRIVACY_STATUSES = ['received', 'running', 'completed', 'partially_completed', 'failed', 'rejected'] as const;
export type PrivacyStatus = (typeof PRIVACY_STATUSES)[number];

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1–128 letters, digits or . _ : -');
const isoInstant = z.iso.datetime({ offset: false });

/** The body of `POST /privacy-requests`. */
export const privacyRequestBodySchema = z
  .object({
    kind: z.enum(PRIVACY_KINDS),
    subject: z
      .object({
        customerId: id.optional(),
        phone: z.string().min(3).max(40).optional(),
        email: z.string().min(3).max(254).optional(),
        name: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
    /** Bulk erasure of a chatbot's users: bot and/or channel, first-contact range. */
    filter: z
      .object({
        botId: id.optional(),
        channel: z.enum(['chat', 'sms', 'whatsapp', 'email', 'voice']).optional(),
        firstContactFrom: isoInstant.optional(),
        firstContactTo: isoInstant.optional(),
      })
      .strict()
      .optional(),
    /** Close open conversations instead of rejecting the erasure. */
    force: z.boolean().optional(),
    /** Where the confirmation (and an access export's link) goes. */
    notify: z.object({ email: z.email() }).strict().optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const selectors = b.subject === undefined ? 0 : Object.values(b.subject).filter((v) => v !== undefined).length;
    if (b.subject !== undefined && selectors !== 1) {
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'name exactly one of customerId, phone, email, name' });
    }
    if ((b.subject === undefined) === (b.filter === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'give either a subject or a bulk filter' });
    }
    if (b.filter !== undefined) {
      if (b.kind !== 'erasure') ctx.addIssue({ code: 'custom', path: ['filter'], message: 'a bulk filter is for erasure only' });
      if (Object.values(b.filter).every((v) => v === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['filter'], message: 'a bulk filter needs at least one criterion' });
      }
    }
  });

export type PrivacyRequestBody = z.infer<typeof privacyRequestBodySchema>;

/** A privacy request as kept in the control table: ids and counts, no phone, e-mail, name or text. */
export interface PrivacyRequest {
  readonly tenantId: string;
  readonly requestId: string;
  readonly kind: PrivacyKind;
  readonly status: PrivacyStatus;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly updatedAt: string;
  /** Keyed HMAC of the token subject that asked. */
  readonly requestedBy: string;
  /** How the subject was named (the value itself is resolved at once and not kept). */
  readonly selector: 'customerId' | 'phone' | 'email' | 'name' | 'filter';
  /** Resolved customer ids (opaque platform ids, needed to execute and to resume deferred parts). */
  readonly subjectIds: readonly string[];
  readonly filter?: PrivacyRequestBody['filter'];
  readonly force: boolean;
  /** Confirmation address; removed once the confirmation went out. */
  readonly notifyEmail?: string;
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  /** Subjects whose held parts wait for the hold's release. */
  readonly deferredSubjectIds?: readonly string[];
  readonly reason?: string;
  readonly exportKey?: string;
  readonly exportUrl?: string;
  readonly runIds?: readonly string[];
}

export interface PrivacyRequestStore {
  put(request: PrivacyRequest): Promise<void>;
  get(tenantId: string, requestId: string): Promise<PrivacyRequest | undefined>;
  list(tenantId: string, options?: { readonly limit?: number }): Promise<PrivacyRequest[]>;
  /**
   * Claims an idempotency key for a request id: returns the id already bound to
   * the key, or binds `requestId` and returns it.
   */
  claimIdempotencyKey(tenantId: string, key: string, requestId: string): Promise<string>;
}

export interface PrivacyDeps extends DeletionDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly control: ControlStore;
  readonly privacy: PrivacyRequestStore;
  readonly mailer: Mailer;
  readonly clock: Clock;
  readonly refSecret: string;
}

/** Resolves the subject(s) a request names to customer ids. */
export async function resolveSubjects(
  deps: Pick<PrivacyDeps, 'records'>,
  tenantId: string,
  body: PrivacyRequestBody,
  shards: number,
): Promise<string[]> {
  const s = body.subject;
  if (s !== undefined) {
    if (s.customerId !== undefined) return [s.customerId];
    const [kind, raw, field] = (
      s.phone !== undefined
        ? ['PHONE', s.phone, 'subject.phone']
        : s.email !== undefined
          ? ['EMAIL', s.email, 'subject.email']
          : ['NAME', s.name as string, 'subject.name']
    ) as [IdentifierKind, string, string];
    const normalised = normaliseIdentifier(kind, raw);
    if (!normalised.ok) throw new ValidationError(field, normalised.error.message);
    return deps.records.findByIdentifier(tenantId, kind, normalised.value);
  }
  return findBulkSubjects(deps.records, tenantId, body.filter ?? {}, shards);
}

/**
 * Customers matching a bulk filter: profiles whose first contact lies in the
 * range, with a conversation on the bot and/or channel when those are named.
 */
async function findBulkSubjects(
  records: RecordStore,
  tenantId: string,
  filter: NonNullable<PrivacyRequestBody['filter']>,
  shards: number,
): Promise<string[]> {
  const everything = new Date('9999-12-31T00:00:00.000Z');
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await records.findDueForDeletion(tenantId, 'customer_profile', everything, { shards, limit: 500, ...(cursor !== undefined && { cursor }) });
    for (const profile of page.items) {
      const subjectId = profile.subjectId ?? profile.id;
      const items = await records.findBySubject(tenantId, subjectId);
      const p = items.find((i) => i.sk === keys.profileSk());
      const data = (p?.data ?? {}) as { firstContactAt?: string; lastContactAt?: string; botId?: string };
      const firstContact = data.firstContactAt ?? data.lastContactAt ?? p?.clockStart;
      if (filter.firstContactFrom !== undefined && (firstContact === undefined || firstContact < filter.firstContactFrom)) continue;
      if (filter.firstContactTo !== undefined && (firstContact === undefined || firstContact >= filter.firstContactTo)) continue;
      if (filter.botId !== undefined || filter.channel !== undefined) {
        const conversations = items.filter((i) => i.category === 'conversation' || i.category === 'whatsapp_conversation');
        const matches = conversations.some((c) => {
          const d = (c.data ?? {}) as { botId?: string; channel?: string };
          return (filter.botId === undefined || d.botId === filter.botId || data.botId === filter.botId) &&
            (filter.channel === undefined || d.channel === filter.channel);
        });
        if (!matches) continue;
      }
      out.push(subjectId);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

export interface PrivacyRequestInput {
  readonly tenantId: string;
  /** Write shards of the tenant's retention index (`retentionShardsOf(tenant)`), for a bulk request's search. */
  readonly shards: number;
  readonly requestId: string;
  readonly requestedBy: string;
  readonly body: PrivacyRequestBody;
}

/** Accepts a request: validates, resolves its subjects, stores it as `received`. */
export async function receivePrivacyRequest(
  deps: Pick<PrivacyDeps, 'records' | 'privacy' | 'clock'>,
  input: PrivacyRequestInput,
): Promise<PrivacyRequest> {
  const request = await buildPrivacyRequest(deps, input);
  await deps.privacy.put(request);
  return request;
}

/**
 * A request as `receivePrivacyRequest` would store it (subjects resolved, a bad
 * identifier refused), without storing it: for callers that must bind an
 * idempotency key between resolving and storing.
 */
export async function buildPrivacyRequest(
  deps: Pick<PrivacyDeps, 'records' | 'clock'>,
  input: PrivacyRequestInput,
): Promise<PrivacyRequest> {
  const now = deps.clock.now();
  const subjectIds = await resolveSubjects(deps, input.tenantId, input.body, input.shards);
  const s = input.body.subject;
  return {
    tenantId: input.tenantId,
    requestId: input.requestId,
    kind: input.body.kind,
    status: 'received',
    receivedAt: now.toISOString(),
    dueAt: new Date(now.getTime() + PRIVACY_DUE_DAYS * DAY_MS).toISOString(),
    updatedAt: now.toISOString(),
    requestedBy: input.requestedBy,
    selector: s === undefined ? 'filter' : s.customerId !== undefined ? 'customerId' : s.phone !== undefined ? 'phone' : s.email !== undefined ? 'email' : 'name',
    subjectIds,
    ...(input.body.filter === undefined ? {} : { filter: input.body.filter }),
    force: input.body.force === true,
    ...(input.body.notify === undefined ? {} : { notifyEmail: input.body.notify.email }),
    counts: {},
  };
}

async function load(deps: Pick<PrivacyDeps, 'privacy'>, tenantId: string, requestId: string): Promise<PrivacyRequest> {
  const request = await deps.privacy.get(tenantId, requestId);
  if (request === undefined) throw new NotFoundError(`privacy request ${requestId} not found`);
  return request;
}

async function tenantOf(deps: Pick<PrivacyDeps, 'control'>, tenantId: string): Promise<Tenant> {
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === undefined) throw new NotFoundError(`tenant ${tenantId} not found`);
  return tenant;
}

/** The outcome of executing a request, as the state machine carries it. */
export interface PrivacyOutcome {
  readonly status: PrivacyStatus;
  readonly reason?: string;
}

/**
 * Erases every record and blob of the request's subjects through the shared
 * deletion path. Held parts stay (the request ends `partially_completed` and
 * resumes when the hold is released); open conversations reject the request
 * unless `force`, which closes them first.
 */
export async function executeErasure(deps: PrivacyDeps, tenantId: string, requestId: string): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  const tenant = await tenantOf(deps, tenantId);
  const now = deps.clock.now();
  const subjects = request.deferredSubjectIds ?? request.subjectIds;
  const partitions = new Map<string, RecordItem[]>();
  for (const subjectId of subjects) partitions.set(subjectId, await deps.records.findBySubject(tenantId, subjectId, { includeExpired: true }));

  if (!request.force) {
    const open = [...partitions.values()].flat().some((i) => i.status === 'open');
    if (open) {
      const outcome: PrivacyOutcome = { status: 'rejected', reason: 'open_conversation' };
      await deps.privacy.put({ ...request, ...outcome, updatedAt: now.toISOString() });
      return outcome;
    }
  }

  const holds = await deps.control.listHolds(tenantId);
  const isHeld = holdMatcher(holds, now);
  const counts: Partial<Record<Category, CategoryCounts>> = structuredClone(request.counts) as Partial<Record<Category, CategoryCounts>>;
  const deferred: string[] = [];
  let failed = 0;
  const runId = `${requestId}-${(request.runIds?.length ?? 0) + 1}`;
  for (const [subjectId, items] of partitions) {
    if (items.length === 0) continue;
    const report = await deleteRecords(deps, {
      tenant,
      roots: items,
      isHeld,
      dryRun: false,
      closedAt: now.toISOString(),
    });
    addCounts(counts, report.counts);
    let held = 0;
    for (const o of report.outcomes.values()) {
      if (o === 'held') held++;
      if (o === 'failed' || o === 'deferred') failed++;
    }
    if (held > 0) deferred.push(subjectId);
  }
  const receipt: Receipt = {
    runId,
    tenantId,
    kind: 'privacy_request',
    status: failed > 0 ? 'failed' : 'completed',
    dryRun: false,
    policyVersion: 0,
    profile: '',
    startedAt: now.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    cutoffs: {},
    categories: diff(counts, request.counts),
    subjectRefs: [...partitions.keys()].map((s) => subjectRef(deps.refSecret, tenantId, s)),
  };
  await deps.control.putReceipt(receipt);
  const outcome: PrivacyOutcome =
    failed > 0
      ? { status: 'failed', reason: 'deletion_failed' }
      : deferred.length > 0
        ? { status: 'partially_completed', reason: 'legal_hold' }
        : { status: 'completed' };
  await deps.privacy.put({
    ...request,
    ...outcome,
    // A resumed erasure that completes drops the reason the earlier run ended with (legal_hold).
    reason: outcome.reason,
    counts,
    deferredSubjectIds: deferred.length > 0 ? deferred : undefined,
    runIds: [...(request.runIds ?? []), runId],
    updatedAt: deps.clock.now().toISOString(),
  });
  return outcome;
}

function diff(
  after: Partial<Record<Category, CategoryCounts>>,
  before: Partial<Record<Category, CategoryCounts>>,
): Partial<Record<Category, CategoryCounts>> {
  const out: Partial<Record<Category, CategoryCounts>> = {};
  for (const [c, a] of Object.entries(after) as [Category, CategoryCounts][]) {
    const b = before[c];
    out[c] = {
      examined: a.examined - (b?.examined ?? 0),
      deleted: a.deleted - (b?.deleted ?? 0),
      held: a.held - (b?.held ?? 0),
      failed: a.failed - (b?.failed ?? 0),
    };
  }
  return out;
}

/**
 * Writes the JSON export of every subject of the request (the one export of
 * export.ts, as the export route answers it) to the exports bucket; the
 * document's link and the blob links inside it live `EXPORT_LINK_SECONDS`.
 */
export async function executeAccess(deps: PrivacyDeps, tenantId: string, requestId: string): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  if (request.subjectIds.length === 0) {
    const outcome: PrivacyOutcome = { status: 'completed', reason: 'no_data' };
    await deps.privacy.put({ ...request, ...outcome, updatedAt: deps.clock.now().toISOString() });
    return outcome;
  }
  const subjects = await buildSubjectExports(deps, tenantId, request.subjectIds, { linkSeconds: EXPORT_LINK_SECONDS });
  const document = { requestId, tenantId, generatedAt: deps.clock.now().toISOString(), subjects };
  const exportKey = `exports/${tenantId}/${requestId}.json`;
  await deps.blobs.put('exports', exportKey, JSON.stringify(document, null, 2), 'application/json');
  const exportUrl = await deps.blobs.presignGet('exports', exportKey, EXPORT_LINK_SECONDS);
  const outcome: PrivacyOutcome = { status: 'completed' };
  await deps.privacy.put({ ...request, ...outcome, exportKey, exportUrl, updatedAt: deps.clock.now().toISOString() });
  return outcome;
}

/** Fields of a record's data that identify a person; anonymisation replaces them. */
const IDENTIFYING_FIELDS = new Set(['name', 'phones', 'emails', 'phone', 'email', 'externalId', 'text', 'notes', 'transcript', 'actor', 'url']);

function token(random: () => string): string {
  return `anon_${random()}`;
}

/**
 * Anonymises the subjects: identifying values become irreversible random
 * tokens, blobs are deleted, identifiers removed (so no lookup finds the
 * subject), non-identifying metadata (times, channel, durations) kept.
 */
export async function executeAnonymization(
  deps: PrivacyDeps & { readonly random: () => string },
  tenantId: string,
  requestId: string,
): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  const tenant = await tenantOf(deps, tenantId);
  const now = deps.clock.now();
  const holds = await deps.control.listHolds(tenantId);
  let held = 0;
  for (const subjectId of request.subjectIds) {
    const items = await deps.records.findBySubject(tenantId, subjectId);
    const isHeldNow = holdMatcher(holds, now);
    // Identifiers go through the deletion path; held records are left as they are and counted.
    const identifiers = items.filter((i) => i.sk.startsWith('ID#'));
    const report = await deleteRecords(deps, { tenant, roots: identifiers, isHeld: isHeldNow, dryRun: false, closedAt: now.toISOString() });
    for (const o of report.outcomes.values()) if (o === 'held') held++;
    const kept = items.filter((item) => !item.sk.startsWith('ID#') && !isHeldNow(item));
    held += items.filter((item) => !item.sk.startsWith('ID#') && isHeldNow(item)).length;
    // Blobs first, one batch per bucket; a record loses its pointer only once its blob is gone.
    const blobsGone = new Set<string>();
    const byBucket = new Map<BucketName, string[]>();
    for (const item of kept) {
      if (item.blobBucket === undefined || item.blobKey === undefined) continue;
      byBucket.set(item.blobBucket, [...(byBucket.get(item.blobBucket) ?? []), item.blobKey]);
    }
    for (const [bucket, blobKeys] of byBucket) {
      const result = await deps.blobs.deleteBatch(bucket, blobKeys);
      for (const key of result.succeeded) blobsGone.add(`${bucket}/${key}`);
    }
    let blobFailures = 0;
    for (const item of kept) {
      const data = { ...(item.data ?? {}) } as Record<string, unknown>;
      for (const field of Object.keys(data)) {
        if (!IDENTIFYING_FIELDS.has(field)) continue;
        const v = data[field];
        data[field] = Array.isArray(v) ? v.map(() => token(deps.random)) : token(deps.random);
      }
      const set: Record<string, unknown> = { data, anonymizedAt: now.toISOString() };
      const remove: string[] = [];
      if (item.blobBucket !== undefined && item.blobKey !== undefined) {
        if (blobsGone.has(`${item.blobBucket}/${item.blobKey}`)) remove.push('blobBucket', 'blobKey');
        else blobFailures++;
      }
      await deps.records.update(item, { set, remove });
    }
    if (blobFailures > 0) throw new ConflictError(`${blobFailures} blob(s) of request ${requestId} could not be deleted`);
  }
  const outcome: PrivacyOutcome = held > 0 ? { status: 'partially_completed', reason: 'legal_hold' } : { status: 'completed' };
  await deps.privacy.put({ ...request, ...outcome, updatedAt: deps.clock.now().toISOString() });
  return outcome;
}

/** Marks a request as running (idempotent). */
export async function startPrivacyRequest(deps: Pick<PrivacyDeps, 'privacy' | 'clock'>, tenantId: string, requestId: string): Promise<PrivacyRequest> {
  const request = await load(deps, tenantId, requestId);
  // A new request, or one resumed after the hold that deferred part of it was released.
  if (request.status === 'received' || request.status === 'partially_completed') {
    const running = { ...request, status: 'running' as const, updatedAt: deps.clock.now().toISOString() };
    await deps.privacy.put(running);
    return running;
  }
  return request;
}

/** E-mails the requester the request id and outcome (and an export's link), then forgets the address. */
export async function notifyRequester(deps: PrivacyDeps, tenantId: string, requestId: string): Promise<{ readonly sent: boolean }> {
  const request = await load(deps, tenantId, requestId);
  if (request.notifyEmail === undefined) return { sent: false };
  const lines = [
    `Your ${request.kind} request ${request.requestId} has been processed.`,
    `Outcome: ${request.status}${request.reason === undefined ? '' : ` (${request.reason.replaceAll('_', ' ')})`}`,
  ];
  if (request.exportUrl !== undefined) lines.push('', `Download the export (valid 7 days): ${request.exportUrl}`);
  await deps.mailer.send({ to: [request.notifyEmail], subject: `Privacy request ${request.requestId}: ${request.status}`, text: lines.join('\n') });
  const { notifyEmail: _sent, ...rest } = request;
  await deps.privacy.put({ ...rest, updatedAt: deps.clock.now().toISOString() });
  return { sent: true };
}

/**
 * Requests with parts a legal hold deferred. After a release they are simply
 * resumed: an erasure defers again whatever is still held, so this is safe.
 */
export async function requestsAwaitingHoldRelease(deps: Pick<PrivacyDeps, 'privacy'>, tenantId: string): Promise<string[]> {
  const requests = await deps.privacy.list(tenantId);
  return requests
    .filter((r) => r.status === 'partially_completed' && r.reason === 'legal_hold' && (r.deferredSubjectIds?.length ?? 0) > 0)
    .map((r) => r.requestId);
}

