/**
 * Tenant retention policy: read it with its platform bounds, change it inside
 * them, preview what a change would delete, read its history. DESIGN.md §1, §5.
 */
import { CATEGORIES, STAGES, type Category } from '../../../domain/catalog.js';
import { addCounts } from '../../../domain/deletion/counts.js';
import { ConflictError } from '../../../domain/errors.js';
import {
  applyPolicyChange,
  capDays,
  defaultTenantPolicy,
  effectivePeriod,
  validatePolicyChange,
  type PeriodDays,
  type PolicyChange,
  type PolicyRevision,
  type TenantPolicy,
} from '../../../domain/policy.js';
import type { CategoryCounts } from '../../../domain/receipt.js';
import { runCutoffs, type TenantRunContext } from '../../../domain/sweep/cutoffs.js';
import type { SweepTenant } from '../../../domain/sweep/plan.js';
import { sweepTenant } from '../../../domain/sweep/stage.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import { RequestValidationError } from '../errors.js';
import type { PolicyBody } from '../schemas.js';

/** No time budget for the preview's dry run: it runs each stage to the end in one call. */
const NO_DEADLINE = new Date(8_640_000_000_000_000);

export interface CategoryView {
  readonly days: PeriodDays;
  readonly default: PeriodDays;
  readonly min: number;
  readonly max: PeriodDays;
  readonly extendable: boolean;
  readonly indefiniteAllowed: boolean;
  readonly source: 'default' | 'tenant';
}

export interface PolicyView {
  readonly tenantId: string;
  readonly profile: string;
  readonly version: number;
  readonly locked: boolean;
  readonly updatedAt?: string;
  readonly categories: Readonly<Record<Category, CategoryView>>;
}

async function currentPolicy(app: ApiApp, tenantId: string): Promise<TenantPolicy> {
  return (await app.deps.control.getPolicy(tenantId)) ?? defaultTenantPolicy(app.deps.platform, tenantId);
}

/** The effective policy with every category's platform bounds. */
export function policyView(app: ApiApp, policy: TenantPolicy): PolicyView {
  const { platform } = app.deps;
  const categories = {} as Record<Category, CategoryView>;
  for (const category of CATEGORIES) {
    const bounds = platform.categories[category];
    const effective = effectivePeriod(platform, policy, category);
    categories[category] = {
      days: effective.days,
      default: bounds.defaultDays,
      min: bounds.minDays,
      max: capDays(platform, category),
      extendable: bounds.extendable,
      indefiniteAllowed: bounds.indefiniteAllowed,
      source: effective.source,
    };
  }
  return {
    tenantId: policy.tenantId,
    profile: platform.profile,
    version: policy.version,
    locked: policy.locked,
    ...(policy.updatedAt !== undefined && { updatedAt: policy.updatedAt }),
    categories,
  };
}

export async function getPolicy(app: ApiApp, tenant: Tenant): Promise<PolicyView> {
  return policyView(app, await currentPolicy(app, tenant.tenantId));
}

function changeOf(body: PolicyBody): PolicyChange {
  return {
    categories: body.categories,
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
 * period needs `acknowledgeDataLoss: true`. A concurrent save is a 409.
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
  return policyView(app, next);
}

export interface PreviewResult {
  readonly tenantId: string;
  readonly at: string;
  readonly categories: Partial<Record<Category, { wouldDelete: number; held: number; examined: number }>>;
}

/**
 * What the next sweep would delete and hold under the proposed policy: the
 * sweep itself, run over every stage in dry-run mode, with nothing saved.
 * A preview does not need `acknowledgeDataLoss` (seeing the loss is its point).
 */
export async function previewPolicy(app: ApiApp, caller: Caller, tenant: Tenant, body: PolicyBody): Promise<PreviewResult> {
  const current = await currentPolicy(app, tenant.tenantId);
  const change = changeOf(body);
  const violations = validatePolicyChange(app.deps.platform, current, change).filter((v) => v.field !== 'acknowledgeDataLoss');
  if (violations.length > 0) throw new RequestValidationError(violations);

  const at = caller.now.toISOString();
  const ctx: TenantRunContext = {
    tenant,
    platform: app.deps.platform,
    policy: applyPolicyChange(current, change, at, caller.actor),
    holds: await app.deps.control.listHolds(tenant.tenantId),
  };
  const subject: SweepTenant = { tenant, holds: ctx.holds, cutoffs: runCutoffs(ctx, caller.now), runStartedAt: at };
  const counts: Partial<Record<Category, CategoryCounts>> = {};
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
      continuation = result.done ? undefined : result.continuation;
    } while (continuation !== undefined);
  }
  const categories: PreviewResult['categories'] = {};
  for (const [category, c] of Object.entries(counts) as [Category, CategoryCounts][]) {
    categories[category] = { wouldDelete: c.deleted, held: c.held, examined: c.examined };
  }
  return { tenantId: tenant.tenantId, at, categories };
}

export async function policyHistory(app: ApiApp, tenant: Tenant): Promise<PolicyRevision[]> {
  return app.deps.control.policyHistory(tenant.tenantId);
}
