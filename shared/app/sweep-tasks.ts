/**
 * The Sweep state machine's task handlers, as factories over injected
 * dependencies: the Lambda entries in `functions/` bind them to AWS adapters,
 * local mode binds them to the embedded emulators. Each validates its event,
 * calls one use case and logs ids and counts only.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import {
  alertRuns,
  finishRuns,
  listSweepTenants,
  MAX_GROUP_TENANTS,
  recordStageFailures,
  runStages,
  startRuns,
  sweepGroups,
  type RunDeps,
} from '../domain/runs.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);
const stage = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
/** The tenants of one sweep group. */
const group = z.array(id).min(1).max(MAX_GROUP_TENANTS);

export const listTenantsEvent = z.object({
  tenantIds: z.array(id).max(10_000).optional(),
  dryRun: z.boolean().optional(),
});

export const lifecycleEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), tenantIds: group, runId: id, dryRun: z.boolean() }),
  z.object({ action: z.literal('stageFailed'), tenantIds: group, runId: id, stage, error: z.string().max(256) }),
  z.object({ action: z.literal('finish'), tenantIds: group, runId: id }),
  z.object({ action: z.literal('alert'), tenantIds: group, runId: id }),
]);

export const stageEvent = z.object({
  tenantIds: group,
  runId: id,
  stage,
  /** '' when the stage starts; a chunk's position per tenant of the group (well under Step Functions' 256 KB). */
  continuation: z.string().max(200_000).optional(),
});

export interface SweepTaskOptions {
  readonly logger: Logger;
  /** Time one stage chunk may work before it returns a continuation. */
  readonly stageBudgetMs: number;
}

/** Lists the tenants a run covers (the ones asked for, or every active tenant) in sweep groups. */
export function listTenantsHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = listTenantsEvent.parse(event ?? {});
    const asked = input.tenantIds === undefined ? undefined : [...new Set(input.tenantIds)];
    // Tenants asked for that do not exist are kept (their run start leaves them out) with one shard.
    const known = asked === undefined ? await listSweepTenants(deps) : await deps.control.getTenants(asked);
    const byId = new Map(known.map((t) => [t.tenantId, t]));
    const tenants = asked === undefined ? known : asked.map((tenantId) => byId.get(tenantId) ?? { tenantId });
    const tenantIds = tenants.map((t) => t.tenantId);
    const groups = sweepGroups(tenants);
    options.logger.info('sweep tenants listed', { tenants: tenantIds.length, groups: groups.length, dryRun: input.dryRun === true });
    return { groups: groups.map((g) => ({ tenantIds: g })), dryRun: input.dryRun === true };
  };
}

/** Opens, fails a stage of, finishes and alerts on the runs of a sweep group. */
export function lifecycleHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = lifecycleEvent.parse(event);
    const group = { runId: input.runId, tenantIds: input.tenantIds };
    const ids = { runId: input.runId, tenants: input.tenantIds.length };
    switch (input.action) {
      case 'start': {
        const receipts = await startRuns(deps, { ...group, dryRun: input.dryRun });
        options.logger.info('runs started', { ...ids, started: receipts.length, dryRun: input.dryRun });
        return { started: receipts.length };
      }
      case 'stageFailed': {
        await recordStageFailures(deps, { ...group, stage: input.stage, error: input.error });
        options.logger.warn('stage failed', { ...ids, stage: input.stage, error: input.error });
        return { recorded: true };
      }
      case 'finish': {
        const result = await finishRuns(deps, group);
        options.logger.info('runs finished', { ...ids, critical: result.criticalTenants.length });
        return { critical: result.critical, criticalTenants: result.criticalTenants };
      }
      case 'alert': {
        const result = await alertRuns(deps, group);
        options.logger.info('runs alerted', { ...ids, alerted: result.alerted.length });
        return { alerted: result.alerted };
      }
    }
  };
}

/** Sweeps one chunk of one stage for a sweep group and returns `{ done, continuation }`. */
export function stageHandler(deps: RunDeps, options: SweepTaskOptions) {
  return async (event: unknown) => {
    const input = stageEvent.parse(event);
    const started = Date.now();
    const result = await runStages(
      deps,
      {
        runId: input.runId,
        tenantIds: input.tenantIds,
        stage: input.stage,
        ...(input.continuation !== undefined && input.continuation !== '' && { continuation: input.continuation }),
      },
      { budgetMs: options.stageBudgetMs },
    );
    options.logger.info('stage chunk', {
      runId: input.runId,
      tenants: input.tenantIds.length,
      stage: input.stage,
      done: result.done,
      deleted: result.deleted,
      failed: result.failed,
      failedTenants: result.failedTenants.length,
      durationMs: Date.now() - started,
    });
    return { done: result.done, continuation: result.continuation ?? '' };
  };
}
