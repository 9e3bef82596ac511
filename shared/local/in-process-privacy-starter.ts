/**
 * A `PrivacyStarter` that runs the `PrivacyRequest` state machine in this
 * process, its task served by the production handler (see `InProcessStarter`).
 */
import type { PrivacyStarter } from '../domain/ports.js';
import { InProcessStarter, type InProcessStarterOptions } from './in-process-starter.js';
import { runPrivacyRequestLocally, type PrivacyHandlers } from './privacy-runner.js';

export type PrivacyStart = { readonly tenantId: string; readonly requestId: string; readonly executionName: string };
export type InProcessPrivacyStarterOptions = InProcessStarterOptions;

export class InProcessPrivacyStarter extends InProcessStarter<PrivacyStart> implements PrivacyStarter {
  constructor(handlers: PrivacyHandlers, options: InProcessStarterOptions = {}) {
    super(
      (input, retryIntervalMs) =>
        runPrivacyRequestLocally(handlers, { tenantId: input.tenantId, requestId: input.requestId }, { executionName: input.executionName, retryIntervalMs }),
      options,
    );
  }
}
