/**
 * A `SweepStarter` that runs the tenant run in this process, through the same
 * use cases the `Sweep` state machine calls, in the same order: start → each
 * stage until done (a failed stage is recorded and the run goes on) → complete.
 * For tests and tools that want a run's outcome without Step Functions.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { STAGES } from '../../domain/catalog.js';
import type { SweepStarter } from '../../domain/ports.js';
import { completeRun, recordStageFailure, runStage, startRun, type RunDeps } from '../../domain/runs.js';

export interface InProcessSweepStarterOptions {
  /** Return from `start` at once and run in the background (default false: `start` resolves when the run is done). */
  readonly background?: boolean;
  /** Time one stage chunk works before it hands back a continuation (default 60 s). */
  readonly stageBudgetMs?: number;
  readonly logger?: Logger;
}

export class InProcessSweepStarter implements SweepStarter {
  private readonly running = new Set<Promise<void>>();
  /** Runs started, in order. */
  readonly started: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }[] = [];

  constructor(
    private readonly deps: RunDeps,
    private readonly options: InProcessSweepStarterOptions = {},
  ) {}

  async start(input: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }): Promise<void> {
    this.started.push({ ...input });
    const run = this.run(input);
    if (this.options.background !== true) return run;
    const tracked = run
      .catch((error: unknown) => {
        this.options.logger?.error('in-process run failed', {
          runId: input.runId,
          error: error instanceof Error ? error.name : 'unknown',
        });
      })
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Resolves when every background run has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async run(input: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }): Promise<void> {
    const ref = { tenantId: input.tenantId, runId: input.runId };
    await startRun(this.deps, { ...ref, dryRun: input.dryRun });
    for (const stage of STAGES) {
      let continuation: string | undefined;
      do {
        try {
          const chunk = await runStage(this.deps, { ...ref, stage, continuation }, { budgetMs: this.options.stageBudgetMs ?? 60_000 });
          continuation = chunk.done ? undefined : chunk.continuation;
        } catch (error) {
          await recordStageFailure(this.deps, { ...ref, stage, error: error instanceof Error ? error.name : 'Error' });
          continuation = undefined;
        }
      } while (continuation !== undefined);
    }
    await completeRun(this.deps, ref);
  }
}
