/**
 * Legal holds: a hold stops every deletion in its scope, sweeps and manual
 * deletes alike, until it is released or expires. DESIGN.md §1, §4.
 */
import type { Category } from './catalog.js';

/** Scope of a hold; the fields combine with AND, an empty scope holds the whole tenant. */
export interface HoldScope {
  readonly customerId?: string;
  readonly conversationId?: string;
  readonly callId?: string;
  readonly category?: Category;
}

export interface LegalHold {
  readonly tenantId: string;
  readonly holdId: string;
  readonly scope: HoldScope;
  readonly reason: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** ISO instant after which the hold lapses by itself. */
  readonly expiresAt?: string;
  readonly releasedAt?: string;
  readonly releasedBy?: string;
}

/** What a hold is matched against: the sweep-relevant facts of a record. */
export interface HoldTarget {
  readonly tenantId: string;
  readonly category: Category;
  readonly subjectId?: string;
  readonly conversationId?: string;
  readonly callId?: string;
}

export function isHoldActive(hold: LegalHold, now: Date): boolean {
  if (hold.releasedAt !== undefined) return false;
  if (hold.expiresAt === undefined) return true;
  const expires = Date.parse(hold.expiresAt);
  // An unreadable expiry must not lift a legal hold: fail closed.
  return Number.isNaN(expires) || expires > now.getTime();
}

/** Whether the hold's scope covers the target (ignores whether the hold is active). */
export function holdCovers(hold: LegalHold, target: HoldTarget): boolean {
  if (hold.tenantId !== target.tenantId) return false;
  const { customerId, conversationId, callId, category } = hold.scope;
  if (customerId !== undefined && target.subjectId !== customerId) return false;
  if (conversationId !== undefined && target.conversationId !== conversationId) return false;
  if (callId !== undefined && target.callId !== callId) return false;
  if (category !== undefined && target.category !== category) return false;
  return true;
}

/** The active holds covering the target; empty when it may be deleted. */
export function holdsOn(holds: readonly LegalHold[], target: HoldTarget, now: Date): LegalHold[] {
  return holds.filter((h) => isHoldActive(h, now) && holdCovers(h, target));
}

export function isHeld(holds: readonly LegalHold[], target: HoldTarget, now: Date): boolean {
  return holds.some((h) => isHoldActive(h, now) && holdCovers(h, target));
}

/** A matcher bound to one tenant's active holds at one instant, for hot loops. */
export function holdMatcher(holds: readonly LegalHold[], now: Date): (target: HoldTarget) => boolean {
  const active = holds.filter((h) => isHoldActive(h, now));
  if (active.length === 0) return () => false;
  return (target) => active.some((h) => holdCovers(h, target));
}
