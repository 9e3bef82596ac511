/** A request's life around its execution: started, its requester notified, resumed after a hold's release. */
import type { PrivacyStarter } from '../ports.js';
import { load, type PrivacyDeps } from './deps.js';
import type { PrivacyRequest } from './request.js';

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

/**
 * Whether a hold's release will resume the request: an erasure that deferred
 * the held parts of some subjects. Its requester is told again when it ends.
 */
export function awaitsHoldRelease(request: PrivacyRequest): boolean {
  return request.status === 'partially_completed' && request.reason === 'legal_hold' && (request.deferredSubjectIds?.length ?? 0) > 0;
}

/** The outcome a requester is told of, as `notifiedOutcome` keeps it. */
function outcomeOf(request: PrivacyRequest): string {
  return request.reason === undefined ? request.status : `${request.status}:${request.reason}`;
}

/**
 * E-mails the requester the request id and outcome (and an export's link). The
 * address is forgotten once the outcome is final; a request that waits for a
 * hold's release keeps it (and which outcome it was told of), so the run that
 * resumes it after the release tells the final outcome, and a resumed run that
 * another hold still defers does not send the same outcome twice.
 */
export async function notifyRequester(deps: PrivacyDeps, tenantId: string, requestId: string): Promise<{ readonly sent: boolean }> {
  const request = await load(deps, tenantId, requestId);
  if (request.notifyEmail === undefined) return { sent: false };
  const waits = awaitsHoldRelease(request);
  const outcome = outcomeOf(request);
  if (waits && request.notifiedOutcome === outcome) return { sent: false };
  const lines = [
    `Your ${request.kind} request ${request.requestId} has been processed.`,
    `Outcome: ${request.status}${request.reason === undefined ? '' : ` (${request.reason.replaceAll('_', ' ')})`}`,
  ];
  if (waits) lines.push('', 'Part of the data is kept under a legal hold for now. You will receive another message when the request completes.');
  if (request.exportUrl !== undefined) lines.push('', `Download the export (valid 7 days): ${request.exportUrl}`);
  await deps.mailer.send({ to: [request.notifyEmail], subject: `Privacy request ${request.requestId}: ${request.status}`, text: lines.join('\n') });
  const { notifyEmail: _sent, notifiedOutcome: _told, ...rest } = request;
  await deps.privacy.put({ ...rest, ...(waits && { notifyEmail: request.notifyEmail, notifiedOutcome: outcome }), updatedAt: deps.clock.now().toISOString() });
  return { sent: true };
}

/**
 * Requests with parts a legal hold deferred. After a release they are simply
 * resumed: an erasure defers again whatever is still held, so this is safe.
 */
export async function requestsAwaitingHoldRelease(deps: Pick<PrivacyDeps, 'privacy'>, tenantId: string): Promise<string[]> {
  const requests = await deps.privacy.list(tenantId);
  return requests.filter(awaitsHoldRelease).map((r) => r.requestId);
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
