/**
 * The scheduled retention sweep, one stage chunk at a time, over a group of
 * tenants. Each chunk works until its deadline and returns a continuation; the
 * orchestrator calls again until `done`. Cutoffs are fixed by each tenant's
 * run start, so every chunk of a run applies the same policy.
 *
 * How a stage finds and deletes what is due, without a read per record:
 * - Every category has its own `byRetention` partitions per tenant. A record
 *   under a conversation or call is indexed at the earlier of its own clock and
 *   its parent's (`indexClock`), and a category's query reaches up to the latest
 *   of its own cutoff and its parents' cutoffs: one query finds the records due
 *   by their own clock and those due because their parent is.
 * - A stage runs in rounds: the categories of a round have no ancestor among
 *   each other, so their deletions share requests; a round starts only once the
 *   round before it is done, so children go before their parents.
 * - Within a round the tenants of the group are read side by side, and their
 *   deletions are sent together: full DeleteObjects (1,000 keys) and
 *   BatchWriteItem (25 keys) requests across tenants, never one per record.
 * - A parent whose children all went earlier in the run is deleted without a
 *   look at its partition. It is looked at (and its descendants go with it
 *   through the one deletion path) when that is not proven: a child held or
 *   failed so far in the run, an earlier stage failed, or — for a profile — its
 *   activity watermark does not show every record under it due by its own clock.
 * - Identifier items are swept after the profiles, and go only once their
 *   profile is gone.
 */
import { CATALOG, CATEGORIES, categoriesInStage, SWEEP_ORDER, type Category, type Stage } from './catalog.js';
import { countOutcome, forEachLimited, type Outcome } from './deletion/counts.js';
import { errorName, executeDeletion, type DeletionDeps, type DeletionRoot, type TenantRules } from './deletion/executor.js';
import { ValidationError } from './errors.js';
import { holdMatcher, type HoldTarget, type LegalHold } from './holds.js';
import { cutoffFor, effectivePeriod, graceMs, periodMs, type PlatformPolicy, type TenantPolicy } from './policy.js';
import type { Clock } from './ports.js';
import type { CategoryCounts, KeptReason } from './receipt.js';
import type { Tenant } from './tenant.js';
import { IDENTIFIER_PARTITION, keys, recordKeyString, retentionShardsOf, type DueRecord, type RetentionPartition } from './records.js';

const DAY_MS = 86_400_000;
/**
 * Index entries read per tenant before an iteration's deletions are sent, by
 * stage. A chunk checks its deadline between iterations, so one iteration of a
 * full group (25 tenants) must fit in the stage function's two minutes past its
 * budget: blobs cost a version listing per folder (stage 1), third-party data
 * an HTTP call each (stage 2); records go 25 to a request (stages 3–4).
 */
export const STAGE_PAGE_SIZES: Readonly<Record<Stage, number>> = { 1: 1000, 2: 200, 3: 5000, 4: 5000 };
/** Tenants of a group read at once (default). */
const DEFAULT_TENANT_CONCURRENCY = 4;

export interface SweepDeps extends DeletionDeps {
  readonly clock: Clock;
}

/** Everything a run needs to know about its tenant, loaded once per chunk. */
export interface TenantRunContext {
  readonly tenant: Tenant;
  readonly platform: PlatformPolicy;
  readonly policy: TenantPolicy | undefined;
  readonly holds: readonly LegalHold[];
}

/** One tenant of a stage chunk: its run's fixed cutoffs, its holds now, and what the run so far left behind. */
export interface SweepTenant {
  readonly tenant: Tenant;
  /** The tenant's legal holds, read for this chunk (a hold placed during a run counts from its next chunk). */
  readonly holds: readonly LegalHold[];
  /** The run's cutoffs, fixed at its start (`runCutoffs`). */
  readonly cutoffs: Readonly<Record<Category, string | null>>;
  /** The run's start instant: holds are judged at it, so one expiring during the run still counts. */
  readonly runStartedAt: string;
  /** Counts of the run's earlier chunks (the receipt so far). */
  readonly runCounts?: Partial<Record<Category, CategoryCounts>>;
  /** Whether an earlier stage of the run failed (then every parent's partition is looked at). */
  readonly earlierStageFailed?: boolean;
}

export interface SweepStageInput {
  readonly runId: string;
  readonly stage: Stage;
  readonly dryRun: boolean;
  readonly continuation?: string;
}

export interface SweepStageOptions {
  /** Stop starting new pages after this instant. */
  readonly deadline: Date;
  /** Index entries read per tenant before the deletions are sent (default: the stage's, `STAGE_PAGE_SIZES`). */
  readonly pageSize?: number;
  /** Tenants read at once (default 4). */
  readonly tenantConcurrency?: number;
}

/** What one chunk did for one tenant. */
export interface TenantStageResult {
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  readonly cutoffs: Partial<Record<Category, string | null>>;
  readonly subjectsTouched: string[];
  readonly failureReasons: string[];
  /** Set when the stage failed for this tenant (an error name); the rest of its stage was skipped. */
  readonly stageError?: string;
}

export interface SweepStageResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly tenants: Readonly<Record<string, TenantStageResult>>;
}

// ---------------------------------------------------------------------------
// Category relations (by key structure: what lives under what)
// ---------------------------------------------------------------------------

/** Categories whose records own a key prefix in a customer's partition. */
const CONTAINERS: readonly Category[] = ['conversation', 'whatsapp_conversation', 'call'];

/** The conversation or call categories a category's records can sit under. */
export const KEY_PARENTS: Readonly<Partial<Record<Category, readonly Category[]>>> = Object.fromEntries(
  CATEGORIES.flatMap((c) => {
    const parents = CONTAINERS.filter((p) => CATALOG[p].cascadesTo.includes(c));
    return parents.length > 0 ? [[c, parents]] : [];
  }),
);

function closure(category: Category): Category[] {
  const out = new Set<Category>();
  const visit = (c: Category) => {
    for (const child of CATALOG[c].cascadesTo) {
      if (!out.has(child)) {
        out.add(child);
        visit(child);
      }
    }
  };
  visit(category);
  return [...out];
}

/** Categories that live under a record of each category and go with it. */
export const DESCENDANTS: Readonly<Record<Category, readonly Category[]>> = Object.fromEntries(
  CATEGORIES.map((c) => [c, c === 'customer_profile' ? closure(c) : CONTAINERS.includes(c) ? CATALOG[c].cascadesTo : []]),
) as Record<Category, readonly Category[]>;

// ---------------------------------------------------------------------------
// Cutoffs
// ---------------------------------------------------------------------------

/**
 * The cutoff of a category for one tenant at `now`; null = nothing is due.
 * Account configuration has no per-record clock: all of it becomes due once the
 * contract has ended (plus the period) or the account has been inactive for
 * the platform's inactivity period.
 */
export function sweepCutoff(ctx: TenantRunContext, category: Category, now: Date): Date | null {
  if (category !== 'account_config') return cutoffFor(ctx.platform, ctx.policy, category, now);
  const { days } = effectivePeriod(ctx.platform, ctx.policy, 'account_config');
  if (days === null) return null;
  const grace = graceMs(ctx.platform);
  const contractEnd = ctx.tenant.contractEndsAt === undefined ? undefined : Date.parse(ctx.tenant.contractEndsAt);
  const lastActivity = Date.parse(ctx.tenant.lastActivityAt ?? ctx.tenant.createdAt);
  const contractOver = contractEnd !== undefined && contractEnd + periodMs(days) + grace < now.getTime();
  const inactive = lastActivity + ctx.platform.accountInactivityDays * DAY_MS + grace < now.getTime();
  return contractOver || inactive ? now : null;
}

/** All cutoffs of a run, for the receipt. */
export function runCutoffs(ctx: TenantRunContext, now: Date): Record<Category, string | null> {
  const out = {} as Record<Category, string | null>;
  for (const category of CATEGORIES) out[category] = sweepCutoff(ctx, category, now)?.toISOString() ?? null;
  return out;
}

type Cutoffs = Readonly<Record<Category, string | null>>;

/**
 * Whether a record is due: by its own clock, or (under a conversation or call)
 * by its parent's. Users go only once they have no account access any more.
 */
export function isDue(cutoffs: Cutoffs, record: Pick<DueRecord, 'category' | 'clockStart' | 'parentClock' | 'parentCategory' | 'hasAccountAccess'>): boolean {
  if (record.category === 'user' && record.hasAccountAccess === true) return false;
  const own = cutoffs[record.category];
  if (own !== null && record.clockStart < own) return true;
  if (record.parentClock === undefined || record.parentCategory === undefined) return false;
  const parent = cutoffs[record.parentCategory];
  return parent !== null && record.parentClock < parent;
}

// ---------------------------------------------------------------------------
// Passes and rounds
// ---------------------------------------------------------------------------

/** One index query family of a stage: a category's partitions, or the identifiers'. */
interface Pass {
  readonly partition: RetentionPartition;
  readonly category: Category;
}

function passesOf(stage: Stage): Pass[] {
  const passes: Pass[] = categoriesInStage(stage).map((c) => ({ partition: c, category: c }));
  if (stage === 4) passes.push({ partition: IDENTIFIER_PARTITION, category: 'customer_profile' });
  return passes;
}

/** Whether pass `later` must wait until pass `earlier` is done. */
function dependsOn(later: Pass, earlier: Pass): boolean {
  if (later.partition === IDENTIFIER_PARTITION) return earlier.category === 'customer_profile';
  return DESCENDANTS[later.category].includes(earlier.category);
}

/** A stage's passes grouped into rounds whose members do not depend on each other. */
export function roundsOf(stage: Stage): readonly (readonly Pass[])[] {
  const rounds: Pass[][] = [];
  let current: Pass[] = [];
  for (const pass of passesOf(stage)) {
    if (current.some((member) => dependsOn(pass, member))) {
      rounds.push(current);
      current = [];
    }
    current.push(pass);
  }
  if (current.length > 0) rounds.push(current);
  return rounds;
}

const ROUNDS: Readonly<Record<Stage, readonly (readonly Pass[])[]>> = { 1: roundsOf(1), 2: roundsOf(2), 3: roundsOf(3), 4: roundsOf(4) };

/** How far a query must reach: the latest of the category's cutoff and its parents'. */
function queryCutoff(cutoffs: Cutoffs, pass: Pass): string | null {
  if (pass.partition === IDENTIFIER_PARTITION) return cutoffs.customer_profile;
  let latest: string | null = cutoffs[pass.category];
  for (const parent of KEY_PARENTS[pass.category] ?? []) {
    const c = cutoffs[parent];
    if (c !== null && (latest === null || c > latest)) latest = c;
  }
  return latest;
}

// ---------------------------------------------------------------------------
// Continuation
// ---------------------------------------------------------------------------

/** Per tenant: [pass index within the round, cursor in that pass], or 0 once the round is done for it. */
type TenantPosition = readonly [number, string?] | 0;

/**
 * Where a stage chunk stopped, for every tenant of the group. Plain JSON (the
 * store's cursors inside are compact already), bound to its run and stage.
 */
interface Continuation {
  readonly v: 3;
  readonly run: string;
  readonly s: Stage;
  /** Round index within the stage. */
  readonly r: number;
  readonly t: Readonly<Record<string, TenantPosition>>;
}

function encode(c: Continuation): string {
  return JSON.stringify(c);
}

function decode(token: string | undefined, tenantIds: readonly string[], input: SweepStageInput): Continuation | undefined {
  if (token === undefined) return undefined;
  let parsed: Partial<Continuation> | null;
  try {
    parsed = JSON.parse(token) as Partial<Continuation> | null;
  } catch (error) {
    throw new ValidationError('continuation', 'is not one this stage returned', { cause: error });
  }
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    parsed.v === 3 &&
    parsed.run === input.runId &&
    parsed.s === input.stage &&
    Number.isInteger(parsed.r) &&
    (parsed.r as number) >= 0 &&
    (parsed.r as number) < ROUNDS[input.stage].length &&
    typeof parsed.t === 'object' &&
    parsed.t !== null &&
    Object.values(parsed.t).every(
      (p) => p === 0 || (Array.isArray(p) && Number.isInteger(p[0]) && p[0] >= 0 && (p[1] === undefined || typeof p[1] === 'string')),
    ) &&
    // Every tenant of the chunk must have a position; a tenant the caller dropped since (its stage failed) may remain in it.
    tenantIds.every((id) => Object.hasOwn(parsed.t as object, id));
  if (!valid) throw new ValidationError('continuation', 'is not one this run\'s stage returned for these tenants');
  return parsed as Continuation;
}

// ---------------------------------------------------------------------------
// Per-tenant state of a chunk
// ---------------------------------------------------------------------------

type Fate = 'deleted' | 'kept';

/** The earliest of some categories' cutoffs; null when one of them has none (keeps records indefinitely). */
function earliestCutoff(cutoffs: Cutoffs, categories: readonly Category[]): string | null {
  let earliest: string | null = null;
  for (const c of categories) {
    const cutoff = cutoffs[c];
    if (cutoff === null || cutoff === undefined) return null;
    if (earliest === null || cutoff < earliest) earliest = cutoff;
  }
  return earliest;
}

class TenantChunk {
  readonly tenantId: string;
  readonly cutoffs: Cutoffs;
  readonly isHeld: (target: HoldTarget) => boolean;
  readonly shards: number;
  readonly counts: Partial<Record<Category, CategoryCounts>> = {};
  readonly subjects = new Set<string>();
  readonly failureReasons: string[] = [];
  /** What became of the due profiles seen in this chunk, by partition (for their identifiers). */
  readonly fates = new Map<string, Fate>();
  position: TenantPosition;
  stageError?: string;

  constructor(
    readonly entry: SweepTenant,
    start: TenantPosition,
  ) {
    this.tenantId = entry.tenant.tenantId;
    this.cutoffs = entry.cutoffs;
    this.isHeld = holdMatcher(entry.holds, new Date(entry.runStartedAt));
    this.shards = retentionShardsOf(entry.tenant);
    this.subjectFloor = earliestCutoff(this.cutoffs, DESCENDANTS.customer_profile);
    this.position = start;
  }

  count(category: Category, outcome: Outcome, keptReason?: KeptReason): void {
    countOutcome(this.counts, category, outcome, keptReason);
  }

  /** How the executor judges this tenant's records in the chunk. */
  readonly rules: TenantRules = {
    isHeld: (target) => this.isHeld(target),
    alreadyCounted: (item, root) => ORDER_INDEX[item.category] < ORDER_INDEX[root.category] && isDue(this.cutoffs, item),
  };

  fail(reason: string): void {
    this.failureReasons.push(reason);
  }

  /** Whether a record of one of these categories stayed behind so far in the run (held or failed). */
  leftBehind(categories: readonly Category[]): boolean {
    const of = (counts: Partial<Record<Category, CategoryCounts>> | undefined, c: Category) => (counts?.[c]?.held ?? 0) + (counts?.[c]?.failed ?? 0);
    return categories.some((c) => of(this.entry.runCounts, c) + of(this.counts, c) > 0);
  }

  /** Earliest cutoff among the categories under a profile; null when one of them keeps records indefinitely. */
  readonly subjectFloor: string | null;

  /**
   * Whether a due, unheld parent must be deleted through its partition: its
   * children's going is not proven (see the module comment).
   */
  needsLook(root: DueRecord): boolean {
    const descendants = DESCENDANTS[root.category];
    if (descendants.length === 0) return false;
    if (this.entry.earlierStageFailed === true || this.leftBehind(descendants)) return true;
    if (root.category !== 'customer_profile') return false;
    const floor = this.subjectFloor;
    return !(root.activityTracked === true && (root.activityUntil === undefined || (floor !== null && root.activityUntil < floor)));
  }

  result(stage: Stage): TenantStageResult {
    const categories = categoriesInStage(stage);
    return {
      counts: this.counts,
      cutoffs: Object.fromEntries(categories.map((c) => [c, this.cutoffs[c]])) as Partial<Record<Category, string | null>>,
      subjectsTouched: [...this.subjects],
      failureReasons: this.failureReasons,
      ...(this.stageError !== undefined && { stageError: this.stageError }),
    };
  }
}

/** What one tenant read in one iteration of a round. */
interface Plan {
  readonly tenant: TenantChunk;
  /** Records that go without a look at their partition. */
  readonly direct: DueRecord[];
  /** Parents that go through the deletion path, with their partition. */
  readonly looked: DueRecord[];
  /** Identifier items whose profile decides. */
  readonly identifiers: DueRecord[];
}

interface Planned {
  readonly tenant: TenantChunk;
  readonly record: DueRecord;
}

const keyOf = recordKeyString;

/** Position of a category in the run order, for "was it handled earlier in the run?" checks. */
const ORDER_INDEX: Readonly<Record<Category, number>> = Object.fromEntries(SWEEP_ORDER.map((c, i) => [c, i])) as Record<Category, number>;

// ---------------------------------------------------------------------------
// The stage chunk
// ---------------------------------------------------------------------------

/**
 * Sweeps one chunk of one stage for a group of tenants: round by round, reads
 * each tenant's due index entries, decides, and deletes in shared batches.
 */
export async function sweepStage(
  deps: SweepDeps,
  tenants: readonly SweepTenant[],
  input: SweepStageInput,
  options: SweepStageOptions,
): Promise<SweepStageResult> {
  const rounds = ROUNDS[input.stage];
  const ids = tenants.map((t) => t.tenant.tenantId);
  if (new Set(ids).size !== ids.length) throw new ValidationError('tenantIds', 'names a tenant twice');
  const resumed = decode(input.continuation, ids, input);
  const pageSize = options.pageSize ?? STAGE_PAGE_SIZES[input.stage];
  const concurrency = options.tenantConcurrency ?? DEFAULT_TENANT_CONCURRENCY;
  const closedAt = deps.clock.now().toISOString();

  let round = resumed?.r ?? 0;
  const chunks = tenants.map((t) => new TenantChunk(t, resumed === undefined ? [0] : (resumed.t[t.tenant.tenantId] as TenantPosition)));
  const results = (): Record<string, TenantStageResult> => Object.fromEntries(chunks.map((c) => [c.tenantId, c.result(input.stage)]));
  const pastDeadline = () => deps.clock.now().getTime() >= options.deadline.getTime();
  /** Where every tenant stands (a tenant whose stage failed is done with it), to go on from in the next chunk. */
  const pause = (): SweepStageResult => {
    const t = Object.fromEntries(chunks.map((c) => [c.tenantId, c.stageError === undefined ? c.position : 0]));
    return { done: false, continuation: encode({ v: 3, run: input.runId, s: input.stage, r: round, t }), tenants: results() };
  };

  while (round < rounds.length) {
    const passes = rounds[round] as readonly Pass[];
    const open = () => chunks.filter((c) => c.position !== 0 && c.stageError === undefined);
    while (open().length > 0) {
      const plans: Plan[] = [];
      await forEachLimited(open(), concurrency, async (tenant) => {
        try {
          plans.push(await readRound(deps, tenant, passes, pageSize));
        } catch (error) {
          tenant.stageError = errorName(error);
        }
      });
      try {
        await executePlans(deps, plans, input.dryRun, closedAt, options.deadline);
      } catch (error) {
        // Per-record failures are counted where they happen; anything else fails the stage for
        // the tenants of this iteration, and what was already done stays counted.
        for (const plan of plans) plan.tenant.stageError ??= errorName(error);
      }
      if (open().length > 0 && pastDeadline()) return pause();
    }
    round += 1;
    for (const c of chunks) c.position = [0];
    if (round < rounds.length && pastDeadline()) return pause();
  }
  return { done: true, tenants: results() };
}

/** One tenant's sweep of one stage chunk (a group of one). */
export async function sweepTenant(
  deps: SweepDeps,
  tenant: SweepTenant,
  input: SweepStageInput,
  options: SweepStageOptions,
): Promise<{ readonly done: boolean; readonly continuation?: string } & TenantStageResult> {
  const result = await sweepStage(deps, [tenant], input, options);
  const mine = result.tenants[tenant.tenant.tenantId] as TenantStageResult;
  return { done: result.done, ...(result.continuation !== undefined && { continuation: result.continuation }), ...mine };
}

/** Reads up to `pageSize` due index entries of one tenant from where it stands in the round, and classifies them. */
async function readRound(deps: SweepDeps, tenant: TenantChunk, passes: readonly Pass[], pageSize: number): Promise<Plan> {
  const plan: Plan = { tenant, direct: [], looked: [], identifiers: [] };
  let read = 0;
  while (tenant.position !== 0 && read < pageSize) {
    const [index, cursor] = tenant.position;
    const pass = passes[index];
    if (pass === undefined) {
      tenant.position = 0;
      break;
    }
    const cutoff = queryCutoff(tenant.cutoffs, pass);
    if (cutoff === null) {
      tenant.position = [index + 1];
      continue;
    }
    const page = await deps.records.findDueForDeletion(tenant.tenantId, pass.partition, new Date(cutoff), {
      shards: tenant.shards,
      limit: pageSize - read,
      ...(cursor !== undefined && { cursor }),
    });
    read += page.items.length;
    for (const record of page.items) classify(tenant, pass, record, plan);
    tenant.position = page.cursor === undefined ? [index + 1] : [index, page.cursor];
  }
  if (tenant.position !== 0 && tenant.position[0] >= passes.length) tenant.position = 0;
  return plan;
}

function classify(tenant: TenantChunk, pass: Pass, record: DueRecord, plan: Plan): void {
  if (pass.partition === IDENTIFIER_PARTITION) {
    const cutoff = tenant.cutoffs.customer_profile;
    if (cutoff !== null && record.clockStart < cutoff) plan.identifiers.push(record);
    return;
  }
  if (record.category !== pass.category || !isDue(tenant.cutoffs, record)) return;
  // A held parent stays, but what is due only because it is still goes: through its partition.
  if (tenant.needsLook(record)) {
    plan.looked.push(record);
    return;
  }
  if (tenant.isHeld(record)) {
    tenant.count(record.category, 'held');
    if (record.category === 'customer_profile') tenant.fates.set(record.pk, 'kept');
    return;
  }
  plan.direct.push(record);
}

/** Categories whose clock moves forward with activity: a record read from the index may be stale by the time it goes. */
const MOVING_CLOCKS: ReadonlySet<Category> = new Set(
  CATEGORIES.filter((c) => CATALOG[c].clockStartsAt === 'last_customer_contact' || CATALOG[c].clockStartsAt === 'last_sign_in'),
);

/**
 * Sends one iteration's deletions: identifiers resolved against their
 * profiles, records whose clock moves read again and decided again, then one
 * execution for every tenant together — the direct records, the identifiers
 * whose profile is gone, and the parents that go through their partition.
 */
async function executePlans(deps: SweepDeps, plans: readonly Plan[], dryRun: boolean, closedAt: string, deadline: Date): Promise<void> {
  const [identifiers, current] = await Promise.all([resolveIdentifiers(deps, plans, dryRun), dryRun ? plans : rereadMovingClocks(deps, plans)]);
  const chunkOf = new Map(current.map((p) => [p.tenant.tenantId, p.tenant]));
  const roots: DeletionRoot[] = [
    ...current.flatMap((p) => p.direct.map((record) => ({ tenant: p.tenant.entry.tenant, record, expand: false }))),
    ...identifiers.map(({ tenant, record }) => ({ tenant: tenant.entry.tenant, record, expand: false })),
    ...current.flatMap((p) => p.looked.map((record) => ({ tenant: p.tenant.entry.tenant, record, expand: true }))),
  ];
  if (roots.length === 0) return;
  for (const { tenant } of identifiers) chunkOf.set(tenant.tenantId, tenant);
  const result = await executeDeletion(deps, {
    roots,
    rules: (tenantId) => (chunkOf.get(tenantId) as TenantChunk).rules,
    dryRun,
    deadline,
    identifiers: 'leave',
    readPastDeadline: true,
  });
  for (const [tenantId, error] of result.readErrors) (chunkOf.get(tenantId) as TenantChunk).stageError ??= error;
  for (const item of result.items.values()) {
    const tenant = chunkOf.get(item.tenantId) as TenantChunk;
    tenant.count(item.record.category, item.outcome, item.keptReason);
    if (item.outcome === 'deleted' && item.record.subjectId !== undefined) tenant.subjects.add(item.record.subjectId);
    if (isProfileItem(item.record)) tenant.fates.set(item.record.pk, item.outcome === 'deleted' ? 'deleted' : 'kept');
  }
  for (const [tenantId, report] of result.tenants) for (const reason of report.failureReasons) (chunkOf.get(tenantId) as TenantChunk).fail(reason);
  if (dryRun) return;
  // An open conversation past retention that could not be deleted is closed now, and retried by the next run.
  const stayingOpen = [...result.items.values()].filter((i) => (i.outcome === 'failed' || i.outcome === 'kept') && i.record.status === 'open');
  await forEachLimited(stayingOpen, 16, async ({ tenantId, record }) => {
    try {
      await deps.records.update(record, { set: { status: 'closed', closedReason: 'retention', closedAt } }, { equals: { status: 'open' } });
    } catch (error) {
      (chunkOf.get(tenantId) as TenantChunk).fail(`close:${errorName(error)}`);
    }
  });
}

const isProfileItem = (r: DueRecord): boolean => r.category === 'customer_profile' && r.sk === keys.profileSk();

/**
 * Profiles and users read again (strongly consistent, in batches) just before
 * anything of them goes, whether directly or through their partition: a
 * customer who came back, or a user who signed in, since the index entry was
 * read (or within the index's replication lag) is no longer due. Each one is
 * decided again on what is stored now; one gone already is left out.
 */
async function rereadMovingClocks(deps: SweepDeps, plans: readonly Plan[]): Promise<Plan[]> {
  const moving = plans.flatMap((p) => [...p.direct, ...p.looked].filter((r) => MOVING_CLOCKS.has(r.category)).map((record) => ({ tenant: p.tenant, record })));
  if (moving.length === 0) return [...plans];
  let stored: Map<string, DueRecord>;
  try {
    stored = new Map((await deps.records.getBatch(moving.map((m) => ({ pk: m.record.pk, sk: m.record.sk })))).map((i) => [keyOf(i), i]));
  } catch (error) {
    // Not known to be due any more: counted failed (the next run tries again), never deleted unread.
    for (const { tenant, record } of moving) {
      tenant.count(record.category, 'failed');
      tenant.fail(`dynamodb:${errorName(error)}`);
      if (record.category === 'customer_profile') tenant.fates.set(record.pk, 'kept');
    }
    return plans.map((p) => ({ ...p, direct: p.direct.filter((r) => !MOVING_CLOCKS.has(r.category)), looked: p.looked.filter((r) => !MOVING_CLOCKS.has(r.category)) }));
  }
  return plans.map((plan) => {
    const { tenant } = plan;
    const direct = plan.direct.filter((r) => !MOVING_CLOCKS.has(r.category));
    const looked = plan.looked.filter((r) => !MOVING_CLOCKS.has(r.category));
    for (const record of [...plan.direct, ...plan.looked].filter((r) => MOVING_CLOCKS.has(r.category))) {
      const now = stored.get(keyOf(record));
      if (now === undefined) {
        // Gone already (another run, an erasure): nothing to delete, nothing to count.
        if (record.category === 'customer_profile') tenant.fates.set(record.pk, 'deleted');
        continue;
      }
      if (!isDue(tenant.cutoffs, now)) {
        if (now.category === 'customer_profile') tenant.fates.set(now.pk, 'kept');
        continue;
      }
      // The same decision as `classify`, on the stored item: its watermark may have moved too.
      if (tenant.needsLook(now)) looked.push(now);
      else if (tenant.isHeld(now)) {
        tenant.count(now.category, 'held');
        if (now.category === 'customer_profile') tenant.fates.set(now.pk, 'kept');
      } else direct.push(now);
    }
    return { ...plan, direct, looked };
  });
}

/**
 * Decides, for each due identifier item, whether its profile is gone (then it
 * goes too) or stays (then it stays). A real run reads the profiles (strongly
 * consistent) just before: a customer who came back keeps their identifiers.
 * A dry run goes by what its profile round decided (or would have).
 */
async function resolveIdentifiers(deps: SweepDeps, plans: readonly Plan[], dryRun: boolean): Promise<Planned[]> {
  const out: Planned[] = [];
  const open: Planned[] = [];
  for (const { tenant, identifiers } of plans) {
    for (const record of identifiers) {
      if (tenant.isHeld(record)) {
        tenant.count('customer_profile', 'held');
        continue;
      }
      const fate = dryRun ? tenant.fates.get(record.pk) : undefined;
      if (fate === 'deleted') out.push({ tenant, record });
      else if (fate === 'kept') tenant.count('customer_profile', 'kept', 'profile_kept');
      else open.push({ tenant, record });
    }
  }
  if (open.length === 0) return out;
  const profileKeys = [...new Map(open.map((u) => [u.record.pk, { pk: u.record.pk, sk: keys.profileSk() }])).values()];
  let profiles: Map<string, DueRecord>;
  try {
    profiles = new Map((await deps.records.getBatch(profileKeys)).map((p) => [p.pk, p]));
  } catch (error) {
    // Whether their profiles are gone is unknown: the identifiers stay, and the stage failed for those tenants.
    for (const u of open) u.tenant.stageError ??= errorName(error);
    return out;
  }
  for (const u of open) {
    const profile = profiles.get(u.record.pk);
    // In a real run the profiles' round is over: a profile still there stays for this run.
    let fate: Fate = profile === undefined ? 'deleted' : 'kept';
    if (profile !== undefined && dryRun) {
      try {
        fate = u.tenant.fates.get(u.record.pk) ?? (await dryRunFate(deps, u.tenant, profile));
      } catch (error) {
        u.tenant.stageError ??= errorName(error);
        continue;
      }
    }
    u.tenant.fates.set(u.record.pk, fate);
    if (fate === 'deleted') out.push(u);
    else u.tenant.count('customer_profile', 'kept', 'profile_kept');
  }
  return out;
}

/** What a dry run's profile round decided (or would have) for a profile seen again in a later chunk. */
async function dryRunFate(deps: SweepDeps, tenant: TenantChunk, profile: DueRecord): Promise<Fate> {
  if (!isDue(tenant.cutoffs, profile) || tenant.isHeld(profile)) return 'kept';
  if (!tenant.needsLook(profile)) return 'deleted';
  const result = await executeDeletion(deps, {
    roots: [{ tenant: tenant.entry.tenant, record: profile, expand: true }],
    rules: () => tenant.rules,
    dryRun: true,
    deadline: deps.clock.now(),
    identifiers: 'leave',
  });
  return result.items.get(keyOf(profile))?.outcome === 'deleted' ? 'deleted' : 'kept';
}
