/**
 * Tenant retention policy: read it with its platform bounds, change it inside
 * them, preview what a change would delete, read its history. DESIGN.md §1, §5.
 *
 * The policy speaks the profile's settings (each with its bounds, current
 * value and where it comes from) and shows the effective result for every
 * category: the setting that decides for it, the account lifetime, or its own
 * period where it is in neither.
 */
import { CATEGORIES, STAGES, type Category } from '../../../domain/catalog.js';
import { addCounts } from '../../../domain/deletion/counts.js';
import { ConflictError } from '../../../domain/errors.js';
import { makeEvent, publishEvents } from '../../../domain/events.js';
import {
  applyPolicyChange,
  capDays,
  defaultTenantPolicy,
  effectivePeriod,
  effectiveSetting,
  governance,
  governedCategories,
  settingCapDays,
  validatePolicyChange,
  type ClockKind,
  type PeriodDays,
  type PolicyChange,
  type PolicyRevision,
  type TenantPolicy,
} from '../../../domain/policy.js';
import type { CategoryCounts } from '../../../domain/receipt.js';
import { KEY_PARENTS, runAccountEnd, runCutoffs, sweepRules, type TenantRunContext } from '../../../domain/sweep/cutoffs.js';
import type { SweepTenant } from '../../../domain/sweep/plan.js';
import { sweepTenant } from '../../../domain/sweep/stage.js';
import type { AccountEndReason, Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import { RequestValidationError } from '../errors.js';
import type { PolicyBody } from '../schemas.js';

/** No time budget for the preview's dry run: it runs each stage to the end in one call. */
const NO_DEADLINE = new Date(8_640_000_000_000_000);

/** A period a tenant chooses, with its bounds and where its value comes from. */
interface PeriodView {
  readonly days: PeriodDays;
  readonly default: PeriodDays;
  readonly min: number;
  readonly max: PeriodDays;
  readonly extendable: boolean;
  readonly indefiniteAllowed: boolean;
  readonly source: 'default' | 'tenant';
}

export interface SettingView extends PeriodView {
  readonly description: string;
  /** The categories the setting names. */
  readonly categories: readonly Category[];
  /** Every category it decides for: the ones it names and what lives under them. */
  readonly governs: readonly Category[];
  readonly clock: ClockKind;
  /** When a change needs acknowledgeDataLoss: when it shortens the period, or always. */
  readonly acknowledge: 'shorten' | 'always';
}

export interface CategoryView extends PeriodView {
  /** What decides for the category: its own period, a setting, or the account's lifetime. */
  readonly governedBy: 'category' | 'setting' | 'account_lifetime';
  /** The setting that decides for every record of it (change that setting, not the category). */
  readonly setting?: string;
  /** For a category whose records can sit under a governed container and under another: the setting it follows under each governed one. */
  readonly followsUnder?: Partial<Record<Category, string>>;
  /** How its records are timed: each by its own clock, by the customer's last contact, or by the account. */
  readonly clock: ClockKind | 'account';
}

export interface PolicyView {
  readonly tenantId: string;
  readonly profile: string;
  readonly version: number;
  readonly locked: boolean;
  readonly updatedAt?: string;
  readonly settings: Readonly<Record<string, SettingView>>;
  readonly categories: Readonly<Record<Category, CategoryView>>;
  /** Categories kept while the account is active; null when the profile has none. */
  readonly accountLifetime: { readonly categories: readonly Category[]; readonly inactivityDays: number } | null;
  /** Whether a legal hold may keep data past its cap. */
  readonly holds: { readonly beyondCap: boolean };
}

async function currentPolicy(app: ApiApp, tenantId: string): Promise<TenantPolicy> {
  return (await app.deps.control.getPolicy(tenantId)) ?? defaultTenantPolicy(app.deps.platform, tenantId);
}

/** The effective policy: every setting and every category with its bounds and where its value comes from. */
export function policyView(app: ApiApp, policy: TenantPolicy): PolicyView {
  const { platform } = app.deps;
  const g = governance(platform);
  const settings: Record<string, SettingView> = {};
  for (const s of g.settings) {
    const effective = effectiveSetting(s, policy);
    settings[s.name] = {
      description: s.description,
      categories: s.categories,
      governs: governedCategories(s),
      clock: s.clock,
      days: effective.days,
      default: s.defaultDays,
      min: s.minDays,
      max: settingCapDays(platform, s),
      extendable: s.extendable,
      indefiniteAllowed: s.indefiniteAllowed,
      acknowledge: s.acknowledge,
      source: effective.source,
    };
  }
  const categories = {} as Record<Category, CategoryView>;
  for (const category of CATEGORIES) {
    const effective = effectivePeriod(platform, policy, category);
    if (g.accountLifetime.has(category)) {
      categories[category] = {
        days: null,
        default: null,
        min: 0,
        max: null,
        extendable: false,
        indefiniteAllowed: true,
        source: 'default',
        governedBy: 'account_lifetime',
        clock: 'account',
      };
      continue;
    }
    const setting = g.settingOf.get(category);
    if (setting !== undefined) {
      categories[category] = { ...pick(settings[setting.name] as SettingView), governedBy: 'setting', setting: setting.name, clock: setting.clock };
      continue;
    }
    const bounds = platform.categories[category];
    const followsUnder: Partial<Record<Category, string>> = {};
    for (const parent of KEY_PARENTS[category] ?? []) {
      const parentSetting = g.settingOf.get(parent);
      if (parentSetting !== undefined) followsUnder[parent] = parentSetting.name;
    }
    categories[category] = {
      days: effective.days,
      default: bounds.defaultDays,
      min: bounds.minDays,
      max: capDays(platform, category),
      extendable: bounds.extendable,
      indefiniteAllowed: bounds.indefiniteAllowed,
      source: effective.source,
      governedBy: 'category',
      ...(Object.keys(followsUnder).length > 0 && { followsUnder }),
      clock: 'item',
    };
  }
  const lifetime = platform.accountLifetime ?? null;
  return {
    tenantId: policy.tenantId,
    profile: platform.profile,
    version: policy.version,
    locked: policy.locked,
    ...(policy.updatedAt !== undefined && { updatedAt: policy.updatedAt }),
    settings,
    categories,
    accountLifetime: lifetime === null ? null : { categories: lifetime.categories, inactivityDays: lifetime.inactivityDays },
    holds: { beyondCap: g.holdsBeyondCap },
  };
}

/** A setting's period fields alone (a category governed by it shows them, not its description). */
function pick(s: SettingView): PeriodView {
  return { days: s.days, default: s.default, min: s.min, max: s.max, extendable: s.extendable, indefiniteAllowed: s.indefiniteAllowed, source: s.source };
}

export async function getPolicy(app: ApiApp, tenant: Tenant): Promise<PolicyView> {
  return policyView(app, await currentPolicy(app, tenant.tenantId));
}

function changeOf(body: PolicyBody): PolicyChange {
  return {
    ...(body.settings !== undefined && { settings: body.settings }),
    ...(body.categories !== undefined && { categories: body.categories }),
    ...(body.acknowledgeDataLoss !== undefined && { acknowledgeDataLoss: body.acknowledgeDataLoss }),
    ...(body.lock !== undefined && { lock: body.lock }),
  };
}

function checkVersion(current: TenantPolicy, body: PolicyBody): void {
  if (body.expectedVersion !== undefined && body.expectedVersion !== current.version) {
    throw new ConflictError(
      `expectedVersion: the policy is at version ${current.version}, not ${body.expectedVersion}; read it again and retry`,
      { code: 'concurrent_modification', field: 'expectedVersion' },
    );
  }
}

/**
 * Saves a change that passes every platform bound and the lock; shortening a
 * period (or, for a setting that always asks, any change of it) needs
 * `acknowledgeDataLoss: true`. Naming a category a setting governs is a 400
 * naming the setting to use. A concurrent save is a 409.
 */
export async function putPolicy(app: ApiApp, caller: Caller, tenant: Tenant, body: PolicyBody): Promise<PolicyView> {
  const current = await currentPolicy(app, tenant.tenantId);
  checkVersion(current, body);
  const change = changeOf(body);
  const violations = validatePolicyChange(app.deps.platform, current, change);
  if (violations.length > 0) throw new RequestValidationError(violations);

  const at = caller.now.toISOString();
  const next = applyPolicyChange(current, change, at, caller.actor);
  const revision: PolicyRevision = {
    version: next.version,
    policy: next,
    ...(current.version > 0 && { previous: current }),
    changedAt: at,
    changedBy: caller.actor,
  };
  await app.deps.control.savePolicy(revision, current.version);
  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'policy.updated',
    refs: { version: String(next.version) },
    before: current,
    after: next,
  });
  // After the version is saved; the adapter logs what it could not publish.
  await publishEvents(app.deps.events, [
    makeEvent('PolicyChanged', tenant.tenantId, caller.now, { version: next.version, previousVersion: current.version }, next.version),
  ]);
  return policyView(app, next);
}

interface PreviewCounts {
  wouldDelete: number;
  held: number;
  examined: number;
}

export interface PreviewResult {
  readonly tenantId: string;
  readonly at: string;
  /** Set when the account is over: everything of it would go. */
  readonly reason?: AccountEndReason;
  /** Per setting: what would go of the categories it decides for wholly. */
  readonly settings: Readonly<Record<string, PreviewCounts>>;
  /** Per category; `customer_profile` counts customers (their identifier items are not profiles). */
  readonly categories: Partial<Record<Category, PreviewCounts>>;
}

/**
 * What the next sweep would delete and hold under the proposed policy: the
 * sweep itself, run over every stage in dry-run mode, with nothing saved.
 * A preview does not need `acknowledgeDataLoss` (seeing the loss is its point).
 */
export async function previewPolicy(app: ApiApp, caller: Caller, tenant: Tenant, body: PolicyBody): Promise<PreviewResult> {
  const { platform } = app.deps;
  const current = await currentPolicy(app, tenant.tenantId);
  const change = changeOf(body);
  const violations = validatePolicyChange(platform, current, change).filter((v) => v.field !== 'acknowledgeDataLoss');
  if (violations.length > 0) throw new RequestValidationError(violations);

  const at = caller.now.toISOString();
  const ctx: TenantRunContext = {
    tenant,
    platform,
    policy: applyPolicyChange(current, change, at, caller.actor),
    holds: await app.deps.control.listHolds(tenant.tenantId),
  };
  const reason = runAccountEnd(ctx, caller.now);
  const subject: SweepTenant = { tenant, holds: ctx.holds, cutoffs: runCutoffs(ctx, caller.now), runStartedAt: at, rules: sweepRules(platform, at, reason) };
  const counts: Partial<Record<Category, CategoryCounts>> = {};
  let customers: CategoryCounts | undefined;
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      // Later stages see what the earlier ones held, as in a real run.
      const result = await sweepTenant(
        app.deps,
        { ...subject, runCounts: structuredClone(counts) },
        { runId: 'preview', stage, dryRun: true, ...(continuation !== undefined && { continuation }) },
        { deadline: NO_DEADLINE },
      );
      addCounts(counts, result.counts);
      if (result.profiles !== undefined) customers = addCounts({ customer_profile: customers }, { customer_profile: result.profiles }).customer_profile;
      continuation = result.done ? undefined : result.continuation;
    } while (continuation !== undefined);
  }
  const categories: PreviewResult['categories'] = {};
  for (const [category, c] of Object.entries(counts) as [Category, CategoryCounts][]) {
    const shown = category === 'customer_profile' ? (customers ?? { examined: 0, deleted: 0, held: 0, failed: 0, kept: 0 }) : c;
    categories[category] = { wouldDelete: shown.deleted, held: shown.held, examined: shown.examined };
  }
  const settings: Record<string, PreviewCounts> = {};
  const g = governance(platform);
  for (const s of g.settings) {
    const sum: PreviewCounts = { wouldDelete: 0, held: 0, examined: 0 };
    // The categories it decides for wholly (a category that can also sit elsewhere shows on its own row only).
    for (const c of CATEGORIES.filter((x) => g.settingOf.get(x) === s)) {
      const row = categories[c];
      if (row === undefined) continue;
      sum.wouldDelete += row.wouldDelete;
      sum.held += row.held;
      sum.examined += row.examined;
    }
    settings[s.name] = sum;
  }
  return { tenantId: tenant.tenantId, at, ...(reason !== undefined && { reason }), settings, categories };
}

export async function policyHistory(app: ApiApp, tenant: Tenant): Promise<PolicyRevision[]> {
  return app.deps.control.policyHistory(tenant.tenantId);
}
