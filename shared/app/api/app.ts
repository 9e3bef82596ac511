/**
 * What every use case of the admin API gets: the dependencies, the reference
 * functions bound to the deployment's secret, fresh ids, and one way to write
 * audit events. Built once per function by `createApiHandler`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEvent } from '../../domain/audit.js';
import { createReferences, type References } from '../../domain/references.js';
import { NotFoundError } from '../../domain/errors.js';
import type { Tenant } from '../../domain/tenant.js';
import type { ApiDeps } from './contract.js';

/** Who made a call, and when: the actor as a keyed HMAC of the token's `sub`. */
export interface Caller {
  readonly actor: string;
  readonly now: Date;
}

export interface IdSource {
  /** A new opaque id with a prefix, e.g. `hold-…`. */
  next(prefix: string): string;
  /**
   * An audit event id that sorts after every earlier one of this process, so
   * events written in the same millisecond still list newest first.
   */
  nextEventId(): string;
}

export function randomIds(): IdSource {
  let sequence = 0;
  return {
    next: (prefix) => `${prefix}-${randomUUID()}`,
    nextEventId: () => `${(sequence++).toString(36).padStart(8, '0')}${randomBytes(6).toString('hex')}`,
  };
}

export interface ApiApp {
  readonly deps: ApiDeps;
  readonly refs: References;
  readonly ids: IdSource;
}

export function createApiApp(deps: ApiDeps, ids: IdSource = randomIds()): ApiApp {
  let refs: References | undefined;
  return {
    deps,
    ids,
    // Bound on first use, so a function that serves only public routes needs no secret.
    get refs(): References {
      refs ??= createReferences(deps.refSecret);
      return refs;
    },
  };
}

export interface AuditInput {
  readonly tenantId: string;
  readonly action: string;
  /** Opaque ids and keyed HMACs only. */
  readonly refs?: Readonly<Record<string, string>>;
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * Audited actions that are not the account's own use: the operator's
 * registration of a tenant, and ingest (which keeps the account's activity at
 * the latest customer-facing activity it stores).
 */
const NOT_ACCOUNT_ACTIVITY: ReadonlySet<string> = new Set(['tenant.created', 'tenant.updated', 'records.ingested']);

/**
 * Appends one audit event for a mutation. Every admin API write is account
 * activity: it keeps the tenant's `lastActivityAt` current (an account in use
 * is not inactive).
 */
export async function audit(app: ApiApp, caller: Caller, input: AuditInput): Promise<AuditEvent> {
  const event: AuditEvent = {
    tenantId: input.tenantId,
    eventId: app.ids.nextEventId(),
    at: caller.now.toISOString(),
    actor: caller.actor,
    action: input.action,
    ...(input.refs !== undefined && { refs: input.refs }),
    ...(input.before !== undefined && { before: input.before }),
    ...(input.after !== undefined && { after: input.after }),
  };
  await app.deps.control.appendAudit(event);
  if (!NOT_ACCOUNT_ACTIVITY.has(input.action)) await app.deps.control.touchTenantActivity(input.tenantId, event.at);
  return event;
}

/** The tenant, or a 404 naming the path parameter. */
export async function requireTenant(app: ApiApp, tenantId: string): Promise<Tenant> {
  const tenant = await app.deps.control.getTenant(tenantId);
  if (tenant === undefined) throw new NotFoundError('t: no such tenant', { field: 't' });
  return tenant;
}
