/**
 * Retention policy: the platform policy (layer 2, one JSON profile per deployment)
 * and tenant policies (layer 3, overrides inside the platform's bounds). DESIGN.md §1.
 */
import { z } from 'zod';
import { CATALOG, CATEGORIES, type Category } from './catalog.js';
import { rolesSchema } from './roles.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `0` days means "as soon as allowed": effectively two hours. */
export const ZERO_DAY_PERIOD_MS = 2 * HOUR_MS;

/** Upper bound on any period a policy may name (100 years). */
export const MAX_POLICY_DAYS = 36_500;

const days = z.number().int().min(0).max(MAX_POLICY_DAYS);

export const categoryBoundsSchema = z
  .object({
    /** Default period in days; null = indefinite (only with `indefiniteAllowed`). */
    defaultDays: days.nullable(),
    minDays: days,
    /** Cap in days; null = no cap (only with `indefiniteAllowed`). */
    maxDays: days.nullable(),
    /** Whether tenants may set a period longer than the default. */
    extendable: z.boolean(),
    /** Whether `null` (keep indefinitely) is allowed. */
    indefiniteAllowed: z.boolean(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.maxDays !== null && b.minDays > b.maxDays) {
      ctx.addIssue({ code: 'custom', path: ['minDays'], message: `minDays ${b.minDays} exceeds maxDays ${b.maxDays}` });
    }
    if (b.defaultDays === null && !b.indefiniteAllowed) {
      ctx.addIssue({ code: 'custom', path: ['defaultDays'], message: 'an indefinite default needs indefiniteAllowed' });
    }
    if (b.maxDays === null && !b.indefiniteAllowed) {
      ctx.addIssue({ code: 'custom', path: ['maxDays'], message: 'no cap needs indefiniteAllowed' });
    }
    if (b.defaultDays !== null && (b.defaultDays < b.minDays || (b.maxDays !== null && b.defaultDays > b.maxDays))) {
      ctx.addIssue({ code: 'custom', path: ['defaultDays'], message: 'defaultDays lies outside [minDays, maxDays]' });
    }
  });

export type CategoryBounds = z.infer<typeof categoryBoundsSchema>;

const categoriesShape = Object.fromEntries(CATEGORIES.map((c) => [c, categoryBoundsSchema])) as Record<
  Category,
  typeof categoryBoundsSchema
>;

export const platformPolicySchema = z
  .object({
    profile: z.string().regex(/^[a-z][a-z0-9-]*$/),
    description: z.string().min(1),
    sweep: z
      .object({
        /** Minutes between scheduled sweeps. */
        cadenceMinutes: z.number().int().min(5).max(60 * 24 * 31),
        /** Hours added to every period before a record is due. */
        graceHours: z.number().min(0).max(24 * 30),
        /** Tenants swept in parallel. */
        tenantConcurrency: z.number().int().min(1).max(40),
        /** Failed/examined ratio above which a run is critical and alerts. */
        failureAlertRatio: z.number().min(0).max(1),
      })
      .strict(),
    /** No personal data older than this, whatever the category says; null = no global cap. */
    personalDataCapDays: days.nullable(),
    /** Account data goes this many days after the account's last activity (DESIGN: 18 months). */
    accountInactivityDays: days,
    /** Whether manual deletion of a customer is refused while one of their conversations is open. */
    blockDeletionWhileConversationOpen: z.boolean(),
    /** Legacy: the least role of every manual deletion; `roles` wins where it names one (roles.ts). */
    manualDeletionRole: z.enum(['Administrator', 'ComplianceAdministrator']).optional(),
    /** Least role per action (roles.ts); actions left out keep their defaults. */
    roles: rolesSchema.optional(),
    categories: z.object(categoriesShape).strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.personalDataCapDays === null) return;
    for (const category of CATEGORIES) {
      const b = p.categories[category];
      if (!CATALOG[category].personalData) continue;
      if (b.maxDays === null || b.maxDays > p.personalDataCapDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['categories', category, 'maxDays'],
          message: `personal data is capped at ${p.personalDataCapDays} days`,
        });
      }
    }
  });

export type PlatformPolicy = z.infer<typeof platformPolicySchema>;

export type PeriodDays = number | null;

/** A tenant's overrides, versioned. */
export interface TenantPolicy {
  readonly tenantId: string;
  readonly profile: string;
  /** 0 = no policy saved yet (platform defaults). */
  readonly version: number;
  readonly locked: boolean;
  readonly categories: Readonly<Partial<Record<Category, { readonly days: PeriodDays }>>>;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

/** One entry of a tenant policy's history. */
export interface PolicyRevision {
  readonly version: number;
  readonly policy: TenantPolicy;
  readonly previous?: TenantPolicy;
  readonly changedAt: string;
  readonly changedBy: string;
}

/** The body of `PUT /retention-policy`: replaces the tenant's overrides. */
export const policyChangeSchema = z
  .object({
    categories: z
      .partialRecord(z.enum(CATEGORIES), z.object({ days: days.nullable() }).strict())
      .refine((c) => Object.keys(c).length > 0, { message: 'name at least one category' }),
    acknowledgeDataLoss: z.boolean().optional(),
    lock: z.boolean().optional(),
  })
  .strict();

export type PolicyChange = z.infer<typeof policyChangeSchema>;

/** A rule a proposed tenant policy breaks; `field` is a dotted path into the request body. */
export interface PolicyViolation {
  readonly field: string;
  readonly message: string;
}

export function defaultTenantPolicy(platform: PlatformPolicy, tenantId: string): TenantPolicy {
  return { tenantId, profile: platform.profile, version: 0, locked: false, categories: {} };
}

export interface EffectivePeriod {
  readonly days: PeriodDays;
  readonly source: 'default' | 'tenant';
}

/** Tenant override ?? platform default. */
export function effectivePeriod(platform: PlatformPolicy, tenant: TenantPolicy | undefined, category: Category): EffectivePeriod {
  const override = tenant?.categories[category];
  if (override !== undefined) return { days: override.days, source: 'tenant' };
  return { days: platform.categories[category].defaultDays, source: 'default' };
}

/** A period in milliseconds; `0` days is two hours, `null` (indefinite) is infinity. */
export function periodMs(daysValue: PeriodDays): number {
  if (daysValue === null) return Number.POSITIVE_INFINITY;
  return daysValue === 0 ? ZERO_DAY_PERIOD_MS : daysValue * DAY_MS;
}

export function graceMs(platform: PlatformPolicy): number {
  return platform.sweep.graceHours * HOUR_MS;
}

/**
 * The cutoff at `now`: records whose clock started strictly before it are due.
 * `now − period − grace`; null when the period is indefinite.
 */
export function cutoffFor(
  platform: PlatformPolicy,
  tenant: TenantPolicy | undefined,
  category: Category,
  now: Date,
): Date | null {
  const { days: d } = effectivePeriod(platform, tenant, category);
  if (d === null) return null;
  return new Date(now.getTime() - periodMs(d) - graceMs(platform));
}

/** The strictest cap that applies to a category: its own max, narrowed by the personal-data cap. */
export function capDays(platform: PlatformPolicy, category: Category): PeriodDays {
  const own = platform.categories[category].maxDays;
  const global = CATALOG[category].personalData ? platform.personalDataCapDays : null;
  if (own === null) return global;
  if (global === null) return own;
  return Math.min(own, global);
}

/**
 * The TTL backstop for a record: clock start + platform cap + grace, in epoch
 * seconds; undefined when the category has no cap.
 */
export function backstopExpiresAt(platform: PlatformPolicy, category: Category, clockStart: Date): number | undefined {
  const cap = capDays(platform, category);
  if (cap === null) return undefined;
  return Math.ceil((clockStart.getTime() + periodMs(cap) + graceMs(platform)) / 1000);
}

function longer(a: PeriodDays, b: PeriodDays): boolean {
  return periodMs(a) > periodMs(b);
}

function describe(d: PeriodDays): string {
  return d === null ? 'indefinite' : `${d} days`;
}

/**
 * Checks a proposed change against the platform bounds and the current tenant
 * policy. Returns every violation; an empty list means the change may be saved.
 * Bounds are enforced, never clamped.
 */
export function validatePolicyChange(
  platform: PlatformPolicy,
  current: TenantPolicy | undefined,
  change: PolicyChange,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const proposed = change.categories;

  for (const category of CATEGORIES) {
    const requested = proposed[category];
    if (requested === undefined) continue;
    const field = `categories.${category}.days`;
    const b = platform.categories[category];
    const d = requested.days;
    if (d === null && !b.indefiniteAllowed) {
      violations.push({ field, message: `${category} cannot be kept indefinitely under the ${platform.profile} profile` });
      continue;
    }
    if (d !== null && d < b.minDays) {
      violations.push({ field, message: `${category} must be kept at least ${b.minDays} days (minimum), got ${d}` });
    }
    // Indefinite is longer than any cap and any default: it must pass the same checks.
    const cap = capDays(platform, category);
    if (cap !== null && (d === null || d > cap)) {
      violations.push({ field, message: `${category} may be kept at most ${cap} days (maximum), got ${describe(d)}` });
    }
    if (!b.extendable && b.defaultDays !== null && (d === null || d > b.defaultDays)) {
      violations.push({
        field,
        message: `${category} cannot be extended beyond its default of ${b.defaultDays} days, got ${describe(d)}`,
      });
    }
  }

  const locked = current?.locked === true;
  if (locked && change.lock === false) {
    violations.push({ field: 'lock', message: 'a locked policy cannot be unlocked' });
  }

  const next: TenantPolicy = {
    ...(current ?? defaultTenantPolicy(platform, '')),
    categories: proposed,
  };
  const shortened: string[] = [];
  for (const category of CATEGORIES) {
    const before = effectivePeriod(platform, current, category).days;
    const after = effectivePeriod(platform, next, category).days;
    if (!longer(before, after)) continue;
    shortened.push(category);
    if (locked) {
      violations.push({
        field: `categories.${category}.days`,
        message: `the policy is locked: ${category} may only be extended (now ${describe(before)}, proposed ${describe(after)})`,
      });
    }
  }
  if (shortened.length > 0 && change.acknowledgeDataLoss !== true) {
    violations.push({
      field: 'acknowledgeDataLoss',
      message:
        `shortening ${shortened.join(', ')} makes data that is kept today due for deletion at the next sweep; ` +
        'send acknowledgeDataLoss: true to confirm',
    });
  }
  return violations;
}

/** The tenant policy after a validated change. */
export function applyPolicyChange(
  current: TenantPolicy,
  change: PolicyChange,
  at: string,
  by: string,
): TenantPolicy {
  return {
    ...current,
    version: current.version + 1,
    locked: current.locked || change.lock === true,
    categories: change.categories,
    updatedAt: at,
    updatedBy: by,
  };
}
