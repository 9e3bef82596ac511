/**
 * Legal holds: create, list, release. A hold is in force from the moment it is
 * stored (sweeps and manual deletes honour it by themselves, `isHeld`) until
 * its release is stored. The work on the stored records — taking the TTL
 * backstops off and setting blob holds, or putting them back — runs in the
 * `Hold` workflow (`hold-work.ts`), never inside the request: the hold says
 * `applying` → `active`, `releasing` → `released`. DESIGN.md §3, §4.
 */
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import { makeEvent, publishEvents } from '../../../domain/events.js';
import { isHoldActive, type HoldScope, type LegalHold } from '../../../domain/holds.js';
import { holdCapDays, type PlatformPolicy } from '../../../domain/policy.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { HoldBody } from '../schemas.js';

export interface HoldView extends LegalHold {
  readonly active: boolean;
  /**
   * Where the profile lets no hold keep data past its cap: the hold covers only
   * data inside the longest cap in its scope (days from each record's clock);
   * the sweep deletes what is past its cap whatever the hold.
   */
  readonly coversOnlyInsideCapDays?: number;
  /** The cap of each capped category in scope, when the hold covers only data inside caps. */
  readonly capDaysByCategory?: Readonly<Partial<Record<string, number>>>;
}

export function holdView(hold: LegalHold, now: Date, platform?: PlatformPolicy): HoldView {
  const caps = platform === undefined ? undefined : holdCapDays(platform, hold.scope.category);
  return {
    ...hold,
    active: isHoldActive(hold, now),
    ...(caps !== undefined && { coversOnlyInsideCapDays: caps.longest, capDaysByCategory: caps.byCategory }),
  };
}

export interface CreatedHold {
  readonly hold: HoldView;
}

/** Stores the hold (sweeps honour it at once) as `applying`, and starts the workflow that applies it to the stored records. */
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
    status: 'applying',
  };
  await app.deps.control.putHold(hold);
  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'legal_hold.created',
    refs: { holdId: hold.holdId, ...scopeRefs(app, tenant.tenantId, scope) },
    after: { expiresAt: hold.expiresAt ?? null },
  });
  await app.deps.holdWork.start({ tenantId: tenant.tenantId, holdId: hold.holdId, executionName: `${hold.holdId}-apply` });
  // After the hold is stored (it is in force); the adapter logs what it could not publish.
  await publishEvents(app.deps.events, [
    makeEvent('HoldPlaced', tenant.tenantId, caller.now, { holdId: hold.holdId, scope, ...(hold.expiresAt !== undefined && { expiresAt: hold.expiresAt }) }, hold.holdId),
  ]);
  return { hold: holdView((await app.deps.control.getHold(tenant.tenantId, hold.holdId)) ?? hold, caller.now, app.deps.platform) };
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
  return holds.map((h) => holdView(h, caller.now, app.deps.platform));
}

export interface ReleasedHold {
  readonly holdId: string;
  readonly releasedAt: string;
  /** `releasing` while the workflow puts backstops and blob holds back, then `released`. */
  readonly status: LegalHold['status'];
}

/**
 * Releases a hold: stores the release (sweeps stop honouring it at once) as
 * `releasing`, and starts the workflow that restamps every record it kept that
 * no other active hold keeps, clears their blob holds, and resumes the privacy
 * requests a hold deferred. Releasing a released hold changes nothing.
 */
export async function releaseHold(app: ApiApp, caller: Caller, tenant: Tenant, holdId: string): Promise<ReleasedHold> {
  const { control } = app.deps;
  const existing = await control.getHold(tenant.tenantId, holdId);
  if (existing === undefined) throw new NotFoundError('holdId: no such legal hold', { field: 'holdId' });
  if (existing.releasedAt !== undefined) return { holdId, releasedAt: existing.releasedAt, status: existing.status ?? 'released' };
  const { progress: _applying, ...rest } = existing;
  const released: LegalHold = { ...rest, releasedAt: caller.now.toISOString(), releasedBy: caller.actor, status: 'releasing' };
  await control.putHold(released);
  await audit(app, caller, { tenantId: tenant.tenantId, action: 'legal_hold.released', refs: { holdId } });
  await app.deps.holdWork.start({ tenantId: tenant.tenantId, holdId, executionName: `${holdId}-release` });
  await publishEvents(app.deps.events, [makeEvent('HoldReleased', tenant.tenantId, caller.now, { holdId, reason: 'released' }, holdId)]);
  const now = (await control.getHold(tenant.tenantId, holdId)) ?? released;
  return { holdId, releasedAt: released.releasedAt as string, status: now.status };
}
