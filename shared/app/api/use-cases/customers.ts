/**
 * Customers: find them by an identifier (normalised as ingest normalised it),
 * and export everything Lethe keeps about one as JSON, blobs as short-lived
 * pre-signed links (the export itself is built in `domain/export.ts`). DESIGN.md §5.
 */
import type { Category } from '../../../domain/catalog.js';
import { NotFoundError } from '../../../domain/errors.js';
import { buildSubjectExport, DEFAULT_EXPORT_LINK_SECONDS, type SubjectExport } from '../../../domain/export.js';
import {
  normaliseEmail,
  normaliseExternalId,
  normaliseName,
  normalisePhone,
  orThrow,
} from '../../../domain/identifiers.js';
import { firstContactOf, keys, type IdentifierKind, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { LookupQuery } from '../schemas.js';

const CONVERSATION_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation']);

/** The identifier kind and normalised value a lookup asks for; a bad one is a 400 naming its parameter. */
export function lookupKey(query: LookupQuery): { kind: IdentifierKind; value: string } {
  if (query.phone !== undefined) {
    // An unencoded `+` in a query string arrives as a space; read a leading one back as `+`.
    const raw = /^ [0-9]/u.test(query.phone) ? `+${query.phone.slice(1)}` : query.phone;
    return { kind: 'PHONE', value: orThrow(normalisePhone(raw, { field: 'phone' })) };
  }
  if (query.email !== undefined) return { kind: 'EMAIL', value: orThrow(normaliseEmail(query.email, { field: 'email' })) };
  if (query.name !== undefined) return { kind: 'NAME', value: orThrow(normaliseName(query.name, { field: 'name' })) };
  return { kind: 'EXTERNAL', value: orThrow(normaliseExternalId(query.externalId ?? '', { field: 'externalId' })) };
}

export interface CustomerSummary {
  readonly customerId: string;
  readonly firstContactAt?: string;
  readonly lastContactAt?: string;
  readonly botId?: string;
  readonly conversations: number;
  readonly openConversations: number;
  readonly calls: number;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A summary without personal data: ids, dates and counts. */
function summarise(customerId: string, items: readonly RecordItem[]): CustomerSummary {
  const profile = items.find((i) => i.sk === keys.profileSk());
  const conversations = items.filter((i) => CONVERSATION_CATEGORIES.has(i.category));
  const firstContactAt = profile === undefined ? undefined : firstContactOf(profile);
  const lastContactAt = str(profile?.data?.lastContactAt);
  const botId = str(profile?.data?.botId);
  return {
    customerId,
    ...(firstContactAt !== undefined && { firstContactAt }),
    ...(lastContactAt !== undefined && { lastContactAt }),
    ...(botId !== undefined && { botId }),
    conversations: conversations.length,
    openConversations: conversations.filter((c) => c.status === 'open').length,
    calls: items.filter((i) => i.category === 'call').length,
  };
}

export async function lookupCustomers(app: ApiApp, tenant: Tenant, query: LookupQuery): Promise<CustomerSummary[]> {
  const { kind, value } = lookupKey(query);
  const subjects = await app.deps.records.findByIdentifier(tenant.tenantId, kind, value);
  const out: CustomerSummary[] = [];
  for (const subject of [...subjects].sort()) {
    const items = await app.deps.records.findBySubject(tenant.tenantId, subject);
    if (items.length > 0) out.push(summarise(subject, items));
  }
  return out;
}

/**
 * Everything kept about one customer, as the one subject export of
 * `domain/export.ts` (access requests write the same document), blobs as links
 * valid `exportLinkSeconds` (default 15 minutes); audited with a hashed reference.
 */
export async function exportCustomer(app: ApiApp, caller: Caller, tenant: Tenant, customerId: string): Promise<SubjectExport> {
  const linkSeconds = app.deps.exportLinkSeconds ?? DEFAULT_EXPORT_LINK_SECONDS;
  const document = await buildSubjectExport(app.deps, tenant.tenantId, customerId, { linkSeconds });
  if (document.recordCount === 0) throw new NotFoundError('id: no such customer', { field: 'id' });
  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'customer.exported',
    refs: { customer: app.refs.subject(tenant.tenantId, customerId) },
  });
  return document;
}
