/**
 * Runs the rendered `PrivacyRequest` state machine in-process with
 * aws-local-stepfunctions, its task served by the production handler factory.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { privacyTaskHandler } from '../app/privacy-tasks.js';
import type { PrivacyDeps } from '../domain/privacy/deps.js';
import { renderPrivacyStateMachine } from './asl.js';
import { executeLocally, type LocalExecutionOptions, type TaskHandler } from './sweep-runner.js';

export interface PrivacyHandlers {
  readonly worker: TaskHandler;
}

export function privacyHandlers(deps: PrivacyDeps, options: { readonly logger?: Logger } = {}): PrivacyHandlers {
  return { worker: privacyTaskHandler(deps, { logger: options.logger ?? new Logger({ serviceName: 'lethe' }) }) };
}

/** Runs one request; the execution name is the request id (or a resume name). */
export async function runPrivacyRequestLocally(
  handlers: PrivacyHandlers,
  input: { readonly tenantId: string; readonly requestId: string },
  options: LocalExecutionOptions,
): Promise<unknown> {
  return executeLocally(renderPrivacyStateMachine(), handlers, { ...input }, options);
}
