/**
 * Privacy requests through the admin API: accept one (resolve its subjects,
 * store it as `received`, start its `PrivacyRequest` execution named by the
 * request id), list them and read one; resume the ones a legal hold deferred.
 * The execution does the work (shared/app/privacy-tasks.ts). DESIGN.md §4, §5.
 */
import { forEachLimited } from '../../../domain/deletion/counts.js';
import { executeDeletion, reportOf } from '../../../domain/deletion/executor.js';
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import { holdMatcher } from '../../../domain/holds.js';
import { matchesBulkFilter } from '../../../domain/privacy/erasure.js';
import { requestsAwaitingHoldRelease } from '../../../domain/privacy/lifecycle.js';
import type { PrivacyRequest, PrivacyRequestBody } from '../../../domain/privacy/request.js';
import { buildPrivacyRequest } from '../../../domain/privacy/resolve.js';
import { retentionShardsOf, type IdentifierKind, type RecordItem } from '../../../domain/records.js';
import type { Category } from '../../../domain/catalog.js';
import { normaliseEmail, normaliseName, normalisePhone, orThrow } from '../../../domain/identifiers.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';

export interface AcceptedPrivacyRequest {
  readonly requestId: string;
  readonly status: PrivacyRequest['status'];
  readonly dueAt: string;
}

/** What the API shows of a request: no subject ids, no identifier, no notify address. */
export interface PrivacyRequestView {
  readonly requestId: string;
  readonly kind: PrivacyRequest['kind'];
  readonly status: PrivacyRequest['status'];
  readonly selector: PrivacyRequest['selector'];
  readonly subjects: number;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly updatedAt: string;
  readonly counts: PrivacyRequest['counts'];
  readonly reason?: string;
  readonly exportUrl?: string;
  readonly exportDeletedAt?: string;
  readonly exportDeletedBy?: string;
  readonly exportsDeleted?: number;
  readonly subjectKeysShredded?: number;
}

export function privacyRequestView(r: PrivacyRequest): PrivacyRequestView {
  return {
    requestId: r.requestId,
    kind: r.kind,
    status: r.status,
    selector: r.selector,
    // A bulk erasure finds its customers page by page in its workflow: they are counted, not listed.
    subjects: r.matchedSubjects ?? r.subjectIds.length,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    updatedAt: r.updatedAt,
    counts: r.counts,
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(r.exportUrl !== undefined && { exportUrl: r.exportUrl }),
    ...(r.exportDeletedAt !== undefined && { exportDeletedAt: r.exportDeletedAt }),
    ...(r.exportDeletedBy !== undefined && { exportDeletedBy: r.exportDeletedBy }),
    ...(r.exportsDeleted !== undefined && { exportsDeleted: r.exportsDeleted }),
    ...(r.subjectKeysShredded !== undefined && { subjectKeysShredded: r.subjectKeysShredded }),
  };
}

const accepted = (r: PrivacyRequest): AcceptedPrivacyRequest => ({ requestId: r.requestId, status: r.status, dueAt: r.dueAt });

/** The subject as an audit reference: a keyed HMAC of the customer id or of the normalised identifier. */
function subjectAuditRef(app: ApiApp, tenantId: string, body: PrivacyRequestBody): Record<string, string> {
  const s = body.subject;
  if (s === undefined) return {};
  if (s.customerId !== undefined) return { subject: app.refs.subject(tenantId, s.customerId) };
  // The edge has normalised these once already; a failure here would be a 400 as well.
  const [kind, value]: [IdentifierKind, string] =
    s.phone !== undefined
      ? ['PHONE', orThrow(normalisePhone(s.phone, { field: 'subject.phone' }))]
      : s.email !== undefined
        ? ['EMAIL', orThrow(normaliseEmail(s.email, { field: 'subject.email' }))]
        : ['NAME', orThrow(normaliseName(s.name ?? '', { field: 'subject.name' }))];
  return { identifier: app.refs.identifier(tenantId, kind, value) };
}

/**
 * Accepts a privacy request. Its subjects are resolved first (reads only; a bad
 * identifier is a 400 before anything is written). With an idempotency key, the
 * key is bound to the new id before the request is stored: a retry with the key
 * gets the request the key is bound to, and starts nothing new unless that
 * request never got stored or started (a crash of the first call), in which
 * case it completes the first call's work under the bound id. The execution is
 * named by the request id, so no request ever runs twice.
 */
export async function submitPrivacyRequest(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  body: PrivacyRequestBody,
  idempotencyKey: string | undefined,
): Promise<AcceptedPrivacyRequest> {
  const { privacy, privacyRequests } = app.deps;
  const tenantId = tenant.tenantId;
  const fresh = await buildPrivacyRequest(app.deps, {
    tenantId,
    requestId: app.ids.next('privacy'),
    requestedBy: caller.actor,
    body,
  });
  let request = fresh;
  if (idempotencyKey !== undefined) {
    const bound = await privacy.claimIdempotencyKey(tenantId, idempotencyKey, fresh.requestId);
    if (bound !== fresh.requestId) {
      const existing = await privacy.get(tenantId, bound);
      if (existing !== undefined) {
        // Started already, or about to be: a start under the same name runs nothing twice.
        if (existing.status === 'received') await privacyRequests.start({ tenantId, requestId: bound, executionName: bound });
        return accepted(existing);
      }
      // The first call bound the key and stopped before storing its request: finish its work.
      request = { ...fresh, requestId: bound };
    }
  }
  await privacy.put(request);
  try {
    await privacyRequests.start({ tenantId, requestId: request.requestId, executionName: request.requestId });
  } catch (error) {
    // With a key, a retry with it starts the stored request; without one nothing ever would: record the
    // failure (the caller gets a 500) and drop the notify address, which no execution will use.
    if (idempotencyKey === undefined) {
      const { notifyEmail: _unused, ...rest } = request;
      await privacy.put({ ...rest, status: 'failed', reason: 'start_failed', updatedAt: app.deps.clock.now().toISOString() });
    }
    throw error;
  }
  await audit(app, caller, {
    tenantId,
    action: 'privacy_request.received',
    refs: { requestId: request.requestId, ...subjectAuditRef(app, tenantId, body) },
    after: {
      kind: request.kind,
      selector: request.selector,
      subjects: request.subjectIds.length,
      force: request.force,
      notify: request.notifyEmail !== undefined,
      idempotencyKey: idempotencyKey !== undefined,
      dueAt: request.dueAt,
    },
  });
  return accepted(request);
}

export async function listPrivacyRequests(app: ApiApp, tenant: Tenant, limit: number): Promise<PrivacyRequestView[]> {
  return (await app.deps.privacy.list(tenant.tenantId, { limit })).map(privacyRequestView);
}

export async function getPrivacyRequest(app: ApiApp, tenant: Tenant, requestId: string): Promise<PrivacyRequestView> {
  const request = await app.deps.privacy.get(tenant.tenantId, requestId);
  if (request === undefined) throw new NotFoundError('id: no such privacy request', { field: 'id' });
  return privacyRequestView(request);
}


/** Per category, what the erasure of a preview page's customers would do now. */
export interface PreviewCounts {
  readonly examined: number;
  readonly wouldDelete: number;
  readonly held: number;
}

/** One page of a bulk erasure's preview. */
export interface BulkErasurePreview {
  /** Customers the erasure would take (open conversations excepted unless `force`), in the order it takes them. */
  readonly customers: { readonly customerId: string }[];
  /** Customers the filter matches that the erasure would skip (not with `force`). */
  readonly skipped: { readonly customerId: string; readonly reason: 'open_conversation' }[];
  /** What erasing this page's customers would delete and what legal holds would keep, per category. */
  readonly categories: Partial<Record<Category, PreviewCounts>>;
  /** Absent on the last page. */
  readonly nextCursor?: string;
}

/** Reads of the profile index stop after this long; the page ends there and `nextCursor` goes on. */
const PREVIEW_BUDGET_MS = 10_000;
const PREVIEW_PARTITION_READS = 8;
const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

function encodePreviewCursor(storeCursor: string): string {
  return Buffer.from(JSON.stringify({ p: storeCursor }), 'utf8').toString('base64url');
}

function decodePreviewCursor(cursor: string): string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const inner = (value as { p?: unknown } | undefined)?.p;
  if (typeof inner !== 'string' || inner.length === 0) throw new ValidationError('cursor', 'cursor: is not one this API returned');
  return inner;
}

/**
 * The customers a bulk erasure with this body would take, a page at a time, in
 * the order the erasure takes them (the profile index), and what erasing them
 * would delete and hold, counted by the one executor in a dry run. The same
 * filter (`matchesBulkFilter`) and the same rule for open conversations as the
 * erasure; nothing is deleted, filed or written.
 */
export async function previewBulkErasure(
  app: ApiApp,
  tenant: Tenant,
  body: PrivacyRequestBody,
  options: { readonly limit: number; readonly cursor?: string },
): Promise<BulkErasurePreview> {
  const { deps } = app;
  const filter = body.filter ?? {};
  const started = deps.clock.now().getTime();
  const customers: { customerId: string }[] = [];
  const skipped: { customerId: string; reason: 'open_conversation' }[] = [];
  const taken: RecordItem[][] = [];
  let cursor = options.cursor === undefined ? undefined : decodePreviewCursor(options.cursor);
  do {
    const page = await deps.records.findDueForDeletion(tenant.tenantId, 'customer_profile', END_OF_TIME, {
      shards: retentionShardsOf(tenant),
      limit: options.limit - customers.length,
      ...(cursor !== undefined && { cursor }),
    });
    const matched: [string, RecordItem[]][] = [];
    await forEachLimited(page.items, PREVIEW_PARTITION_READS, async (profile) => {
      const subjectId = profile.subjectId ?? profile.id;
      const items = await deps.records.findBySubject(tenant.tenantId, subjectId, { includeExpired: true });
      if (matchesBulkFilter(items, filter)) matched.push([subjectId, items]);
    });
    // In index order, as the erasure meets them.
    const order = new Map(page.items.map((p, i) => [p.subjectId ?? p.id, i]));
    matched.sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    for (const [customerId, items] of matched) {
      if (body.force !== true && items.some((i) => i.status === 'open')) skipped.push({ customerId, reason: 'open_conversation' });
      else {
        customers.push({ customerId });
        taken.push(items);
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined && customers.length < options.limit && deps.clock.now().getTime() - started < PREVIEW_BUDGET_MS);

  const isHeld = holdMatcher(await deps.control.listHolds(tenant.tenantId), deps.clock.now());
  const rehearsal = await executeDeletion(deps, {
    roots: taken.flat().map((record) => ({ tenant, record, expand: false })),
    rules: () => ({ isHeld }),
    dryRun: true,
    deadline: new Date(deps.clock.now().getTime() + PREVIEW_BUDGET_MS),
  });
  const categories: Partial<Record<Category, PreviewCounts>> = {};
  for (const [category, c] of Object.entries(reportOf(rehearsal, tenant.tenantId).counts) as [Category, { examined: number; deleted: number; held: number; kept?: number }][]) {
    categories[category] = { examined: c.examined, wouldDelete: c.deleted, held: c.held + (c.kept ?? 0) };
  }
  return { customers, skipped, categories, ...(cursor !== undefined && { nextCursor: encodePreviewCursor(cursor) }) };
}
