/**
 * Closes a sweep execution once its Distributed Map is over, however it ended:
 * every tenant of the manifest whose receipt is still running (its group's
 * child execution failed, timed out or was aborted, or could not finish its
 * runs) gets the stage it had reached recorded as failed and is finished, so it
 * alerts like any failed run; a tenant the map never reached (or whose group
 * could not open its runs) gets a receipt that says so. Nothing is deleted
 * here. Costs one batched read per 100 tenants when every child succeeded.
 */
import { STAGES, type Stage } from '../catalog.js';
import { forEachLimited } from '../deletion/counts.js';
import type { Receipt } from '../receipt.js';
import { alertRuns, finishRuns, MAX_GROUP_TENANTS, startRuns, type RunDeps } from '../runs.js';

/** The error a run's receipt records when its group's execution did not complete it. */
export const GROUP_NOT_COMPLETED = 'SweepGroupNotCompleted';

/** Receipts read per batch (BatchGetItem's 100 keys). */
const READ_BATCH = 100;

export interface CloseRunsInput {
  readonly runId: string;
  readonly tenantIds: readonly string[];
  readonly dryRun: boolean;
}

export interface CloseRunsResult {
  /** Tenants whose run this step had to fail (their group did not complete them). */
  readonly closed: readonly string[];
  /** Tenants that had no receipt and got one that says the run did not reach them. */
  readonly opened: readonly string[];
  readonly alerted: readonly string[];
}

/** The stage a running receipt had reached: the first neither completed nor failed (the finish, past stage 4). */
function reachedStage(receipt: Receipt): Stage {
  const done = new Set<number>([...(receipt.completedStages ?? []), ...(receipt.failedStages ?? []).map((f) => f.stage)]);
  return (STAGES.find((s) => !done.has(s)) ?? 4) as Stage;
}

export async function closeRuns(deps: RunDeps, input: CloseRunsInput): Promise<CloseRunsResult> {
  const ids = [...new Set(input.tenantIds)];
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += READ_BATCH) batches.push(ids.slice(i, i + READ_BATCH));
  const closed: string[] = [];
  const opened: string[] = [];
  const alerted: string[] = [];
  await forEachLimited(batches, 4, async (batch) => {
    const receipts = await deps.control.getReceipts(batch.map((tenantId) => ({ tenantId, runId: input.runId })));
    const have = new Set(receipts.map((r) => r.tenantId));
    const missing = batch.filter((id) => !have.has(id));
    // A tenant the map never reached: a receipt that says so (startRuns leaves out tenants that no longer exist).
    const started = missing.length === 0 ? [] : await startRuns(deps, { runId: input.runId, tenantIds: missing, dryRun: input.dryRun });
    const running = [...receipts, ...started].filter((r) => r.status === 'running');
    if (running.length === 0) return;
    const failed = running.map((r): Receipt => ({ ...r, failedStages: [...(r.failedStages ?? []), { stage: reachedStage(r), error: GROUP_NOT_COMPLETED }] }));
    await deps.control.putReceipts(failed);
    for (let i = 0; i < failed.length; i += MAX_GROUP_TENANTS) {
      const group = { runId: input.runId, tenantIds: failed.slice(i, i + MAX_GROUP_TENANTS).map((r) => r.tenantId) };
      const finished = await finishRuns(deps, group);
      if (finished.critical) alerted.push(...(await alertRuns(deps, group)).alerted);
    }
    const startedIds = new Set(started.map((r) => r.tenantId));
    for (const r of failed) (startedIds.has(r.tenantId) ? opened : closed).push(r.tenantId);
  });
  return { closed, opened, alerted };
}
