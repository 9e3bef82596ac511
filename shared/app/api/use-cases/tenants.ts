/**
 * Tenants (SuperAdministrator): register or update one, list them all.
 */
import { ValidationError } from '../../../domain/errors.js';
import { retentionShardsOf } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { TenantBody } from '../schemas.js';

export interface PutTenantResult {
  readonly tenant: Tenant;
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
  return { tenant, created: existing === undefined };
}

export async function listTenants(app: ApiApp): Promise<Tenant[]> {
  const tenants = await app.deps.control.listTenants();
  return [...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}
