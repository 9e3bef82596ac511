/**
 * Worlds for the privacy and hold measurements, in the shape the sweep's world
 * has (`BenchWorld`: tenants, items, and for each item whether the measured
 * work removes it), so seeding and verification are the sweep's own:
 * - one customer with a very large partition (an erasure of one subject),
 *   among a few ordinary customers who must stay;
 * - one tenant of many small customers, some talking to one chatbot (a bulk
 *   erasure by filter), the others to another.
 * Keys, index keys and TTL backstops are placed as the ingest writer places
 * them. Every clock is recent: nothing is due or past its backstop, so what
 * goes is what the request names, not what retention would take anyway.
 */
import { CATALOG, type Category } from '../shared/domain/catalog.js';
import { backstopExpiresAt, type PlatformPolicy } from '../shared/domain/policy.js';
import { blobKey, keys, retentionKeysOf, type RecordItem } from '../shared/domain/records.js';
import type { Tenant } from '../shared/domain/tenant.js';
import type { BenchWorld } from './world.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Builds items one customer at a time; `gone` says whether the measured work should remove the customer. */
class Builder {
  readonly items: RecordItem[] = [];
  readonly due: boolean[] = [];

  constructor(
    private readonly platform: PlatformPolicy,
    readonly tenantId: string,
  ) {}

  private push(item: Omit<RecordItem, 'expiresAt' | 'tenantId'>, gone: boolean): void {
    const full = { ...item, tenantId: this.tenantId };
    this.items.push({
      ...full,
      ...retentionKeysOf(full, 1),
      expiresAt: backstopExpiresAt(this.platform, item.category, new Date(item.clockStart)),
    });
    this.due.push(gone);
  }

  /** A customer: profile, phone identifier, conversations with messages, logs and media, calls with recordings and third-party data, events. */
  customer(
    subjectId: string,
    shape: {
      readonly lastContact: number;
      readonly conversations: number;
      readonly messagesPer: (conversation: number) => number;
      readonly logs: boolean;
      readonly media: number;
      readonly calls: number;
      readonly events: number;
      readonly botId?: string;
    },
    gone: boolean,
  ): void {
    const pk = keys.subjectPk(this.tenantId, subjectId);
    const base = { pk, subjectId };
    const iso = (ms: number) => new Date(ms).toISOString();
    const contact = shape.lastContact;
    this.push({ ...base, sk: keys.profileSk(), category: 'customer_profile', id: subjectId, clockStart: iso(contact), activityTracked: true, activityUntil: iso(contact), data: { name: `Customer ${subjectId}` } }, gone);
    const phone = `+1555${String(this.items.length).padStart(7, '0')}`;
    this.push({ ...base, sk: keys.identifierSk('PHONE', phone), category: 'customer_profile', id: subjectId, parentSk: keys.profileSk(), clockStart: iso(contact), identifierPk: keys.identifierPk(this.tenantId, 'PHONE', phone), identifierSk: subjectId }, gone);
    const conversationStarts: { id: string; sk: string; at: number }[] = [];
    for (let v = 0; v < shape.conversations; v++) {
      const conversationId = `${subjectId}v${v}`;
      const sk = keys.conversationSk(conversationId);
      const at = contact - (v + 1) * 60 * MINUTE_MS;
      conversationStarts.push({ id: conversationId, sk, at });
      const category: Category = 'conversation';
      this.push({ ...base, conversationId, sk, parentSk: keys.profileSk(), category, id: conversationId, clockStart: iso(at), status: 'closed', data: { channel: 'chat', notes: 'bench', ...(shape.botId !== undefined && { botId: shape.botId }) } }, gone);
      const child = { ...base, conversationId, parentSk: sk, parentClock: iso(at), parentCategory: category };
      for (let m = 0; m < shape.messagesPer(v); m++) {
        const id = `${conversationId}m${m}`;
        const sentAt = iso(at + (m % 50) * MINUTE_MS);
        this.push({ ...child, sk: keys.messageSk(conversationId, sentAt, id), category: 'message', id, clockStart: sentAt, data: { text: 'hello there' } }, gone);
      }
      if (shape.logs) {
        const id = `${conversationId}l0`;
        this.push({ ...child, sk: keys.communicationLogSk(conversationId, id), category: 'communication_log', id, clockStart: iso(at), data: { text: 'log line' } }, gone);
      }
    }
    for (let b = 0; b < shape.media; b++) {
      const conversation = conversationStarts[b % conversationStarts.length] as { id: string; sk: string; at: number };
      const id = `${conversation.id}b${b}`;
      const store = CATALOG.inbound_media.store as { readonly bucket: 'media'; readonly prefix: string };
      const clock = iso(conversation.at + MINUTE_MS);
      this.push(
        { ...base, conversationId: conversation.id, parentSk: conversation.sk, parentClock: iso(conversation.at), parentCategory: 'conversation', sk: keys.mediaSk(conversation.id, id), category: 'inbound_media', id, clockStart: clock, blobBucket: store.bucket, blobKey: blobKey(store.prefix, this.tenantId, subjectId, id) },
        gone,
      );
    }
    for (let k = 0; k < shape.calls; k++) {
      const callId = `${subjectId}k${k}`;
      const sk = keys.callSk(callId);
      const started = iso(contact - (k + 1) * 30 * MINUTE_MS);
      const child = { ...base, callId, parentSk: sk, parentClock: started, parentCategory: 'call' as const };
      this.push({ ...base, callId, sk, parentSk: keys.profileSk(), category: 'call', id: callId, clockStart: started, data: { durationSeconds: 120 } }, gone);
      const recordingId = `${callId}r0`;
      const store = CATALOG.call_recording.store as { readonly bucket: 'recordings'; readonly prefix: string };
      this.push({ ...child, sk: keys.recordingSk(callId, recordingId), category: 'call_recording', id: recordingId, clockStart: started, blobBucket: store.bucket, blobKey: blobKey(store.prefix, this.tenantId, subjectId, recordingId) }, gone);
      this.push({ ...child, sk: keys.thirdPartyCallDataSk(callId), category: 'third_party_call_data', id: `${callId}tpd`, clockStart: started, externalRef: `ref-${this.tenantId}-${callId}` }, gone);
    }
    for (let e = 0; e < shape.events; e++) {
      const id = `${subjectId}e${e}`;
      this.push({ ...base, sk: keys.analyticsEventSk(id), parentSk: keys.profileSk(), category: 'analytics_event', id, clockStart: iso(contact - e * MINUTE_MS), data: { name: 'page_view' } }, gone);
    }
  }
}

function benchTenant(tenantId: string, now: number): Tenant {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    tenantId,
    name: `Bench tenant ${tenantId}`,
    status: 'active',
    adminEmails: [`admin@${tenantId}.example.test`],
    lastActivityAt: iso(now - DAY_MS),
    thirdPartyEndpoints: [{ name: 'bench-provider', deleteUrl: 'https://provider.example.test/calls/{ref}' }],
    createdAt: iso(now - 2000 * DAY_MS),
    updatedAt: iso(now - 2000 * DAY_MS),
  };
}

export interface SubjectWorld extends BenchWorld {
  readonly tenantId: string;
  /** The customer the erasure names. */
  readonly subjectId: string;
  /** Indexes of the subject's records in `items`. */
  readonly subjectIndexes: readonly number[];
}

export interface SubjectWorldOptions {
  /** Records of the erased subject (at least 300). */
  readonly records: number;
  /** Of them, media blobs (spread over the subject's conversations). */
  readonly blobs: number;
  /** Calls, each with a recording (a blob) and third-party data. */
  readonly calls: number;
  /** Other customers of the tenant, who must stay (about 20 records each). */
  readonly others: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
}

const SUBJECT_CONVERSATIONS = 40;
const SUBJECT_EVENTS = 20;

/** One tenant: a customer with `records` records to erase, and ordinary customers who stay. */
export function buildSubjectWorld(options: SubjectWorldOptions): SubjectWorld {
  const now = options.now.getTime();
  const tenantId = 'erase000';
  const b = new Builder(options.platform, tenantId);
  const subjectId = 'heavy';
  // Fixed records: profile, identifier, per conversation itself and a log, the media, three per call, the events.
  const fixed = 2 + 2 * SUBJECT_CONVERSATIONS + options.blobs + 3 * options.calls + SUBJECT_EVENTS;
  const messages = options.records - fixed;
  if (messages < SUBJECT_CONVERSATIONS) throw new Error(`an erased subject needs at least ${fixed + SUBJECT_CONVERSATIONS} records`);
  const per = (v: number) => Math.floor(messages / SUBJECT_CONVERSATIONS) + (v < messages % SUBJECT_CONVERSATIONS ? 1 : 0);
  b.customer(subjectId, { lastContact: now - 2 * DAY_MS, conversations: SUBJECT_CONVERSATIONS, messagesPer: per, logs: true, media: options.blobs, calls: options.calls, events: SUBJECT_EVENTS }, true);
  const subjectIndexes = b.items.map((_, i) => i);
  for (let c = 0; c < options.others; c++) {
    b.customer(`c${c}`, { lastContact: now - (3 + (c % 20)) * DAY_MS, conversations: 2, messagesPer: () => 6, logs: true, media: 1, calls: 1, events: 1 }, false);
  }
  return { tenants: [benchTenant(tenantId, now)], items: b.items, due: b.due, customers: { gone: 1, aged: 0, active: options.others }, tenantId, subjectId, subjectIndexes };
}

export interface BulkWorld extends BenchWorld {
  readonly tenantId: string;
  /** The bot whose customers the bulk erasure names. */
  readonly botId: string;
  readonly matching: number;
}

export interface BulkWorldOptions {
  /** Customers whose conversation is with the erased bot. */
  readonly matching: number;
  /** Customers of another bot, who stay. */
  readonly others: number;
  /** Every n-th customer has an inbound media blob (0: none). */
  readonly blobEvery: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
}

/** One tenant of small customers (profile, identifier, a conversation, two messages; some media), matching and not, interleaved. */
export function buildBulkWorld(options: BulkWorldOptions): BulkWorld {
  const now = options.now.getTime();
  const tenantId = 'bulk000';
  const botId = 'bench-bot-erased';
  const b = new Builder(options.platform, tenantId);
  const total = options.matching + options.others;
  let matched = 0;
  for (let c = 0; c < total; c++) {
    // The others spread evenly among the matching customers, so every page of the search has both.
    const match = Math.floor(((c + 1) * options.matching) / total) > Math.floor((c * options.matching) / total);
    // Every n-th customer of either kind has a blob.
    const ofKind = match ? matched : c - matched;
    if (match) matched += 1;
    b.customer(
      `c${c}`,
      {
        lastContact: now - (1 + (c % 60)) * DAY_MS,
        conversations: 1,
        messagesPer: () => 2,
        logs: false,
        media: options.blobEvery > 0 && ofKind % options.blobEvery === 0 ? 1 : 0,
        calls: 0,
        events: 0,
        botId: match ? botId : 'bench-bot-kept',
      },
      match,
    );
  }
  return { tenants: [benchTenant(tenantId, now)], items: b.items, due: b.due, customers: { gone: matched, aged: 0, active: total - matched }, tenantId, botId, matching: matched };
}
