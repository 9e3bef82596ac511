/**
 * A `PrivacyStarter` that runs the `PrivacyRequest` state machine in this
 * process (the CDK definition rendered to ASL, run by aws-local-stepfunctions),
 * its task served by the production handler. Like Step Functions, it starts a
 * name once only: a second start under a name already started runs nothing.
 * For local mode (in the background) and tests (awaited, or in the background
 * with `idle()`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PrivacyStarter } from '../domain/ports.js';
import { runPrivacyRequestLocally, type PrivacyHandlers } from './privacy-runner.js';

export type PrivacyStart = { readonly tenantId: string; readonly requestId: string; readonly executionName: string };

export interface InProcessPrivacyStarterOptions {
  /** Return from `start` at once and run in the background (default false: `start` resolves when the execution ends). */
  readonly background?: boolean;
  /** Pause before a task retry, in ms. @default 0 */
  readonly retryIntervalMs?: number;
  readonly logger?: Logger;
}

export class InProcessPrivacyStarter implements PrivacyStarter {
  /** Every call of `start`, in order (including ones refused as already started). */
  readonly calls: PrivacyStart[] = [];
  /** Executions actually started, in order. */
  readonly started: PrivacyStart[] = [];
  private readonly names = new Set<string>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly handlers: PrivacyHandlers,
    private readonly options: InProcessPrivacyStarterOptions = {},
  ) {}

  async start(input: PrivacyStart): Promise<void> {
    this.calls.push({ ...input });
    if (this.names.has(input.executionName)) return;
    this.names.add(input.executionName);
    this.started.push({ ...input });
    const execution = runPrivacyRequestLocally(
      this.handlers,
      { tenantId: input.tenantId, requestId: input.requestId },
      { executionName: input.executionName, retryIntervalMs: this.options.retryIntervalMs ?? 0 },
    ).then(() => undefined);
    if (this.options.background !== true) return execution;
    const tracked = execution
      .catch((error: unknown) => {
        this.options.logger?.error('privacy execution failed', {
          tenantId: input.tenantId,
          requestId: input.requestId,
          error: error instanceof Error ? error.name : 'unknown',
        });
      })
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Executions in flight. */
  get size(): number {
    return this.running.size;
  }

  /** Resolves when every background execution has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Resolves when every background execution has ended, or after `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}
