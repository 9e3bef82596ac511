/**
 * A tenant: one customer-communication platform account whose records Lethe
 * governs, with the third-party providers that hold call data on its behalf.
 * Kept in the control table (`ControlStore`).
 */
import { governance, graceMs, type PlatformPolicy } from './policy.js';

/** The stored status: set by an operator. */
export type TenantStatus = 'active' | 'suspended' | 'offboarded';

/** Why an account is over: its contract ended, or it has been inactive for the profile's period. */
export type AccountEndReason = 'contract_ended' | 'inactive';

/**
 * The status a tenant reads: the stored one, or — for a stored `active` —
 * `contract_ended` / `inactive` once the account is over. Computed, never
 * stored: a tenant that becomes active again (ingest, an admin's write)
 * reads `active` again, and the sweep, which lists the stored-active tenants,
 * still reaches an account that is over to delete its data.
 */
export type TenantStatusView = TenantStatus | AccountEndReason;

export interface ThirdPartyEndpoint {
  readonly name: string;
  /** URL template; `{ref}` is replaced by the provider's reference of the call. */
  readonly deleteUrl: string;
}

export interface Tenant {
  readonly tenantId: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly adminEmails: readonly string[];
  /**
   * ISO instant of the account's last activity: the latest customer-facing
   * activity ingested, and every admin API write (policy, holds, privacy
   * requests, deletions, runs). Sweeps, reads and the operator's tenant
   * registration are not activity.
   */
  readonly lastActivityAt?: string;
  readonly contractEndsAt?: string;
  readonly thirdPartyEndpoints?: readonly ThirdPartyEndpoint[];
  /**
   * Write shards of the tenant's `byRetention` partitions (default 1, at most 16);
   * raised for a tenant that ingests more than ~1,000 records a second into one
   * category, never lowered (records on the higher shards would no longer be swept).
   */
  readonly retentionShards?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const DAY_MS = 86_400_000;

/**
 * Whether the account is over at `now`, and why: its contract end (plus the
 * grace) has passed, or it has had no activity (since its creation, if none)
 * for the profile's inactivity period plus the grace. The contract wins when both hold.
 */
export function accountEnd(tenant: Tenant, platform: PlatformPolicy, now: Date): AccountEndReason | undefined {
  const grace = graceMs(platform);
  if (tenant.contractEndsAt !== undefined && Date.parse(tenant.contractEndsAt) + grace < now.getTime()) return 'contract_ended';
  const lastActivity = Date.parse(tenant.lastActivityAt ?? tenant.createdAt);
  if (lastActivity + governance(platform).inactivityDays * DAY_MS + grace < now.getTime()) return 'inactive';
  return undefined;
}

/** The status a tenant reads at `now` (see `TenantStatusView`). */
export function tenantStatusAt(tenant: Tenant, platform: PlatformPolicy, now: Date): TenantStatusView {
  if (tenant.status !== 'active') return tenant.status;
  return accountEnd(tenant, platform, now) ?? 'active';
}
