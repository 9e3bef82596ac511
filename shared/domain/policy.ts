/**
 * Retention policy: the platform policy (layer 2, one JSON profile per deployment)
 * and tenant policies (layer 3, values inside the platform's bounds). DESIGN.md §1.
 *
 * A profile declares its user-facing retention **settings**: each governs one
 * or more categories and everything under them (the records under a governed
 * conversation or call follow it: they are due exactly when it is, never by
 * their own clock). A setting's clock is per item (each record's own clock
 * start) or per subject (everything of a customer follows the customer's last
 * contact). Categories in no setting keep their own bounds (`categories`), and
 * tenants set them one by one, as profiles without settings do for every
 * category. Categories of the **account lifetime** are kept while the account
 * is active; once its contract has ended or it has been inactive long enough,
 * everything of the account is due. `holds.beyondCap: false` means a legal
 * hold cannot keep data past its category's cap.
 */
import { z } from 'zod';
import { CATALOG, CATEGORIES, CONTAINERS, PROFILE_DESCENDANTS, containerChildren, type Category } from './catalog.js';
import { rolesSchema } from './roles.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `0` days means "once the grace has passed": the period itself is nothing, the grace alone remains. */
export const ZERO_DAY_PERIOD_MS = 0;

/** Upper bound on any period a policy may name (100 years). */
export const MAX_POLICY_DAYS = 36_500;

const days = z.number().int().min(0).max(MAX_POLICY_DAYS);

/** The bounds of a period a tenant may choose (a category's or a setting's). */
export interface Bounds {
  /** Default period in days; null = indefinite (only with `indefiniteAllowed`). */
  readonly defaultDays: number | null;
  readonly minDays: number;
  /** Cap in days; null = no cap (only with `indefiniteAllowed`). */
  readonly maxDays: number | null;
  /** Whether tenants may set a period longer than the default. */
  readonly extendable: boolean;
  /** Whether `null` (keep indefinitely) is allowed. */
  readonly indefiniteAllowed: boolean;
}

const boundsShape = {
  defaultDays: days.nullable(),
  minDays: days,
  maxDays: days.nullable(),
  extendable: z.boolean(),
  indefiniteAllowed: z.boolean(),
};

function checkBounds(b: Bounds, ctx: z.RefinementCtx): void {
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
}

export const categoryBoundsSchema = z
  .object(boundsShape)
  .strict()
  .superRefine((b, ctx) => checkBounds(b, ctx));

export type CategoryBounds = z.infer<typeof categoryBoundsSchema>;

/** How a setting's records are timed: each by its own clock, or everything of a customer by the customer's last contact. */
export const CLOCK_KINDS = ['item', 'subject'] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];

/** When changing a setting needs `acknowledgeDataLoss: true`: when it shortens the period, or on every change. */
export const ACKNOWLEDGE_KINDS = ['shorten', 'always'] as const;

/** A setting's name as tenants send it (`settings.<name>.days`). */
export const SETTING_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export const settingSchema = z
  .object({
    name: z.string().regex(SETTING_NAME, 'lower-case letters, digits and _'),
    /** What the setting governs, in the platform's words. */
    description: z.string().min(1),
    /** The categories it governs; the records under them (catalog cascade) follow them. */
    categories: z.array(z.enum(CATEGORIES)).min(1),
    clock: z.enum(CLOCK_KINDS),
    ...boundsShape,
    acknowledge: z.enum(ACKNOWLEDGE_KINDS),
  })
  .strict()
  .superRefine((s, ctx) => {
    checkBounds(s, ctx);
    if (new Set(s.categories).size !== s.categories.length) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'names a category twice' });
    }
    if (s.clock === 'subject' && !s.categories.includes('customer_profile')) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'a subject-clock setting governs customer_profile (and with it the customer\'s whole partition)' });
    }
    if (s.clock === 'item' && s.categories.includes('customer_profile')) {
      ctx.addIssue({
        code: 'custom',
        path: ['categories'],
        message: 'customer_profile can only be governed by a subject-clock setting (everything under a customer would follow the profile)',
      });
    }
    if (s.categories.includes('account_config')) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'account_config follows the account (accountLifetime), not a setting' });
    }
  });

export type Setting = z.infer<typeof settingSchema>;

export const accountLifetimeSchema = z
  .object({
    /** Categories kept while the account is active (they have no period of their own). */
    categories: z.array(z.enum(CATEGORIES)).min(1),
    /** Days without account activity (ingest, admin API writes) after which the account is inactive. */
    inactivityDays: days.min(1),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (new Set(a.categories).size !== a.categories.length) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'names a category twice' });
    }
    if (!a.categories.includes('account_config')) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'must include account_config (its clock is the account\'s)' });
    }
  });

export type AccountLifetime = z.infer<typeof accountLifetimeSchema>;

const categoriesShape = Object.fromEntries(CATEGORIES.map((c) => [c, categoryBoundsSchema])) as Record<
  Category,
  typeof categoryBoundsSchema
>;

/** Every category a setting governs: the ones it names and what lives under them. */
export function governedCategories(setting: Pick<Setting, 'categories' | 'clock'>): Category[] {
  if (setting.clock === 'subject') return [...new Set<Category>([...setting.categories, 'customer_profile', ...PROFILE_DESCENDANTS])];
  return [...new Set<Category>(setting.categories.flatMap((c) => [c, ...containerChildren(c)]))];
}

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
    /**
     * Profiles without `accountLifetime`: account configuration goes this many
     * days after the account's last activity (or its period after the contract's end).
     */
    accountInactivityDays: days.optional(),
    /** The user-facing retention settings; absent = every category is its own setting (policy v1). */
    settings: z.array(settingSchema).optional(),
    /** Categories kept while the account is active; absent or null = none. */
    accountLifetime: accountLifetimeSchema.nullable().optional(),
    /** Whether a legal hold may keep data past its category's cap (default true). */
    holds: z.object({ beyondCap: z.boolean() }).strict().optional(),
    /** Whether manual deletion of a customer is refused while one of their conversations is open. */
    blockDeletionWhileConversationOpen: z.boolean(),
    /** Legacy: the least role of every manual deletion; `roles` wins where it names one (roles.ts). */
    manualDeletionRole: z.enum(['Administrator', 'ComplianceAdministrator']).optional(),
    /** Least role per action (roles.ts); actions left out keep their defaults. */
    roles: rolesSchema.optional(),
    /** Per-category bounds; a category governed by a setting or the account lifetime takes its bounds from there instead. */
    categories: z.object(categoriesShape).strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const settings = p.settings ?? [];
    const lifetime = p.accountLifetime ?? undefined;
    const owner = new Map<Category, string>();
    const names = new Set<string>();
    settings.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['settings', i, 'name'], message: `a setting named ${s.name} exists already` });
      names.add(s.name);
      for (const c of governedCategories(s)) {
        const other = owner.get(c);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['settings', i, 'categories'], message: `${c} is governed by the setting ${other} already` });
        } else owner.set(c, s.name);
      }
    });
    if (settings.filter((s) => s.clock === 'subject').length > 1) {
      ctx.addIssue({ code: 'custom', path: ['settings'], message: 'at most one setting may have a subject clock' });
    }
    for (const c of lifetime?.categories ?? []) {
      const other = owner.get(c);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['accountLifetime', 'categories'], message: `${c} is governed by the setting ${other}` });
      }
    }
    if (lifetime === undefined && p.accountInactivityDays === undefined) {
      ctx.addIssue({ code: 'custom', path: ['accountInactivityDays'], message: 'needed when there is no accountLifetime' });
    }
    if (lifetime !== undefined && p.accountInactivityDays !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['accountInactivityDays'], message: 'set accountLifetime.inactivityDays instead' });
    }

    const cap = p.personalDataCapDays;
    if (cap === null) return;
    settings.forEach((s, i) => {
      if (!governedCategories(s).some((c) => CATALOG[c].personalData)) return;
      if (s.clock === 'subject') {
        ctx.addIssue({ code: 'custom', path: ['settings', i, 'clock'], message: `a subject clock cannot keep personal data within a cap of ${cap} days` });
      } else if (s.maxDays === null || s.maxDays > cap) {
        ctx.addIssue({ code: 'custom', path: ['settings', i, 'maxDays'], message: `personal data is capped at ${cap} days` });
      }
    });
    for (const category of CATEGORIES) {
      if (!CATALOG[category].personalData) continue;
      if (lifetime?.categories.includes(category) === true) {
        ctx.addIssue({ code: 'custom', path: ['accountLifetime', 'categories'], message: `${category} is personal data, capped at ${cap} days` });
        continue;
      }
      if (owner.has(category)) continue;
      const b = p.categories[category];
      if (b.maxDays === null || b.maxDays > cap) {
        ctx.addIssue({
          code: 'custom',
          path: ['categories', category, 'maxDays'],
          message: `personal data is capped at ${cap} days`,
        });
      }
    }
  });

export type PlatformPolicy = z.infer<typeof platformPolicySchema>;

export type PeriodDays = number | null;

/** A tenant's choices, versioned: a period per setting, and per category outside the settings. */
export interface TenantPolicy {
  readonly tenantId: string;
  readonly profile: string;
  /** 0 = no policy saved yet (platform defaults). */
  readonly version: number;
  readonly locked: boolean;
  /** Periods of the profile's settings, by setting name. */
  readonly settings?: Readonly<Record<string, { readonly days: PeriodDays }>>;
  /** Periods of categories in no setting. */
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

const periodValue = z.object({ days: days.nullable() }).strict();

/** The body of `PUT /retention-policy`: replaces the tenant's choices (a setting or category left out returns to its default). */
export const policyChangeSchema = z
  .object({
    settings: z.record(z.string(), periodValue).optional(),
    categories: z.partialRecord(z.enum(CATEGORIES), periodValue).optional(),
    acknowledgeDataLoss: z.boolean().optional(),
    lock: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.keys(c.settings ?? {}).length + Object.keys(c.categories ?? {}).length > 0, {
    path: ['settings'],
    message: 'name at least one setting or category',
  });

export type PolicyChange = z.infer<typeof policyChangeSchema>;

/** A rule a proposed tenant policy breaks; `field` is a dotted path into the request body. */
export interface PolicyViolation {
  readonly field: string;
  readonly message: string;
}

export function defaultTenantPolicy(platform: PlatformPolicy, tenantId: string): TenantPolicy {
  return { tenantId, profile: platform.profile, version: 0, locked: false, categories: {} };
}

// ---------------------------------------------------------------------------
// Governance: which setting (or the account) decides for each category
// ---------------------------------------------------------------------------

/** Who decides when the records of each category go, derived once per platform policy. */
export interface Governance {
  readonly settings: readonly Setting[];
  /** The setting that decides for every record of a category: one that names it, or governs all the containers it can sit under. */
  readonly settingOf: ReadonlyMap<Category, Setting>;
  /** Categories whose children are due with them only (those a setting governs). */
  readonly followed: ReadonlySet<Category>;
  /** The subject-clock setting, if any: the profile's clock decides for the customer's whole partition. */
  readonly subject?: Setting;
  /** Categories kept while the account is active. */
  readonly accountLifetime: ReadonlySet<Category>;
  /** Days of inactivity after which the account is over (its lifetime, or the v1 `accountInactivityDays`). */
  readonly inactivityDays: number;
  /** Whether a legal hold may keep data past its category's cap. */
  readonly holdsBeyondCap: boolean;
}

const GOVERNANCE = new WeakMap<PlatformPolicy, Governance>();

/** The containers a category's records can sit under. */
function keyParents(category: Category): Category[] {
  return CONTAINERS.filter((p) => containerChildren(p).includes(category));
}

/** DESIGN.md §1's 18 months, for a platform object built without the field (v1 profiles always have it). */
const DEFAULT_INACTIVITY_DAYS = 548;

export function governance(platform: PlatformPolicy): Governance {
  const known = GOVERNANCE.get(platform);
  if (known !== undefined) return known;
  const settings = platform.settings ?? [];
  const settingOf = new Map<Category, Setting>();
  const followed = new Set<Category>();
  for (const s of settings) {
    for (const c of s.categories) settingOf.set(c, s);
    for (const c of governedCategories(s)) if (c === 'customer_profile' || CONTAINERS.includes(c)) followed.add(c);
    if (s.clock === 'subject') for (const c of governedCategories(s)) settingOf.set(c, s);
  }
  // A category under containers that one setting governs, all of them, is wholly that setting's.
  for (const c of CATEGORIES) {
    if (settingOf.has(c)) continue;
    const parents = keyParents(c);
    const owners = new Set(parents.map((p) => settingOf.get(p)));
    const [only] = owners;
    if (parents.length > 0 && owners.size === 1 && only !== undefined) settingOf.set(c, only);
  }
  const lifetime = platform.accountLifetime ?? undefined;
  const g: Governance = {
    settings,
    settingOf,
    followed,
    ...(settings.find((s) => s.clock === 'subject') !== undefined && { subject: settings.find((s) => s.clock === 'subject') as Setting }),
    accountLifetime: new Set(lifetime?.categories ?? []),
    inactivityDays: lifetime?.inactivityDays ?? platform.accountInactivityDays ?? DEFAULT_INACTIVITY_DAYS,
    holdsBeyondCap: platform.holds?.beyondCap ?? true,
  };
  GOVERNANCE.set(platform, g);
  return g;
}

/** A setting of the profile by name. */
export function settingNamed(platform: PlatformPolicy, name: string): Setting | undefined {
  return (platform.settings ?? []).find((s) => s.name === name);
}

export interface EffectivePeriod {
  readonly days: PeriodDays;
  readonly source: 'default' | 'tenant';
}

/** A setting's period: the tenant's choice ?? the setting's default. */
export function effectiveSetting(setting: Setting, tenant: TenantPolicy | undefined): EffectivePeriod {
  const chosen = tenant?.settings?.[setting.name];
  if (chosen !== undefined) return { days: chosen.days, source: 'tenant' };
  return { days: setting.defaultDays, source: 'default' };
}

/**
 * The period of a category: its setting's when one governs it, none (kept
 * while the account is active) for the account lifetime, else the tenant's
 * override ?? the platform default.
 */
export function effectivePeriod(platform: PlatformPolicy, tenant: TenantPolicy | undefined, category: Category): EffectivePeriod {
  const g = governance(platform);
  if (g.accountLifetime.has(category)) return { days: null, source: 'default' };
  const setting = g.settingOf.get(category);
  if (setting !== undefined) return effectiveSetting(setting, tenant);
  const override = tenant?.categories[category];
  if (override !== undefined) return { days: override.days, source: 'tenant' };
  return { days: platform.categories[category].defaultDays, source: 'default' };
}

/** The bounds a tenant's choice for a category must respect: its setting's, or its own. */
export function boundsOf(platform: PlatformPolicy, category: Category): Bounds {
  return governance(platform).settingOf.get(category) ?? platform.categories[category];
}

/** A period in milliseconds; `0` days is nothing (the grace alone remains), `null` (indefinite) is infinity. */
export function periodMs(daysValue: PeriodDays): number {
  if (daysValue === null) return Number.POSITIVE_INFINITY;
  return daysValue === 0 ? ZERO_DAY_PERIOD_MS : daysValue * DAY_MS;
}

export function graceMs(platform: PlatformPolicy): number {
  return platform.sweep.graceHours * HOUR_MS;
}

/**
 * The cutoff of a category's own clock at `now`: records whose clock started
 * strictly before it are due. `now − period − grace`; null when nothing of the
 * category is due by its own clock: an indefinite period, the account
 * lifetime, or a customer's records under a subject clock (they go with the
 * profile, whose cutoff is the setting's).
 */
export function cutoffFor(
  platform: PlatformPolicy,
  tenant: TenantPolicy | undefined,
  category: Category,
  now: Date,
): Date | null {
  const g = governance(platform);
  if (g.accountLifetime.has(category)) return null;
  if (g.subject !== undefined && category !== 'customer_profile' && g.settingOf.get(category) === g.subject) return null;
  const { days: d } = effectivePeriod(platform, tenant, category);
  if (d === null) return null;
  return new Date(now.getTime() - periodMs(d) - graceMs(platform));
}

function narrowed(own: PeriodDays, category: Category, platform: PlatformPolicy): PeriodDays {
  const global = CATALOG[category].personalData ? platform.personalDataCapDays : null;
  if (own === null) return global;
  if (global === null) return own;
  return Math.min(own, global);
}

/** A setting's cap, narrowed by the personal-data cap where it governs personal data. */
export function settingCapDays(platform: PlatformPolicy, setting: Setting): PeriodDays {
  const personal = governedCategories(setting).some((c) => CATALOG[c].personalData);
  const global = personal ? platform.personalDataCapDays : null;
  if (setting.maxDays === null) return global;
  if (global === null) return setting.maxDays;
  return Math.min(setting.maxDays, global);
}

/**
 * The strictest cap a tenant's choice for a category may reach: its setting's
 * or its own max, narrowed by the personal-data cap; null for the account
 * lifetime (no period at all).
 */
export function capDays(platform: PlatformPolicy, category: Category): PeriodDays {
  const g = governance(platform);
  if (g.accountLifetime.has(category)) return null;
  const setting = g.settingOf.get(category);
  if (setting !== undefined) return settingCapDays(platform, setting);
  return narrowed(platform.categories[category].maxDays, category, platform);
}

/**
 * How long past its own clock start a record of a category may ever be kept
 * (the TTL backstop's span): its cap; for a category that can sit under a
 * governed container and under another, the longer of both; none under a
 * subject clock (the customer's last contact moves) or the account lifetime.
 */
export function backstopCapDays(platform: PlatformPolicy, category: Category): PeriodDays {
  const g = governance(platform);
  if (g.accountLifetime.has(category)) return null;
  const setting = g.settingOf.get(category);
  if (setting?.clock === 'subject') return null;
  let cap = capDays(platform, category);
  for (const parent of keyParents(category)) {
    const parentSetting = g.settingOf.get(parent);
    if (parentSetting === undefined || parentSetting === setting) continue;
    if (parentSetting.clock === 'subject') return null;
    const parentCap = settingCapDays(platform, parentSetting);
    if (cap === null || parentCap === null) return null;
    cap = Math.max(cap, parentCap);
  }
  return cap;
}

/**
 * The TTL backstop for a record: clock start + its backstop cap + grace, in
 * epoch seconds; undefined when it has none.
 */
export function backstopExpiresAt(platform: PlatformPolicy, category: Category, clockStart: Date): number | undefined {
  const cap = backstopCapDays(platform, category);
  if (cap === null) return undefined;
  return Math.ceil((clockStart.getTime() + periodMs(cap) + graceMs(platform)) / 1000);
}

/**
 * Every capped category's cap cutoff at `now` (a run's start): a record whose
 * clock started before it is past its cap. Used where a hold may not keep data
 * beyond the cap (`holds.beyondCap: false`).
 */
export function capCutoffs(platform: PlatformPolicy, now: Date): Partial<Record<Category, string>> {
  const out: Partial<Record<Category, string>> = {};
  for (const c of CATEGORIES) {
    const cap = backstopCapDays(platform, c);
    if (cap !== null) out[c] = new Date(now.getTime() - periodMs(cap) - graceMs(platform)).toISOString();
  }
  return out;
}

/**
 * Where the profile lets no legal hold keep data past its cap
 * (`holds.beyondCap: false`): the caps a hold of this scope covers data
 * inside of, per capped category, and the longest of them; undefined where
 * holds may pass caps, or nothing in scope is capped.
 */
export function holdCapDays(
  platform: PlatformPolicy,
  category?: Category,
): { readonly longest: number; readonly byCategory: Partial<Record<Category, number>> } | undefined {
  if (governance(platform).holdsBeyondCap) return undefined;
  const byCategory: Partial<Record<Category, number>> = {};
  for (const c of category === undefined ? CATEGORIES : [category]) {
    const cap = backstopCapDays(platform, c);
    if (cap !== null) byCategory[c] = cap;
  }
  const caps = Object.values(byCategory);
  return caps.length === 0 ? undefined : { longest: Math.max(...caps), byCategory };
}

/**
 * Whether a legal hold takes a record's TTL backstop off (and locks its blob):
 * wherever holds may keep data past the cap, or the record has no cap. Where
 * the profile lets no hold pass a cap, a capped record keeps its backstop — it
 * goes at its cap whatever the hold — and its blob gets no legal hold, which
 * would stop the sweep deleting it there.
 */
export function holdLiftsBackstop(platform: PlatformPolicy, category: Category): boolean {
  return governance(platform).holdsBeyondCap || backstopCapDays(platform, category) === null;
}

function longer(a: PeriodDays, b: PeriodDays): boolean {
  return periodMs(a) > periodMs(b);
}

function describe(d: PeriodDays): string {
  return d === null ? 'indefinite' : `${d} days`;
}

/** Checks one chosen period against its bounds; `what` names it in messages. */
function checkPeriod(
  platform: PlatformPolicy,
  field: string,
  what: string,
  b: Bounds,
  cap: PeriodDays,
  d: PeriodDays,
  violations: PolicyViolation[],
): void {
  if (d === null && !b.indefiniteAllowed) {
    violations.push({ field, message: `${what} cannot be kept indefinitely under the ${platform.profile} profile` });
    return;
  }
  if (d !== null && d < b.minDays) {
    violations.push({ field, message: `${what} must be kept at least ${b.minDays} days (minimum), got ${d}` });
  }
  // Indefinite is longer than any cap and any default: it must pass the same checks.
  if (cap !== null && (d === null || d > cap)) {
    violations.push({ field, message: `${what} may be kept at most ${cap} days (maximum), got ${describe(d)}` });
  }
  if (!b.extendable && b.defaultDays !== null && (d === null || d > b.defaultDays)) {
    violations.push({ field, message: `${what} cannot be extended beyond its default of ${b.defaultDays} days, got ${describe(d)}` });
  }
}

/**
 * Checks a proposed change against the platform bounds and the current tenant
 * policy. Returns every violation; an empty list means the change may be saved.
 * Bounds are enforced, never clamped. A category a setting governs, or the
 * account lifetime keeps, cannot be named on its own.
 */
export function validatePolicyChange(
  platform: PlatformPolicy,
  current: TenantPolicy | undefined,
  change: PolicyChange,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const g = governance(platform);
  const proposedSettings = change.settings ?? {};
  const proposedCategories = change.categories ?? {};
  const names = g.settings.map((s) => s.name);

  for (const [name, requested] of Object.entries(proposedSettings)) {
    const setting = settingNamed(platform, name);
    if (setting === undefined) {
      violations.push({
        field: `settings.${name}`,
        message:
          names.length === 0
            ? `the ${platform.profile} profile has no settings: set categories one by one`
            : `no such setting under the ${platform.profile} profile; its settings: ${names.join(', ')}`,
      });
      continue;
    }
    checkPeriod(platform, `settings.${name}.days`, `the ${name} setting`, setting, settingCapDays(platform, setting), requested.days, violations);
  }

  for (const category of CATEGORIES) {
    const requested = proposedCategories[category];
    if (requested === undefined) continue;
    const field = `categories.${category}.days`;
    if (g.accountLifetime.has(category)) {
      violations.push({
        field,
        message: `${category} is kept while the account is active (deleted after its contract ends or ${g.inactivityDays} days of inactivity): it has no period of its own`,
      });
      continue;
    }
    const setting = g.settingOf.get(category);
    if (setting !== undefined) {
      violations.push({ field, message: `${category} is governed by the setting ${setting.name}: set settings.${setting.name}.days instead` });
      continue;
    }
    checkPeriod(platform, field, category, platform.categories[category], capDays(platform, category), requested.days, violations);
  }

  const locked = current?.locked === true;
  if (locked && change.lock === false) {
    violations.push({ field: 'lock', message: 'a locked policy cannot be unlocked' });
  }

  const next = nextPolicy(current ?? defaultTenantPolicy(platform, ''), change);
  const shortened: string[] = [];
  const acknowledged: string[] = [];
  for (const setting of g.settings) {
    const before = effectiveSetting(setting, current).days;
    const after = effectiveSetting(setting, next).days;
    if (longer(before, after)) {
      shortened.push(`the ${setting.name} setting`);
      if (locked) {
        violations.push({
          field: `settings.${setting.name}.days`,
          message: `the policy is locked: the ${setting.name} setting may only be extended (now ${describe(before)}, proposed ${describe(after)})`,
        });
      }
    } else if (setting.acknowledge === 'always' && before !== after) {
      acknowledged.push(`the ${setting.name} setting`);
    }
  }
  for (const category of CATEGORIES) {
    if (g.settingOf.has(category) || g.accountLifetime.has(category)) continue;
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
  if ((shortened.length > 0 || acknowledged.length > 0) && change.acknowledgeDataLoss !== true) {
    const reasons: string[] = [];
    if (shortened.length > 0) reasons.push(`shortening ${shortened.join(', ')} makes data that is kept today due for deletion at the next sweep`);
    if (acknowledged.length > 0) reasons.push(`changing ${acknowledged.join(', ')} changes what is deleted automatically and needs the acknowledgement every time`);
    violations.push({ field: 'acknowledgeDataLoss', message: `${reasons.join('; ')}; send acknowledgeDataLoss: true to confirm` });
  }
  return violations;
}

function nextPolicy(current: TenantPolicy, change: PolicyChange): TenantPolicy {
  return { ...current, settings: change.settings ?? {}, categories: change.categories ?? {} };
}

/** The tenant policy after a validated change. */
export function applyPolicyChange(
  current: TenantPolicy,
  change: PolicyChange,
  at: string,
  by: string,
): TenantPolicy {
  return {
    ...nextPolicy(current, change),
    version: current.version + 1,
    locked: current.locked || change.lock === true,
    updatedAt: at,
    updatedBy: by,
  };
}
