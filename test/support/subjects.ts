/**
 * Synthetic data subjects with distinctive PII, written through the real ingest
 * writer (toRecordItems) in bodies of at most 500 records, blobs first.
 */
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import type { BlobStore, RecordStore } from '../../shared/domain/ports.js';
import type { StoredParent } from '../../shared/domain/ingest/batch.js';
import { toRecordItems } from '../../shared/domain/ingest/plan.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { writeRecords } from '../../shared/app/api/use-cases/ingest.js';

const DAY = 86_400_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

export interface SubjectSpec {
  readonly customerId: string;
  /** Distinctive values a scan must not find after erasure/anonymisation. */
  readonly phone: string;
  readonly email: string;
  readonly name: string;
  readonly conversations: number;
  readonly messagesPerConversation: number;
  readonly calls: number;
  readonly botId?: string;
  readonly firstContactAt?: string;
  readonly openConversation?: boolean;
  /** Days before `now` of the last contact. */
  readonly lastContactDaysAgo?: number;
}

export function subjectRecords(spec: SubjectSpec, now: Date): IngestRecordInput[] {
  const at = (daysAgo: number, minutes = 0) => new Date(now.getTime() - daysAgo * DAY + minutes * 60_000).toISOString();
  const c = spec.customerId;
  const out: IngestRecordInput[] = [
    {
      type: 'customer', id: c, name: spec.name, phones: [spec.phone], emails: [spec.email], externalId: `ext-${c}`,
      lastContactAt: at(spec.lastContactDaysAgo ?? 1), ...(spec.firstContactAt ? { firstContactAt: spec.firstContactAt } : {}),
      ...(spec.botId ? { botId: spec.botId } : {}),
    },
  ];
  for (let v = 0; v < spec.conversations; v++) {
    const conversationId = `${c}-v${v}`;
    const day = 2 + (v % 300);
    out.push({
      type: 'conversation', id: conversationId, customerId: c, channel: v % 3 === 0 ? 'whatsapp' : v % 3 === 1 ? 'email' : 'chat',
      ...(spec.botId ? { botId: spec.botId } : {}), startedAt: at(day), status: spec.openConversation && v === 0 ? 'open' : 'closed',
      notes: `Notes about ${spec.name} ${spec.phone}`,
    });
    for (let m = 0; m < spec.messagesPerConversation; m++) {
      out.push({ type: 'message', id: `${conversationId}-m${m}`, conversationId, customerId: c, sentAt: at(day, m + 1), direction: m % 2 ? 'outbound' : 'inbound', text: `Hello, this is ${spec.name}, mail me at ${spec.email}` });
    }
    out.push({ type: 'communication_log', id: `${conversationId}-log`, conversationId, customerId: c, loggedAt: at(day, 500), text: `Transcript for ${spec.phone}` });
    if (v % 5 === 0) out.push({ type: 'media', id: `${conversationId}-in`, conversationId, customerId: c, direction: 'inbound', contentType: 'image/png', contentBase64: b64(`photo of ${spec.name}`) });
    if (v % 7 === 0) out.push({ type: 'media', id: `${conversationId}-out`, conversationId, customerId: c, direction: 'outbound', contentType: 'image/png', contentBase64: b64('brochure') });
    if (v % 4 === 1) out.push({ type: 'email_attachment', id: `${conversationId}-att`, conversationId, customerId: c, sentAt: at(day, 2), contentType: 'application/pdf', contentBase64: b64(`invoice for ${spec.email}`) });
  }
  for (let k = 0; k < spec.calls; k++) {
    const callId = `${c}-k${k}`;
    const day = 2 + (k % 200);
    out.push({ type: 'call', id: callId, customerId: c, startedAt: at(day), durationSeconds: 60 + k, ...(k % 3 === 0 ? { thirdPartyRef: `tp-${callId}` } : {}) });
    out.push({ type: 'recording', id: `${callId}-r`, callId, customerId: c, contentType: 'audio/wav', contentBase64: b64(`voice of ${spec.name}`) });
    out.push({ type: 'analytics_event', id: `${callId}-e`, occurredAt: at(day, 3), name: 'call_answered', customerId: c });
  }
  return out;
}

/** Writes records through the ingest writer in bodies of ≤ 500, parents first. */
export async function ingest(
  stores: { readonly records: RecordStore; readonly blobs: BlobStore },
  tenantId: string,
  platform: PlatformPolicy,
  records: readonly IngestRecordInput[],
  now: Date,
): Promise<number> {
  const starts = new Map<string, StoredParent>();
  const parents = records.filter((r) => r.type === 'customer' || r.type === 'conversation' || r.type === 'call');
  const children = records.filter((r) => !(r.type === 'customer' || r.type === 'conversation' || r.type === 'call'));
  let items = 0;
  for (const group of [parents, children]) {
    for (let i = 0; i < group.length; i += 500) {
      const body = group.slice(i, i + 500);
      for (const r of body) {
        if (r.type === 'conversation' && typeof r.startedAt === 'string') {
          starts.set(r.id, { startedAt: new Date(r.startedAt).toISOString(), category: r.channel === 'whatsapp' ? 'whatsapp_conversation' : 'conversation' });
        }
        if (r.type === 'call' && typeof r.startedAt === 'string') starts.set(r.id, { startedAt: new Date(r.startedAt).toISOString(), category: 'call' });
      }
      const write = toRecordItems(body, {
        tenantId, platform, holds: [], now,
        conversation: (id) => starts.get(id),
        call: (id) => starts.get(id),
      });
      await Promise.all(write.blobs.map((b) => stores.blobs.put(b.bucket, b.key, b.body, b.contentType)));
      // The way the ingest route writes: profiles keep and track their activity watermark.
      await writeRecords(stores.records, write);
      items += write.items.length;
    }
  }
  return items;
}
