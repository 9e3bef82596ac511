/**
 * The `Hold` state machine's task handler, as a factory over injected
 * dependencies (Lambda in AWS, in-process locally): one chunk of applying or
 * releasing a legal hold per call, until done; a finished release resumes the
 * privacy requests the hold deferred. Logs ids and counts only.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { NotFoundError } from '../domain/errors.js';
import { holdStep, type HoldWorkDeps } from '../domain/hold-work.js';
import type { PrivacyRequestStore, PrivacyStarter } from '../domain/ports.js';
import { resumeDeferredRequests } from '../domain/privacy/lifecycle.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

export const holdTaskEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('step'), tenantId: id, holdId: id }),
  z.object({ action: z.literal('fail'), tenantId: id, holdId: id, error: z.string().max(256) }),
]);

export interface HoldTaskDeps extends HoldWorkDeps {
  readonly privacy: PrivacyRequestStore;
  readonly privacyRequests: PrivacyStarter;
}

/** How long one chunk works by default before handing over to the next. */
export const DEFAULT_HOLD_CHUNK_MS = 5 * 60_000;

export function holdTaskHandler(deps: HoldTaskDeps, options: { readonly logger: Logger; readonly chunkMs?: number; readonly pageSize?: number }) {
  return async (event: unknown) => {
    const input = holdTaskEvent.parse(event);
    const ref = { tenantId: input.tenantId, holdId: input.holdId };
    if (input.action === 'fail') {
      // The hold itself stays in force (sweeps honour it whatever its work's state); the next release or a re-run finishes the work.
      options.logger.error('legal hold work failed', { ...ref, error: input.error.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 80) });
      return { done: true };
    }
    const tenant = await deps.control.getTenant(input.tenantId);
    if (tenant === undefined) throw new NotFoundError(`tenant ${input.tenantId} not found`, { field: 't' });
    const deadline = new Date(deps.clock.now().getTime() + (options.chunkMs ?? DEFAULT_HOLD_CHUNK_MS));
    const { done, hold } = await holdStep(deps, tenant, input.holdId, { deadline, ...(options.pageSize !== undefined && { pageSize: options.pageSize }) });
    let resumed = 0;
    if (done && hold.status === 'released') {
      const at = deps.clock.now().toISOString();
      for (const requestId of await resumeDeferredRequests(deps, input.tenantId)) {
        resumed += 1;
        // On behalf of whoever released the hold; the id is the resume's own, so a retried step writes the same event.
        await deps.control.appendAudit({
          tenantId: input.tenantId,
          eventId: `resume-${input.holdId}-${requestId}`,
          at,
          actor: hold.releasedBy ?? 'lethe',
          action: 'privacy_request.resumed',
          refs: { requestId, holdId: input.holdId },
        });
      }
    }
    options.logger.info('legal hold work', { ...ref, status: hold.status, done, resumedPrivacyRequests: resumed });
    return { done };
  };
}
