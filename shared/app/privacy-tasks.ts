/**
 * The PrivacyRequest state machine's task handler, as a factory over injected
 * dependencies (Lambda in AWS, in-process locally). One function, one action
 * per state; each validates its event and logs ids and outcomes only.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { executeAccess } from '../domain/privacy/access.js';
import { executeAnonymization } from '../domain/privacy/anonymization.js';
import type { PrivacyDeps } from '../domain/privacy/deps.js';
import { executeErasure } from '../domain/privacy/erasure.js';
import { notifyRequester, startPrivacyRequest } from '../domain/privacy/lifecycle.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

export const privacyTaskEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), tenantId: id, requestId: id }),
  z.object({ action: z.literal('execute'), tenantId: id, requestId: id }),
  z.object({ action: z.literal('fail'), tenantId: id, requestId: id, error: z.string().max(256) }),
  z.object({ action: z.literal('notify'), tenantId: id, requestId: id }),
]);

const randomToken = () => randomBytes(12).toString('base64url');

/** How long one execution chunk works by default before handing over to the next (the worker's timeout leaves room for the last requests and third-party calls). */
export const DEFAULT_PRIVACY_CHUNK_MS = 5 * 60_000;

export function privacyTaskHandler(deps: PrivacyDeps, options: { readonly logger: Logger; readonly chunkMs?: number }) {
  return async (event: unknown) => {
    const input = privacyTaskEvent.parse(event);
    const ref = { tenantId: input.tenantId, requestId: input.requestId };
    switch (input.action) {
      case 'start': {
        const request = await startPrivacyRequest(deps, input.tenantId, input.requestId);
        options.logger.info('privacy request started', { ...ref, kind: request.kind, subjects: request.subjectIds.length });
        return { kind: request.kind };
      }
      case 'execute': {
        const request = await startPrivacyRequest(deps, input.tenantId, input.requestId);
        const deadline = new Date(deps.clock.now().getTime() + (options.chunkMs ?? DEFAULT_PRIVACY_CHUNK_MS));
        const outcome =
          request.kind === 'erasure'
            ? await executeErasure(deps, input.tenantId, input.requestId, { deadline })
            : request.kind === 'access'
              ? { ...(await executeAccess(deps, input.tenantId, input.requestId)), done: true }
              : { ...(await executeAnonymization({ ...deps, random: randomToken }, input.tenantId, input.requestId, { deadline })), done: true };
        options.logger.info('privacy request executed', { ...ref, kind: request.kind, status: outcome.status, reason: outcome.reason, done: outcome.done });
        return outcome;
      }
      case 'fail': {
        const request = await deps.privacy.get(input.tenantId, input.requestId);
        if (request !== undefined) {
          const error = input.error.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 80) || 'Error';
          await deps.privacy.put({ ...request, status: 'failed', reason: error, updatedAt: deps.clock.now().toISOString() });
        }
        options.logger.warn('privacy request failed', { ...ref, error: input.error });
        return { status: 'failed' };
      }
      case 'notify': {
        const result = await notifyRequester(deps, input.tenantId, input.requestId);
        options.logger.info('privacy request notified', { ...ref, sent: result.sent });
        return result;
      }
    }
  };
}
