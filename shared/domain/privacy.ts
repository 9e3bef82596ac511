/**
 * Privacy requests: erasure, access export and anonymisation of data subjects,
 * executed asynchronously (the `PrivacyRequest` state machine calls these use
 * cases). Erasure goes through the one deletion path, so holds, order and
 * receipts are the sweep's. DESIGN.md §4.
 */
import { z } from 'zod';
import type { Category } from './catalog.js';
import { addCounts, forEachLimited, type CountsByCategory } from './deletion/counts.js';
import { executeDeletion, reportOf, type DeletionDeps, type DeletionRoot } from './deletion/executor.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { buildSubjectExports } from './export.js';
import { holdMatcher } from './holds.js';
import { normaliseIdentifier } from './identifiers.js';
import type { BlobStore, Clock, ControlStore, Mailer, PrivacyStarter, RecordStore } from './ports.js';
import type { CategoryCounts, Receipt } from './receipt.js';
import type { Tenant } from './tenant.js';
import { isIdentifierSk, keys, recordKeyString, retentionShardsOf, type IdentifierKind, type RecordItem } from './records.js';
import { subjectRef } from './references.js';

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
  /** An erasure under way: where its next chunk starts. */
  readonly progress?: ErasureProgress;
  /** Bulk erasure: customers its filter matched (found while it runs). */
  readonly matchedSubjects?: number;
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

/**
 * Resolves the subject a request names to customer ids. A bulk filter resolves
 * to none here: its customers are found by the erasure itself, page by page,
 * so filing it stays quick whatever the tenant's size.
 */
export async function resolveSubjects(deps: Pick<PrivacyDeps, 'records'>, tenantId: string, body: PrivacyRequestBody): Promise<string[]> {
  const s = body.subject;
  if (s === undefined) return [];
  if (s.customerId !== undefined) return [s.customerId];
  const [kind, raw, field] = (
    s.phone !== undefined ? ['PHONE', s.phone, 'subject.phone'] : s.email !== undefined ? ['EMAIL', s.email, 'subject.email'] : ['NAME', s.name as string, 'subject.name']
  ) as [IdentifierKind, string, string];
  const normalised = normaliseIdentifier(kind, raw);
  if (!normalised.ok) throw new ValidationError(field, normalised.error.message);
  return deps.records.findByIdentifier(tenantId, kind, normalised.value);
}

export interface PrivacyRequestInput {
  readonly tenantId: string;
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
  const subjectIds = await resolveSubjects(deps, input.tenantId, input.body);
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

/** Subjects whose partitions are read and erased together. */
const ERASURE_SUBJECTS_PER_BATCH = 25;
/** Profiles of a bulk request's search read per page. */
const BULK_PAGE = 100;
/** Partitions read at once. */
const PARTITION_READS = 8;

/** Where an erasure under way stands, kept on its request between chunks. */
export interface ErasureProgress {
  /** The receipt this execution writes when it ends. */
  readonly runId: string;
  readonly startedAt: string;
  /** Explicit subjects: index of the next one in the list being erased. */
  readonly next: number;
  /** Bulk: the profile index cursor of the next page (absent on the first). */
  readonly cursor?: string;
  /** What this execution did so far. */
  readonly counts: CountsByCategory;
  readonly deferred: readonly string[];
  readonly failed: number;
  /** Bulk: subjects matched so far, and those skipped for an open conversation. */
  readonly matched: number;
  readonly skippedOpen: number;
  readonly subjectRefs: readonly string[];
  readonly subjectRefsTruncated?: boolean;
}

/** A receipt lists at most this many subject references (the rest is counted as truncated). */
const MAX_SUBJECT_REFS = 1000;

/** The outcome of one execution chunk: `done` false means call again (the workflow loops). */
export interface ErasureChunkOutcome extends PrivacyOutcome {
  readonly done: boolean;
}

function hasOpenConversation(items: readonly RecordItem[]): boolean {
  return items.some((i) => i.status === 'open');
}

/** Whether a customer's records match a bulk filter: first contact in the range, a conversation on the bot and/or channel. */
export function matchesBulkFilter(items: readonly RecordItem[], filter: NonNullable<PrivacyRequestBody['filter']>): boolean {
  const p = items.find((i) => i.sk === keys.profileSk());
  if (p === undefined) return false;
  const data = (p.data ?? {}) as { firstContactAt?: string; lastContactAt?: string; botId?: string };
  const firstContact = data.firstContactAt ?? data.lastContactAt ?? p.clockStart;
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
    const result = await executeDeletion(deps, { roots, rules: () => ({ isHeld }), dryRun: false, deadline: options.deadline });
    const report = reportOf(result, tenantId);
    const deferred = new Set(progress.deferred);
    let failed = progress.failed;
    for (const item of result.items.values()) {
      if (item.outcome === 'held' && item.record.subjectId !== undefined) deferred.add(item.record.subjectId);
      if (item.outcome === 'failed' || item.outcome === 'kept') failed += 1;
    }
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
    ...(bulk && { matchedSubjects: (request.matchedSubjects ?? 0) + progress.matched }),
    runIds: [...(request.runIds ?? []), progress.runId],
    updatedAt: deps.clock.now().toISOString(),
  });
  return { ...outcome, done: true };
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
 * tokens, blobs and third-party data are deleted (through the one executor),
 * identifiers removed (so no lookup finds the subject), non-identifying
 * metadata (times, channel, durations) kept. Held records are left as they are.
 */
export async function executeAnonymization(
  deps: PrivacyDeps & { readonly random: () => string },
  tenantId: string,
  requestId: string,
  options: { readonly deadline: Date },
): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  const tenant = await tenantOf(deps, tenantId);
  const now = deps.clock.now();
  const isHeld = holdMatcher(await deps.control.listHolds(tenantId), now);
  let held = 0;
  let failed = 0;
  for (const subjectId of request.subjectIds) {
    const items = await deps.records.findBySubject(tenantId, subjectId);
    // Identifiers go; the other records lose their content (blob, third-party data) and keep the rest.
    const roots: DeletionRoot[] = items.map((record) => ({ tenant, record, expand: false, ...(!isIdentifierSk(record.sk) && { contentOnly: true }) }));
    const result = await executeDeletion(deps, { roots, rules: () => ({ isHeld }), dryRun: false, deadline: options.deadline });
    for (const item of items) {
      if (isIdentifierSk(item.sk)) continue;
      const outcome = result.items.get(recordKeyString(item));
      if (outcome?.outcome === 'held') {
        held += 1;
        continue;
      }
      const data = { ...(item.data ?? {}) } as Record<string, unknown>;
      for (const field of Object.keys(data)) {
        if (!IDENTIFYING_FIELDS.has(field)) continue;
        const v = data[field];
        data[field] = Array.isArray(v) ? v.map(() => token(deps.random)) : token(deps.random);
      }
      const set: Record<string, unknown> = { data, anonymizedAt: now.toISOString() };
      const remove: string[] = [];
      // A record loses its pointers only once what they point to is gone.
      if (outcome?.outcome === 'deleted') {
        if (item.blobBucket !== undefined) remove.push('blobBucket', 'blobKey');
        if (item.externalRef !== undefined) remove.push('externalRef');
      } else if (item.blobKey !== undefined || item.externalRef !== undefined) failed += 1;
      await deps.records.update(item, { set, remove });
    }
  }
  if (failed > 0) throw new ConflictError(`${failed} blob(s) or third-party record(s) of request ${requestId} could not be deleted`);
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


/**
 * Starts again every request whose erasure a hold deferred (after a release;
 * each one defers again what another hold still keeps). The execution name
 * counts the request's runs, so a repeated call starts nothing twice.
 */
export async function resumeDeferredRequests(
  deps: Pick<PrivacyDeps, 'privacy'> & { readonly privacyRequests: PrivacyStarter },
  tenantId: string,
): Promise<string[]> {
  const resumed: string[] = [];
  for (const requestId of await requestsAwaitingHoldRelease(deps, tenantId)) {
    const request = await deps.privacy.get(tenantId, requestId);
    if (request === undefined) continue;
    await deps.privacyRequests.start({ tenantId, requestId, executionName: `${requestId}-resume-${request.runIds?.length ?? 0}` });
    resumed.push(requestId);
  }
  return resumed;
}
