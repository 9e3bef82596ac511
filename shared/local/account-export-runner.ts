/**
 * Runs account exports in this process (local mode and the API test world):
 * steps until done, each step bounded in time, as the workflow would. In the
 * background by default, so `POST /exports` answers at once; `idle()` waits.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { accountExportStep, type AccountExportDeps, type AccountExportStarter } from '../domain/account-export.js';

export class InProcessAccountExportStarter implements AccountExportStarter {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly deps: AccountExportDeps,
    private readonly options: { readonly background?: boolean; readonly stepMs?: number; readonly logger?: Pick<Logger, 'info' | 'error'> } = {},
  ) {}

  async start(input: { readonly tenantId: string; readonly exportId: string }): Promise<void> {
    const run = this.run(input);
    if (this.options.background === false) return run;
    const tracked = run
      .catch((error: unknown) => this.options.logger?.error('account export failed', { ...input, error: error instanceof Error ? error.name : 'unknown' }))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Resolves when every export started here has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async run(input: { readonly tenantId: string; readonly exportId: string }): Promise<void> {
    for (;;) {
      const deadline = new Date(this.deps.clock.now().getTime() + (this.options.stepMs ?? 5_000));
      const step = await accountExportStep(this.deps, input.tenantId, input.exportId, { deadline });
      if (step.done) {
        this.options.logger?.info('account export ended', { ...input, status: step.status });
        return;
      }
    }
  }
}
