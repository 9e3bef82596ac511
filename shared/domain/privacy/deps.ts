/** What the privacy use cases depend on, and the two reads they share (the request, its tenant). */
import type { DeletionDeps } from '../deletion/executor.js';
import { NotFoundError } from '../errors.js';
import type { BlobStore, Clock, ControlStore, Mailer, PrivacyRequestStore, RecordStore } from '../ports.js';
import type { Tenant } from '../tenant.js';
import type { PrivacyRequest } from './request.js';

export interface PrivacyDeps extends DeletionDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly control: ControlStore;
  readonly privacy: PrivacyRequestStore;
  readonly mailer: Mailer;
  readonly clock: Clock;
  readonly refSecret: string;
}

/** The stored request, or a NotFoundError naming its id. */
export async function load(deps: Pick<PrivacyDeps, 'privacy'>, tenantId: string, requestId: string): Promise<PrivacyRequest> {
  const request = await deps.privacy.get(tenantId, requestId);
  if (request === undefined) throw new NotFoundError(`privacy request ${requestId} not found`);
  return request;
}

/** The request's tenant, or a NotFoundError. */
export async function tenantOf(deps: Pick<PrivacyDeps, 'control'>, tenantId: string): Promise<Tenant> {
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === undefined) throw new NotFoundError(`tenant ${tenantId} not found`);
  return tenant;
}
