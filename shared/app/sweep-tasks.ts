/**
 * The Sweep state machine's task handlers, as factories over injected
 * dependencies: the Lambda entries in `functions/` bind them to AWS adapters,
 * local mode binds them to the embedded emulators. Each validates its event,
 * calls one use case and logs ids and counts only.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import {
  alertRun,
  finishRun,
  listSweepTenants,
  recordStageFailure,
  runStage,
  startRun,
  type RunDeps,
} from '../domain/runs.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);
const stage = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);

export const listTenantsEvent = z.object({
  tenantIds: z.array(id).max(1000).optional(),
  dryRun: z.boolean().optional(),
});

export const lifecycleEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), tenantId: id, runId: id, dryRun: z.boolean() }),
  z.object({ action: z.literal('stageFailed'), tenantId: id, runId: id, stage, error: z.string().max(256) }),
  z.object({ action: z.literal('finish'), tenantId: id, runId: id }),
  z.object({ action: z.literal('alert'), tenantId: id, runId: id }),
]);

export const stageEvent = z.object({
  tenantId: id,
  runId: id,
  stage,
  /** '' when the stage starts. */
  continuation: z.string().max(4096).optional(),
});

export interface SweepTaskOptions {
  readonly logger: Logger;
  /** Time one stage chunk may work before it returns a continuation. */
  readonly stageBudgetMs: number;
}

/** Lists the tenants a run covers: the ones asked for, or every active tenant. */
export function listTenantsHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = listTenantsEvent.parse(event ?? {});
    const tenantIds = input.tenantIds ?? (await listSweepTenants(deps));
    options.logger.info('sweep tenants listed', { tenants: tenantIds.length, dryRun: input.dryRun === true });
    return { tenants: tenantIds.map((tenantId) => ({ tenantId })), dryRun: input.dryRun === true };
  };
}

/** Opens, fails a stage of, finishes and alerts on a tenant run. */
export function lifecycleHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = lifecycleEvent.parse(event);
    const ref = { tenantId: input.tenantId, runId: input.runId };
    switch (input.action) {
      case 'start': {
        const receipt = await startRun(deps, { ...ref, dryRun: input.dryRun });
        options.logger.info('run started', { ...ref, dryRun: receipt.dryRun, policyVersion: receipt.policyVersion });
        return { runId: receipt.runId };
      }
      case 'stageFailed': {
        await recordStageFailure(deps, { ...ref, stage: input.stage, error: input.error });
        options.logger.warn('stage failed', { ...ref, stage: input.stage, error: input.error });
        return { recorded: true };
      }
      case 'finish': {
        const result = await finishRun(deps, ref);
        options.logger.info('run finished', { ...ref, status: result.status, critical: result.critical });
        return result;
      }
      case 'alert': {
        const result = await alertRun(deps, ref);
        options.logger.info('run alert', { ...ref, alerted: result.alerted });
        return result;
      }
    }
  };
}

/** Sweeps one chunk of one stage and returns `{ done, continuation }`. */
export function stageHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = stageEvent.parse(event);
    const started = Date.now();
    const result = await runStage(
      deps,
      {
        tenantId: input.tenantId,
        runId: input.runId,
        stage: input.stage,
        continuation: input.continuation === '' ? undefined : input.continuation,
      },
      { budgetMs: options.stageBudgetMs },
    );
    options.logger.info('stage chunk', {
      tenantId: input.tenantId,
      runId: input.runId,
      stage: input.stage,
      done: result.done,
      deleted: result.deleted,
      failed: result.failed,
      durationMs: Date.now() - started,
    });
    return { done: result.done, continuation: result.continuation ?? '' };
  };
}
