/**
 * Privacy requests through the admin API: accept one (resolve its subjects,
 * store it as `received`, start its `PrivacyRequest` execution named by the
 * request id), list them and read one; resume the ones a legal hold deferred.
 * The execution does the work (shared/app/privacy-tasks.ts). DESIGN.md §4, §5.
 */
import { NotFoundError } from '../../../domain/errors.js';
import { requestsAwaitingHoldRelease } from '../../../domain/privacy/lifecycle.js';
import type { PrivacyRequest, PrivacyRequestBody } from '../../../domain/privacy/request.js';
import { buildPrivacyRequest } from '../../../domain/privacy/resolve.js';
import type { IdentifierKind } from '../../../domain/records.js';
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
}

export function privacyRequestView(r: PrivacyRequest): PrivacyRequestView {
  return {
    requestId: r.requestId,
    kind: r.kind,
    status: r.status,
    selector: r.selector,
    subjects: r.subjectIds.length,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    updatedAt: r.updatedAt,
    counts: r.counts,
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(r.exportUrl !== undefined && { exportUrl: r.exportUrl }),
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

