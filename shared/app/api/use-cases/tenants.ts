/**
 * Tenants: register or update one, list them all (SuperAdministrator); read
 * one, with the status its account is in (its own Administrators too).
 */
import { isNonPublicHost } from '../../../adapters/http/external-provider.js';
import { ValidationError } from '../../../domain/errors.js';
import { retentionShardsOf } from '../../../domain/records.js';
import { tenantStatusAt, type Tenant, type TenantStatusView } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { TenantBody } from '../schemas.js';

/**
 * A tenant as the API shows it: `status` is the account's status at the time of
 * the read — `contract_ended` or `inactive` once an active account is over
 * (computed, never stored; `accountEnd`), else the registered one.
 */
export type TenantView = Omit<Tenant, 'status'> & { readonly status: TenantStatusView };

export function tenantView(app: ApiApp, tenant: Tenant, now: Date): TenantView {
  return { ...tenant, status: tenantStatusAt(tenant, app.deps.platform, now) };
}

export interface PutTenantResult {
  readonly tenant: TenantView;
  readonly created: boolean;
}

/**
 * Registers a tenant (active from now) or replaces its registration fields;
 * status, creation time, last activity and the retention shards (unless
 * raised) survive an update. Lowering the shards is refused: records already
 * on the higher shards would no longer be swept.
 */
export async function putTenant(app: ApiApp, caller: Caller, tenantId: string, body: TenantBody): Promise<PutTenantResult> {
  const existing = await app.deps.control.getTenant(tenantId);
  const now = caller.now.toISOString();
  const shards = body.retentionShards ?? (existing === undefined ? undefined : existing.retentionShards);
  if (existing !== undefined && shards !== undefined && shards < retentionShardsOf(existing)) {
    throw new ValidationError(
      'retentionShards',
      `can only be raised (it is ${retentionShardsOf(existing)}): records already written to the higher shards would no longer be swept`,
    );
  }
  // A provider must be on the public internet (the call-time check, after DNS, stays); local mode's may be on this machine.
  for (const [i, endpoint] of (body.thirdPartyEndpoints ?? []).entries()) {
    if (app.deps.allowPrivateProviderHosts !== true && isNonPublicHost(new URL(endpoint.deleteUrl.replaceAll('{ref}', 'ref')).hostname)) {
      throw new ValidationError(`thirdPartyEndpoints.${i}.deleteUrl`, 'its host must be a public address, not a loopback, private, link-local or reserved one');
    }
  }
  const tenant: Tenant = {
    tenantId,
    name: body.name,
    status: existing?.status ?? 'active',
    adminEmails: body.adminEmails,
    ...(existing?.lastActivityAt !== undefined && { lastActivityAt: existing.lastActivityAt }),
    ...(body.contractEndsAt !== undefined && { contractEndsAt: body.contractEndsAt }),
    ...(body.thirdPartyEndpoints !== undefined && { thirdPartyEndpoints: body.thirdPartyEndpoints }),
    ...(shards !== undefined && { retentionShards: shards }),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await app.deps.control.putTenant(tenant);
  // Admin e-mails are personal data: the event names what changed, not the values.
  await audit(app, caller, {
    tenantId,
    action: existing === undefined ? 'tenant.created' : 'tenant.updated',
    refs: { tenantId },
    after: {
      status: tenant.status,
      adminEmails: tenant.adminEmails.length,
      contractEndsAt: tenant.contractEndsAt ?? null,
      thirdPartyEndpoints: (tenant.thirdPartyEndpoints ?? []).map((e) => e.name),
      retentionShards: retentionShardsOf(tenant),
    },
  });
  return { tenant: tenantView(app, tenant, caller.now), created: existing === undefined };
}

export async function listTenants(app: ApiApp, now: Date): Promise<TenantView[]> {
  const tenants = await app.deps.control.listTenants();
  return [...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0)).map((t) => tenantView(app, t, now));
}

/** One tenant, with its account's status and last activity. */
export function getTenant(app: ApiApp, caller: Caller, tenant: Tenant): TenantView {
  return tenantView(app, tenant, caller.now);
}
