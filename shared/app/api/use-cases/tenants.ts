/**
 * Tenants (SuperAdministrator): register or update one, list them all.
 */
import type { Tenant } from '../../../domain/ports.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { TenantBody } from '../schemas.js';

export interface PutTenantResult {
  readonly tenant: Tenant;
  readonly created: boolean;
}

/**
 * Registers a tenant (active from now) or replaces its registration fields;
 * status, creation time and last activity survive an update.
 */
export async function putTenant(app: ApiApp, caller: Caller, tenantId: string, body: TenantBody): Promise<PutTenantResult> {
  const existing = await app.deps.control.getTenant(tenantId);
  const now = caller.now.toISOString();
  const tenant: Tenant = {
    tenantId,
    name: body.name,
    status: existing?.status ?? 'active',
    adminEmails: body.adminEmails,
    ...(existing?.lastActivityAt !== undefined && { lastActivityAt: existing.lastActivityAt }),
    ...(body.contractEndsAt !== undefined && { contractEndsAt: body.contractEndsAt }),
    ...(body.thirdPartyEndpoints !== undefined && { thirdPartyEndpoints: body.thirdPartyEndpoints }),
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
    },
  });
  return { tenant, created: existing === undefined };
}

export async function listTenants(app: ApiApp): Promise<Tenant[]> {
  const tenants = await app.deps.control.listTenants();
  return [...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}
