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
  /**
   * Where its work on the stored records stands: `applying` (backstops coming
   * off, blob holds going on) → `active`; `releasing` → `released`. Sweeps
   * honour a hold from the moment it is stored and stop at its release,
   * whatever this says. Absent on holds stored before it existed.
   */
  readonly status?: HoldStatus;
  /** The work's position between chunks (`hold-work.ts`). */
  readonly progress?: { readonly pass: number; readonly cursor?: string; readonly counts: HoldWorkCounts };
  /** What applying did, once done. */
  readonly applied?: HoldWorkCounts;
  /** What releasing did, once done. */
  readonly releasedCounts?: HoldWorkCounts;
}

export type HoldStatus = 'applying' | 'active' | 'releasing' | 'released';

/** What applying or releasing a hold did to the stored records. */
export interface HoldWorkCounts {
  /** Backstops taken off (apply) or stamped back (release). */
  readonly records: number;
  /** Blob legal holds set (apply) or cleared (release). */
  readonly blobHolds: number;
  /** Blobs in a bucket without Object Lock (apply). */
  readonly blobHoldsUnsupported: number;
}

/** What a hold is matched against: the sweep-relevant facts of a record. */
export interface HoldTarget {
  readonly tenantId: string;
  readonly category: Category;
  readonly subjectId?: string;
  readonly conversationId?: string;
  readonly callId?: string;
  /**
   * The record's clock (and its container's), where a hold may not keep data
   * past the cap (`holds.beyondCap: false`): the sweep judges those itself.
   */
  readonly clockStart?: string;
  readonly parentClock?: string;
  readonly parentCategory?: Category;
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
