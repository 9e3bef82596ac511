/**
 * The scheduled retention sweep of one tenant, one stage at a time. Each call
 * works until its time budget runs out and returns a continuation; the
 * orchestrator calls again until `done`. Cutoffs are fixed by the run's start
 * instant, so every chunk of a run applies the same policy.
 */
import { CATALOG, categoriesInStage, type Category, type Stage } from './catalog.js';
import { addCounts, deleteRecords, ORDER_INDEX, type DeletionDeps } from './deletion.js';
import { holdMatcher, isHoldActive, type LegalHold } from './holds.js';
import { cutoffFor, graceMs, periodMs, effectivePeriod, type PlatformPolicy, type TenantPolicy } from './policy.js';
import type { CategoryCounts, Clock, Tenant } from './ports.js';
import type { DueRecord } from './records.js';

const DAY_MS = 86_400_000;

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

export interface SweepStageInput {
  readonly runId: string;
  readonly stage: Stage;
  readonly dryRun: boolean;
  /** The run's start instant; all cutoffs of the run derive from it. */
  readonly runStartedAt: string;
  readonly continuation?: string;
}

export interface SweepStageOptions {
  /** Stop starting new pages after this instant. */
  readonly deadline: Date;
  /** Counts of the run's earlier chunks (the receipt so far). */
  readonly runCounts?: Partial<Record<Category, CategoryCounts>>;
  /** Whether an earlier stage of the run failed (then every parent's children are looked up). */
  readonly earlierStageFailed?: boolean;
  /** Due records fetched per page, over all shards (default 2000). */
  readonly pageSize?: number;
}

export interface SweepStageResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  readonly cutoffs: Partial<Record<Category, string | null>>;
  readonly subjectsTouched: string[];
  readonly failureReasons: string[];
}

interface Continuation {
  /** Index of the category within the stage. */
  readonly c: number;
  /** Cursor inside that category's due records. */
  readonly k?: string;
}

function encode(c: Continuation): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decode(token: string | undefined): Continuation {
  if (token === undefined) return { c: 0 };
  const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Continuation;
  if (typeof parsed.c !== 'number' || parsed.c < 0) throw new Error('invalid continuation');
  return parsed;
}

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
  for (const stage of [1, 2, 3, 4] as const) {
    for (const category of categoriesInStage(stage)) {
      out[category] = sweepCutoff(ctx, category, now)?.toISOString() ?? null;
    }
  }
  return out;
}

/** Whether a record is past its own category's cutoff. */
function dueByOwnClock(cutoffs: Readonly<Record<Category, string | null>>, record: DueRecord): boolean {
  const cutoff = cutoffs[record.category];
  return cutoff !== null && record.clockStart < cutoff;
}

/** Users go only once they have no account access any more. */
function eligible(record: DueRecord): boolean {
  return record.category !== 'user' || record.hasAccountAccess !== true;
}

/**
 * Sweeps one stage of one tenant run: for each category of the stage, pages
 * through records past the cutoff on every shard and deletes them (with what
 * cascades from them) through the shared deletion path.
 */
export async function sweepStage(
  deps: SweepDeps,
  ctx: TenantRunContext,
  input: SweepStageInput,
  options: SweepStageOptions,
): Promise<SweepStageResult> {
  const now = new Date(input.runStartedAt);
  const cutoffs = runCutoffs(ctx, now);
  const categories = categoriesInStage(input.stage);
  const isHeld = holdMatcher(ctx.holds, now);
  const counts: Partial<Record<Category, CategoryCounts>> = {};
  const subjects = new Set<string>();
  const failureReasons: string[] = [];
  const pageSize = options.pageSize ?? 2000;

  const childrenGone = childrenGoneRule(ctx, cutoffs, now, {
    counts: () => addCounts(structuredClone(options.runCounts ?? {}) as Partial<Record<Category, CategoryCounts>>, counts),
    earlierStageFailed: options.earlierStageFailed === true,
  });

  // Blob records (stage 1) have no descendants: their roots are gathered across
  // categories and pages, so each bucket gets few, full DeleteObjects requests.
  const gatherAcrossCategories = input.stage === 1;
  let gathered: DueRecord[] = [];
  const remove = async (roots: DueRecord[], category: Category) => {
    if (roots.length === 0) return;
    const report = await deleteRecords(deps, {
      tenant: ctx.tenant,
      roots,
      isHeld,
      dryRun: input.dryRun,
      closedAt: input.runStartedAt,
      alreadyCounted: (item, ancestors) =>
        [item, ...ancestors].some((x) => ORDER_INDEX[x.category] < ORDER_INDEX[category] && dueByOwnClock(cutoffs, x)),
      childrenGone,
    });
    addCounts(counts, report.counts);
    for (const s of report.subjectsTouched) subjects.add(s);
    failureReasons.push(...report.failureReasons);
  };
  const flush = async () => {
    const roots = gathered;
    gathered = [];
    await remove(roots, categories[0] as Category);
  };
  const result = (done: boolean, position?: Continuation): SweepStageResult => ({
    done,
    ...(position === undefined ? {} : { continuation: encode(position) }),
    counts,
    cutoffs: pick(cutoffs, categories),
    subjectsTouched: [...subjects],
    failureReasons,
  });

  let position = decode(input.continuation);
  while (position.c < categories.length) {
    const category = categories[position.c] as Category;
    const cutoffIso = cutoffs[category];
    if (cutoffIso === null) {
      position = { c: position.c + 1 };
      continue;
    }
    const page = await deps.records.findDueForDeletion(ctx.tenant.tenantId, category, new Date(cutoffIso), {
      cursor: position.k,
      limit: pageSize,
    });
    const roots = page.items.filter(eligible);
    if (gatherAcrossCategories) {
      gathered.push(...roots);
      if (gathered.length >= pageSize) await flush();
    } else {
      await remove(roots, category);
    }
    position = page.cursor === undefined ? { c: position.c + 1 } : { c: position.c, k: page.cursor };
    if (position.c < categories.length && deps.clock.now().getTime() >= options.deadline.getTime()) {
      // Everything read so far is dealt with before the continuation moves past it.
      await flush();
      return result(false, position);
    }
  }
  await flush();
  return result(true);
}

/**
 * When a due parent's children are provably gone, so the cascade needs no
 * partition query: every child category shares the parent's clock and has a
 * period no longer than the parent's (so each child was due, and handled,
 * earlier in this run), no active hold is scoped to a child category, no child
 * was held or failed so far in the run, and no earlier stage failed. A child
 * ingested during the run, after its own pass, is left for the next run.
 */
function childrenGoneRule(
  ctx: TenantRunContext,
  cutoffs: Readonly<Record<Category, string | null>>,
  now: Date,
  run: { readonly counts: () => Partial<Record<Category, CategoryCounts>>; readonly earlierStageFailed: boolean },
): (root: DueRecord) => boolean {
  if (run.earlierStageFailed) return () => false;
  const heldCategories = new Set(ctx.holds.filter((h) => isHoldActive(h, now) && h.scope.category !== undefined).map((h) => h.scope.category));
  const staticallySafe = new Map<Category, boolean>();
  for (const parent of ['call', 'conversation', 'whatsapp_conversation'] as const) {
    const parentCutoff = cutoffs[parent];
    staticallySafe.set(
      parent,
      parentCutoff !== null &&
        CATALOG[parent].cascadesTo.every((child) => {
          const childCutoff = cutoffs[child];
          return (
            CATALOG[child].clockStartsAt === CATALOG[parent].clockStartsAt &&
            childCutoff !== null &&
            childCutoff >= parentCutoff &&
            !heldCategories.has(child)
          );
        }),
    );
  }
  return (root) => {
    if (staticallySafe.get(root.category) !== true) return false;
    const counts = run.counts();
    return CATALOG[root.category].cascadesTo.every((child) => (counts[child]?.held ?? 0) === 0 && (counts[child]?.failed ?? 0) === 0);
  };
}

function pick<T>(record: Readonly<Record<Category, T>>, categories: readonly Category[]): Partial<Record<Category, T>> {
  return Object.fromEntries(categories.map((c) => [c, record[c]])) as Partial<Record<Category, T>>;
}
