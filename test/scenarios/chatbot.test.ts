/**
 * The `chatbot` profile, walked through its platform's data deletion page
 * (seeds/002) as the bot account's administrator would, through the admin API
 * on the emulators, with every scheduled sweep run by the rendered `Sweep`
 * state machine and every privacy request by the local PrivacyRequest
 * workflow. No personal data is kept past 13 months, by a monthly sweep; the
 * administrator erases bot users in bulk with a filter (bot, range of the
 * first conversation) whose preview lists exactly who the erasure then takes,
 * asynchronously, with an e-mail at the end; analytics stay; one user found by
 * name, one conversation and one message can be deleted by an Administrator
 * (and no one without the role); an Administrator selects and deletes admins'
 * activity logs.
 *
 * Each statement has its own tenant; the clock stands still (API_NOW) and the
 * data is placed in the past at ingest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { API_NOW, type ApiWorld } from '../support/api.js';
import {
  as,
  DAY,
  expectGone,
  ingestAs,
  mails,
  ofCustomer,
  scenarioWorld,
  scheduledSweep,
  snapshot,
  storedItems,
  tenantCall,
  under,
} from './support.js';

const TENANTS = ['b-cap', 'b-bounds', 'b-bulk', 'b-manual', 'b-logs'] as const;
type T = (typeof TENANTS)[number];

let w: ApiWorld;

beforeAll(async () => {
  w = await scenarioWorld('chatbot', TENANTS);
});

const admin = (t: T) => as('Administrator', t);
/** A bot builder without the Admin role. */
const builder = (t: T) => ({ sub: `builder@${t}`, groups: ['BotBuilder'], tenantId: t });
const at = (days: number, plusMinutes = 0) => new Date(API_NOW.getTime() - days * DAY + plusMinutes * 60_000).toISOString();

/** A bot user; her first contact is not given (the platform knows it from her conversations). */
const botUser = (id: string, botId: string, lastContactDays: number): IngestRecordInput => ({
  type: 'customer',
  id,
  name: `Bot User ${id}`,
  emails: [`${id}@users.example`],
  lastContactAt: at(lastContactDays),
  botId,
});

/** A conversation of a user with a bot `days` ago, two messages and an analytics event. */
const chat = (id: string, customerId: string, botId: string, days: number): IngestRecordInput[] => [
  { type: 'conversation', id, customerId, channel: 'chat', botId, startedAt: at(days), status: 'closed' },
  { type: 'message', id: `${id}-m1`, conversationId: id, customerId, sentAt: at(days, 1), direction: 'inbound', text: `hi bot, ${customerId} here` },
  { type: 'message', id: `${id}-m2`, conversationId: id, customerId, sentAt: at(days, 2), direction: 'outbound', text: 'hello human' },
  { type: 'analytics_event', id: `${id}-evt`, customerId, occurredAt: at(days, 3), name: 'intent_matched' },
];

const sweep = (t: T) => scheduledSweep(w, { tenantIds: [t] });

describe('automatic deletion', () => {
  it('keeps no personal data older than 13 months: bot users, conversations, messages and admins\' logs past it go, younger ones stay', async () => {
    await ingestAs(w, 'b-cap', [
      botUser('gone-user', 'bot-a', 420),
      ...chat('gone-chat', 'gone-user', 'bot-a', 420),
      botUser('kept-user', 'bot-a', 330),
      ...chat('kept-chat', 'kept-user', 'bot-a', 330),
      { type: 'admin_activity_log', id: 'old-log', occurredAt: at(420), actor: 'maker@bots.example', action: 'bot.published' },
      { type: 'admin_activity_log', id: 'new-log', occurredAt: at(330), actor: 'maker@bots.example', action: 'bot.published' },
      { type: 'user', id: 'old-admin', email: 'old-admin@bots.example', lastSignInAt: at(420), hasAccountAccess: false },
    ]);
    // The longest periods the profile allows, so that only the 13-month cap decides.
    const longest = Object.fromEntries(['conversation', 'message', 'customer_profile', 'admin_activity_log', 'user'].map((c) => [c, { days: 396 }]));
    expect((await tenantCall(w, 'b-cap', admin('b-cap'), 'PUT', '/retention-policy', { body: { categories: longest } })).status).toBe(200);
    const before = await snapshot(w, 'b-cap');

    await sweep('b-cap');

    // Analytics events go at their own (shorter) period: both users' events are past it.
    expectGone(before, await snapshot(w, 'b-cap'), (i) => ofCustomer('gone-user')(i) || ['old-log', 'old-admin'].includes(i.id) || i.category === 'analytics_event');
  });

  it('refuses a period past 13 months for personal data, naming the category', async () => {
    for (const category of ['conversation', 'message', 'customer_profile', 'call_recording', 'admin_activity_log']) {
      const answer = await tenantCall(w, 'b-bounds', admin('b-bounds'), 'PUT', '/retention-policy', { body: { categories: { [category]: { days: 397 } } } });
      expect(answer.status, category).toBe(400);
      expect(JSON.stringify(answer.body.error), category).toContain(`categories.${category}.days`);
    }
  });

  it('runs monthly', () => {
    expect(w.platform.sweep.cadenceMinutes).toBe(30 * 24 * 60);
  });
});

describe('deleting bot users in bulk from the privacy module', () => {
  const filter = { botId: 'bot-a', firstContactFrom: at(30), firstContactTo: at(10) };
  const analyticsCount = async () => (await storedItems(w, 'b-bulk')).filter((i) => i.category === 'analytics_event').length;
  const preview = (body: unknown) => tenantCall(w, 'b-bulk', admin('b-bulk'), 'POST', '/privacy-requests/preview', { body });
  const listed = (answer: { body: { customers: { customerId: string }[] } }) => answer.body.customers.map((c) => c.customerId).sort();

  beforeAll(async () => {
    await ingestAs(w, 'b-bulk', [
      // First talked to bot-a 20 days ago, and again 2 days ago: her first conversation is in range.
      botUser('in-range', 'bot-a', 2),
      ...chat('in-range-1', 'in-range', 'bot-a', 20),
      ...chat('in-range-2', 'in-range', 'bot-a', 2),
      botUser('in-range-too', 'bot-a', 15),
      ...chat('in-range-too-1', 'in-range-too', 'bot-a', 15),
      // Her last conversation is in range, her first is not.
      botUser('veteran', 'bot-a', 15),
      ...chat('veteran-1', 'veteran', 'bot-a', 60),
      ...chat('veteran-2', 'veteran', 'bot-a', 15),
      botUser('newcomer', 'bot-a', 5),
      ...chat('newcomer-1', 'newcomer', 'bot-a', 5),
      botUser('other-bot', 'bot-b', 20),
      ...chat('other-bot-1', 'other-bot', 'bot-b', 20),
      { type: 'analytics_event', id: 'anonymous-evt', occurredAt: at(3), name: 'widget_opened' },
    ]);
  });

  it('shows the users a filter targets before anything is deleted: by bot and by the range of their first conversation', async () => {
    const before = await snapshot(w, 'b-bulk');

    const byBot = await preview({ kind: 'erasure', filter });
    const allBots = await preview({ kind: 'erasure', filter: { firstContactFrom: at(30), firstContactTo: at(10) } });
    const lastWeek = await preview({ kind: 'erasure', filter: { firstContactFrom: at(7) } });

    expect(byBot.status, byBot.text).toBe(200);
    expect(listed(byBot)).toEqual(['in-range', 'in-range-too']);
    expect(listed(allBots)).toEqual(['in-range', 'in-range-too', 'other-bot']);
    expect(listed(lastWeek)).toEqual(['newcomer']);
    expectGone(before, await snapshot(w, 'b-bulk'), () => false);
  });

  it('erases exactly the users the preview listed, asynchronously, e-mails when done, and leaves analytics counts unchanged', async () => {
    const shown = listed(await preview({ kind: 'erasure', filter }));
    const before = await snapshot(w, 'b-bulk');
    const analyticsBefore = await analyticsCount();
    const mailsBefore = mails(w).length;

    const filed = await tenantCall(w, 'b-bulk', admin('b-bulk'), 'POST', '/privacy-requests', {
      body: { kind: 'erasure', filter, notify: { email: 'owner@bots.example' } },
    });
    await w.deletionWork.idle();

    // Accepted at once (202, received); the PrivacyRequest workflow does the deletion after.
    expect(filed.status, filed.text).toBe(202);
    expect(filed.body).toMatchObject({ requestId: expect.any(String), status: 'received' });
    const request = await tenantCall(w, 'b-bulk', admin('b-bulk'), 'GET', `/privacy-requests/${filed.body.requestId}`);
    expect(request.body).toMatchObject({ status: 'completed', selector: 'filter', subjects: shown.length });
    // Their three conversations (two of one user, one of the other).
    expect(request.body.counts.conversation).toMatchObject({ deleted: 3, failed: 0 });
    const movedEvent = (i: RecordItem) => i.category === 'analytics_event' && i.subjectId === undefined;
    const gone = (i: RecordItem) => shown.includes(i.subjectId as string);
    expectGone(before, await snapshot(w, 'b-bulk'), gone, { what: 'erasure', appeared: movedEvent });
    expect(await analyticsCount()).toBe(analyticsBefore);
    const kept = (await storedItems(w, 'b-bulk')).filter((i) => i.category === 'analytics_event');
    // None of them is hers any more (their ids are the platform's event ids).
    expect(kept.filter((i) => shown.includes(i.subjectId as string) || shown.some((id) => i.pk.endsWith(`#S#${id}`)))).toEqual([]);
    expect(JSON.stringify(kept.map((i) => i.data))).not.toMatch(/in-range/u);
    const sent = mails(w).slice(mailsBefore);
    expect(sent.map((m) => m.to)).toEqual([['owner@bots.example']]);
    expect(sent[0]!.subject).toContain('completed');
  });
});

describe('deleting one user, conversation or message by hand', () => {
  beforeAll(async () => {
    await ingestAs(w, 'b-manual', [
      botUser('grace', 'bot-a', 3),
      ...chat('grace-1', 'grace', 'bot-a', 40),
      ...chat('grace-2', 'grace', 'bot-a', 3),
      botUser('henry', 'bot-a', 3),
      ...chat('henry-1', 'henry', 'bot-a', 3),
    ]);
  });

  it('refuses (403) a bot builder without the Admin role, changing nothing', async () => {
    const before = await snapshot(w, 'b-manual');

    const answers = await Promise.all([
      tenantCall(w, 'b-manual', builder('b-manual'), 'DELETE', '/customers/henry'),
      tenantCall(w, 'b-manual', builder('b-manual'), 'DELETE', '/conversations/henry-1'),
      tenantCall(w, 'b-manual', builder('b-manual'), 'DELETE', '/conversations/henry-1/messages/henry-1-m1'),
    ]);

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403]);
    expectGone(before, await snapshot(w, 'b-manual'), () => false);
  });

  it('lets an Administrator delete one message from the inbox, a tombstone staying', async () => {
    const before = await snapshot(w, 'b-manual');

    const answer = await tenantCall(w, 'b-manual', admin('b-manual'), 'DELETE', '/conversations/grace-2/messages/grace-2-m1');

    expect(answer.status, answer.text).toBe(200);
    const after = await snapshot(w, 'b-manual');
    expectGone(before, after, () => false);
    expect(after.items.find((i) => i.id === 'grace-2-m1')?.status).toBe('deleted');
  });

  it('lets an Administrator delete a conversation, the user\'s other one staying', async () => {
    const before = await snapshot(w, 'b-manual');

    const answer = await tenantCall(w, 'b-manual', admin('b-manual'), 'DELETE', '/conversations/grace-1');
    await w.deletionWork.idle();

    expect([200, 202], answer.text).toContain(answer.status);
    expectGone(before, await snapshot(w, 'b-manual'), (i) => i.subjectId === 'grace' && under('CONV#grace-1')(i));
  });

  it('lets an Administrator find a user by name and delete her with her data, her analytics staying', async () => {
    const found = await tenantCall(w, 'b-manual', admin('b-manual'), 'GET', '/customers', { query: { name: 'Bot User grace' } });
    const before = await snapshot(w, 'b-manual');

    const answer = await tenantCall(w, 'b-manual', admin('b-manual'), 'DELETE', `/customers/${found.body.customers[0].customerId}`);
    await w.deletionWork.idle();

    expect(found.body.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['grace']);
    expect([200, 202], answer.text).toContain(answer.status);
    const moved = (i: RecordItem) => i.category === 'analytics_event' && i.subjectId === undefined;
    expectGone(before, await snapshot(w, 'b-manual'), ofCustomer('grace'), { what: 'delete', appeared: moved });
    const after = await snapshot(w, 'b-manual');
    expect(after.items.filter((i) => i.category === 'analytics_event')).toHaveLength(before.items.filter((i) => i.category === 'analytics_event').length);
  });
});

describe('bots admins\' data', () => {
  const logs = [
    { id: 'log-a1', actor: 'alice@bots.example', days: 40 },
    { id: 'log-a2', actor: 'alice@bots.example', days: 10 },
    { id: 'log-b1', actor: 'bob@bots.example', days: 10 },
    { id: 'log-a3', actor: 'alice@bots.example', days: 2 },
  ];

  beforeAll(async () => {
    await ingestAs(
      w,
      'b-logs',
      logs.map((l) => ({ type: 'admin_activity_log', id: l.id, occurredAt: at(l.days), actor: l.actor, action: 'bot.trained' })),
    );
  });

  it('lets an account Administrator select activity logs by admin and dates, and delete the selection', async () => {
    const selection = { actor: 'alice@bots.example', from: at(30), to: at(1) };
    const before = await snapshot(w, 'b-logs');

    const selected = await tenantCall(w, 'b-logs', admin('b-logs'), 'GET', '/admin-activity-logs', { query: selection });
    const deleted = await tenantCall(w, 'b-logs', admin('b-logs'), 'POST', '/admin-activity-logs/delete', { body: selection });

    expect(selected.status, selected.text).toBe(200);
    expect(selected.body.logs.map((l: { id: string }) => l.id)).toEqual(['log-a2', 'log-a3']);
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toMatchObject({ selected: 2, deleted: 2 });
    expectGone(before, await snapshot(w, 'b-logs'), (i) => ['log-a2', 'log-a3'].includes(i.id));
  });

  it('refuses (403) the logs to someone without the Admin role', async () => {
    const list = await tenantCall(w, 'b-logs', builder('b-logs'), 'GET', '/admin-activity-logs', { query: { actor: 'bob@bots.example' } });
    const remove = await tenantCall(w, 'b-logs', builder('b-logs'), 'POST', '/admin-activity-logs/delete', { body: { actor: 'bob@bots.example' } });

    expect([list.status, remove.status]).toEqual([403, 403]);
  });
});
