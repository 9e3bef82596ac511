/**
 * Tenant runs: the use cases the Sweep state machine calls, for a group of
 * tenants at a time (one receipt per tenant, all under the execution's run id).
 * `startRuns` writes running receipts with the cutoffs fixed, `runStages`
 * sweeps one stage chunk for the group and folds each tenant's counts into its
 * receipt, `recordStageFailures` notes a stage the orchestrator caught, and
 * `finishRuns` / `alertRuns` complete the receipts and alert on critical ones.
 * Control data is read and written in batches: a chunk costs two batched reads,
 * one holds query per tenant and one batched write, whatever the group's size.
 * The single-tenant forms (`startRun`, `runStage`, …) are groups of one.
 */
import type { Category, Stage } from './catalog.js';
import { NotFoundError } from './errors.js';
import { addCounts, forEachLimited } from './deletion/counts.js';
import { makeEvent, publishEvents, type LetheEvent } from './events.js';
import { defaultTenantPolicy, type PlatformPolicy, type TenantPolicy } from './policy.js';
import { releaseExpiredHolds } from './hold-work.js';
import type { Clock, ControlStore, HoldWorkStarter, Mailer } from './ports.js';
import { addShredded, type CategoryCounts, type Receipt } from './receipt.js';
import { IDENTIFIER_PARTITION, MAX_RETENTION_SHARDS, retentionShardsOf, type RetentionPartition } from './records.js';
import { subjectRef } from './references.js';
import { runAccountEnd, runCutoffs, sweepRules } from './sweep/cutoffs.js';
import type { SweepTenant, TenantStageResult } from './sweep/plan.js';
import { sweepStage, type SweepDeps } from './sweep/stage.js';
import { readStageWatermarks } from './sweep/watermark-upkeep.js';
import { CATEGORIES } from './catalog.js';
import type { Tenant } from './tenant.js';

export interface RunDeps extends SweepDeps {
  readonly control: ControlStore;
  readonly mailer: Mailer;
  readonly platform: PlatformPolicy;
  /** Secret for the keyed HMACs of subject references. */
  readonly refSecret: string;
  /** Operator addresses that receive every critical alert. */
  readonly operatorEmails: readonly string[];
  /** Starts the release of a hold that expired (the sweep's stage function, locally and in AWS); absent: expired holds wait for a manual release. */
  readonly holdWork?: HoldWorkStarter;
}

/** Subject references one receipt lists (each ~24 bytes; the item stays far below 400 KB). */
export const MAX_RECEIPT_SUBJECT_REFS = 2000;

/** Tenants one sweep group holds at most: its control reads and writes stay one batched request each. */
export const MAX_GROUP_TENANTS = 25;

/** Holds queries in flight at once. */
const HOLDS_CONCURRENCY = 8;

/** The tenant of a run does not exist (any more); names the API's tenant path parameter. */
export class TenantNotFoundError extends NotFoundError {
  override readonly name: string = 'TenantNotFoundError';

  constructor() {
    super('t: no such tenant', { field: 't' });
  }
}

/** The tenant has no receipt for the run; names the API's run id path parameter. */
export class RunNotFoundError extends NotFoundError {
  override readonly name: string = 'RunNotFoundError';

  constructor() {
    super('id: no such deletion run', { field: 'id' });
  }
}

export interface RunRef {
  readonly tenantId: string;
  readonly runId: string;
}

/** A run over a group of tenants: one receipt per tenant under the same run id. */
export interface GroupRef {
  readonly runId: string;
  readonly tenantIds: readonly string[];
}

const refsOf = (group: GroupRef): RunRef[] => [...new Set(group.tenantIds)].map((tenantId) => ({ tenantId, runId: group.runId }));

/** The receipts of a group, in the group's order; tenants without one are left out. */
async function loadReceipts(deps: RunDeps, group: GroupRef): Promise<Receipt[]> {
  const found = new Map((await deps.control.getReceipts(refsOf(group))).map((r) => [r.tenantId, r]));
  return refsOf(group).flatMap((ref) => found.get(ref.tenantId) ?? []);
}

/** The tenants of a group that have no receipt for the run. */
function missingFrom(group: GroupRef, receipts: readonly Receipt[]): string[] {
  const have = new Set(receipts.map((r) => r.tenantId));
  return refsOf(group).map((r) => r.tenantId).filter((id) => !have.has(id));
}

/** A single-tenant form's answer when its tenant has no receipt for the run. */
function ensureFound(missing: readonly string[], ref: RunRef): void {
  if (missing.includes(ref.tenantId)) throw new RunNotFoundError();
}

/** The tenants a scheduled sweep covers (every active one), by id. */
export async function listSweepTenants(deps: Pick<RunDeps, 'control'>): Promise<Tenant[]> {
  const tenants = await deps.control.listTenants({ status: 'active' });
  return [...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}

/**
 * Write shards one sweep group holds at most, summed over its tenants: a chunk's
 * continuation carries a position per pending shard (up to ~700 bytes with the
 * longest ids), and must stay well inside Step Functions' 256 KB.
 */
export const MAX_GROUP_SHARDS = 48;

/**
 * Splits tenants, in the order given, into sweep groups of at most
 * `MAX_GROUP_TENANTS` tenants and `MAX_GROUP_SHARDS` write shards.
 */
export function sweepGroups(tenants: readonly { readonly tenantId: string; readonly retentionShards?: number }[]): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let shards = 0;
  for (const tenant of tenants) {
    const weight = retentionShardsOf(tenant);
    if (current.length > 0 && (current.length >= MAX_GROUP_TENANTS || shards + weight > MAX_GROUP_SHARDS)) {
      groups.push(current);
      current = [];
      shards = 0;
    }
    current.push(tenant.tenantId);
    shards += weight;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Opens the runs of a group: fixes each tenant's start instant (and so its
 * cutoffs) and writes running receipts. Idempotent per run id: a tenant that
 * has a receipt already keeps it. Tenants that do not exist are left out.
 */
export async function startRuns(
  deps: RunDeps,
  input: GroupRef & { readonly dryRun: boolean; readonly kind?: Receipt['kind'] },
): Promise<Receipt[]> {
  const existing = await loadReceipts(deps, input);
  const have = new Set(existing.map((r) => r.tenantId));
  const missing = refsOf(input)
    .map((r) => r.tenantId)
    .filter((id) => !have.has(id));
  if (missing.length === 0) return existing;
  const [tenants, policies] = await Promise.all([deps.control.getTenants(missing), deps.control.getPolicies(missing)]);
  const policyOf = new Map(policies.map((p) => [p.tenantId, p]));
  const now = deps.clock.now();
  const created: Receipt[] = [];
  for (const tenant of tenants) {
    const policy: TenantPolicy = policyOf.get(tenant.tenantId) ?? defaultTenantPolicy(deps.platform, tenant.tenantId);
    const reason = runAccountEnd({ tenant, platform: deps.platform }, now);
    created.push({
      runId: input.runId,
      tenantId: tenant.tenantId,
      kind: input.kind ?? 'sweep',
      status: 'running',
      dryRun: input.dryRun,
      policyVersion: policy.version,
      profile: deps.platform.profile,
      startedAt: now.toISOString(),
      cutoffs: runCutoffs({ tenant, platform: deps.platform, policy, holds: [] }, now),
      ...(reason !== undefined && { reason }),
      retentionShards: retentionShardsOf(tenant),
      categories: {},
      subjectRefs: [],
      failedStages: [],
      completedStages: [],
    });
  }
  await deps.control.putReceipts(created);
  const all = new Map([...existing, ...created].map((r) => [r.tenantId, r]));
  return refsOf(input).flatMap((ref) => all.get(ref.tenantId) ?? []);
}

/** Opens one tenant's run (a group of one); throws when the tenant does not exist. */
export async function startRun(
  deps: RunDeps,
  input: RunRef & { readonly dryRun: boolean; readonly kind?: Receipt['kind'] },
): Promise<Receipt> {
  const [receipt] = await startRuns(deps, { runId: input.runId, tenantIds: [input.tenantId], dryRun: input.dryRun, ...(input.kind !== undefined && { kind: input.kind }) });
  if (receipt === undefined) throw new TenantNotFoundError();
  return receipt;
}

export interface StageChunkOptions {
  /** Time the chunk may take before it returns a continuation. */
  readonly budgetMs: number;
  /** Due index entries read per tenant before its deletions are sent (default: the stage's, `STAGE_PAGE_SIZES`). */
  readonly pageSize?: number;
  /** Tenants read at once (default: the platform's `tenantConcurrency`). */
  readonly tenantConcurrency?: number;
}

export interface StageChunkResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly deleted: number;
  readonly failed: number;
  /** Tenants whose stage failed in this chunk (recorded in their receipts). */
  readonly failedTenants: readonly string[];
  /** Tenants of the group without a receipt for the run (nothing was done for them). */
  readonly missingTenants: readonly string[];
}

/**
 * Sweeps one chunk of one stage for a group and folds every tenant's counts
 * into its receipt. Tenants whose run is over, whose stage already completed
 * (a retried first chunk) or failed are not swept again.
 */
export async function runStages(
  deps: RunDeps,
  input: GroupRef & { readonly stage: Stage; readonly continuation?: string },
  options: StageChunkOptions,
): Promise<StageChunkResult> {
  const loaded = await loadReceipts(deps, input);
  const missingTenants = missingFrom(input, loaded);
  const receipts = loaded.filter(
    (r) =>
      r.status === 'running' &&
      !(r.failedStages ?? []).some((f) => f.stage === input.stage) &&
      // A retried invocation of a stage that already completed is a no-op.
      !(input.continuation === undefined && (r.completedStages ?? []).includes(input.stage)),
  );
  if (receipts.length === 0) return { done: true, deleted: 0, failed: 0, failedTenants: [], missingTenants };
  const tenants = new Map((await deps.control.getTenants(receipts.map((r) => r.tenantId))).map((t) => [t.tenantId, t]));
  const swept = receipts.filter((r) => tenants.has(r.tenantId));
  // Retention watermarks, read once for the chunk: a tenant whose every pass they rule out has nothing to
  // judge, so its holds are not read (but where its run's first chunk releases the holds that expired).
  const stageMarks =
    deps.watermarks === undefined
      ? undefined
      : await readStageWatermarks(
          deps.watermarks,
          swept.map((r) => ({ tenantId: r.tenantId, shards: r.retentionShards ?? retentionShardsOf(tenants.get(r.tenantId) as Tenant), cutoffs: fixedCutoffs(r) })),
          input.stage,
        );
  const releasing = (r: Receipt) => deps.holdWork !== undefined && input.stage === 1 && input.continuation === undefined && !r.dryRun;
  const holds = new Map<string, Awaited<ReturnType<ControlStore['listHolds']>>>();
  await forEachLimited(swept, HOLDS_CONCURRENCY, async (r) => {
    if (stageMarks?.idle.has(r.tenantId) === true && !releasing(r)) return;
    const listed = await deps.control.listHolds(r.tenantId);
    holds.set(r.tenantId, listed);
    // A run's first chunk releases the holds that expired since the last run (backstops and blob holds go back on).
    if (deps.holdWork !== undefined && releasing(r)) {
      await releaseExpiredHolds({ control: deps.control, holdWork: deps.holdWork, ...(deps.events !== undefined && { events: deps.events }) }, r.tenantId, listed, deps.clock.now());
    }
  });
  const entries: SweepTenant[] = swept.map((r) => ({
    tenant: { ...(tenants.get(r.tenantId) as Tenant), retentionShards: r.retentionShards ?? retentionShardsOf(tenants.get(r.tenantId) as Tenant) },
    holds: holds.get(r.tenantId) ?? [],
    cutoffs: fixedCutoffs(r),
    ...(stageMarks?.marks.has(r.tenantId) === true && { watermarks: stageMarks.marks.get(r.tenantId) }),
    runStartedAt: r.startedAt,
    runCounts: r.categories,
    earlierStageFailed: (r.failedStages ?? []).length > 0,
    rules: sweepRules(deps.platform, r.startedAt, r.reason),
  }));
  const deadline = new Date(deps.clock.now().getTime() + options.budgetMs);
  const result = await sweepStage(
    deps,
    entries,
    { runId: input.runId, stage: input.stage, dryRun: swept[0]?.dryRun === true, ...(input.continuation !== undefined && { continuation: input.continuation }) },
    { deadline, ...(options.pageSize !== undefined && { pageSize: options.pageSize }), tenantConcurrency: options.tenantConcurrency ?? deps.platform.sweep.tenantConcurrency },
  );

  let deleted = 0;
  let failed = 0;
  const failedTenants: string[] = [];
  const updated: Receipt[] = [];
  for (const receipt of swept) {
    const mine = result.tenants[receipt.tenantId];
    if (mine === undefined) continue;
    for (const c of Object.values(mine.counts)) {
      deleted += c.deleted;
      failed += c.failed;
    }
    if (mine.stageError !== undefined) failedTenants.push(receipt.tenantId);
    updated.push(foldChunk(deps, receipt, input, mine, result.done));
  }
  await deps.control.putReceipts(updated);
  return { done: result.done, ...(result.continuation !== undefined && { continuation: result.continuation }), deleted, failed, failedTenants, missingTenants };
}

/** The cutoffs the run fixed at its start; a category the receipt does not name has nothing due. */
function fixedCutoffs(receipt: Receipt): Record<Category, string | null> {
  return Object.fromEntries(CATEGORIES.map((c) => [c, receipt.cutoffs[c] ?? null])) as Record<Category, string | null>;
}

/**
 * A receipt with one chunk's counts folded in. A chunk retried after its
 * earlier attempt was already folded in (the function died before answering)
 * replaces that attempt's counts; the attempt's deletions happened once, cannot
 * be seen again, and are carried into the retry's counts.
 */
function foldChunk(
  deps: RunDeps,
  receipt: Receipt,
  input: GroupRef & { readonly stage: Stage; readonly continuation?: string },
  chunk: TenantStageResult,
  done: boolean,
): Receipt {
  const chunkKey = `${input.stage}:${input.continuation ?? ''}`;
  const previous = receipt.lastChunk?.key === chunkKey ? receipt.lastChunk.counts : undefined;
  const categories = structuredClone(receipt.categories) as Partial<Record<Category, CategoryCounts>>;
  const chunkCounts = structuredClone(chunk.counts) as Partial<Record<Category, CategoryCounts>>;
  if (previous !== undefined) {
    addCounts(categories, previous, -1);
    addCounts(chunkCounts, deletionsOf(previous));
  }
  addCounts(categories, chunkCounts);
  // The receipt is one item (DynamoDB caps items at 400 KB): it lists at most
  // MAX_RECEIPT_SUBJECT_REFS subjects and says when there were more.
  const refs = new Set(receipt.subjectRefs ?? []);
  let truncated = receipt.subjectRefsTruncated === true;
  for (const s of chunk.subjectsTouched) {
    const ref = subjectRef(deps.refSecret, receipt.tenantId, s);
    if (refs.size >= MAX_RECEIPT_SUBJECT_REFS) {
      truncated ||= !refs.has(ref);
      continue;
    }
    refs.add(ref);
  }
  const failedStages =
    chunk.stageError === undefined ? receipt.failedStages : [...(receipt.failedStages ?? []), { stage: input.stage, error: safeErrorName(chunk.stageError) }];
  const completedStages =
    done && chunk.stageError === undefined ? [...new Set([...(receipt.completedStages ?? []), input.stage])] : receipt.completedStages;
  // A retried chunk finds the keys its first attempt destroyed gone: it counts none twice.
  const shredded = addShredded(receipt.shredded, chunk.subjectKeysShredded === undefined ? undefined : { subjectKeys: chunk.subjectKeysShredded });
  const eventsUnpublished = (receipt.eventsUnpublished ?? 0) + (chunk.eventsUnpublished ?? 0);
  return {
    ...receipt,
    categories,
    ...(shredded !== undefined && { shredded }),
    ...(eventsUnpublished > 0 && { eventsUnpublished }),
    subjectRefs: [...refs],
    ...(truncated ? { subjectRefsTruncated: true } : {}),
    ...(failedStages !== undefined && { failedStages }),
    ...(completedStages !== undefined && { completedStages }),
    lastChunk: { key: chunkKey, counts: chunkCounts },
  };
}

/** Sweeps one chunk of one stage of one tenant's run (a group of one). */
export async function runStage(
  deps: RunDeps,
  input: RunRef & { readonly stage: Stage; readonly continuation?: string },
  options: StageChunkOptions,
): Promise<Omit<StageChunkResult, 'failedTenants' | 'missingTenants'>> {
  const { failedTenants: _, missingTenants, ...result } = await runStages(
    deps,
    { runId: input.runId, tenantIds: [input.tenantId], stage: input.stage, ...(input.continuation !== undefined && { continuation: input.continuation }) },
    options,
  );
  ensureFound(missingTenants, input);
  return result;
}

/** An attempt's deletions (examined and deleted), which a retry cannot see again. */
function deletionsOf(counts: Partial<Record<Category, CategoryCounts>>): Partial<Record<Category, CategoryCounts>> {
  const out: Partial<Record<Category, CategoryCounts>> = {};
  for (const [category, c] of Object.entries(counts) as [Category, CategoryCounts][]) {
    out[category] = { examined: c.deleted, deleted: c.deleted, held: 0, failed: 0, kept: 0 };
  }
  return out;
}

/** An error name fit for a receipt and an e-mail: never a message with data. */
function safeErrorName(error: string): string {
  return error.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 80) || 'Error';
}

/** Records a stage the orchestrator caught as failed, for every tenant of the group still running. */
export async function recordStageFailures(
  deps: RunDeps,
  input: GroupRef & { readonly stage: Stage; readonly error: string },
): Promise<{ readonly missingTenants: readonly string[] }> {
  const error = safeErrorName(input.error);
  const receipts = await loadReceipts(deps, input);
  const updated = receipts
    .filter((r) => r.status === 'running' && !(r.failedStages ?? []).some((f) => f.stage === input.stage))
    .map((r) => ({ ...r, failedStages: [...(r.failedStages ?? []), { stage: input.stage, error }] }));
  await deps.control.putReceipts(updated);
  return { missingTenants: missingFrom(input, receipts) };
}

/** Records a failed stage of one tenant's run. */
export async function recordStageFailure(
  deps: RunDeps,
  input: RunRef & { readonly stage: Stage; readonly error: string },
): Promise<void> {
  const { missingTenants } = await recordStageFailures(deps, { runId: input.runId, tenantIds: [input.tenantId], stage: input.stage, error: input.error });
  ensureFound(missingTenants, input);
}

export interface FinishResult {
  readonly status: Receipt['status'];
  readonly critical: boolean;
}

/** Whether a run's outcome must alert: a stage failed, or failures above the platform's ratio. */
export function isCritical(receipt: Receipt, platform: PlatformPolicy): boolean {
  if ((receipt.failedStages ?? []).length > 0) return true;
  // Downstream copies were not told about some deletions: someone must replay them.
  if ((receipt.eventsUnpublished ?? 0) > 0) return true;
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

export interface GroupFinishResult {
  /** Whether any tenant's run is critical. */
  readonly critical: boolean;
  readonly criticalTenants: readonly string[];
  readonly statuses: Readonly<Record<string, Receipt['status']>>;
}

/** Completes the group's receipts (idempotent) and says which runs are critical. */
export async function finishRuns(deps: RunDeps, group: GroupRef): Promise<GroupFinishResult> {
  const receipts = await loadReceipts(deps, group);
  const epochKeys = new Map<string, number>();
  const finishing = receipts.filter((r) => r.status === 'running' && !r.dryRun);
  // Shards only ever go up: the tenant's current count covers every shard any record was written to.
  const shards = new Map(deps.keys === undefined || finishing.length === 0 ? [] : (await deps.control.getTenants(finishing.map((r) => r.tenantId))).map((t) => [t.tenantId, retentionShardsOf(t)]));
  await forEachLimited(finishing, HOLDS_CONCURRENCY, async (r) => {
    epochKeys.set(r.tenantId, await shredEpochs(deps, r, Math.max(shards.get(r.tenantId) ?? MAX_RETENTION_SHARDS, r.retentionShards ?? 1)));
  });
  const finishedAt = deps.clock.now();
  const final = receipts.map((receipt): Receipt => {
    if (receipt.status !== 'running') return receipt;
    const shredded = addShredded(receipt.shredded, epochKeys.has(receipt.tenantId) ? { epochKeys: epochKeys.get(receipt.tenantId) } : undefined);
    return {
      ...receipt,
      ...(shredded !== undefined && { shredded }),
      status: (receipt.failedStages ?? []).length > 0 ? 'failed' : 'completed',
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - Date.parse(receipt.startedAt),
    };
  });
  const completed = final.filter((r, i) => r !== receipts[i]);
  await deps.control.putReceipts(completed);
  // After the receipts are stored: one RunCompleted (and KeysShredded for epoch keys) per run; what cannot go is counted on it.
  await forEachLimited(completed, HOLDS_CONCURRENCY, async (r) => {
    const unpublished = await publishEvents(deps.events, runCompletedEvents(r, finishedAt, epochKeys.get(r.tenantId) ?? 0));
    if (unpublished === 0) return;
    const counted: Receipt = { ...r, eventsUnpublished: (r.eventsUnpublished ?? 0) + unpublished };
    final[final.indexOf(r)] = counted;
    await deps.control.putReceipt(counted);
  });
  const criticalTenants = final.filter((r) => isCritical(r, deps.platform)).map((r) => r.tenantId);
  return {
    critical: criticalTenants.length > 0,
    criticalTenants,
    statuses: Object.fromEntries(final.map((r) => [r.tenantId, r.status])),
  };
}

/** A completed run's events: `RunCompleted` with its totals, and `KeysShredded` when its end destroyed epoch keys. */
function runCompletedEvents(r: Receipt, at: Date, epochKeys: number): LetheEvent[] {
  const totals = { examined: 0, deleted: 0, held: 0, failed: 0, kept: 0 };
  for (const c of Object.values(r.categories)) {
    totals.examined += c.examined;
    totals.deleted += c.deleted;
    totals.held += c.held;
    totals.failed += c.failed;
    totals.kept += c.kept;
  }
  const status = r.status === 'failed' ? 'failed' : 'completed';
  const events = [makeEvent('RunCompleted', r.tenantId, at, { runId: r.runId, kind: r.kind, status, dryRun: r.dryRun, ...totals }, r.runId)];
  if (epochKeys > 0) {
    const origin = { kind: 'sweep' as const, runId: r.runId };
    events.push(makeEvent('KeysShredded', r.tenantId, at, { origin, subjectKeys: 0, epochKeys }, [origin, 'epochs']));
  }
  return events;
}

/**
 * Destroys the tenant's epoch keys that the run left with nothing to seal:
 * days wholly before a category's cutoff of which no record is left (held and
 * failed ones keep theirs). Identifiers go by the profiles' cutoff. A failure
 * here fails nothing: the keys stay for the next run.
 */
async function shredEpochs(deps: RunDeps, receipt: Receipt, shards: number): Promise<number> {
  if (deps.keys === undefined) return 0;
  const cutoffs = new Map<RetentionPartition, Date>();
  for (const [category, cutoff] of Object.entries(receipt.cutoffs) as [Category, string | null | undefined][]) {
    if (typeof cutoff === 'string') cutoffs.set(category, new Date(cutoff));
  }
  const profileCutoff = receipt.cutoffs.customer_profile;
  if (typeof profileCutoff === 'string') cutoffs.set(IDENTIFIER_PARTITION, new Date(profileCutoff));
  if (cutoffs.size === 0) return 0;
  try {
    return await deps.keys.shredEpochs(receipt.tenantId, cutoffs, shards);
  } catch {
    return 0;
  }
}

/** Completes one tenant's receipt (idempotent) and says whether it is critical. */
export async function finishRun(deps: RunDeps, ref: RunRef): Promise<FinishResult> {
  const result = await finishRuns(deps, { runId: ref.runId, tenantIds: [ref.tenantId] });
  const status = result.statuses[ref.tenantId];
  if (status === undefined) throw new RunNotFoundError();
  return { status, critical: result.critical };
}

/** E-mails the admins of every critical run of the group, and the operators, once per run. */
export async function alertRuns(deps: RunDeps, group: GroupRef): Promise<{ readonly alerted: readonly string[]; readonly missingTenants: readonly string[] }> {
  const receipts = await loadReceipts(deps, group);
  const missingTenants = missingFrom(group, receipts);
  const due = receipts.filter((r) => r.alertedAt === undefined && isCritical(r, deps.platform));
  if (due.length === 0) return { alerted: [], missingTenants };
  const tenants = new Map((await deps.control.getTenants(due.map((r) => r.tenantId))).map((t) => [t.tenantId, t]));
  const alerted: Receipt[] = [];
  try {
    for (const receipt of due) {
      const message = alertMessage(receipt, tenants.get(receipt.tenantId), deps.operatorEmails);
      if (message.to.length === 0) continue;
      await deps.mailer.send(message);
      alerted.push({ ...receipt, alertedAt: deps.clock.now().toISOString() });
    }
  } finally {
    // Those already sent are marked even when a later one fails, so a retry does not send them twice.
    await deps.control.putReceipts(alerted);
  }
  return { alerted: alerted.map((r) => r.tenantId), missingTenants };
}

/** E-mails the tenant admins and the operators about a critical run, once. */
export async function alertRun(deps: RunDeps, ref: RunRef): Promise<{ readonly alerted: boolean }> {
  const { alerted, missingTenants } = await alertRuns(deps, { runId: ref.runId, tenantIds: [ref.tenantId] });
  ensureFound(missingTenants, ref);
  return { alerted: alerted.length > 0 };
}

/** Finish and, when critical, alert: what the state machine does after the last stage. */
export async function completeRuns(deps: RunDeps, group: GroupRef): Promise<GroupFinishResult & { readonly alerted: readonly string[] }> {
  const finished = await finishRuns(deps, group);
  const { alerted } = finished.critical ? await alertRuns(deps, group) : { alerted: [] as readonly string[] };
  return { ...finished, alerted };
}

/** Finish and, when critical, alert one tenant's run. */
export async function completeRun(deps: RunDeps, ref: RunRef): Promise<FinishResult & { readonly alerted: boolean }> {
  const finished = await finishRun(deps, ref);
  const { alerted } = finished.critical ? await alertRun(deps, ref) : { alerted: false };
  return { ...finished, alerted };
}
