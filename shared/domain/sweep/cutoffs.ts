/**
 * A sweep's cutoffs and rules: when each category of a tenant falls due, how
 * the categories sit under one another (a record under a conversation or call
 * is also due by its parent's clock, and only by it when a setting governs the
 * parent), and what an account that is over, or a cap a hold may not pass,
 * changes.
 */
import { CATALOG, CATEGORIES, CONTAINERS, PROFILE_DESCENDANTS, containerChildren, type Category } from '../catalog.js';
import type { HoldTarget, LegalHold } from '../holds.js';
import { capCutoffs, cutoffFor, effectivePeriod, governance, graceMs, periodMs, type PlatformPolicy, type TenantPolicy } from '../policy.js';
import type { DueRecord } from '../records.js';
import { accountEnd, type AccountEndReason, type Tenant } from '../tenant.js';

const DAY_MS = 86_400_000;

/** Everything a run needs to know about its tenant, loaded once per chunk. */
export interface TenantRunContext {
  readonly tenant: Tenant;
  readonly platform: PlatformPolicy;
  readonly policy: TenantPolicy | undefined;
  readonly holds: readonly LegalHold[];
}

// ---------------------------------------------------------------------------
// Category relations (by key structure: what lives under what)
// ---------------------------------------------------------------------------

/** The conversation or call categories a category's records can sit under. */
export const KEY_PARENTS: Readonly<Partial<Record<Category, readonly Category[]>>> = Object.fromEntries(
  CATEGORIES.flatMap((c) => {
    const parents = CONTAINERS.filter((p) => containerChildren(p).includes(c));
    return parents.length > 0 ? [[c, parents]] : [];
  }),
);

/** Categories that live under a record of each category and go with it. */
export const DESCENDANTS: Readonly<Record<Category, readonly Category[]>> = Object.fromEntries(
  CATEGORIES.map((c) => [c, c === 'customer_profile' ? PROFILE_DESCENDANTS : containerChildren(c)]),
) as Record<Category, readonly Category[]>;

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/** What a run decides besides its cutoffs: fixed by the platform policy and the run's start. */
export interface SweepRules {
  /** Categories whose children are due with them only, never by their own clock (a setting governs them). */
  readonly followed: ReadonlySet<Category>;
  /** A subject-clock setting decides for customers: a contact newer than the profile's last contact keeps the customer. */
  readonly subjectClock: boolean;
  /** Set when the account was over at the run's start: everything is due, users with account access too. */
  readonly accountEnded?: AccountEndReason;
  /**
   * Where a hold may not keep data past the cap (`holds.beyondCap: false`):
   * each capped category's cap cutoff at the run's start. A record older than
   * its own or its container's is deleted whatever the hold.
   */
  readonly capCutoffs?: Readonly<Partial<Record<Category, string>>>;
}

/** The rules of a run without settings, account lifetime or capped holds (policy v1). */
export const V1_RULES: SweepRules = { followed: new Set(), subjectClock: false };

/** The rules of a run of a platform that started at `runStartedAt` (and found the account over, or not). */
export function sweepRules(platform: PlatformPolicy, runStartedAt: string, accountEnded?: AccountEndReason): SweepRules {
  const g = governance(platform);
  return {
    followed: g.followed,
    subjectClock: g.subject !== undefined,
    ...(accountEnded !== undefined && { accountEnded }),
    ...(!g.holdsBeyondCap && { capCutoffs: capCutoffs(platform, new Date(runStartedAt)) }),
  };
}

/**
 * Whether the account is over for a run at `now`, deleting everything of it:
 * only under a profile with an account lifetime (without one, an account that
 * is over loses its configuration alone, by `account_config`'s clock).
 */
export function runAccountEnd(ctx: Pick<TenantRunContext, 'tenant' | 'platform'>, now: Date): AccountEndReason | undefined {
  if (ctx.platform.accountLifetime === undefined || ctx.platform.accountLifetime === null) return undefined;
  return accountEnd(ctx.tenant, ctx.platform, now);
}

/** Whether a hold may not keep this record: it is past its category's cap, or its container's. */
export function pastCap(rules: SweepRules, record: Pick<HoldTarget, 'category' | 'clockStart' | 'parentClock' | 'parentCategory'>): boolean {
  const caps = rules.capCutoffs;
  if (caps === undefined || record.clockStart === undefined) return false;
  const own = caps[record.category];
  if (own !== undefined && record.clockStart < own) return true;
  if (record.parentCategory === undefined || record.parentClock === undefined) return false;
  const parent = caps[record.parentCategory];
  return parent !== undefined && record.parentClock < parent;
}

// ---------------------------------------------------------------------------
// Cutoffs
// ---------------------------------------------------------------------------

/**
 * The cutoff of a category for one tenant at `now`; null = nothing is due by
 * the category's own clock. Once the account is over (account lifetime), it
 * is `now` for every category. Without an account lifetime, account
 * configuration has no per-record clock: all of it becomes due once the
 * contract has ended (plus the period) or the account has been inactive for
 * the platform's inactivity period.
 */
export function sweepCutoff(ctx: TenantRunContext, category: Category, now: Date): Date | null {
  if (runAccountEnd(ctx, now) !== undefined) return now;
  if (category !== 'account_config' || governance(ctx.platform).accountLifetime.has(category)) return cutoffFor(ctx.platform, ctx.policy, category, now);
  const { days } = effectivePeriod(ctx.platform, ctx.policy, 'account_config');
  if (days === null) return null;
  const grace = graceMs(ctx.platform);
  const contractEnd = ctx.tenant.contractEndsAt === undefined ? undefined : Date.parse(ctx.tenant.contractEndsAt);
  const lastActivity = Date.parse(ctx.tenant.lastActivityAt ?? ctx.tenant.createdAt);
  const contractOver = contractEnd !== undefined && contractEnd + periodMs(days) + grace < now.getTime();
  const inactive = lastActivity + governance(ctx.platform).inactivityDays * DAY_MS + grace < now.getTime();
  return contractOver || inactive ? now : null;
}

/** All cutoffs of a run, for the receipt. */
export function runCutoffs(ctx: TenantRunContext, now: Date): Record<Category, string | null> {
  const out = {} as Record<Category, string | null>;
  for (const category of CATEGORIES) out[category] = sweepCutoff(ctx, category, now)?.toISOString() ?? null;
  return out;
}

export type Cutoffs = Readonly<Record<Category, string | null>>;

/**
 * Whether a record is due. Under a container a setting governs, exactly when
 * the container is (by its clock); under any other container, by its own clock
 * or the container's; else by its own clock. Users go only once they have no
 * account access any more, or the account is over.
 */
export function isDue(
  cutoffs: Cutoffs,
  record: Pick<DueRecord, 'category' | 'clockStart' | 'parentClock' | 'parentCategory' | 'hasAccountAccess'>,
  rules: SweepRules = V1_RULES,
): boolean {
  if (record.category === 'user' && record.hasAccountAccess === true && rules.accountEnded === undefined) return false;
  const parentDue = (): boolean => {
    if (record.parentClock === undefined || record.parentCategory === undefined) return false;
    const parent = cutoffs[record.parentCategory];
    return parent !== null && parent !== undefined && record.parentClock < parent;
  };
  if (record.parentCategory !== undefined && rules.followed.has(record.parentCategory)) return parentDue();
  const own = cutoffs[record.category];
  if (own !== null && own !== undefined && record.clockStart < own) return true;
  return parentDue();
}

/** Categories whose records mark a customer's contact (a subject clock's evidence besides the profile's last contact). */
export const CONTACT_CATEGORIES: ReadonlySet<Category> = new Set<Category>(
  CATEGORIES.filter((c) => CONTAINERS.includes(c) || (CATALOG[c].parent === 'customer_profile' && c !== 'analytics_event')),
);
