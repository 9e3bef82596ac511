/**
 * Legal holds: create (and apply), list, release. Applying a hold takes the TTL
 * backstop (`expiresAt`) off every record in its scope, and off their ancestors
 * (a held record keeps its parents, so DynamoDB's TTL must not take them either),
 * and sets an Object Lock legal hold on their blobs. Releasing restamps what no
 * other active hold still keeps and clears the blob holds. The sweep and every
 * manual delete honour holds by themselves (`isHeld`). DESIGN.md §3, §4.
 */
import { CATEGORIES, type Category } from '../../../domain/catalog.js';
import { forEachLimited } from '../../../domain/deletion/counts.js';
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import { holdCovers, isHoldActive, type HoldScope, type LegalHold } from '../../../domain/holds.js';
import { backstopExpiresAt } from '../../../domain/policy.js';
import { keys, retentionShardsOf, type DueRecord, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { HoldBody } from '../schemas.js';
import { resumeDeferredPrivacyRequests } from './privacy.js';

/** Later than any clock start: `findDueForDeletion` with it lists every record of a category. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');
/** Identifier items (`ID#…`) go with their profile. */
const IDENTIFIER_SK_PREFIX = 'ID#';
const CONCURRENCY = 8;

export interface HoldView extends LegalHold {
  readonly active: boolean;
}

export function holdView(hold: LegalHold, now: Date): HoldView {
  return { ...hold, active: isHoldActive(hold, now) };
}

/** The records a hold scope reaches: whole customer partitions, and records outside any customer. */
interface ScopeRecords {
  readonly partitions: ReadonlyMap<string, RecordItem[]>;
  /** Records of the account and user partitions (no ancestors to keep). */
  readonly loose: readonly DueRecord[];
}

function isSubjectPartition(tenantId: string, pk: string): boolean {
  return pk.startsWith(keys.subjectPk(tenantId, ''));
}

/**
 * Finds the partitions a scope can reach, through the narrowest access pattern
 * it names: the customer's partition, the conversation's or call's locator, or
 * the retention index for a category (or every category, for the whole tenant).
 */
async function recordsInScope(app: ApiApp, tenant: Tenant, scope: HoldScope): Promise<ScopeRecords> {
  const { records } = app.deps;
  const tenantId = tenant.tenantId;
  const shards = retentionShardsOf(tenant);
  const pks = new Set<string>();
  const loose: DueRecord[] = [];
  if (scope.customerId !== undefined) {
    pks.add(keys.subjectPk(tenantId, scope.customerId));
  } else if (scope.conversationId !== undefined || scope.callId !== undefined) {
    const subjects =
      scope.conversationId !== undefined
        ? await records.findByIdentifier(tenantId, 'CONVERSATION', scope.conversationId)
        : await records.findByIdentifier(tenantId, 'CALL', scope.callId as string);
    for (const s of subjects) pks.add(keys.subjectPk(tenantId, s));
  } else {
    const categories: readonly Category[] = scope.category !== undefined ? [scope.category] : CATEGORIES;
    for (const category of categories) {
      let cursor: string | undefined;
      do {
        const page = await records.findDueForDeletion(tenantId, category, END_OF_TIME, { shards, ...(cursor !== undefined && { cursor }) });
        for (const r of page.items) {
          if (isSubjectPartition(tenantId, r.pk)) pks.add(r.pk);
          else loose.push(r);
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
  }
  const partitions = new Map<string, RecordItem[]>();
  await forEachLimited([...pks], CONCURRENCY, async (pk) => {
    const items = await records.findByPartition(pk);
    if (items.length > 0) partitions.set(pk, items);
  });
  return { partitions, loose };
}

/**
 * The `sk`s a set of holds keeps in one customer partition: the records they
 * cover, those records' parents and profile, and the profile's identifiers.
 */
function keptIn(items: readonly RecordItem[], covered: (item: RecordItem) => boolean): Set<string> {
  const kept = new Set<string>();
  const profileSk = keys.profileSk();
  for (const item of items) {
    if (!covered(item)) continue;
    kept.add(item.sk);
    if (item.parentSk !== undefined) kept.add(item.parentSk);
    if (item.sk !== profileSk) kept.add(profileSk);
  }
  if (kept.has(profileSk)) {
    for (const item of items) if (item.sk.startsWith(IDENTIFIER_SK_PREFIX)) kept.add(item.sk);
  }
  return kept;
}

export interface HoldApplied {
  readonly records: number;
  readonly blobHolds: number;
  readonly blobHoldsUnsupported: number;
}

async function applyHold(app: ApiApp, tenant: Tenant, hold: LegalHold): Promise<HoldApplied> {
  const { records, blobs } = app.deps;
  const scope = await recordsInScope(app, tenant, hold.scope);
  const unstamp: DueRecord[] = [];
  const blobTargets: DueRecord[] = [];
  for (const items of scope.partitions.values()) {
    const kept = keptIn(items, (i) => holdCovers(hold, i));
    for (const item of items) {
      if (kept.has(item.sk) && item.expiresAt !== undefined) unstamp.push(item);
      if (holdCovers(hold, item) && item.blobBucket !== undefined && item.blobKey !== undefined) blobTargets.push(item);
    }
  }
  for (const r of scope.loose) {
    if (!holdCovers(hold, r)) continue;
    // The retention index does not project `expiresAt`: take it off unconditionally.
    unstamp.push(r);
    if (r.blobBucket !== undefined && r.blobKey !== undefined) blobTargets.push(r);
  }

  let updated = 0;
  await forEachLimited(unstamp, CONCURRENCY, async (r) => {
    if (await records.update({ pk: r.pk, sk: r.sk }, { remove: ['expiresAt'] })) updated += 1;
  });
  let applied = 0;
  let unsupported = 0;
  await forEachLimited(blobTargets, CONCURRENCY, async (r) => {
    const outcome = await blobs.setLegalHold(r.blobBucket as NonNullable<DueRecord['blobBucket']>, r.blobKey as string, true);
    if (outcome === 'applied') applied += 1;
    else unsupported += 1;
  });
  return { records: updated, blobHolds: applied, blobHoldsUnsupported: unsupported };
}

export interface CreatedHold {
  readonly hold: HoldView;
  readonly applied: HoldApplied;
}

/** Stores the hold (so sweeps honour it at once), then applies it to the records in scope. */
export async function createHold(app: ApiApp, caller: Caller, tenant: Tenant, body: HoldBody): Promise<CreatedHold> {
  if (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= caller.now.getTime()) {
    throw new ValidationError('expiresAt', 'expiresAt: must lie in the future');
  }
  const scope: HoldScope = {
    ...(body.scope.customerId !== undefined && { customerId: body.scope.customerId }),
    ...(body.scope.conversationId !== undefined && { conversationId: body.scope.conversationId }),
    ...(body.scope.callId !== undefined && { callId: body.scope.callId }),
    ...(body.scope.category !== undefined && { category: body.scope.category }),
  };
  const hold: LegalHold = {
    tenantId: tenant.tenantId,
    holdId: app.ids.next('hold'),
    scope,
    reason: body.reason,
    createdAt: caller.now.toISOString(),
    createdBy: caller.actor,
    ...(body.expiresAt !== undefined && { expiresAt: body.expiresAt }),
  };
  await app.deps.control.putHold(hold);
  const applied = await applyHold(app, tenant, hold);
  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'legal_hold.created',
    refs: { holdId: hold.holdId, ...scopeRefs(app, tenant.tenantId, scope) },
    after: { ...applied, expiresAt: hold.expiresAt ?? null },
  });
  return { hold: holdView(hold, caller.now), applied };
}

/** The hold's scope as audit references: hashed ids, the category as is. */
function scopeRefs(app: ApiApp, tenantId: string, scope: HoldScope): Record<string, string> {
  return {
    scope: Object.keys(scope).sort().join('+') || 'tenant',
    ...(scope.customerId !== undefined && { customer: app.refs.subject(tenantId, scope.customerId) }),
    ...(scope.conversationId !== undefined && { conversation: app.refs.record(tenantId, 'conversation', scope.conversationId) }),
    ...(scope.callId !== undefined && { call: app.refs.record(tenantId, 'call', scope.callId) }),
    ...(scope.category !== undefined && { category: scope.category }),
  };
}

export async function listHolds(app: ApiApp, caller: Caller, tenant: Tenant): Promise<HoldView[]> {
  const holds = await app.deps.control.listHolds(tenant.tenantId);
  return holds.map((h) => holdView(h, caller.now));
}

export interface ReleasedHold {
  readonly holdId: string;
  readonly releasedAt: string;
  readonly restamped: number;
  readonly blobHoldsCleared: number;
  /** Privacy requests whose deferred erasure was started again. */
  readonly resumedPrivacyRequests: number;
}

/**
 * Releases a hold: marks it released (sweeps stop honouring it at once), then
 * restamps the TTL backstop of every record it kept that no other active hold
 * keeps, clears their blob holds, and starts again every privacy request a hold
 * deferred (each erasure defers again what another hold still keeps).
 * Releasing a released hold changes nothing.
 */
export async function releaseHold(app: ApiApp, caller: Caller, tenant: Tenant, holdId: string): Promise<ReleasedHold> {
  const { control, records, blobs, platform } = app.deps;
  const existing = await control.getHold(tenant.tenantId, holdId);
  if (existing === undefined) throw new NotFoundError('holdId: no such legal hold', { field: 'holdId' });
  if (existing.releasedAt !== undefined) {
    return { holdId, releasedAt: existing.releasedAt, restamped: 0, blobHoldsCleared: 0, resumedPrivacyRequests: 0 };
  }
  const released: LegalHold = { ...existing, releasedAt: caller.now.toISOString(), releasedBy: caller.actor };
  await control.putHold(released);

  const others = (await control.listHolds(tenant.tenantId, { activeAt: caller.now })).filter((h) => h.holdId !== holdId);
  const keptByOthers = (r: DueRecord) => others.some((h) => holdCovers(h, r));
  const scope = await recordsInScope(app, tenant, existing.scope);
  const restamp: DueRecord[] = [];
  const unlock: DueRecord[] = [];
  for (const items of scope.partitions.values()) {
    const keptByThis = keptIn(items, (i) => holdCovers(existing, i));
    const stillKept = others.length === 0 ? new Set<string>() : keptIn(items, keptByOthers);
    for (const item of items) {
      if (keptByThis.has(item.sk) && !stillKept.has(item.sk) && item.expiresAt === undefined) restamp.push(item);
      if (holdCovers(existing, item) && !keptByOthers(item) && item.blobKey !== undefined) unlock.push(item);
    }
  }
  for (const r of scope.loose) {
    if (!holdCovers(existing, r) || keptByOthers(r)) continue;
    restamp.push(r);
    if (r.blobKey !== undefined) unlock.push(r);
  }

  let restamped = 0;
  await forEachLimited(restamp, CONCURRENCY, async (r) => {
    const expiresAt = backstopExpiresAt(platform, r.category, new Date(r.clockStart));
    if (expiresAt === undefined) return; // no cap: the record never had a backstop
    // Only where no backstop is set: a record that has one already keeps it.
    if (await records.update({ pk: r.pk, sk: r.sk }, { set: { expiresAt } }, { equals: { expiresAt: undefined } })) restamped += 1;
  });
  let cleared = 0;
  await forEachLimited(unlock, CONCURRENCY, async (r) => {
    if (r.blobBucket === undefined || r.blobKey === undefined) return;
    if ((await blobs.setLegalHold(r.blobBucket, r.blobKey, false)) === 'applied') cleared += 1;
  });

  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'legal_hold.released',
    refs: { holdId },
    after: { restamped, blobHoldsCleared: cleared },
  });
  // After the release is recorded: a failed start leaves an audited release, and the request
  // waits for the next one (its state says why: partially_completed, legal_hold).
  const resumed = await resumeDeferredPrivacyRequests(app, tenant.tenantId);
  for (const requestId of resumed) {
    await audit(app, caller, { tenantId: tenant.tenantId, action: 'privacy_request.resumed', refs: { requestId, holdId } });
  }
  return { holdId, releasedAt: released.releasedAt as string, restamped, blobHoldsCleared: cleared, resumedPrivacyRequests: resumed.length };
}
