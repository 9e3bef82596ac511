/**
 * A synthetic demo dataset: one tenant's customers, conversations on every
 * channel, calls with recordings and third-party data, media, e-mail
 * attachments, logs, analytics, webhooks, users, admin activity and account
 * configuration, spread over the last few years so that a sweep has something
 * to delete in every category. Deterministic for a seed. Every person is
 * obviously invented: names like "Alex Example", phones in the 555-01xx
 * fiction range, e-mails at example.com.
 *
 * The data goes in through the API's ingest route (`POST /records`), the same
 * validating writer platform services use.
 */
import type { IngestRecordInput } from '../domain/ingest/schemas.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface DemoDatasetOptions {
  /** The dataset ends here (newest activity shortly before). */
  readonly now: Date;
  /** @default 150 */
  readonly customers?: number;
  /** How far back the data goes. @default 3 */
  readonly years?: number;
  /** PRNG seed. @default 42 */
  readonly seed?: number;
  /** Whether calls carry a third-party reference (stage 2 needs an endpoint for them). @default true */
  readonly thirdParty?: boolean;
}

export interface DemoDataset {
  /** Self-contained groups: a customer with everything of theirs, or account-level records. */
  readonly bundles: readonly (readonly IngestRecordInput[])[];
  /** Third-party call references in the dataset. */
  readonly thirdPartyRefs: readonly string[];
  readonly recordCount: number;
  readonly blobCount: number;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_NAMES = ['Alex', 'Sam', 'Jordan', 'Riley', 'Casey', 'Morgan', 'Taylor', 'Jamie', 'Robin', 'Avery', 'Quinn', 'Parker'];
const LAST_NAMES = ['Example', 'Sample', 'Placeholder', 'Testcase', 'Fakename', 'Demo', 'Mockup', 'Synthetic'];
const AREA_CODES = ['202', '415', '312', '617', '206', '303'];
const CHANNELS = ['chat', 'chat', 'sms', 'whatsapp', 'whatsapp', 'email', 'email', 'voice'] as const;
const INBOUND_LINES = [
  'Hi, I would like to check the status of demo order DEMO-{n}.',
  'My parcel for demo order DEMO-{n} has not arrived yet.',
  'Can I change the delivery address on DEMO-{n}?',
  'Thanks, that solved it!',
  'Is there a discount for the sample subscription?',
  'I was charged twice for DEMO-{n}, can you help?',
];
const OUTBOUND_LINES = [
  'Hello! Thanks for reaching out to the Lethe demo shop. Let me look into DEMO-{n}.',
  'I can see DEMO-{n} left our warehouse yesterday.',
  'I have updated the address for you.',
  'You are welcome, have a nice day!',
  'I have refunded the duplicate charge on DEMO-{n}.',
];

// Tiny but real files: a 1x1 PNG, a PDF stub, and a WAV of silence built on demand.
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PDF_STUB = Buffer.from('%PDF-1.4\n% Lethe synthetic demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n').toString('base64');

function wavOfSilence(seconds: number): string {
  const sampleRate = 800;
  const samples = Math.max(1, Math.round(seconds * sampleRate));
  const b = Buffer.alloc(44 + samples, 0x80);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples, 40);
  return b.toString('base64');
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const iso = (ms: number) => new Date(ms).toISOString();

/** The demo dataset; about 25 records per customer plus a few hundred account-level ones. */
export function generateDemoDataset(options: DemoDatasetOptions): DemoDataset {
  const random = prng(options.seed ?? 42);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const chance = (p: number) => random() < p;
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const now = options.now.getTime();
  const spanMs = Math.round((options.years ?? 3) * 365 * DAY_MS);
  const start = now - spanMs;
  const thirdParty = options.thirdParty ?? true;
  const bundles: IngestRecordInput[][] = [];
  const thirdPartyRefs: string[] = [];
  let blobCount = 0;
  let order = 1000;
  const line = (lines: readonly string[]) => pick(lines).replace('{n}', String(order++));

  const customerCount = options.customers ?? 150;
  for (let c = 1; c <= customerCount; c++) {
    const customerId = `cust-${pad(c, 4)}`;
    const first = FIRST_NAMES[c % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[Math.floor(c / FIRST_NAMES.length) % LAST_NAMES.length] as string;
    const areaCode = AREA_CODES[Math.floor((c - 1) / 100) % AREA_CODES.length] as string;
    const phone = `+1 ${areaCode} 555 01${pad((c - 1) % 100, 2)}`;
    const email = `${first}.${last}.${pad(c, 4)}@example.com`.toLowerCase();
    // Customers arrive over the whole span; some stay a few days, some for years.
    const firstContact = start + Math.floor(random() * (spanMs - DAY_MS));
    const activeSpan = Math.min(now - firstContact - MINUTE_MS * 30, Math.floor(random() ** 2 * spanMs));
    const interactions = between(1, 6);
    const viaBot = chance(0.2);
    const records: IngestRecordInput[] = [];
    let lastContact = firstContact;

    for (let k = 1; k <= interactions; k++) {
      const at = k === 1 ? firstContact : firstContact + Math.floor(random() * activeSpan);
      lastContact = Math.max(lastContact, at);
      if (chance(0.7)) {
        const conversationId = `conv-${pad(c, 4)}-${k}`;
        const channel = pick(CHANNELS);
        // Recent conversations may still be open; now and then an old one was never closed.
        const open = (now - at < 2 * DAY_MS && chance(0.5)) || chance(0.01);
        records.push({
          type: 'conversation',
          id: conversationId,
          customerId,
          channel,
          ...(viaBot && channel === 'chat' && { botId: 'bot-faq' }),
          startedAt: iso(at),
          status: open ? 'open' : 'closed',
          ...(chance(0.3) && { notes: `Synthetic agent note: follow-up on demo order DEMO-${order++}.` }),
        });
        const messages = between(2, 8);
        let lastMessageId: string | undefined;
        for (let m = 1; m <= messages; m++) {
          const inbound = m % 2 === 1;
          lastMessageId = `msg-${pad(c, 4)}-${k}-${m}`;
          records.push({
            type: 'message',
            id: lastMessageId,
            conversationId,
            customerId,
            sentAt: iso(Math.min(now, at + m * 3 * MINUTE_MS)),
            direction: inbound ? 'inbound' : 'outbound',
            text: line(inbound ? INBOUND_LINES : OUTBOUND_LINES),
          });
        }
        if (chance(0.5)) {
          records.push({
            type: 'communication_log',
            id: `log-${pad(c, 4)}-${k}`,
            conversationId,
            customerId,
            loggedAt: iso(Math.min(now, at + messages * 3 * MINUTE_MS)),
            text: `Synthetic transcript summary: ${messages} messages on ${channel}, resolved by a demo agent.`,
          });
        }
        if (channel !== 'email' && channel !== 'voice' && chance(0.35)) {
          blobCount++;
          records.push({
            type: 'media',
            id: `img-${pad(c, 4)}-${k}`,
            conversationId,
            customerId,
            direction: 'inbound',
            contentType: 'image/png',
            contentBase64: PNG_1X1,
            sentAt: iso(Math.min(now, at + MINUTE_MS)),
          });
        }
        if (channel !== 'voice' && chance(0.2)) {
          blobCount++;
          records.push({
            type: 'media',
            id: `doc-${pad(c, 4)}-${k}`,
            conversationId,
            customerId,
            direction: 'outbound',
            contentType: 'application/pdf',
            contentBase64: PDF_STUB,
            ...(lastMessageId !== undefined && { messageId: lastMessageId }),
          });
        }
        if (channel === 'email') {
          for (let a = 1; a <= between(1, 2); a++) {
            blobCount++;
            records.push({
              type: 'email_attachment',
              id: `att-${pad(c, 4)}-${k}-${a}`,
              conversationId,
              customerId,
              sentAt: iso(Math.min(now, at + 2 * MINUTE_MS)),
              contentType: a === 1 ? 'application/pdf' : 'text/plain',
              contentBase64: a === 1 ? PDF_STUB : Buffer.from(`Synthetic invoice DEMO-${order++}\n`).toString('base64'),
            });
          }
        }
        records.push({
          type: 'analytics_event',
          id: `evt-${pad(c, 4)}-${k}`,
          occurredAt: iso(at),
          name: open ? 'conversation.started' : 'conversation.closed',
          customerId,
        });
      } else {
        const callId = `call-${pad(c, 4)}-${k}`;
        const durationSeconds = between(20, 900);
        const ref = `tp-${pad(c, 4)}-${k}`;
        const withRef = thirdParty && chance(0.7);
        if (withRef) thirdPartyRefs.push(ref);
        records.push({
          type: 'call',
          id: callId,
          customerId,
          startedAt: iso(at),
          durationSeconds,
          ...(withRef && { thirdPartyRef: ref }),
        });
        if (chance(0.8)) {
          blobCount++;
          records.push({
            type: 'recording',
            id: `rec-${pad(c, 4)}-${k}`,
            callId,
            customerId,
            contentType: 'audio/wav',
            contentBase64: wavOfSilence(Math.min(durationSeconds, 3)),
          });
        }
      }
    }

    records.unshift({
      type: 'customer',
      id: customerId,
      name: `${first} ${last}`,
      phones: [phone],
      emails: [email],
      externalId: `crm-${pad(c, 6)}`,
      firstContactAt: iso(firstContact),
      lastContactAt: iso(lastContact),
      ...(viaBot && { botId: 'bot-faq' }),
    });
    bundles.push(records);
  }

  const account: IngestRecordInput[] = [];
  for (let w = 1, at = start; at < now; w++, at += between(1, 4) * DAY_MS) {
    account.push({
      type: 'webhook_delivery',
      id: `wh-${pad(w, 5)}`,
      deliveredAt: iso(at),
      url: `https://hooks.example.com/lethe-demo/${pick(['orders', 'tickets', 'calls'])}`,
      statusCode: chance(0.93) ? 200 : pick([404, 500, 503]),
    });
  }
  for (let e = 1; e <= 150; e++) {
    account.push({
      type: 'analytics_event',
      id: `evt-acct-${pad(e, 4)}`,
      occurredAt: iso(start + Math.floor(random() * spanMs)),
      name: pick(['dashboard.viewed', 'report.exported', 'queue.opened']),
    });
  }
  for (let u = 1; u <= 12; u++) {
    const left = u > 8;
    account.push({
      type: 'user',
      id: `user-${pad(u, 2)}`,
      email: `agent${pad(u, 2)}@demo-tenant.example.com`,
      lastSignInAt: iso(left ? start + Math.floor(random() * (spanMs - 400 * DAY_MS)) : now - between(0, 20) * DAY_MS - DAY_MS / 2),
      hasAccountAccess: !left,
    });
  }
  for (let a = 1; a <= 200; a++) {
    account.push({
      type: 'admin_activity_log',
      id: `adm-${pad(a, 4)}`,
      occurredAt: iso(start + Math.floor(random() * spanMs)),
      actor: `user-${pad(between(1, 3), 2)}`,
      action: pick(['queue.updated', 'routing.changed', 'user.invited', 'form.published', 'policy.viewed']),
    });
  }
  const kinds = ['queue', 'queue', 'routing', 'workflow', 'workflow', 'form', 'setting', 'setting'] as const;
  kinds.forEach((kind, i) => {
    account.push({ type: 'account_config', id: `cfg-${kind}-${i + 1}`, kind, updatedAt: iso(start + Math.floor(random() * spanMs)) });
  });
  // Account-level records stand alone, so they can be cut into bundles of any size.
  for (let i = 0; i < account.length; i += 250) bundles.push(account.slice(i, i + 250));

  const recordCount = bundles.reduce((n, b) => n + b.length, 0);
  return { bundles, thirdPartyRefs, recordCount, blobCount };
}

export interface BatchLimits {
  /** @default 500 (the route's limit) */
  readonly maxRecords?: number;
  /** Serialized size per body. @default 4 MiB, well under API Gateway's 10 MB */
  readonly maxBytes?: number;
}

/** Packs bundles into ingest bodies, never splitting a bundle (its records refer to each other). */
export function packBatches(bundles: readonly (readonly IngestRecordInput[])[], limits: BatchLimits = {}): IngestRecordInput[][] {
  const maxRecords = limits.maxRecords ?? 500;
  const maxBytes = limits.maxBytes ?? 4 * 1024 * 1024;
  const batches: IngestRecordInput[][] = [];
  let current: IngestRecordInput[] = [];
  let bytes = 0;
  for (const bundle of bundles) {
    const size = Buffer.byteLength(JSON.stringify(bundle));
    if (bundle.length > maxRecords || size > maxBytes) throw new RangeError('a bundle exceeds one ingest body');
    if (current.length + bundle.length > maxRecords || bytes + size > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(...bundle);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Posts one ingest body; resolves to the number of records accepted. */
export type IngestPoster = (records: readonly IngestRecordInput[]) => Promise<number>;

/** Sends a dataset body by body, reporting records accepted so far; returns the total. */
export async function ingestDataset(
  dataset: DemoDataset,
  post: IngestPoster,
  onProgress?: (accepted: number, total: number) => void,
): Promise<number> {
  let accepted = 0;
  for (const batch of packBatches(dataset.bundles)) {
    accepted += await post(batch);
    onProgress?.(accepted, dataset.recordCount);
  }
  return accepted;
}
