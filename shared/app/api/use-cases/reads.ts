/**
 * Reads for platform services and the console (DESIGN.md §5): a customer's
 * profile, her timeline of conversations and calls (newest first, paged), a
 * conversation with its messages (newest first, paged; a deleted message as its
 * tombstone) and attachments, one attachment, a call with its recordings. Blobs
 * come as the same short-lived links the export gives (`BlobStore.presignGet`:
 * the API's download route where blobs are sealed).
 *
 * What a read shows is what Lethe keeps: never a record past its retention,
 * even before the sweep has come, nor one past its TTL backstop that DynamoDB
 * has not removed yet; a record a legal hold keeps is shown whatever its age
 * (with everything it hangs from, as the deletion path keeps it). Due means due
 * as the sweep would judge it now (`sweep/cutoffs.ts`: the tenant's cutoffs,
 * settings, subject clock, account lifetime, caps over holds). A record whose
 * keys were shredded has no `data` and reads as deleted. Reads are not audited
 * (a service reads at volume); the request log names route and tenant.
 */
import type { BucketName, Category } from '../../../domain/catalog.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../domain/errors.js';
import { DEFAULT_EXPORT_LINK_SECONDS, TOMBSTONE } from '../../../domain/export.js';
import { holdMatcher } from '../../../domain/holds.js';
import { ancestorSks, firstContactOf, isIdentifierSk, keys, type RecordItem } from '../../../domain/records.js';
import { CONTACT_CATEGORIES, isDue, pastCap, runAccountEnd, runCutoffs, sweepRules } from '../../../domain/sweep/cutoffs.js';
import type { Tenant } from '../../../domain/tenant.js';
import type { ApiApp, Caller } from '../app.js';

/** Items of a page when the query names no `limit`. */
export const DEFAULT_READ_PAGE_SIZE = 50;

const CONVERSATION_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation']);
export const ATTACHMENT_CATEGORIES = ['email_attachment', 'inbound_media', 'outbound_media'] as const satisfies readonly Category[];
export type AttachmentKind = (typeof ATTACHMENT_CATEGORIES)[number];
const ATTACHMENT_SET: ReadonlySet<Category> = new Set<Category>(ATTACHMENT_CATEGORIES);

type Json = Record<string, unknown>;

export interface PageQuery {
  readonly limit?: number;
  readonly cursor?: string;
}

/** A link to a blob, or word that its content is gone (deleted, or its keys shredded). */
export interface BlobLink {
  readonly url?: string;
  /** When `url` stops working. */
  readonly urlExpiresAt?: string;
  readonly contentDeleted?: true;
}

export interface TimelineEntry extends Json {
  readonly type: 'conversation' | 'call';
  readonly id: string;
  readonly startedAt: string;
}

export interface TimelinePage {
  readonly customerId: string;
  readonly items: TimelineEntry[];
  readonly nextCursor?: string;
}

export interface ConversationPage extends Json {
  readonly id: string;
  readonly customerId: string;
  readonly messages: Json[];
  readonly attachments: Json[];
  readonly nextCursor?: string;
}

export interface CallView extends Json {
  readonly id: string;
  readonly customerId: string;
  readonly recordings: Json[];
}

function defined(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------------------
// What a read may show
// ---------------------------------------------------------------------------

/**
 * The `sk`s a legal hold keeps in one partition: the held records, their
 * ancestors and profile, and the profile's identifiers (as `domain/export.ts`
 * and the deletion path keep them).
 */
function keptByHolds(items: readonly RecordItem[], isHeld: (item: RecordItem) => boolean): Set<string> {
  const bySk = new Map(items.map((i) => [i.sk, i]));
  const kept = new Set<string>();
  for (const item of items) {
    if (!isHeld(item)) continue;
    for (const sk of [item.sk, ...ancestorSks(item.sk)]) if (bySk.has(sk)) kept.add(sk);
  }
  if (kept.has(keys.profileSk())) for (const item of items) if (isIdentifierSk(item.sk)) kept.add(item.sk);
  return kept;
}

/**
 * The records of one customer a read may show, in `sk` order: none when her
 * profile is due (or past its backstop) and unheld, since the sweep deletes
 * her whole partition with it; else every record neither due, past its
 * backstop, nor under a container that is; and always what a hold keeps.
 */
export async function keptRecordsOf(app: ApiApp, tenant: Tenant, customerId: string, now: Date): Promise<RecordItem[]> {
  const items = await app.deps.records.findBySubject(tenant.tenantId, customerId, { includeExpired: true });
  if (items.length === 0) return [];
  const [holds, policy] = await Promise.all([
    app.deps.control.listHolds(tenant.tenantId, { activeAt: now }),
    app.deps.control.getPolicy(tenant.tenantId),
  ]);
  const ctx = { tenant, platform: app.deps.platform, policy, holds };
  const ended = runAccountEnd(ctx, now);
  const cutoffs = runCutoffs(ctx, now);
  const rules = sweepRules(ctx.platform, now.toISOString(), ended);
  const covers = holdMatcher(holds, now);
  const isHeld = (i: RecordItem) => covers(i) && !pastCap(rules, i);
  const pastBackstop = (i: RecordItem) => i.expiresAt !== undefined && i.expiresAt * 1000 <= now.getTime();
  const gone = (i: RecordItem) => pastBackstop(i) || (!isIdentifierSk(i.sk) && isDue(cutoffs, i, rules));

  const held = keptByHolds(items, isHeld);
  const profile = items.find((i) => i.sk === keys.profileSk());
  const subjectCutoff = cutoffs.customer_profile;
  // Under a subject clock a contact later than the profile's last contact keeps the customer (as the sweep reads it).
  const laterContact =
    rules.subjectClock && ended === undefined && subjectCutoff !== null && items.some((i) => CONTACT_CATEGORIES.has(i.category) && i.clockStart >= subjectCutoff);
  const customerGone = profile === undefined || pastBackstop(profile) || (gone(profile) && !laterContact);
  if (customerGone) return items.filter((i) => held.has(i.sk));

  const goneSks = new Set(items.filter((i) => i.sk !== keys.profileSk() && gone(i)).map((i) => i.sk));
  return items.filter((i) => held.has(i.sk) || (!goneSks.has(i.sk) && !ancestorSks(i.sk).some((a) => goneSks.has(a))));
}

// ---------------------------------------------------------------------------
// Cursors: opaque to the caller, checked in form here
// ---------------------------------------------------------------------------

function encodeCursor(position: readonly string[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, length: number): string[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => typeof v === 'string' && v.length <= 512)) {
    throw new ValidationError('cursor', 'cursor: is not one this API returned');
  }
  return value as string[];
}

/** One page of `sorted` (newest first) after the cursor's position, whether or not its item is still there, and the cursor of the next. */
function pageOf<T>(sorted: readonly T[], positionOf: (item: T) => string[], after: string[] | undefined, limit: number): { items: T[]; nextCursor?: string } {
  if (after === undefined) return sliceFrom(sorted, positionOf, 0, limit);
  const index = sorted.findIndex((item) => compareDesc(positionOf(item), after) > 0);
  return sliceFrom(sorted, positionOf, index < 0 ? sorted.length : index, limit);
}

function sliceFrom<T>(sorted: readonly T[], positionOf: (item: T) => string[], start: number, limit: number): { items: T[]; nextCursor?: string } {
  const items = sorted.slice(start, start + limit);
  const last = items.at(-1);
  return { items, ...(start + limit < sorted.length && last !== undefined && { nextCursor: encodeCursor(positionOf(last)) }) };
}

/** Order of positions newest first: `a` after `b` in the order (positive) when it is older. */
function compareDesc(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? 1 : -1;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

async function linkOf(app: ApiApp, item: RecordItem, now: Date): Promise<BlobLink> {
  if (item.data === undefined || item.blobBucket === undefined || item.blobKey === undefined) return { contentDeleted: true };
  const seconds = app.deps.exportLinkSeconds ?? DEFAULT_EXPORT_LINK_SECONDS;
  return {
    url: await app.deps.blobs.presignGet(item.blobBucket as BucketName, item.blobKey, seconds),
    urlExpiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
  };
}

function conversationFields(item: RecordItem): Json {
  const d = item.data ?? {};
  const closing = item as unknown as { closedAt?: unknown; closedReason?: unknown };
  return defined({
    id: item.id,
    customerId: item.subjectId,
    category: item.category,
    channel: d.channel,
    botId: d.botId,
    startedAt: d.startedAt ?? item.clockStart,
    status: item.status,
    closedAt: closing.closedAt,
    closedReason: closing.closedReason,
  });
}

function callFields(item: RecordItem): Json {
  const d = item.data ?? {};
  return defined({ id: item.id, customerId: item.subjectId, startedAt: d.startedAt ?? item.clockStart, durationSeconds: d.durationSeconds });
}

/** A message as a read shows it: its tombstone once deleted, or once its keys are gone. */
function messageView(item: RecordItem): Json {
  const sentAt = sentAtOf(item);
  if (item.status === 'deleted' || item.data === undefined || item.data.deleted === true) return defined({ id: item.id, sentAt, ...TOMBSTONE });
  const d = item.data;
  return defined({ id: item.id, sentAt: d.sentAt ?? sentAt, direction: d.direction, text: d.text });
}

/** A message's time from its key (`CONV#<id>#MSG#<sentAt>#<msgId>`): a tombstone keeps no data, its key keeps the order. */
function sentAtOf(item: RecordItem): string | undefined {
  const marker = '#MSG#';
  const at = item.sk.indexOf(marker);
  if (at < 0) return undefined;
  const rest = item.sk.slice(at + marker.length);
  const end = rest.lastIndexOf(`#${item.id}`);
  return end > 0 ? rest.slice(0, end) : undefined;
}

async function attachmentView(app: ApiApp, item: RecordItem, now: Date): Promise<Json> {
  const d = item.data ?? {};
  return {
    ...defined({
      id: item.id,
      kind: item.category,
      conversationId: item.conversationId,
      messageId: d.messageId,
      direction: d.direction,
      contentType: d.contentType,
      size: d.size,
      sentAt: d.sentAt,
    }),
    ...(await linkOf(app, item, now)),
  };
}

/** The customer's partitions that hold a conversation or call, through its locator. */
async function ownersOf(app: ApiApp, tenantId: string, kind: 'CONVERSATION' | 'CALL', id: string): Promise<string[]> {
  return [...(await app.deps.records.findByIdentifier(tenantId, kind, id))].sort();
}

// ---------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------

/** The customer's profile, decrypted, with her identifiers and how many conversations and calls are kept. */
export async function readCustomer(app: ApiApp, caller: Caller, tenant: Tenant, customerId: string): Promise<Json> {
  const items = await keptRecordsOf(app, tenant, customerId, caller.now);
  const profile = items.find((i) => i.sk === keys.profileSk());
  if (profile === undefined || profile.data === undefined) throw new NotFoundError('id: no such customer', { field: 'id' });
  const d = profile.data;
  return defined({
    customerId,
    name: d.name,
    phones: d.phones,
    emails: d.emails,
    externalId: d.externalId,
    botId: d.botId,
    address: d.address,
    customAttributes: d.customAttributes,
    firstContactAt: firstContactOf(profile),
    lastContactAt: d.lastContactAt,
    conversations: items.filter((i) => CONVERSATION_CATEGORIES.has(i.category) && i.sk === keys.conversationSk(i.id) && i.data !== undefined).length,
    calls: items.filter((i) => i.category === 'call' && i.sk === keys.callSk(i.id) && i.data !== undefined).length,
  });
}

/** The customer's conversations and calls, newest first (start time, then id), one page. */
export async function readTimeline(app: ApiApp, caller: Caller, tenant: Tenant, customerId: string, query: PageQuery): Promise<TimelinePage> {
  const items = await keptRecordsOf(app, tenant, customerId, caller.now);
  const profile = items.find((i) => i.sk === keys.profileSk());
  if (profile === undefined || profile.data === undefined) throw new NotFoundError('id: no such customer', { field: 'id' });
  const entries: TimelineEntry[] = [];
  for (const i of items) {
    if (i.data === undefined) continue;
    if (CONVERSATION_CATEGORIES.has(i.category) && i.sk === keys.conversationSk(i.id)) entries.push({ type: 'conversation', ...conversationFields(i) } as TimelineEntry);
    else if (i.category === 'call' && i.sk === keys.callSk(i.id)) entries.push({ type: 'call', ...callFields(i) } as TimelineEntry);
  }
  const position = (e: TimelineEntry) => [e.startedAt, e.type, e.id];
  entries.sort((a, b) => compareDesc(position(a), position(b)));
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 3);
  const page = pageOf(entries, position, after, query.limit ?? DEFAULT_READ_PAGE_SIZE);
  return { customerId, items: page.items, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
}

/** A conversation kept, with the records under it, from whichever customer partition holds it. */
async function findConversation(app: ApiApp, caller: Caller, tenant: Tenant, conversationId: string): Promise<{ conversation: RecordItem; under: RecordItem[] }> {
  for (const subject of await ownersOf(app, tenant.tenantId, 'CONVERSATION', conversationId)) {
    const items = await keptRecordsOf(app, tenant, subject, caller.now);
    const conversation = items.find((i) => CONVERSATION_CATEGORIES.has(i.category) && i.sk === keys.conversationSk(conversationId));
    if (conversation === undefined || conversation.data === undefined) continue;
    const prefix = keys.childPrefix(conversation.sk);
    return { conversation, under: items.filter((i) => i.sk.startsWith(prefix) && i.conversationId === conversationId) };
  }
  throw new NotFoundError('id: no such conversation', { field: 'id' });
}

/**
 * A conversation with one page of its messages, newest first (a deleted one
 * as its tombstone), and the attachments and media of those messages; the
 * first page also carries those that belong to no message of it.
 */
export async function readConversation(app: ApiApp, caller: Caller, tenant: Tenant, conversationId: string, query: PageQuery): Promise<ConversationPage> {
  const { conversation, under } = await findConversation(app, caller, tenant, conversationId);
  const messages = under.filter((i) => i.category === 'message').sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 1);
  if (after !== undefined && !after[0]!.startsWith(keys.childPrefix(conversation.sk))) throw new ValidationError('cursor', 'cursor: is not one of this conversation');
  const page = pageOf(messages, (m) => [m.sk], after, query.limit ?? DEFAULT_READ_PAGE_SIZE);
  const onPage = new Set(page.items.map((m) => m.id));
  const allMessages = new Set(messages.map((m) => m.id));
  const attachments = under.filter((i) => {
    if (!ATTACHMENT_SET.has(i.category)) return false;
    const messageId = i.data?.messageId;
    if (typeof messageId === 'string' && allMessages.has(messageId)) return onPage.has(messageId);
    return after === undefined;
  });
  const d = conversation.data ?? {};
  return {
    ...conversationFields(conversation),
    ...defined({ notes: d.notes }),
    id: conversationId,
    customerId: conversation.subjectId ?? '',
    messages: page.items.map(messageView),
    attachments: await Promise.all(attachments.map((a) => attachmentView(app, a, caller.now))),
    ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
  };
}

/**
 * One attachment or media item of a conversation with a fresh link. `kind`
 * picks one when an attachment and a media item share the id (409 without it).
 */
export async function readAttachment(app: ApiApp, caller: Caller, tenant: Tenant, conversationId: string, attachmentId: string, kind: AttachmentKind | undefined): Promise<Json> {
  const { under } = await findConversation(app, caller, tenant, conversationId);
  const found = under.filter((i) => ATTACHMENT_SET.has(i.category) && i.id === attachmentId && (kind === undefined || i.category === kind));
  if (found.length === 0) throw new NotFoundError('attachmentId: no such attachment or media item in this conversation', { field: 'attachmentId' });
  if (found.length > 1) throw new ConflictError('kind: an attachment and a media item share this id; name the kind', { field: 'kind' });
  return attachmentView(app, found[0] as RecordItem, caller.now);
}

/** A call with its recordings, each with a short-lived link. */
export async function readCall(app: ApiApp, caller: Caller, tenant: Tenant, callId: string): Promise<CallView> {
  for (const subject of await ownersOf(app, tenant.tenantId, 'CALL', callId)) {
    const items = await keptRecordsOf(app, tenant, subject, caller.now);
    const call = items.find((i) => i.category === 'call' && i.sk === keys.callSk(callId));
    if (call === undefined || call.data === undefined) continue;
    const prefix = keys.childPrefix(call.sk);
    const under = items.filter((i) => i.sk.startsWith(prefix) && i.callId === callId);
    const recordings = await Promise.all(
      under
        .filter((i) => i.category === 'call_recording')
        .map(async (r) => ({ ...defined({ id: r.id, contentType: r.data?.contentType, size: r.data?.size }), id: r.id, ...(await linkOf(app, r, caller.now)) })),
    );
    const thirdParty = under.find((i) => i.category === 'third_party_call_data' && i.externalRef !== undefined);
    return {
      ...callFields(call),
      id: callId,
      customerId: call.subjectId ?? subject,
      ...(thirdParty?.externalRef !== undefined && { thirdPartyRef: thirdParty.externalRef }),
      recordings,
    };
  }
  throw new NotFoundError('id: no such call', { field: 'id' });
}
