/**
 * The `Deletion` state machine's task handler, as a factory over injected
 * dependencies (Lambda in AWS, in-process locally): one attempt at the rest
 * of a manual deletion per call (`DeletionTask`), until nothing is left or
 * its attempts run out. Each attempt re-reads the task's roots and runs them
 * through the one executor, with a receipt of its own (`continuationOf`); the
 * request's receipt lists the attempts (`continuedBy`) and takes the final
 * status. A task that ends failed e-mails the tenant's admins and the
 * operators and ends its execution failed (an alarm). Logs ids and counts only.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { totalCounts } from '../domain/deletion/counts.js';
import { EXTERNAL_GRACE_MS, executeDeletion, reportOf, type DeletionRoot } from '../domain/deletion/executor.js';
import {
  DELETION_TASK_MAX_ATTEMPTS,
  deletionRetryWaitSeconds,
  type DeletionTask,
  type DeletionTaskStatus,
} from '../domain/deletion/task.js';
import { NotFoundError } from '../domain/errors.js';
import { holdMatcher } from '../domain/holds.js';
import type { Receipt } from '../domain/receipt.js';
import { recordKeyString as keyString } from '../domain/records.js';
import { subjectRef } from '../domain/references.js';
import { alertMessage, MAX_RECEIPT_SUBJECT_REFS, type RunDeps } from '../domain/runs.js';

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

export const deletionTaskEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('step'), tenantId: id, taskId: id }),
  z.object({ action: z.literal('fail'), tenantId: id, taskId: id, error: z.string().max(256) }),
]);

/** How long one attempt works by default (the worker's timeout leaves room for the executor's call grace). */
export const DEFAULT_DELETION_CHUNK_MS = 5 * 60_000;

export interface DeletionStepResult {
  readonly done: boolean;
  /** Seconds to wait before the next attempt (0 when done). */
  readonly waitSeconds: number;
  readonly status: DeletionTaskStatus;
}

/** Whether a pass left work a later attempt can do: roots it had no time to read, or records that failed. */
export function leftWork(result: { readonly remaining: readonly unknown[]; readonly readErrors: ReadonlyMap<string, string> }, failed: number): boolean {
  return result.remaining.length > 0 || result.readErrors.size > 0 || failed > 0;
}

export interface DeletionTaskOptions {
  readonly logger: Logger;
  /** How long an attempt reads partitions. @default DEFAULT_DELETION_CHUNK_MS */
  readonly chunkMs?: number;
  /** How long after its start an attempt still starts third-party calls. @default chunkMs + EXTERNAL_GRACE_MS */
  readonly callsMs?: number;
}

export function deletionTaskHandler(deps: RunDeps, options: DeletionTaskOptions) {
  return async (event: unknown): Promise<DeletionStepResult> => {
    const input = deletionTaskEvent.parse(event);
    const ref = { tenantId: input.tenantId, taskId: input.taskId };
    const task = await deps.control.getDeletionTask(input.tenantId, input.taskId);
    if (task === undefined) throw new NotFoundError(`deletion task ${input.taskId} not found`, { field: 'taskId' });
    if (input.action === 'fail') {
      // The workflow caught an error it could not retry away: the task ends failed, as if out of attempts.
      options.logger.error('deletion task failed', { ...ref, error: input.error.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 80) });
      if (task.status === 'continuing') await finish(deps, task, 'failed', task.receiptIds);
      return { done: true, waitSeconds: 0, status: 'failed' };
    }
    if (task.status !== 'continuing') return { done: true, waitSeconds: 0, status: task.status };

    const tenant = await deps.control.getTenant(task.tenantId);
    if (tenant === undefined) throw new NotFoundError(`tenant ${task.tenantId} not found`, { field: 't' });
    const started = deps.clock.now();
    const chunkMs = options.chunkMs ?? DEFAULT_DELETION_CHUNK_MS;
    const present = new Map((await deps.records.getBatch(task.roots)).map((r) => [keyString(r), r]));
    const roots: DeletionRoot[] = task.roots.flatMap((root) => {
      const record = present.get(keyString(root));
      return record === undefined ? [] : [{ tenant, record, expand: root.expand }];
    });
    const holds = await deps.control.listHolds(task.tenantId);
    const isHeld = holdMatcher(holds, started);
    const result = await executeDeletion(deps, {
      roots,
      rules: () => ({ isHeld }),
      dryRun: false,
      deadline: new Date(started.getTime() + chunkMs),
      callsUntil: new Date(started.getTime() + (options.callsMs ?? chunkMs + EXTERNAL_GRACE_MS)),
      // As the request that began it: a customer's analytics events stay, unlinked from her.
      unlinkAnalytics: true,
      origin: { kind: 'deletion_task', requestId: task.taskId },
    });
    const report = reportOf(result, task.tenantId);
    const totals = totalCounts(report.counts);
    const again = leftWork(result, totals.failed);
    const attempts = task.attempts + 1;
    const finished = deps.clock.now();
    const policy = await deps.control.getPolicy(task.tenantId);
    const attemptId = `${task.taskId}-a${attempts}`;
    const subjects = [...report.subjectsTouched];
    const receipt: Receipt = {
      runId: attemptId,
      tenantId: task.tenantId,
      kind: 'manual',
      status: again ? 'failed' : 'completed',
      dryRun: false,
      policyVersion: policy?.version ?? 0,
      profile: deps.platform.profile,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      cutoffs: {},
      categories: report.counts,
      ...(report.subjectKeysShredded !== undefined && { shredded: { subjectKeys: report.subjectKeysShredded, epochKeys: 0 } }),
      ...(report.eventsUnpublished !== undefined && { eventsUnpublished: report.eventsUnpublished }),
      subjectRefs: subjects.slice(0, MAX_RECEIPT_SUBJECT_REFS).map((s) => subjectRef(deps.refSecret, task.tenantId, s)),
      ...(subjects.length > MAX_RECEIPT_SUBJECT_REFS && { subjectRefsTruncated: true }),
      ...(report.failureReasons.length > 0 && { failedStages: [{ stage: 0, error: report.failureReasons.slice(0, 5).join(',') }] }),
      completedStages: [1, 2, 3, 4],
      continuationOf: task.taskId,
    };
    await deps.control.putReceipt(receipt);
    const receiptIds = task.receiptIds.includes(attemptId) ? task.receiptIds : [...task.receiptIds, attemptId];
    const status: DeletionTaskStatus = !again ? 'completed' : attempts >= DELETION_TASK_MAX_ATTEMPTS ? 'failed' : 'continuing';
    if (status === 'continuing') {
      await deps.control.putDeletionTask({ ...task, attempts, receiptIds, updatedAt: finished.toISOString() });
      await markRequestReceipt(deps, task, receiptIds, 'running');
    } else {
      await finish(deps, { ...task, attempts }, status, receiptIds);
    }
    options.logger.info('deletion task attempt', { ...ref, attempt: attempts, status, deleted: totals.deleted, held: totals.held, failed: totals.failed, remainingRoots: result.remaining.length });
    const waitSeconds = status === 'continuing' ? deletionRetryWaitSeconds(attempts) : 0;
    return { done: status !== 'continuing', waitSeconds, status };
  };
}

async function markRequestReceipt(deps: RunDeps, task: DeletionTask, receiptIds: readonly string[], status: Receipt['status']): Promise<Receipt | undefined> {
  const request = await deps.control.getReceipt(task.tenantId, task.taskId);
  if (request === undefined) return undefined;
  const updated: Receipt = {
    ...request,
    status,
    continuedBy: receiptIds,
    ...(status !== 'running' && { finishedAt: deps.clock.now().toISOString(), durationMs: deps.clock.now().getTime() - Date.parse(request.startedAt) }),
  };
  await deps.control.putReceipt(updated);
  return updated;
}

/** Ends a task: its status, the request's receipt's final status, and, when it failed, the alert e-mail. */
async function finish(deps: RunDeps, task: DeletionTask, status: 'completed' | 'failed', receiptIds: readonly string[]): Promise<void> {
  const request = await markRequestReceipt(deps, task, receiptIds, status);
  if (status === 'failed' && request !== undefined) {
    const tenant = await deps.control.getTenant(task.tenantId);
    const message = alertMessage(request, tenant, deps.operatorEmails);
    if (message.to.length > 0) {
      await deps.mailer.send({
        to: message.to,
        subject: `[Lethe] A manual deletion could not be finished: tenant ${task.tenantId}`,
        text: [
          `Lethe could not finish manual deletion ${task.taskId} (${task.action}) for tenant ${task.tenantId} after ${task.attempts} attempts.`,
          `Attempts: ${receiptIds.join(', ')}. What could not be deleted stays in place; the sweep deletes it when its retention ends, or repeat the deletion.`,
          '',
          message.text,
        ].join('\n'),
      });
    }
  }
  await deps.control.putDeletionTask({ ...task, status, receiptIds, updatedAt: deps.clock.now().toISOString() });
}
