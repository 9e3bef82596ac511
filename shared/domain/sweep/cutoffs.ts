/**
 * A sweep's cutoffs: when each category of a tenant falls due, and how the
 * categories sit under one another (a record under a conversation or call is
 * also due by its parent's clock).
 */
import { CATALOG, CATEGORIES, type Category } from '../catalog.js';
import type { LegalHold } from '../holds.js';
import { cutoffFor, effectivePeriod, graceMs, periodMs, type PlatformPolicy, type TenantPolicy } from '../policy.js';
import type { DueRecord } from '../records.js';
import type { Tenant } from '../tenant.js';

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

export type Cutoffs = Readonly<Record<Category, string | null>>;

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
