/**
 * A manual deletion that outlived its API request. A DELETE works inside its
 * request for a bounded time; what it could not finish there — roots it had no
 * time to read, records a provider or the store failed on — is handed to a
 * `Deletion` workflow as a task, which runs the same roots through the one
 * executor again, chunk by chunk, with waits that grow between attempts,
 * until nothing is left to do or its attempts run out.
 *
 * Every attempt re-reads its roots: what is gone stays gone, so an attempt is
 * idempotent and a retried step deletes nothing twice. Kept in the control
 * table beside the tenant's holds and receipts; it names records by their
 * keys only (platform ids, no names, numbers or text).
 */
import type { RecordKey } from '../records.js';

export type DeletionTaskStatus = 'continuing' | 'completed' | 'failed';

export interface DeletionTaskRoot extends RecordKey {
  /** Whether what lies under it goes with it (its partition or key prefix is read). */
  readonly expand: boolean;
}

export interface DeletionTask {
  readonly tenantId: string;
  /** The receipt id of the request that started it (its execution name, too). */
  readonly taskId: string;
  /** The audit action of the request (`customer.deleted`, …). */
  readonly action: string;
  readonly roots: readonly DeletionTaskRoot[];
  readonly status: DeletionTaskStatus;
  /** Attempts made by the workflow (the request's own pass not counted). */
  readonly attempts: number;
  /** The receipt of every attempt, oldest first. */
  readonly receiptIds: readonly string[];
  /** Who asked for the deletion (the request's actor, already pseudonymous). */
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Attempts after the request's own pass before the task ends failed (and alarms). */
export const DELETION_TASK_MAX_ATTEMPTS = 12;

/**
 * The wait before attempt `n` (1-based): a minute, doubling, at most an hour —
 * about seven and a half hours over the twelve attempts, long enough to ride out
 * a provider's outage of an afternoon, short enough that a compliance officer
 * learns of a lasting one the same day.
 */
export function deletionRetryWaitSeconds(attempt: number): number {
  return Math.min(60 * 2 ** Math.max(0, attempt - 1), 3600);
}
