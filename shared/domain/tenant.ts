/**
 * A tenant: one customer-communication platform account whose records Lethe
 * governs, with the third-party providers that hold call data on its behalf.
 * Kept in the control table (`ControlStore`).
 */
export type TenantStatus = 'active' | 'suspended' | 'offboarded';

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
  /** ISO instant of the last customer-facing activity (ingest keeps it current). */
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
