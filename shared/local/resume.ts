/**
 * Local mode's answer to a process that stopped mid-work (Ctrl-C past the
 * grace, a crash, a power cut). In AWS, Step Functions keeps executions going
 * whatever happens to one Lambda; here the executions live in the process, so
 * a start looks for work the data says is unfinished and starts it again:
 * sweep runs whose receipts say `running`, privacy requests `received` or
 * `running`, holds `applying` or `releasing`, manual deletions `continuing`.
 *
 * Every one of those workflows is idempotent by design (a sweep's receipt
 * keeps its completed stages and last chunk, an erasure its progress, a hold
 * its cursor, a deletion task its attempts), so starting one again finishes
 * the work without doing any of it twice.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ControlStore, DeletionWorkStarter, HoldWorkStarter, PrivacyRequestStore, PrivacyStarter } from '../domain/ports.js';

/** Receipts read per tenant to find its unfinished runs (newest first; a run older than these is long over). */
const RECENT_RECEIPTS = 50;

export interface ResumeStarters {
  /** Runs a Sweep execution again under its run id, for the tenants whose receipts are still running. */
  readonly sweep: (runId: string, input: { readonly tenantIds: readonly string[]; readonly dryRun: boolean }) => Promise<unknown>;
  readonly privacyRequests: PrivacyStarter;
  readonly holdWork: HoldWorkStarter;
  readonly deletionWork: DeletionWorkStarter;
}

export interface ResumeReport {
  readonly sweeps: number;
  readonly privacyRequests: number;
  readonly holds: number;
  readonly deletions: number;
}

export async function resumeUnfinishedWork(
  deps: { readonly control: ControlStore; readonly privacy: PrivacyRequestStore },
  starters: ResumeStarters,
  options: { readonly logger: Logger; readonly now: Date },
): Promise<ResumeReport> {
  const sweeps = new Map<string, { tenantIds: string[]; dryRun: boolean }>();
  let privacyRequests = 0;
  let holds = 0;
  let deletions = 0;
  // The start's own instant names the resumed executions: a second restart starts them again under new names.
  const restart = `restart-${options.now.getTime()}`;
  for (const tenant of await deps.control.listTenants()) {
    const { tenantId } = tenant;
    for (const receipt of await deps.control.listReceipts(tenantId, { limit: RECENT_RECEIPTS })) {
      // Manual and privacy receipts belong to the deletion tasks and requests below.
      if (receipt.status !== 'running' || receipt.kind !== 'sweep') continue;
      const run = sweeps.get(receipt.runId) ?? { tenantIds: [], dryRun: receipt.dryRun };
      run.tenantIds.push(tenantId);
      sweeps.set(receipt.runId, run);
    }
    for (const request of await deps.privacy.list(tenantId)) {
      if (request.status !== 'received' && request.status !== 'running') continue;
      privacyRequests += 1;
      await starters.privacyRequests.start({ tenantId, requestId: request.requestId, executionName: `${request.requestId}-${restart}` });
    }
    for (const hold of await deps.control.listHolds(tenantId)) {
      if (hold.status !== 'applying' && hold.status !== 'releasing') continue;
      holds += 1;
      const action = hold.status === 'applying' ? 'apply' : 'release';
      await starters.holdWork.start({ tenantId, holdId: hold.holdId, executionName: `${hold.holdId}-${action}-${restart}` });
    }
    for (const task of await deps.control.listDeletionTasks(tenantId)) {
      if (task.status !== 'continuing') continue;
      deletions += 1;
      await starters.deletionWork.start({ tenantId, taskId: task.taskId, executionName: `${task.taskId}-${restart}` });
    }
  }
  for (const [runId, input] of sweeps) {
    // In the background, like the others: the API is up meanwhile.
    void starters.sweep(runId, input).catch((error: unknown) => {
      options.logger.error('resumed sweep failed', { runId, error: error instanceof Error ? error.name : 'unknown' });
    });
  }
  const report = { sweeps: sweeps.size, privacyRequests, holds, deletions };
  if (Object.values(report).some((n) => n > 0)) options.logger.info('resumed unfinished work', { ...report });
  return report;
}
