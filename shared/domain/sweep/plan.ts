/**
 * How a stage chunk plans its deletions: the stage's passes grouped into
 * rounds, each tenant's state in the chunk (`TenantChunk`), and one
 * iteration's read of the due index entries, classified (`readRound`).
 */
import { categoriesInStage, SWEEP_ORDER, type Category, type Stage } from '../catalog.js';
import { countOutcome, type Outcome } from '../deletion/counts.js';
import type { DeletionDeps, TenantRules } from '../deletion/executor.js';
import { holdMatcher, type HoldTarget, type LegalHold } from '../holds.js';
import type { CategoryCounts, KeptReason } from '../receipt.js';
import type { Tenant } from '../tenant.js';
import { IDENTIFIER_PARTITION, retentionShardsOf, type DueRecord, type RetentionPartition } from '../records.js';
import { DESCENDANTS, isDue, KEY_PARENTS, pastCap, V1_RULES, type Cutoffs, type SweepRules } from './cutoffs.js';
import { noneBefore, type Watermark } from './watermarks.js';

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
  /** The run's rules besides its cutoffs (`sweepRules`); default: policy v1's. */
  readonly rules?: SweepRules;
  /** The stage's retention watermarks, read by the run already (`readStageWatermarks`); absent: the chunk reads them. */
  readonly watermarks?: ReadonlyMap<RetentionPartition, readonly (Watermark | undefined)[]>;
}

/** What one chunk did for one tenant. */
export interface TenantStageResult {
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  readonly cutoffs: Partial<Record<Category, string | null>>;
  readonly subjectsTouched: string[];
  readonly failureReasons: string[];
  /** Subject keys destroyed in the chunk (crypto-shredding). */
  readonly subjectKeysShredded?: number;
  /** Deletion events of the chunk that could not be published. */
  readonly eventsUnpublished?: number;
  /** Set when the stage failed for this tenant (an error name); the rest of its stage was skipped. */
  readonly stageError?: string;
  /** Customer profiles alone (their identifier items count under `customer_profile` too): customers, counted as customers. */
  readonly profiles?: CategoryCounts;
}

// ---------------------------------------------------------------------------
// Passes and rounds
// ---------------------------------------------------------------------------

/** One index query family of a stage: a category's partitions, or the identifiers'. */
export interface Pass {
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

export const ROUNDS: Readonly<Record<Stage, readonly (readonly Pass[])[]>> = { 1: roundsOf(1), 2: roundsOf(2), 3: roundsOf(3), 4: roundsOf(4) };

/** How far a query must reach: the latest of the category's cutoff and its parents'. */
export function queryCutoff(cutoffs: Cutoffs, pass: Pass): string | null {
  if (pass.partition === IDENTIFIER_PARTITION) return cutoffs.customer_profile;
  let latest: string | null = cutoffs[pass.category];
  for (const parent of KEY_PARENTS[pass.category] ?? []) {
    const c = cutoffs[parent];
    if (c !== null && (latest === null || c > latest)) latest = c;
  }
  return latest;
}

/** Per tenant: [pass index within the round, cursor in that pass], or 0 once the round is done for it. */
export type TenantPosition = readonly [number, string?] | 0;

// ---------------------------------------------------------------------------
// Per-tenant state of a chunk
// ---------------------------------------------------------------------------

export type Fate = 'deleted' | 'kept';

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

export class TenantChunk {
  readonly tenantId: string;
  readonly cutoffs: Cutoffs;
  readonly sweepRules: SweepRules;
  /** Whether a hold keeps the record: one covers it, and (where holds may not pass the cap) it is inside its cap. */
  readonly isHeld: (target: HoldTarget) => boolean;
  /** Whether a hold covers the record, cap or not (to tell a deletion at the cap over a hold). */
  readonly holdCovers: (target: HoldTarget) => boolean;
  /** Profile items' outcomes (customers, without their identifiers). */
  readonly profiles: Partial<Record<'customer_profile', CategoryCounts>> = {};
  readonly shards: number;
  readonly counts: Partial<Record<Category, CategoryCounts>> = {};
  readonly subjects = new Set<string>();
  readonly failureReasons: string[] = [];
  subjectKeysShredded = 0;
  eventsUnpublished = 0;
  /** What became of the due profiles seen in this chunk, by partition (for their identifiers). */
  readonly fates = new Map<string, Fate>();
  position: TenantPosition;
  stageError?: string;
  /** Retention watermarks of the stage's partitions, one per shard (absent: not read, every pass queries). */
  watermarks?: ReadonlyMap<RetentionPartition, readonly (Watermark | undefined)[]>;
  /** Passes skipped because their watermarks show nothing before the cutoff. */
  skippedPasses = 0;
  /** Passes this chunk queried to the end, whose watermarks the sweep then flags or raises. */
  readonly queriedPasses: Pass[] = [];

  constructor(
    readonly entry: SweepTenant,
    start: TenantPosition,
  ) {
    this.tenantId = entry.tenant.tenantId;
    this.cutoffs = entry.cutoffs;
    this.sweepRules = entry.rules ?? V1_RULES;
    const covers = holdMatcher(entry.holds, new Date(entry.runStartedAt));
    const rules = this.sweepRules;
    this.holdCovers = covers;
    this.isHeld = rules.capCutoffs === undefined ? covers : (target) => covers(target) && !pastCap(rules, target);
    this.shards = retentionShardsOf(entry.tenant);
    this.subjectFloor = earliestCutoff(this.cutoffs, DESCENDANTS.customer_profile);
    this.position = start;
    if (entry.watermarks !== undefined) this.watermarks = entry.watermarks;
  }

  count(category: Category, outcome: Outcome, keptReason?: KeptReason): void {
    countOutcome(this.counts, category, outcome, keptReason);
  }

  /** Counts a profile item (a customer) beside its category's count. */
  countProfile(outcome: Outcome, keptReason?: KeptReason): void {
    countOutcome(this.profiles, 'customer_profile', outcome, keptReason);
  }

  /** Notes a deleted record of the category that went at its cap although a hold covers it. */
  noteDeletedOverHold(category: Category): void {
    const c = this.counts[category];
    if (c === undefined) return;
    const reasons = (c.deletedReasons ??= {});
    reasons.cap_over_hold = (reasons.cap_over_hold ?? 0) + 1;
  }

  /** Whether a record the run deletes went at its cap although a hold covers it (`holds.beyondCap: false`). */
  deletedOverHold(record: DueRecord): boolean {
    return this.sweepRules.capCutoffs !== undefined && this.holdCovers(record) && pastCap(this.sweepRules, record);
  }

  /** Whether the record is due under this run's cutoffs and rules. */
  isDue(record: Pick<DueRecord, 'category' | 'clockStart' | 'parentClock' | 'parentCategory' | 'hasAccountAccess'>): boolean {
    return isDue(this.cutoffs, record, this.sweepRules);
  }

  /** How the executor judges this tenant's records in the chunk. */
  readonly rules: TenantRules = {
    isHeld: (target) => this.isHeld(target),
    alreadyCounted: (item, root) => ORDER_INDEX[item.category] < ORDER_INDEX[root.category] && this.isDue(item),
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
      ...(this.subjectKeysShredded > 0 && { subjectKeysShredded: this.subjectKeysShredded }),
      ...(this.eventsUnpublished > 0 && { eventsUnpublished: this.eventsUnpublished }),
      ...(this.stageError !== undefined && { stageError: this.stageError }),
      ...(this.profiles.customer_profile !== undefined && { profiles: this.profiles.customer_profile }),
    };
  }
}

/** What one tenant read in one iteration of a round. */
export interface Plan {
  readonly tenant: TenantChunk;
  /** Records that go without a look at their partition. */
  readonly direct: DueRecord[];
  /** Parents that go through the deletion path, with their partition. */
  readonly looked: DueRecord[];
  /** Identifier items whose profile decides. */
  readonly identifiers: DueRecord[];
}

/** Position of a category in the run order, for "was it handled earlier in the run?" checks. */
const ORDER_INDEX: Readonly<Record<Category, number>> = Object.fromEntries(SWEEP_ORDER.map((c, i) => [c, i])) as Record<Category, number>;

/** Reads up to `pageSize` due index entries of one tenant from where it stands in the round, and classifies them. */
export async function readRound(deps: Pick<DeletionDeps, 'records'>, tenant: TenantChunk, passes: readonly Pass[], pageSize: number): Promise<Plan> {
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
    // Nothing stored in the partition can be before the cutoff (see watermarks.ts): the query, or the rest of it, would find nothing.
    const marks = tenant.watermarks?.get(pass.partition);
    if (marks !== undefined && noneBefore(marks, cutoff)) {
      tenant.skippedPasses += 1;
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
    if (page.cursor === undefined) tenant.queriedPasses.push(pass);
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
  if (record.category !== pass.category || !tenant.isDue(record)) return;
  // A held parent stays, but what is due only because it is still goes: through its partition.
  if (tenant.needsLook(record)) {
    plan.looked.push(record);
    return;
  }
  if (tenant.isHeld(record)) {
    tenant.count(record.category, 'held');
    if (record.category === 'customer_profile') {
      tenant.fates.set(record.pk, 'kept');
      tenant.countProfile('held');
    }
    return;
  }
  plan.direct.push(record);
}
