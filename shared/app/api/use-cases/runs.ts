/**
 * Deletion runs: start one now for a tenant (a `Sweep` execution named by the
 * run id), list them and read one, from their receipts. DESIGN.md §4, §5.
 */
import { NotFoundError } from '../../../domain/errors.js';
import type { Receipt } from '../../../domain/receipt.js';
import { startRun } from '../../../domain/runs.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';

export interface RunView {
  readonly runId: string;
  readonly kind: Receipt['kind'];
  readonly status: Receipt['status'];
  readonly dryRun: boolean;
  readonly profile: string;
  readonly policyVersion: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly categories: Receipt['categories'];
  readonly cutoffs: Receipt['cutoffs'];
  /** How many customers lost data (their references stay in the receipt). */
  readonly subjects: number;
  readonly failedStages: NonNullable<Receipt['failedStages']>;
  /** A manual deletion that continued in a workflow: its attempts' receipts. */
  readonly continuedBy?: readonly string[];
  /** An attempt of a manual deletion's workflow: the request's receipt. */
  readonly continuationOf?: string;
  /** An erasure: earlier access exports of its subjects it deleted. */
  readonly exportsDeleted?: number;
  readonly shredded?: Receipt['shredded'];
  /** Deletion events about the run that could not be published (DESIGN.md §4). */
  readonly eventsUnpublished?: number;
}

export function runView(r: Receipt): RunView {
  return {
    runId: r.runId,
    kind: r.kind,
    status: r.status,
    dryRun: r.dryRun,
    profile: r.profile,
    policyVersion: r.policyVersion,
    startedAt: r.startedAt,
    ...(r.finishedAt !== undefined && { finishedAt: r.finishedAt }),
    ...(r.durationMs !== undefined && { durationMs: r.durationMs }),
    categories: r.categories,
    cutoffs: r.cutoffs,
    subjects: (r.subjectRefs ?? []).length,
    failedStages: r.failedStages ?? [],
    ...(r.continuedBy !== undefined && { continuedBy: r.continuedBy }),
    ...(r.continuationOf !== undefined && { continuationOf: r.continuationOf }),
    ...(r.exportsDeleted !== undefined && { exportsDeleted: r.exportsDeleted }),
    ...(r.shredded !== undefined && { shredded: r.shredded }),
    ...(r.eventsUnpublished !== undefined && { eventsUnpublished: r.eventsUnpublished }),
  };
}

export interface StartedRun {
  readonly runId: string;
  readonly status: 'running';
  readonly dryRun: boolean;
}

/**
 * Opens the run's receipt here (so it can be read at once; the workflow's own
 * start is idempotent per run id and finds it), then starts the execution.
 */
export async function startDeletionRun(app: ApiApp, caller: Caller, tenant: Tenant, dryRun: boolean): Promise<StartedRun> {
  const runId = app.ids.next('run');
  const receipt = await startRun(app.deps, { tenantId: tenant.tenantId, runId, dryRun });
  try {
    await app.deps.sweeps.start({ tenantId: tenant.tenantId, runId, dryRun });
  } catch (error) {
    const finishedAt = app.deps.clock.now().toISOString();
    const reason = error instanceof Error ? error.name : 'Error';
    await app.deps.control.putReceipt({ ...receipt, status: 'failed', finishedAt, failedStages: [{ stage: 0, error: reason }] });
    throw error;
  }
  await audit(app, caller, { tenantId: tenant.tenantId, action: 'deletion_run.started', refs: { runId }, after: { dryRun } });
  return { runId, status: 'running', dryRun };
}

export async function listRuns(app: ApiApp, tenant: Tenant, limit: number): Promise<RunView[]> {
  return (await app.deps.control.listReceipts(tenant.tenantId, { limit })).map(runView);
}

export async function getRun(app: ApiApp, tenant: Tenant, runId: string): Promise<RunView> {
  const receipt = await app.deps.control.getReceipt(tenant.tenantId, runId);
  if (receipt === undefined) throw new NotFoundError('id: no such deletion run', { field: 'id' });
  return runView(receipt);
}
