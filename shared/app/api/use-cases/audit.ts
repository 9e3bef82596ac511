/**
 * The audit trail of a tenant, newest first, in pages.
 */
import type { AuditEvent } from '../../../domain/audit.js';
import { ValidationError } from '../../../domain/errors.js';
import type { Tenant } from '../../../domain/tenant.js';
import type { ApiApp } from '../app.js';

export interface AuditPage {
  readonly events: Omit<AuditEvent, 'tenantId'>[];
  readonly nextCursor?: string;
}

function encodeCursor(event: AuditEvent): string {
  return Buffer.from(JSON.stringify([event.at, event.eventId]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Pick<AuditEvent, 'at' | 'eventId'> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'string' && v.length <= 64)) {
    throw new ValidationError('cursor', 'cursor: is not one this API returned');
  }
  return { at: value[0] as string, eventId: value[1] as string };
}

export async function listAuditEvents(
  app: ApiApp,
  tenant: Tenant,
  options: { readonly limit: number; readonly cursor?: string },
): Promise<AuditPage> {
  const before = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const events = await app.deps.control.listAudit(tenant.tenantId, {
    limit: options.limit + 1,
    ...(before !== undefined && { before }),
  });
  const page = events.slice(0, options.limit);
  const last = page.at(-1);
  return {
    events: page.map(({ tenantId: _tenantId, ...rest }) => rest),
    ...(events.length > options.limit && last !== undefined && { nextCursor: encodeCursor(last) }),
  };
}
