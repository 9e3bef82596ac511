/**
 * The `conversations` profile, walked through its platform's data retention
 * policy (seeds/000) as the account's administrator would, through the admin
 * API on the emulators, with every scheduled sweep run by the rendered
 * `Sweep` state machine. By default communication content (conversations,
 * messages, notes, calls and recordings) and logs go 6 months after the
 * conversation started, media received over OTT channels 30 days after they
 * came, e-mail attachments after a year, analytics after 6 months, outbound
 * media with their conversation and never later than 2 years; periods can be
 * shortened, and lengthened except for media, attachments and analytics;
 * active conversations past retention go too. People (customer profiles),
 * agents and account configuration stay while the account is in use, at any
 * age, and go with all the account's data once its contract has ended or it
 * has been inactive for 18 months, its status saying which. Deletion runs
 * daily.
 *
 * Each statement has its own tenant; the clock stands still (API_NOW) and the
 * data is placed in the past at ingest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { API_NOW, registerTenant, type ApiWorld } from '../support/api.js';
import {
  as,
  blob,
  DAY,
  expectGone,
  ingestAs,
  providerDeletes,
  scenarioWorld,
  scheduledSweep,
  snapshot,
  SUPER,
  tenantCall,
  under,
} from './support.js';

const TENANTS = ['c-defaults', 'c-extended', 'c-bounds', 'c-active', 'c-idle', 'c-quiet'] as const;
const CONTRACT_TENANTS = ['c-ended', 'c-ending'] as const;
type T = (typeof TENANTS)[number] | (typeof CONTRACT_TENANTS)[number];

let w: ApiWorld;

beforeAll(async () => {
  w = await scenarioWorld('conversations', TENANTS);
  await registerTenant(w, 'c-ended', { contractEndsAt: at(1) });
  await registerTenant(w, 'c-ending', { contractEndsAt: at(-30) });
});

const admin = (t: T) => as('Administrator', t);
/** An instant `days` before now (negative: after). */
function at(days: number, plusMinutes = 0): string {
  return new Date(API_NOW.getTime() - days * DAY + plusMinutes * 60_000).toISOString();
}

interface ConversationOptions {
  readonly channel?: 'chat' | 'email' | 'whatsapp';
  readonly open?: boolean;
  /** Days since each inbound OTT media item arrived (default: at the start). */
  readonly inboundAges?: readonly number[];
}

/**
 * A conversation started `days` ago with its notes, two messages, a log, the
 * media received (an e-mail thread: an attachment and an inline image) and
 * the media sent.
 */
function conversation(id: string, customerId: string, days: number, o: ConversationOptions = {}): IngestRecordInput[] {
  const channel = o.channel ?? 'chat';
  return [
    { type: 'conversation', id, customerId, channel, startedAt: at(days), status: o.open === true ? 'open' : 'closed', notes: `agent notes on ${customerId}` },
    { type: 'message', id: `${id}-m1`, conversationId: id, customerId, sentAt: at(days, 1), direction: 'inbound', text: `question from ${customerId}` },
    { type: 'message', id: `${id}-m2`, conversationId: id, customerId, sentAt: at(days, 2), direction: 'outbound', text: 'answer' },
    { type: 'communication_log', id: `${id}-log`, conversationId: id, customerId, loggedAt: at(days, 3), text: `transcript of ${customerId}` },
    // OTT channels bring media; an e-mail thread brings attachments and inline images (e-mail attachments).
    ...(channel === 'email'
      ? (['att', 'inline'] as const).map(
          (part): IngestRecordInput => ({
            type: 'email_attachment',
            id: `${id}-${part}`,
            conversationId: id,
            customerId,
            sentAt: at(days, 1),
            contentType: part === 'att' ? 'application/pdf' : 'image/png',
            contentBase64: blob(`${part} of ${customerId}`),
            messageId: `${id}-m1`,
          }),
        )
      : (o.inboundAges ?? [days]).map(
          (age, n): IngestRecordInput => ({
            type: 'media',
            id: `${id}-in${n}`,
            conversationId: id,
            customerId,
            direction: 'inbound',
            contentType: 'image/jpeg',
            contentBase64: blob(`photo ${n} of ${customerId}`),
            sentAt: age >= days ? at(days, 4) : at(age),
          }),
        )),
    { type: 'media', id: `${id}-out`, conversationId: id, customerId, direction: 'outbound', contentType: 'image/png', contentBase64: blob('catalogue') },
  ];
}

const person = (id: string, lastContactDays: number): IngestRecordInput => ({
  type: 'customer',
  id,
  name: `Person ${id}`,
  phones: ['+385911234567'],
  emails: [`${id}@people.example`],
  lastContactAt: at(lastContactDays),
});

const call = (id: string, customerId: string, days: number): IngestRecordInput[] => [
  { type: 'call', id, customerId, startedAt: at(days), durationSeconds: 90, thirdPartyRef: `tp-${id}` },
  { type: 'recording', id: `${id}-rec`, callId: id, customerId, contentType: 'audio/wav', contentBase64: blob(`voice on ${id}`) },
];

/** The account's long-term data, `days` old: a person, an agent without access, queues, routing, workflows, forms and settings. */
const longTerm = (days: number): IngestRecordInput[] => [
  person('old-person', days),
  { type: 'user', id: 'old-agent', email: 'old-agent@agents.example', lastSignInAt: at(days), hasAccountAccess: false },
  ...(['queue', 'routing', 'workflow', 'form', 'setting'] as const).map(
    (kind): IngestRecordInput => ({ type: 'account_config', id: `${kind}-1`, kind, updatedAt: at(days) }),
  ),
];
const isLongTerm = (i: RecordItem) => ['customer_profile', 'user', 'account_config'].includes(i.category);

const putCategories = (t: T, categories: Record<string, number>, acknowledgeDataLoss = false) =>
  tenantCall(w, t, admin(t), 'PUT', '/retention-policy', {
    body: { categories: Object.fromEntries(Object.entries(categories).map(([c, days]) => [c, { days }])), ...(acknowledgeDataLoss && { acknowledgeDataLoss }) },
  });

const sweep = (t: T) => scheduledSweep(w, { tenantIds: [t] });
const tenantStatus = async (t: T) => (await tenantCall(w, t, admin(t), 'GET', '')).body;

describe('default retention periods', () => {
  it('deletes conversations, their notes, messages, logs and media, calls and recordings 6 months after the start, active ones too; OTT media after 30 days; analytics after 6 months', async () => {
    await ingestAs(w, 'c-defaults', [
      person('ana', 5),
      ...conversation('ana-old', 'ana', 200),
      ...conversation('ana-mail-old', 'ana', 200, { channel: 'email' }),
      ...conversation('ana-open', 'ana', 200, { open: true }),
      ...conversation('ana-new', 'ana', 100, { inboundAges: [40, 20] }),
      ...conversation('ana-mail-new', 'ana', 100, { channel: 'email' }),
      ...call('ana-call-old', 'ana', 200),
      ...call('ana-call-new', 'ana', 100),
      { type: 'analytics_event', id: 'ana-evt-old', customerId: 'ana', occurredAt: at(200), name: 'conversation_rated' },
      { type: 'analytics_event', id: 'ana-evt-new', customerId: 'ana', occurredAt: at(100), name: 'conversation_rated' },
    ]);
    const before = await snapshot(w, 'c-defaults');

    const receipt = await (await sweep('c-defaults'))('c-defaults');

    const gone = expectGone(
      before,
      await snapshot(w, 'c-defaults'),
      (i) =>
        ['CONV#ana-old', 'CONV#ana-mail-old', 'CONV#ana-open', 'CALL#ana-call-old'].some((sk) => under(sk)(i)) ||
        i.id === 'ana-evt-old' ||
        i.id === 'ana-new-in0',
    );
    expect(new Set(gone.map((i) => i.category))).toEqual(
      new Set(['conversation', 'message', 'communication_log', 'inbound_media', 'outbound_media', 'email_attachment', 'call', 'call_recording', 'third_party_call_data', 'analytics_event']),
    );
    expect(providerDeletes(w, 'c-defaults')).toEqual(['tp-ana-call-old']);
    expect(receipt.cutoffs.conversation).toBe(at(183));
    expect(receipt.cutoffs.inbound_media).toBe(at(30));
    expect(receipt.cutoffs.email_attachment).toBe(at(365));
    expect(receipt.cutoffs.analytics_event).toBe(at(183));
  });

  it('lets authorised users archive what is kept: the transcript with message texts, and call recordings to download', async () => {
    const answer = await tenantCall(w, 'c-defaults', as('ComplianceAdministrator', 'c-defaults'), 'GET', '/customers/ana/export');

    expect(answer.status, answer.text).toBe(200);
    const chat = answer.body.conversations.find((c: { id: string }) => c.id === 'ana-new');
    expect(chat.messages.map((m: { text: string }) => m.text)).toEqual(['question from ana', 'answer']);
    const kept = answer.body.calls.find((c: { id: string }) => c.id === 'ana-call-new');
    expect(kept.recordings).toEqual([expect.objectContaining({ id: 'ana-call-new-rec', url: expect.stringMatching(/^https?:\/\//u) })]);
    expect(answer.body.calls.map((c: { id: string }) => c.id)).toEqual(['ana-call-new']);
  });

  it('runs once a day', () => {
    expect(w.platform.sweep.cadenceMinutes).toBe(24 * 60);
  });
});

describe('customised retention periods', () => {
  it('refuses to prolong OTT media, e-mail attachments, analytics or outbound media past their maximum (400 naming each), saving nothing', async () => {
    const tries = { inbound_media: 31, email_attachment: 366, analytics_event: 184, outbound_media: 731 };
    for (const [category, days] of Object.entries(tries)) {
      const answer = await putCategories('c-bounds', { [category]: days });
      expect(answer.status, category).toBe(400);
      expect(JSON.stringify(answer.body.error), category).toContain(`categories.${category}.days`);
    }
    expect((await tenantCall(w, 'c-bounds', admin('c-bounds'), 'GET', '/retention-policy')).body.version).toBe(0);
  });

  it('lets any period be shortened, with the acknowledgement', async () => {
    const answer = await putCategories('c-bounds', { inbound_media: 7, email_attachment: 90, analytics_event: 30, conversation: 90 }, true);

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.categories.inbound_media.days).toBe(7);
  });

  it('with communication content kept 3 years, still deletes e-mail attachments after 1 year, OTT media after 30 days, analytics after 6 months and outbound media at 2 years', async () => {
    const content = { conversation: 1095, message: 1095, communication_log: 1095, call: 1095, call_recording: 1095, third_party_call_data: 1095 };
    expect((await putCategories('c-extended', content)).status).toBe(200);
    await ingestAs(w, 'c-extended', [
      person('ben', 5),
      ...conversation('ben-400', 'ben', 400, { channel: 'email' }),
      ...conversation('ben-800', 'ben', 800),
      ...call('ben-call', 'ben', 800),
      { type: 'analytics_event', id: 'ben-evt', customerId: 'ben', occurredAt: at(200), name: 'conversation_rated' },
    ]);
    const before = await snapshot(w, 'c-extended');

    await sweep('c-extended');

    expectGone(before, await snapshot(w, 'c-extended'), (i) =>
      ['ben-400-att', 'ben-400-inline', 'ben-800-in0', 'ben-800-out', 'ben-evt'].includes(i.id),
    );
    expect(providerDeletes(w, 'c-extended')).toEqual([]);
  });
});

describe('long-term retention while the account is in use', () => {
  it('keeps People, agents, queues, routing, workflows, forms and settings of an active account at any age', async () => {
    await ingestAs(w, 'c-active', [...longTerm(5 * 365), person('today', 2), ...conversation('today-chat', 'today', 2)]);
    const before = await snapshot(w, 'c-active');

    const receipt = await (await sweep('c-active'))('c-active');

    expectGone(before, await snapshot(w, 'c-active'), () => false);
    expect(receipt.reason).toBeUndefined();
    const status = await tenantStatus('c-active');
    expect(status.status).toBe('active');
    expect(status.lastActivityAt > at(3)).toBe(true);
  });

  it('has no period to set for them: a PUT naming one is a 400 that says they are kept for the account\'s lifetime', async () => {
    for (const category of ['customer_profile', 'user', 'account_config']) {
      const answer = await putCategories('c-active', { [category]: 365 }, true);
      expect(answer.status, category).toBe(400);
      expect(JSON.stringify(answer.body.error), category).toContain(`categories.${category}.days`);
    }
  });

  it('keeps them while the contract runs', async () => {
    await ingestAs(w, 'c-ending', [...longTerm(5 * 365), person('today', 2), ...conversation('today-chat', 'today', 2)]);
    const before = await snapshot(w, 'c-ending');

    await sweep('c-ending');

    expectGone(before, await snapshot(w, 'c-ending'), () => false);
    expect((await tenantStatus('c-ending')).status).toBe('active');
  });

  it('deletes everything of the account at the first sweep after the contract ended, and the tenant says contract_ended', async () => {
    await ingestAs(w, 'c-ended', [
      ...longTerm(5 * 365),
      person('today', 2),
      ...conversation('today-chat', 'today', 2, { channel: 'email' }),
      ...call('today-call', 'today', 2),
      { type: 'webhook_delivery', id: 'hook-1', deliveredAt: at(2), url: 'https://hooks.example/conv', statusCode: 200 },
      { type: 'admin_activity_log', id: 'log-1', occurredAt: at(2), actor: 'lead@conv.example', action: 'queue.created' },
      { type: 'user', id: 'busy-agent', email: 'busy@agents.example', lastSignInAt: at(1), hasAccountAccess: true },
    ]);
    const before = await snapshot(w, 'c-ended');
    expect(before.items.filter(isLongTerm).length).toBeGreaterThan(5);

    const status = await tenantStatus('c-ended');
    const receipt = await (await sweep('c-ended'))('c-ended');

    expect(status.status).toBe('contract_ended');
    expectGone(before, await snapshot(w, 'c-ended'), () => true);
    expect(receipt.reason).toBe('contract_ended');
    expect(providerDeletes(w, 'c-ended')).toEqual(['tp-today-call']);
  });

  it('deletes everything of an account inactive for 18 months at the next sweep, and the tenant says inactive', async () => {
    const idle = 18 * 30 + 20;
    await ingestAs(w, 'c-idle', [...longTerm(5 * 365), person('last-one', idle), ...conversation('last-chat', 'last-one', idle)]);
    const before = await snapshot(w, 'c-idle');

    const status = await tenantStatus('c-idle');
    const receipt = await (await sweep('c-idle'))('c-idle');

    expect(status.status).toBe('inactive');
    expect(status.lastActivityAt < at(548)).toBe(true);
    expectGone(before, await snapshot(w, 'c-idle'), () => true);
    expect(receipt.reason).toBe('inactive');
  });

  it('keeps them for an account last used 17 months ago, its old conversations going by their own period', async () => {
    const quiet = 17 * 30;
    await ingestAs(w, 'c-quiet', [...longTerm(5 * 365), person('last-one', quiet), ...conversation('last-chat', 'last-one', quiet)]);
    const before = await snapshot(w, 'c-quiet');

    const status = await tenantStatus('c-quiet');
    const receipt = await (await sweep('c-quiet'))('c-quiet');

    expect(status.status).toBe('active');
    expectGone(before, await snapshot(w, 'c-quiet'), under('CONV#last-chat'));
    expect(receipt.reason).toBeUndefined();
  });

  it('counts an administrator\'s use of the account as activity: after a policy change an idle account is active again', async () => {
    expect((await putCategories('c-quiet', { webhook_delivery: 365 })).status).toBe(200);

    expect(await tenantStatus('c-quiet')).toMatchObject({ status: 'active', lastActivityAt: API_NOW.toISOString() });
    // The super administrator sees the same status in the tenant list.
    const listed = await w.call({ method: 'GET', path: '/v1/tenants', token: SUPER });
    const statuses = Object.fromEntries(listed.body.tenants.map((t: { tenantId: string; status: string }) => [t.tenantId, t.status]));
    expect(statuses).toMatchObject({ 'c-quiet': 'active', 'c-ended': 'contract_ended', 'c-idle': 'inactive' });
  });
});
