/**
 * The subject export: everything Lethe keeps about one customer as one JSON
 * document (DESIGN.md §5), blobs as links (`BlobStore.presignGet`: where blobs
 * are sealed, the API's download links, which open them; else pre-signed S3
 * links). The admin API's export
 * route and access requests both build it here, so they answer alike; only the
 * links' lifetime differs (the caller's choice).
 */
import type { Category } from './catalog.js';
import { holdMatcher } from './holds.js';
import type { BlobStore, Clock, ControlStore, RecordStore } from './ports.js';
import { firstContactOf, isIdentifierSk, keys, parseIdentifierSk, type RecordItem } from './records.js';

/** What a deleted message keeps of itself, in the store and in an export (DESIGN.md §5). */
export const TOMBSTONE = { deleted: true, text: 'This item has been deleted' } as const;

/**
 * Default lifetime of the export route's links, 15 minutes: the route answers
 * the admin who asked, right now, and a leaked answer should stop working soon.
 * (Access requests e-mail their export, so their links live 7 days: privacy/access.ts.)
 */
export const DEFAULT_EXPORT_LINK_SECONDS = 15 * 60;

const CONVERSATION_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation']);
const MEDIA_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['inbound_media', 'outbound_media']);

type Json = Record<string, unknown>;

/**
 * A record with a blob: `url`, a link to the content, while the blob
 * exists; once it was deleted and the record kept (anonymisation keeps the
 * metadata), no `url` and `contentDeleted: true` instead.
 */
export interface BlobEntry extends Json {
  readonly id: string;
  readonly url?: string;
  readonly contentDeleted?: true;
}

export interface ConversationExport extends Json {
  readonly id: string;
  readonly messages: Json[];
  readonly communicationLogs: Json[];
}

export interface CallExport extends Json {
  readonly id: string;
  readonly recordings: BlobEntry[];
  /** The provider's reference of the call's third-party data, when Lethe keeps one. */
  thirdPartyRef?: string;
}

/** A reference to call data a third-party provider holds (not the data itself). */
export interface ThirdPartyReference {
  readonly id: string;
  readonly callId: string;
  readonly ref: string;
}

/** The export of one customer (DESIGN.md §5). */
export interface SubjectExport {
  readonly exportedAt: string;
  /** `customerId` and the profile's fields. */
  readonly customer: Json;
  readonly identifiers: { readonly kind: string; readonly value: string }[];
  readonly conversations: ConversationExport[];
  readonly calls: CallExport[];
  readonly media: BlobEntry[];
  readonly emailAttachments: BlobEntry[];
  readonly analyticsEvents: Json[];
  /** Web forms the customer submitted: fields, page, time. */
  readonly formSubmissions: Json[];
  /** The customer's web visitor sessions: landing page, referrer, times, page count. */
  readonly webSessions: Json[];
  readonly thirdPartyCallData: ThirdPartyReference[];
  /** How many stored records the export covers (identifiers included); 0: nothing is kept. */
  readonly recordCount: number;
}

export interface ExportDeps {
  readonly records: Pick<RecordStore, 'findBySubject'>;
  readonly blobs: Pick<BlobStore, 'presignGet'>;
  readonly control: Pick<ControlStore, 'listHolds'>;
  readonly clock: Clock;
}

export interface ExportOptions {
  /** Lifetime of the blob links, in seconds. */
  readonly linkSeconds: number;
}

function defined(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/**
 * The `sk`s active holds keep in one partition: the records they cover, those
 * records' ancestors and profile, and the profile's identifiers (a held record
 * keeps everything it hangs from, as the deletion path does).
 */
function keptByHolds(items: readonly RecordItem[], isHeld: (item: RecordItem) => boolean): Set<string> {
  const bySk = new Map(items.map((i) => [i.sk, i]));
  const kept = new Set<string>();
  for (const item of items) {
    if (!isHeld(item)) continue;
    let at: RecordItem | undefined = item;
    while (at !== undefined && !kept.has(at.sk)) {
      kept.add(at.sk);
      at = at.parentSk === undefined ? undefined : bySk.get(at.parentSk);
    }
    kept.add(keys.profileSk());
  }
  if (kept.has(keys.profileSk())) for (const item of items) if (isIdentifierSk(item.sk)) kept.add(item.sk);
  return kept;
}

/**
 * What Lethe keeps of one subject: every record before its TTL backstop, and a
 * record past it that a legal hold keeps. Reads hide items past the backstop
 * (DynamoDB's TTL may lag by days), but a hold placed after a record passed
 * its backstop could not take the backstop off (the hold's own read did not see
 * it): the sweep keeps that record for the hold, so the export must show it.
 */
async function keptRecords(deps: ExportDeps, tenantId: string, subjectId: string, isHeld: (item: RecordItem) => boolean, now: Date): Promise<RecordItem[]> {
  const items = await deps.records.findBySubject(tenantId, subjectId, { includeExpired: true });
  const pastBackstop = (i: RecordItem) => i.expiresAt !== undefined && i.expiresAt * 1000 <= now.getTime();
  if (!items.some(pastBackstop)) return items;
  const held = keptByHolds(items, isHeld);
  return items.filter((i) => !pastBackstop(i) || held.has(i.sk));
}

async function exportOf(deps: ExportDeps, subjectId: string, items: readonly RecordItem[], options: ExportOptions, now: Date): Promise<SubjectExport> {
  const content = async (i: RecordItem): Promise<Pick<BlobEntry, 'url' | 'contentDeleted'>> =>
    i.blobBucket !== undefined && i.blobKey !== undefined
      ? { url: await deps.blobs.presignGet(i.blobBucket, i.blobKey, options.linkSeconds) }
      : { contentDeleted: true };

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
  const customer: Json = { customerId: subjectId };
  const out = {
    identifiers: [] as { kind: string; value: string }[],
    media: [] as BlobEntry[],
    emailAttachments: [] as BlobEntry[],
    analyticsEvents: [] as Json[],
    formSubmissions: [] as Json[],
    webSessions: [] as Json[],
    thirdPartyCallData: [] as ThirdPartyReference[],
  };

  // Items come sorted by sk: parents before their children, messages in time order.
  for (const i of items) {
    const d = i.data ?? {};
    const identifier = parseIdentifierSk(i.sk);
    if (i.sk === keys.profileSk()) {
      // The first contact as known now: the earliest of what the records said and the conversations and calls stored.
      Object.assign(customer, defined({ ...d, firstContactAt: firstContactOf(i) }));
    } else if (identifier !== undefined) {
      // Stored under a blind index, the value itself is in the (sealed) data.
      const value = typeof d.value === 'string' ? d.value : identifier.value;
      if (!value.startsWith('~')) out.identifiers.push({ kind: identifier.kind.toLowerCase(), value });
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
      if (i.externalRef !== undefined) {
        call(i.callId).thirdPartyRef = i.externalRef;
        out.thirdPartyCallData.push({ id: i.id, callId: i.callId, ref: i.externalRef });
      }
    } else if (i.category === 'call_recording' && i.callId !== undefined) {
      call(i.callId).recordings.push({ ...defined({ id: i.id, contentType: d.contentType, size: d.size }), id: i.id, ...(await content(i)) });
    } else if (MEDIA_CATEGORIES.has(i.category)) {
      out.media.push({ ...defined({ conversationId: i.conversationId, ...d }), id: i.id, ...(await content(i)) });
    } else if (i.category === 'email_attachment') {
      out.emailAttachments.push({ ...defined({ conversationId: i.conversationId, ...d }), id: i.id, ...(await content(i)) });
    } else if (i.category === 'analytics_event') {
      out.analyticsEvents.push(defined({ id: i.id, ...d }));
    } else if (i.category === 'form_submission') {
      out.formSubmissions.push(defined({ id: i.id, ...d }));
    } else if (i.category === 'web_session') {
      out.webSessions.push(defined({ id: i.id, ...d }));
    }
  }
  return {
    exportedAt: now.toISOString(),
    customer,
    identifiers: out.identifiers,
    conversations: [...conversations.values()],
    calls: [...calls.values()],
    media: out.media,
    emailAttachments: out.emailAttachments,
    analyticsEvents: out.analyticsEvents,
    formSubmissions: out.formSubmissions,
    webSessions: out.webSessions,
    thirdPartyCallData: out.thirdPartyCallData,
    recordCount: items.length,
  };
}

/**
 * The exports of the subjects, in order: profile, identifiers, conversations
 * with their messages (a deleted one as its tombstone) and logs, calls with
 * their recordings and third-party reference, media, e-mail attachments,
 * analytics events, form submissions, web sessions, and the third-party
 * references again as a list. Held
 * records are in it whatever their age. Blobs are links valid `linkSeconds`.
 */
export async function buildSubjectExports(
  deps: ExportDeps,
  tenantId: string,
  subjectIds: readonly string[],
  options: ExportOptions,
): Promise<SubjectExport[]> {
  const now = deps.clock.now();
  const isHeld = holdMatcher(await deps.control.listHolds(tenantId, { activeAt: now }), now);
  const out: SubjectExport[] = [];
  for (const subjectId of subjectIds) {
    const items = await keptRecords(deps, tenantId, subjectId, isHeld, now);
    out.push(await exportOf(deps, subjectId, items, options, now));
  }
  return out;
}

/** The export of one subject; `recordCount` 0 when nothing of it is kept. */
export async function buildSubjectExport(deps: ExportDeps, tenantId: string, subjectId: string, options: ExportOptions): Promise<SubjectExport> {
  const [document] = await buildSubjectExports(deps, tenantId, [subjectId], options);
  return document as SubjectExport;
}
