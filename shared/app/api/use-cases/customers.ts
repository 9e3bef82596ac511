/**
 * Customers: find them by an identifier (normalised as ingest normalised it),
 * and export everything Lethe holds about one as JSON, blobs as short-lived
 * pre-signed links. DESIGN.md §5.
 */
import type { Category } from '../../../domain/catalog.js';
import { NotFoundError } from '../../../domain/errors.js';
import {
  normaliseEmail,
  normaliseExternalId,
  normaliseName,
  normalisePhone,
  orThrow,
} from '../../../domain/identifiers.js';
import { keys, type IdentifierKind, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { LookupQuery } from '../schemas.js';
import { TOMBSTONE } from './deletions.js';

/** Export links live an hour: the export answers the admin who asked, right now. */
const EXPORT_LINK_SECONDS = 3600;
const IDENTIFIER_SK_PREFIX = 'ID#';
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
  const firstContactAt = str(profile?.data?.firstContactAt);
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

type Json = Record<string, unknown>;

interface ConversationExport extends Json {
  id: string;
  messages: Json[];
  communicationLogs: Json[];
}

interface CallExport extends Json {
  id: string;
  recordings: Json[];
}

export interface CustomerExport {
  readonly exportedAt: string;
  readonly customer: Json;
  readonly identifiers: { kind: string; value: string }[];
  readonly conversations: ConversationExport[];
  readonly calls: CallExport[];
  readonly media: Json[];
  readonly emailAttachments: Json[];
  readonly analyticsEvents: Json[];
}

function defined(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/**
 * Everything held about one customer: profile, identifiers, conversations with
 * their messages (a deleted one as its tombstone) and logs, calls with links to
 * their recordings, media and e-mail attachments with links, analytics events.
 */
export async function exportCustomer(app: ApiApp, caller: Caller, tenant: Tenant, customerId: string): Promise<CustomerExport> {
  const items = await app.deps.records.findBySubject(tenant.tenantId, customerId);
  if (items.length === 0) throw new NotFoundError('id: no such customer', { field: 'id' });
  const link = (i: RecordItem) =>
    i.blobBucket !== undefined && i.blobKey !== undefined
      ? app.deps.blobs.presignGet(i.blobBucket, i.blobKey, EXPORT_LINK_SECONDS)
      : Promise.resolve(undefined);

  const conversations = new Map<string, ConversationExport>();
  const conversation = (id: string): ConversationExport => {
    let c = conversations.get(id);
    if (c === undefined) conversations.set(id, (c = { id, messages: [], communicationLogs: [] }));
    return c;
  };
  const calls = new Map<string, CallExport>();
  const call = (id: string): CallExport => {
    let c = calls.get(id);
    if (c === undefined) calls.set(id, (c = { id, recordings: [] }));
    return c;
  };
  const out: CustomerExport = {
    exportedAt: caller.now.toISOString(),
    customer: { customerId },
    identifiers: [],
    conversations: [],
    calls: [],
    media: [],
    emailAttachments: [],
    analyticsEvents: [],
  };

  // Items come sorted by sk: parents before their children, messages in time order.
  for (const i of items) {
    const d = i.data ?? {};
    if (i.sk === keys.profileSk()) {
      Object.assign(out.customer, defined({ ...d }));
    } else if (i.sk.startsWith(IDENTIFIER_SK_PREFIX)) {
      const [, kind, ...rest] = i.sk.split('#');
      out.identifiers.push({ kind: (kind ?? '').toLowerCase(), value: rest.join('#') });
    } else if (CONVERSATION_CATEGORIES.has(i.category)) {
      const closing = i as unknown as { closedAt?: unknown; closedReason?: unknown };
      Object.assign(conversation(i.id), defined({ ...d, status: i.status, closedAt: closing.closedAt, closedReason: closing.closedReason }));
    } else if (i.category === 'message' && i.conversationId !== undefined) {
      conversation(i.conversationId).messages.push(
        i.status === 'deleted' || d.deleted === true ? { id: i.id, ...TOMBSTONE } : defined({ id: i.id, ...d }),
      );
    } else if (i.category === 'communication_log' && i.conversationId !== undefined) {
      conversation(i.conversationId).communicationLogs.push(defined({ id: i.id, ...d }));
    } else if (i.category === 'call') {
      Object.assign(call(i.id), defined({ ...d }));
    } else if (i.category === 'third_party_call_data' && i.callId !== undefined) {
      call(i.callId).thirdPartyRef = i.externalRef;
    } else if (i.category === 'call_recording' && i.callId !== undefined) {
      call(i.callId).recordings.push(defined({ id: i.id, url: await link(i), contentType: d.contentType, size: d.size }));
    } else if (i.category === 'inbound_media' || i.category === 'outbound_media') {
      out.media.push(defined({ id: i.id, conversationId: i.conversationId, ...d, url: await link(i) }));
    } else if (i.category === 'email_attachment') {
      out.emailAttachments.push(defined({ id: i.id, conversationId: i.conversationId, ...d, url: await link(i) }));
    } else if (i.category === 'analytics_event') {
      out.analyticsEvents.push(defined({ id: i.id, ...d }));
    }
  }
  out.conversations.push(...conversations.values());
  out.calls.push(...calls.values());

  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'customer.exported',
    refs: { customer: app.refs.subject(tenant.tenantId, customerId) },
  });
  return out;
}
