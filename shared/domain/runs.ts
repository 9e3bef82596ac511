/**
 * Tenant runs: the use cases the Sweep state machine calls. `startRun` writes a
 * running receipt, `runStage` sweeps one stage chunk and folds its counts into
 * the receipt, `recordStageFailure` notes a stage the orchestrator caught, and
 * `finishRun` completes the receipt and alerts on a critical outcome.
 */
import type { Category, Stage } from './catalog.js';
import { addCounts } from './deletion.js';
import { defaultTenantPolicy, type PlatformPolicy } from './policy.js';
import type { CategoryCounts, Clock, ControlStore, Mailer, Receipt, Tenant } from './ports.js';
import { subjectRef } from './references.js';
import { runCutoffs, sweepStage, type SweepDeps, type TenantRunContext } from './sweep.js';

export interface RunDeps extends SweepDeps {
  readonly control: ControlStore;
  readonly mailer: Mailer;
  readonly platform: PlatformPolicy;
  /** Secret for the keyed HMACs of subject references. */
  readonly refSecret: string;
  /** Operator addresses that receive every critical alert. */
  readonly operatorEmails: readonly string[];
}

/** Subject references one receipt lists (each ~24 bytes; the item stays far below 400 KB). */
export const MAX_RECEIPT_SUBJECT_REFS = 2000;

export class TenantNotFoundError extends Error {
  override readonly name = 'TenantNotFoundError';
}

export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
}

export interface RunRef {
  readonly tenantId: string;
  readonly runId: string;
}

async function loadContext(deps: RunDeps, tenantId: string): Promise<TenantRunContext> {
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === undefined) throw new TenantNotFoundError(`tenant ${tenantId} not found`);
  const [policy, holds] = await Promise.all([deps.control.getPolicy(tenantId), deps.control.listHolds(tenantId)]);
  return { tenant, platform: deps.platform, policy: policy ?? defaultTenantPolicy(deps.platform, tenantId), holds };
}

async function loadReceipt(deps: RunDeps, ref: RunRef): Promise<Receipt> {
  const receipt = await deps.control.getReceipt(ref.tenantId, ref.runId);
  if (receipt === undefined) throw new RunNotFoundError(`run ${ref.runId} not found`);
  return receipt;
}

/** The tenants a scheduled sweep covers. */
export async function listSweepTenants(deps: Pick<RunDeps, 'control'>): Promise<string[]> {
  const tenants = await deps.control.listTenants({ status: 'active' });
  return tenants.map((t) => t.tenantId);
}

/** Opens a run: fixes its start instant (and so its cutoffs) and writes a running receipt. Idempotent per run id. */
export async function startRun(
  deps: RunDeps,
  input: RunRef & { readonly dryRun: boolean; readonly kind?: Receipt['kind'] },
): Promise<Receipt> {
  const existing = await deps.control.getReceipt(input.tenantId, input.runId);
  if (existing !== undefined) return existing;
  const ctx = await loadContext(deps, input.tenantId);
  const now = deps.clock.now();
  const receipt: Receipt = {
    runId: input.runId,
    tenantId: input.tenantId,
    kind: input.kind ?? 'sweep',
    status: 'running',
    dryRun: input.dryRun,
    policyVersion: ctx.policy?.version ?? 0,
    profile: deps.platform.profile,
    startedAt: now.toISOString(),
    cutoffs: runCutoffs(ctx, now),
    categories: {},
    subjectRefs: [],
    failedStages: [],
    completedStages: [],
  };
  await deps.control.putReceipt(receipt);
  return receipt;
}

export interface StageChunkInput extends RunRef {
  readonly stage: Stage;
  readonly continuation?: string;
}

export interface StageChunkResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly deleted: number;
  readonly failed: number;
}

export interface StageChunkOptions {
  /** Time the chunk may take before it returns a continuation. */
  readonly budgetMs: number;
  /** Due records per page (default 500). */
  readonly pageSize?: number;
}

/** Sweeps one chunk of one stage within its time budget and folds the counts into the receipt. */
export async function runStage(deps: RunDeps, input: StageChunkInput, options: StageChunkOptions): Promise<StageChunkResult> {
  const receipt = await loadReceipt(deps, input);
  if (receipt.status !== 'running') return { done: true, deleted: 0, failed: 0 };
  // A retried invocation of a stage that already completed is a no-op.
  if (input.continuation === undefined && (receipt.completedStages ?? []).includes(input.stage)) {
    return { done: true, deleted: 0, failed: 0 };
  }
  const ctx = await loadContext(deps, input.tenantId);
  const deadline = new Date(deps.clock.now().getTime() + options.budgetMs);
  const result = await sweepStage(
    deps,
    ctx,
    {
      runId: input.runId,
      stage: input.stage,
      dryRun: receipt.dryRun,
      runStartedAt: receipt.startedAt,
      continuation: input.continuation,
    },
    {
      deadline,
      pageSize: options.pageSize,
      runCounts: receipt.categories,
      earlierStageFailed: (receipt.failedStages ?? []).length > 0,
    },
  );
  // A chunk retried after its earlier attempt was already folded in (the function died
  // before answering) replaces that attempt's counts; the attempt's deletions happened
  // once, cannot be seen again, and are carried into the retry's counts.
  const chunkKey = `${input.stage}:${input.continuation ?? ''}`;
  const previous = receipt.lastChunk?.key === chunkKey ? receipt.lastChunk.counts : undefined;
  const categories = structuredClone(receipt.categories) as Partial<Record<Category, CategoryCounts>>;
  const chunkCounts = structuredClone(result.counts);
  if (previous !== undefined) {
    addCounts(categories, scaled(previous, -1));
    addCounts(chunkCounts, deletionsOf(previous));
  }
  addCounts(categories, chunkCounts);
  // The receipt is one item (DynamoDB caps items at 400 KB): it lists at most
  // MAX_RECEIPT_SUBJECT_REFS subjects and says when there were more.
  const refs = new Set(receipt.subjectRefs ?? []);
  let truncated = receipt.subjectRefsTruncated === true;
  for (const s of result.subjectsTouched) {
    if (refs.size >= MAX_RECEIPT_SUBJECT_REFS) {
      truncated ||= !refs.has(subjectRef(deps.refSecret, input.tenantId, s));
      continue;
    }
    refs.add(subjectRef(deps.refSecret, input.tenantId, s));
  }
  const completedStages = result.done
    ? [...new Set([...(receipt.completedStages ?? []), input.stage])]
    : receipt.completedStages;
  await deps.control.putReceipt({
    ...receipt,
    categories,
    subjectRefs: [...refs],
    ...(truncated ? { subjectRefsTruncated: true } : {}),
    completedStages,
    lastChunk: { key: chunkKey, counts: chunkCounts },
  });
  let deleted = 0;
  let failed = 0;
  for (const c of Object.values(result.counts)) {
    deleted += c.deleted;
    failed += c.failed;
  }
  return { done: result.done, continuation: result.continuation, deleted, failed };
}

function scaled(counts: Partial<Record<Category, CategoryCounts>>, factor: number): Partial<Record<Category, CategoryCounts>> {
  const out: Partial<Record<Category, CategoryCounts>> = {};
  for (const [category, c] of Object.entries(counts) as [Category, CategoryCounts][]) {
    out[category] = { examined: c.examined * factor, deleted: c.deleted * factor, held: c.held * factor, failed: c.failed * factor };
  }
  return out;
}

/** An attempt's deletions (examined and deleted), which a retry cannot see again. */
function deletionsOf(counts: Partial<Record<Category, CategoryCounts>>): Partial<Record<Category, CategoryCounts>> {
  const out: Partial<Record<Category, CategoryCounts>> = {};
  for (const [category, c] of Object.entries(counts) as [Category, CategoryCounts][]) {
    out[category] = { examined: c.deleted, deleted: c.deleted, held: 0, failed: 0 };
  }
  return out;
}

/** Records a stage the orchestrator caught as failed (error name only, never a message with data). */
export async function recordStageFailure(
  deps: RunDeps,
  input: RunRef & { readonly stage: Stage; readonly error: string },
): Promise<void> {
  const receipt = await loadReceipt(deps, input);
  const error = input.error.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 80) || 'Error';
  const failedStages = [...(receipt.failedStages ?? []), { stage: input.stage, error }];
  await deps.control.putReceipt({ ...receipt, failedStages });
}

export interface FinishResult {
  readonly status: Receipt['status'];
  readonly critical: boolean;
}

/** Whether a run's outcome must alert: a stage failed, or failures above the platform's ratio. */
export function isCritical(receipt: Receipt, platform: PlatformPolicy): boolean {
  if ((receipt.failedStages ?? []).length > 0) return true;
  let examined = 0;
  let failed = 0;
  for (const c of Object.values(receipt.categories)) {
    examined += c.examined;
    failed += c.failed;
  }
  return examined > 0 && failed / examined > platform.sweep.failureAlertRatio;
}

/** The alert e-mail: ids, counts and error names only. */
export function alertMessage(receipt: Receipt, tenant: Tenant | undefined, operatorEmails: readonly string[]) {
  const to = [...new Set([...(tenant?.adminEmails ?? []), ...operatorEmails])];
  const lines = [
    `Lethe retention run ${receipt.runId} for tenant ${receipt.tenantId} needs attention.`,
    '',
    `Profile: ${receipt.profile}   Policy version: ${receipt.policyVersion}   Dry run: ${receipt.dryRun}`,
    `Started: ${receipt.startedAt}   Finished: ${receipt.finishedAt ?? '-'}`,
    '',
  ];
  for (const f of receipt.failedStages ?? []) lines.push(`Stage ${f.stage} failed: ${f.error}`);
  lines.push('', 'category                 examined  deleted     held   failed');
  for (const [category, c] of Object.entries(receipt.categories) as [Category, NonNullable<Receipt['categories'][Category]>][]) {
    lines.push(
      `${category.padEnd(24)} ${String(c.examined).padStart(8)} ${String(c.deleted).padStart(8)} ${String(c.held).padStart(8)} ${String(c.failed).padStart(8)}`,
    );
  }
  lines.push('', 'Records that could not be deleted stay in place and are retried by the next run.');
  return { to, subject: `[Lethe] Retention run needs attention: tenant ${receipt.tenantId}`, text: lines.join('\n') };
}

/** Completes the run's receipt (idempotent) and says whether it is critical. */
export async function finishRun(deps: RunDeps, ref: RunRef): Promise<FinishResult> {
  const receipt = await loadReceipt(deps, ref);
  if (receipt.status !== 'running') return { status: receipt.status, critical: isCritical(receipt, deps.platform) };
  const finishedAt = deps.clock.now();
  const final: Receipt = {
    ...receipt,
    status: (receipt.failedStages ?? []).length > 0 ? 'failed' : 'completed',
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(receipt.startedAt),
  };
  await deps.control.putReceipt(final);
  return { status: final.status, critical: isCritical(final, deps.platform) };
}

/** E-mails the tenant admins and the operators about a critical run, once. */
export async function alertRun(deps: RunDeps, ref: RunRef): Promise<{ readonly alerted: boolean }> {
  const receipt = await loadReceipt(deps, ref);
  if (receipt.alertedAt !== undefined || !isCritical(receipt, deps.platform)) return { alerted: false };
  const tenant = await deps.control.getTenant(ref.tenantId);
  const message = alertMessage(receipt, tenant, deps.operatorEmails);
  if (message.to.length === 0) return { alerted: false };
  await deps.mailer.send(message);
  await deps.control.putReceipt({ ...receipt, alertedAt: deps.clock.now().toISOString() });
  return { alerted: true };
}

/** Finish and, when critical, alert: what the state machine does after the last stage. */
export async function completeRun(deps: RunDeps, ref: RunRef): Promise<FinishResult & { readonly alerted: boolean }> {
  const finished = await finishRun(deps, ref);
  const { alerted } = finished.critical ? await alertRun(deps, ref) : { alerted: false };
  return { ...finished, alerted };
}
