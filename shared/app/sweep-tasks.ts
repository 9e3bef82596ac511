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
import { closeRuns } from '../domain/sweep/close.js';
import type { SweepManifestStore } from '../domain/sweep/manifest.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);
const stage = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
/** The tenants of one sweep group. */
const group = z.array(id).min(1).max(MAX_GROUP_TENANTS);

export const listTenantsEvent = z.strictObject({
  /** The execution's name: the run id, and the manifest's name. */
  runId: id,
  /** The execution's input. */
  request: z.object({
    /** Tenants asked for (the API's run of named tenants); every active tenant when absent. */
    tenantIds: z.array(id).max(10_000).optional(),
    dryRun: z.boolean().optional(),
  }),
});

const manifest = z.object({ bucket: z.string().min(3).max(63), key: z.string().min(1).max(1024) });

export const lifecycleEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), tenantIds: group, runId: id, dryRun: z.boolean() }),
  z.object({ action: z.literal('stageFailed'), tenantIds: group, runId: id, stage, error: z.string().max(256) }),
  z.object({ action: z.literal('finish'), tenantIds: group, runId: id }),
  z.object({ action: z.literal('alert'), tenantIds: group, runId: id }),
  z.object({ action: z.literal('close'), runId: id, manifest, dryRun: z.boolean() }),
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

export interface ManifestTaskOptions extends SweepTaskOptions {
  /** Where the list step writes the run's groups for the Distributed Map, and the closing step reads them. */
  readonly manifests: SweepManifestStore;
}

/**
 * Lists the tenants a run covers (the ones asked for, or every active tenant)
 * in sweep groups, writes them as the run's manifest (the Distributed Map's
 * items) and answers where, so the execution's state carries no tenant list.
 */
export function listTenantsHandler(deps: RunDeps, options: ManifestTaskOptions) {
  return async (event: unknown) => {
    const { runId, request: input } = listTenantsEvent.parse(event);
    const asked = input.tenantIds === undefined ? undefined : [...new Set(input.tenantIds)];
    // Tenants asked for that do not exist are kept (their run start leaves them out) with one shard.
    const known = asked === undefined ? await listSweepTenants(deps) : await deps.control.getTenants(asked);
    const byId = new Map(known.map((t) => [t.tenantId, t]));
    const tenants = asked === undefined ? known : asked.map((tenantId) => byId.get(tenantId) ?? { tenantId });
    const tenantIds = tenants.map((t) => t.tenantId);
    const groups = sweepGroups(tenants);
    const location = await options.manifests.write(runId, groups.map((g) => ({ tenantIds: g })));
    options.logger.info('sweep tenants listed', { runId, tenants: tenantIds.length, groups: groups.length, dryRun: input.dryRun === true });
    return { runId, manifest: location, groups: groups.length, dryRun: input.dryRun === true };
  };
}

/**
 * Opens, fails a stage of, finishes and alerts on the runs of a sweep group;
 * and closes the whole execution once its map is over (`close`).
 */
export function lifecycleHandler(deps: RunDeps, options: ManifestTaskOptions) {
  return async (event: unknown) => {
    const input = lifecycleEvent.parse(event);
    if (input.action === 'close') {
      const groups = await options.manifests.read(input.manifest);
      const tenantIds = groups.flatMap((g) => g.tenantIds);
      const result = await closeRuns(deps, { runId: input.runId, tenantIds, dryRun: input.dryRun });
      const log = result.closed.length + result.opened.length > 0 ? options.logger.warn.bind(options.logger) : options.logger.info.bind(options.logger);
      log('sweep closed', { runId: input.runId, tenants: tenantIds.length, closed: result.closed.length, opened: result.opened.length, alerted: result.alerted.length });
      return { closed: result.closed.length, opened: result.opened.length };
    }
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
