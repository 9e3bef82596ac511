/**
 * Starts workflow executions in this process (the CDK definition rendered to
 * ASL, run by aws-local-stepfunctions). Like Step Functions, it starts a name
 * once only: a second start under a name already started runs nothing. For
 * local mode (in the background) and tests (awaited, or in the background
 * with `idle()`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export interface InProcessStarterOptions {
  /** Return from `start` at once and run in the background (default false: `start` resolves when the execution ends). */
  readonly background?: boolean;
  /** Pause before a task retry, in ms. @default 0 */
  readonly retryIntervalMs?: number;
  readonly logger?: Logger;
}

export class InProcessStarter<I extends { readonly tenantId: string; readonly executionName: string }> {
  /** Every call of `start`, in order (including ones refused as already started). */
  readonly calls: I[] = [];
  /** Executions actually started, in order. */
  readonly started: I[] = [];
  private readonly names = new Set<string>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly run: (input: I, retryIntervalMs: number) => Promise<unknown>,
    protected readonly options: InProcessStarterOptions = {},
  ) {}

  async start(input: I): Promise<void> {
    this.calls.push({ ...input });
    if (this.names.has(input.executionName)) return;
    this.names.add(input.executionName);
    this.started.push({ ...input });
    if (this.options.background !== true) return this.run(input, this.options.retryIntervalMs ?? 0).then(() => undefined);
    // In the background the execution begins on a later turn of the event loop, as Step Functions would
    // begin it after StartExecution answered: the request that started it is answered first.
    const execution = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run(input, this.options.retryIntervalMs ?? 0)).then(() => undefined);
    const tracked = execution
      .catch((error: unknown) => {
        this.options.logger?.error('workflow execution failed', {
          tenantId: input.tenantId,
          executionName: input.executionName,
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
