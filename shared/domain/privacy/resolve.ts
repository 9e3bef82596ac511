/** Receiving a privacy request: its subjects resolved to customer ids, the request built and stored as `received`. */
import { ValidationError } from '../errors.js';
import { normaliseIdentifier } from '../identifiers.js';
import type { IdentifierKind } from '../records.js';
import type { PrivacyDeps } from './deps.js';
import { PRIVACY_DUE_DAYS, type PrivacyRequest, type PrivacyRequestBody } from './request.js';

const DAY_MS = 86_400_000;

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
