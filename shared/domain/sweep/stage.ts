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
import { CATALOG, CATEGORIES, type Category, type Stage } from '../catalog.js';
import { forEachLimited } from '../deletion/counts.js';
import { errorName, executeDeletion, type DeletionDeps, type DeletionRoot } from '../deletion/executor.js';
import { ValidationError } from '../errors.js';
import type { Clock } from '../ports.js';
import { keys, recordKeyString, type DueRecord } from '../records.js';
import { decode, encode } from './continuation.js';
import { CONTACT_CATEGORIES } from './cutoffs.js';
import { loadWatermarks, upkeepWatermarks } from './watermark-upkeep.js';
import { readRound, ROUNDS, TenantChunk, type Fate, type Pass, type Plan, type SweepTenant, type TenantPosition, type TenantStageResult } from './plan.js';

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

export interface SweepStageResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly tenants: Readonly<Record<string, TenantStageResult>>;
}

interface Planned {
  readonly tenant: TenantChunk;
  readonly record: DueRecord;
}

const keyOf = recordKeyString;

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

  const watermarks = deps.watermarks;
  if (watermarks !== undefined && chunks.some((c) => c.watermarks === undefined)) await loadWatermarks(watermarks, chunks, input.stage);
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
        await executePlans(deps, plans, input.dryRun, closedAt, options.deadline, input.runId);
      } catch (error) {
        // Per-record failures are counted where they happen; anything else fails the stage for
        // the tenants of this iteration, and what was already done stays counted.
        for (const plan of plans) plan.tenant.stageError ??= errorName(error);
      }
      // Dry runs write nothing but their receipts.
      if (watermarks !== undefined && !input.dryRun) await upkeepWatermarks({ records: deps.records, watermarks }, plans.map((p) => p.tenant), deps.clock.now());
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
async function executePlans(deps: SweepDeps, plans: readonly Plan[], dryRun: boolean, closedAt: string, deadline: Date, runId: string): Promise<void> {
  const [identifiers, reread] = await Promise.all([resolveIdentifiers(deps, plans, dryRun), dryRun ? plans : rereadMovingClocks(deps, plans)]);
  const current = await confirmSubjectClocks(deps, reread);
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
    origin: { kind: 'sweep', runId },
  });
  for (const [tenantId, error] of result.readErrors) (chunkOf.get(tenantId) as TenantChunk).stageError ??= error;
  for (const item of result.items.values()) {
    const tenant = chunkOf.get(item.tenantId) as TenantChunk;
    tenant.count(item.record.category, item.outcome, item.keptReason);
    if (item.outcome === 'deleted' && tenant.deletedOverHold(item.record)) tenant.noteDeletedOverHold(item.record.category);
    if (item.outcome === 'deleted' && item.record.subjectId !== undefined) tenant.subjects.add(item.record.subjectId);
    if (isProfileItem(item.record)) {
      tenant.fates.set(item.record.pk, item.outcome === 'deleted' ? 'deleted' : 'kept');
      tenant.countProfile(item.outcome, item.keptReason);
    }
  }
  for (const [tenantId, report] of result.tenants) {
    const tenant = chunkOf.get(tenantId) as TenantChunk;
    for (const reason of report.failureReasons) tenant.fail(reason);
    tenant.subjectKeysShredded += report.subjectKeysShredded ?? 0;
    tenant.eventsUnpublished += report.eventsUnpublished ?? 0;
  }
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
      if (record.category === 'customer_profile') {
        tenant.fates.set(record.pk, 'kept');
        tenant.countProfile('failed');
      }
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
      if (!tenant.isDue(now)) {
        if (now.category === 'customer_profile') tenant.fates.set(now.pk, 'kept');
        continue;
      }
      // The same decision as `classify`, on the stored item: its watermark may have moved too.
      if (tenant.needsLook(now)) looked.push(now);
      else if (tenant.isHeld(now)) {
        tenant.count(now.category, 'held');
        if (now.category === 'customer_profile') {
          tenant.fates.set(now.pk, 'kept');
          tenant.countProfile('held');
        }
      } else direct.push(now);
    }
    return { ...plan, direct, looked };
  });
}

/**
 * Under a subject clock a customer goes whole once her last contact is past
 * the cutoff. The profile's clock is the last contact the platform reported;
 * a contact record stored under her with a later clock (a conversation, call,
 * form submission or web session the platform has not reported on the
 * profile yet) is a contact too, and keeps her. Her activity watermark proves
 * most due profiles have none; the others' partitions are read (one query
 * each) before anything of them goes. A read that fails keeps the customer
 * (counted failed) for the next run.
 */
async function confirmSubjectClocks(deps: SweepDeps, plans: readonly Plan[]): Promise<Plan[]> {
  return Promise.all(
    plans.map(async (plan) => {
      const { tenant } = plan;
      const toCheck = [...plan.direct, ...plan.looked].filter((r) => needsContactCheck(tenant, r));
      if (toCheck.length === 0) return plan;
      const stays = new Set<string>();
      await forEachLimited(toCheck, 8, async (profile) => {
        try {
          if (await hasLaterContact(deps, tenant, profile)) {
            stays.add(profile.pk);
            tenant.fates.set(profile.pk, 'kept');
          }
        } catch (error) {
          stays.add(profile.pk);
          tenant.fates.set(profile.pk, 'kept');
          tenant.count('customer_profile', 'failed');
          tenant.countProfile('failed');
          tenant.fail(`dynamodb:${errorName(error)}`);
        }
      });
      if (stays.size === 0) return plan;
      const keep = (r: DueRecord) => !(isProfileItem(r) && stays.has(r.pk));
      return { ...plan, direct: plan.direct.filter(keep), looked: plan.looked.filter(keep) };
    }),
  );
}

/** Whether a due profile's partition must be read for a contact later than its last contact (its watermark does not rule one out). */
function needsContactCheck(tenant: TenantChunk, r: DueRecord): boolean {
  const cutoff = tenant.cutoffs.customer_profile;
  if (!tenant.sweepRules.subjectClock || tenant.sweepRules.accountEnded !== undefined || cutoff === null || !isProfileItem(r)) return false;
  return !(r.activityTracked === true && (r.activityUntil === undefined || r.activityUntil < cutoff));
}

/** Whether a contact record under the profile started at or after the subject cutoff (then the customer stays). */
async function hasLaterContact(deps: SweepDeps, tenant: TenantChunk, profile: DueRecord): Promise<boolean> {
  const cutoff = tenant.cutoffs.customer_profile as string;
  const items = await deps.records.findByPartition(profile.pk, { includeExpired: true });
  return items.some((i) => CONTACT_CATEGORIES.has(i.category) && i.clockStart >= cutoff);
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
  if (!tenant.isDue(profile) || tenant.isHeld(profile)) return 'kept';
  if (needsContactCheck(tenant, profile) && (await hasLaterContact(deps, tenant, profile))) return 'kept';
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
