/**
 * Applying and releasing a legal hold on the stored records, a chunk at a
 * time: the `Hold` workflow calls `holdStep` until it says done, so a hold
 * over a whole tenant never runs inside an API request.
 *
 * Applying takes the TTL backstop (`expiresAt`) off every record in the
 * hold's scope and off their ancestors (a held record keeps its parents, so
 * DynamoDB's TTL must not take them either), and sets an Object Lock legal
 * hold on their blobs. Releasing restamps what no other active hold still
 * keeps and clears the blob holds. Sweeps and manual deletes honour a hold
 * from the moment it is stored, whatever this work's progress. Where the
 * profile lets no hold keep data past its cap (`holds.beyondCap: false`), a
 * capped record keeps its backstop and its blob is not locked: it goes at its
 * cap whatever the hold (`holdLiftsBackstop`).
 */
import { CATEGORIES, type Category } from './catalog.js';
import { forEachLimited } from './deletion/counts.js';
import { NotFoundError } from './errors.js';
import { holdCovers, type HoldScope, type HoldWorkCounts, type LegalHold } from './holds.js';
import { backstopExpiresAt, holdLiftsBackstop, type PlatformPolicy } from './policy.js';
import type { BlobStore, Clock, ControlStore, HoldWorkStarter, RecordStore } from './ports.js';
import { makeEvent, publishEvents, type EventPublisher } from './events.js';
import {
  ancestorSks,
  IDENTIFIER_PARTITION,
  isIdentifierSk,
  keys,
  retentionShardsOf,
  type DueRecord,
  type RecordItem,
  type RetentionPartition,
} from './records.js';
import type { Tenant } from './tenant.js';

/** Later than any clock start: `findDueForDeletion` with it lists every record of a partition family. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');
/** Index entries read per page of a category or tenant hold. */
const PAGE = 1000;
const CONCURRENCY = 16;

export interface HoldWorkDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly control: ControlStore;
  readonly clock: Clock;
  readonly platform: PlatformPolicy;
}

/** Where the work on a hold stands between chunks. */
export interface HoldProgress {
  /** Index of the partition family being listed (category and tenant holds). */
  readonly pass: number;
  readonly cursor?: string;
  readonly counts: HoldWorkCounts;
}

const NO_COUNTS: HoldWorkCounts = { records: 0, blobHolds: 0, blobHoldsUnsupported: 0 };

function add(a: HoldWorkCounts, b: HoldWorkCounts): HoldWorkCounts {
  return { records: a.records + b.records, blobHolds: a.blobHolds + b.blobHolds, blobHoldsUnsupported: a.blobHoldsUnsupported + b.blobHoldsUnsupported };
}

/**
 * The `sk`s a set of holds keeps in one customer partition: the records they
 * cover and every ancestor of those (parents, the profile), and the profile's
 * identifiers with it — the deletion executor's ancestor rule.
 */
export function keptIn(items: readonly RecordItem[], covered: (item: RecordItem) => boolean): Set<string> {
  const present = new Set(items.map((i) => i.sk));
  const kept = new Set<string>();
  for (const item of items) {
    if (!covered(item)) continue;
    kept.add(item.sk);
    for (const sk of ancestorSks(item.sk)) if (present.has(sk)) kept.add(sk);
  }
  if (kept.has(keys.profileSk())) for (const item of items) if (isIdentifierSk(item.sk)) kept.add(item.sk);
  return kept;
}

/** The partition families a category or tenant hold is listed through; none for a customer, conversation or call hold. */
function passesOf(scope: HoldScope): RetentionPartition[] {
  if (scope.customerId !== undefined || scope.conversationId !== undefined || scope.callId !== undefined) return [];
  const categories: readonly Category[] = scope.category !== undefined ? [scope.category] : CATEGORIES;
  return categories.includes('customer_profile') ? [...categories, IDENTIFIER_PARTITION] : [...categories];
}

function isSubjectPartition(tenantId: string, pk: string): boolean {
  return pk.startsWith(keys.subjectPk(tenantId, ''));
}

/** One chunk's records: whole customer partitions, and records outside any customer (no ancestors to keep). */
interface Found {
  readonly partitions: Map<string, RecordItem[]>;
  readonly loose: DueRecord[];
}

async function readPartitions(records: RecordStore, pks: Iterable<string>): Promise<Map<string, RecordItem[]>> {
  const partitions = new Map<string, RecordItem[]>();
  await forEachLimited([...pks], CONCURRENCY, async (pk) => {
    const items = await records.findByPartition(pk, { includeExpired: true });
    if (items.length > 0) partitions.set(pk, items);
  });
  return partitions;
}

/** The partitions a customer, conversation or call hold reaches, through the narrowest access pattern. */
async function narrowScope(records: RecordStore, tenantId: string, scope: HoldScope): Promise<Found> {
  let subjects: string[];
  if (scope.customerId !== undefined) subjects = [scope.customerId];
  else if (scope.conversationId !== undefined) subjects = await records.findByIdentifier(tenantId, 'CONVERSATION', scope.conversationId);
  else subjects = await records.findByIdentifier(tenantId, 'CALL', scope.callId as string);
  return { partitions: await readPartitions(records, subjects.map((s) => keys.subjectPk(tenantId, s))), loose: [] };
}

type Work = (found: Found) => Promise<HoldWorkCounts>;

function applyWork(deps: HoldWorkDeps, hold: LegalHold): Work {
  // Where no hold may keep data past its cap, a capped record keeps its backstop and its blob stays unlocked.
  const lifts = (r: DueRecord) => holdLiftsBackstop(deps.platform, r.category);
  return async ({ partitions, loose }) => {
    const unstamp: DueRecord[] = [];
    const blobTargets: DueRecord[] = [];
    for (const items of partitions.values()) {
      const kept = keptIn(items, (i) => holdCovers(hold, i));
      for (const item of items) {
        if (!lifts(item)) continue;
        if (kept.has(item.sk) && item.expiresAt !== undefined) unstamp.push(item);
        if (holdCovers(hold, item) && item.blobBucket !== undefined && item.blobKey !== undefined) blobTargets.push(item);
      }
    }
    for (const r of loose) {
      if (!holdCovers(hold, r) || !lifts(r)) continue;
      // The retention index does not project `expiresAt`: take it off unconditionally.
      unstamp.push(r);
      if (r.blobBucket !== undefined && r.blobKey !== undefined) blobTargets.push(r);
    }
    let records = 0;
    let blobHolds = 0;
    let blobHoldsUnsupported = 0;
    await forEachLimited(unstamp, CONCURRENCY, async (r) => {
      if (await deps.records.update({ pk: r.pk, sk: r.sk }, { remove: ['expiresAt'] })) records += 1;
    });
    await forEachLimited(blobTargets, CONCURRENCY, async (r) => {
      if ((await deps.blobs.setLegalHold(r.blobBucket as NonNullable<DueRecord['blobBucket']>, r.blobKey as string, true)) === 'applied') blobHolds += 1;
      else blobHoldsUnsupported += 1;
    });
    return { records, blobHolds, blobHoldsUnsupported };
  };
}

function releaseWork(deps: HoldWorkDeps, hold: LegalHold, others: readonly LegalHold[]): Work {
  const keptByOthers = (r: DueRecord) => others.some((h) => holdCovers(h, r));
  return async ({ partitions, loose }) => {
    const restamp: DueRecord[] = [];
    const unlock: DueRecord[] = [];
    for (const items of partitions.values()) {
      const keptByThis = keptIn(items, (i) => holdCovers(hold, i));
      const stillKept = others.length === 0 ? new Set<string>() : keptIn(items, keptByOthers);
      for (const item of items) {
        if (keptByThis.has(item.sk) && !stillKept.has(item.sk) && item.expiresAt === undefined) restamp.push(item);
        if (holdCovers(hold, item) && !keptByOthers(item) && item.blobKey !== undefined) unlock.push(item);
      }
    }
    for (const r of loose) {
      if (!holdCovers(hold, r) || keptByOthers(r)) continue;
      restamp.push(r);
      if (r.blobKey !== undefined) unlock.push(r);
    }
    let records = 0;
    let blobHolds = 0;
    await forEachLimited(restamp, CONCURRENCY, async (r) => {
      const expiresAt = backstopExpiresAt(deps.platform, r.category, new Date(r.clockStart));
      if (expiresAt === undefined) return; // no cap: the record never had a backstop
      // Only where no backstop is set: a record that has one already keeps it.
      if (await deps.records.update({ pk: r.pk, sk: r.sk }, { set: { expiresAt } }, { equals: { expiresAt: undefined } })) records += 1;
    });
    await forEachLimited(unlock, CONCURRENCY, async (r) => {
      if (r.blobBucket === undefined || r.blobKey === undefined) return;
      if ((await deps.blobs.setLegalHold(r.blobBucket, r.blobKey, false)) === 'applied') blobHolds += 1;
    });
    return { records, blobHolds, blobHoldsUnsupported: 0 };
  };
}

export interface HoldStepResult {
  readonly done: boolean;
  /** The hold as it stands after the step. */
  readonly hold: LegalHold;
}

/**
 * One chunk of work on a hold: applies it while it is `applying`, releases it
 * while it is `releasing`, until `deadline` (at least one page); keeps the
 * progress on the hold, and when done marks it `active` or `released` with
 * what was done. A hold in any other state needs nothing (a retried step).
 */
export async function holdStep(
  deps: HoldWorkDeps,
  tenant: Tenant,
  holdId: string,
  options: { readonly deadline: Date; /** Index entries per page (default 1000). */ readonly pageSize?: number },
): Promise<HoldStepResult> {
  const hold = await deps.control.getHold(tenant.tenantId, holdId);
  if (hold === undefined) throw new NotFoundError(`legal hold ${holdId} not found`, { field: 'holdId' });
  if (hold.status !== 'applying' && hold.status !== 'releasing') return { done: true, hold };
  const now = deps.clock.now();
  const work =
    hold.status === 'applying'
      ? applyWork(deps, hold)
      : releaseWork(deps, hold, (await deps.control.listHolds(tenant.tenantId, { activeAt: now })).filter((h) => h.holdId !== holdId));

  let progress: HoldProgress = hold.progress ?? { pass: 0, counts: NO_COUNTS };
  const passes = passesOf(hold.scope);
  let done = false;
  if (passes.length === 0) {
    progress = { ...progress, counts: add(progress.counts, await work(await narrowScope(deps.records, tenant.tenantId, hold.scope))) };
    done = true;
  } else {
    do {
      const partition = passes[progress.pass] as RetentionPartition;
      const page = await deps.records.findDueForDeletion(tenant.tenantId, partition, END_OF_TIME, {
        shards: retentionShardsOf(tenant),
        limit: options.pageSize ?? PAGE,
        ...(progress.cursor !== undefined && { cursor: progress.cursor }),
      });
      const pks = new Set<string>();
      const loose: DueRecord[] = [];
      for (const r of page.items) {
        if (isSubjectPartition(tenant.tenantId, r.pk)) pks.add(r.pk);
        else loose.push(r);
      }
      const counts = await work({ partitions: await readPartitions(deps.records, pks), loose });
      const next = page.cursor === undefined ? { pass: progress.pass + 1 } : { pass: progress.pass, cursor: page.cursor };
      progress = { ...next, counts: add(progress.counts, counts) };
      done = progress.pass >= passes.length;
    } while (!done && deps.clock.now().getTime() < options.deadline.getTime());
  }

  // A release filed while this hold was still being applied owns it now: this step's result is not written over it.
  const current = await deps.control.getHold(tenant.tenantId, holdId);
  if (current?.status !== hold.status) return { done: true, hold: current ?? hold };
  const { progress: _previous, ...rest } = hold;
  const updated: LegalHold = done
    ? {
        ...rest,
        status: hold.status === 'applying' ? 'active' : 'released',
        ...(hold.status === 'applying' ? { applied: progress.counts } : { releasedCounts: progress.counts }),
      }
    : { ...rest, progress };
  await deps.control.putHold(updated);
  return { done, hold: updated };
}

/** Who releases a hold whose `expiresAt` has passed (the audit event's actor and the hold's `releasedBy`). */
export const EXPIRY_RELEASER = 'lethe:expiry';

/**
 * Releases the holds among `holds` whose `expiresAt` has passed and that were
 * never released: stores each release (at its expiry, by `lethe:expiry`),
 * audits it, and starts the `Hold` workflow's release, which puts the TTL
 * backstops and blob legal holds back and resumes the erasures it deferred.
 * Sweeps stop honouring such a hold at its expiry whether or not this ran;
 * this is what makes the rest of the world agree. Idempotent: a released hold
 * is left alone, and the execution name is the one a manual release uses.
 */
export async function releaseExpiredHolds(
  deps: { readonly control: ControlStore; readonly holdWork: HoldWorkStarter; readonly events?: EventPublisher },
  tenantId: string,
  holds: readonly LegalHold[],
  now: Date,
): Promise<string[]> {
  const released: string[] = [];
  for (const hold of holds) {
    if (hold.releasedAt !== undefined || hold.expiresAt === undefined) continue;
    const expires = Date.parse(hold.expiresAt);
    // An unreadable expiry never lifts a hold (as `isHoldActive`).
    if (Number.isNaN(expires) || expires > now.getTime()) continue;
    const { progress: _applying, ...rest } = hold;
    await deps.control.putHold({ ...rest, releasedAt: new Date(expires).toISOString(), releasedBy: EXPIRY_RELEASER, status: 'releasing' });
    await deps.control.appendAudit({
      tenantId,
      eventId: `expire-${hold.holdId}`,
      at: now.toISOString(),
      actor: EXPIRY_RELEASER,
      action: 'legal_hold.expired',
      refs: { holdId: hold.holdId },
    });
    await deps.holdWork.start({ tenantId, holdId: hold.holdId, executionName: `${hold.holdId}-release` });
    await publishEvents(deps.events, [makeEvent('HoldReleased', tenantId, now, { holdId: hold.holdId, reason: 'expired' }, hold.holdId)]);
    released.push(hold.holdId);
  }
  return released;
}
