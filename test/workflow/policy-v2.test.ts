/**
 * Policy v2 through the real sweep: data placed in the past at ingest through
 * the API, settings changed through the API the way an administrator would,
 * then the `Sweep` state machine (rendered from CDK, executed locally against
 * the production task handlers on the emulators). Per profile:
 * - voice: one setting at 365 days keeps a 100-day-old call and WhatsApp
 *   conversation with everything under them (no provider DELETE); at 0 days,
 *   data 3 hours old is gone and data 1 hour old stays (the 2-hour grace);
 * - support-desk: under the default nothing at all goes; at 365 days a
 *   customer silent for 400 days goes whole, one contacted 100 days ago keeps
 *   even her 500-day-old items;
 * - conversations: People and agents survive any age while the account is
 *   active; after its contract ends, and separately after 18 months without
 *   activity, the next sweep deletes them with all account data, and the
 *   tenant's status and the receipt say why;
 * - call-tracking: a hold does not keep a 26-month-old call (the hold says it
 *   covers only data inside 761 days; the receipt counts the call deleted at its
 *   cap); a customer with 30-month-old calls stays findable by phone.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { ProfileName } from '../../shared/config/profiles.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import { keys, type RecordItem } from '../../shared/domain/records.js';
import { runSweepLocally, sweepHandlers } from '../../shared/local/sweep-runner.js';
import { apiWorld, daysAgo, ingest, registerTenant, token, type ApiWorld } from '../support/api.js';
import type { MemoryExternalProvider } from '../support/memory.js';

const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });
const b64 = (text: string) => Buffer.from(text).toString('base64');
const hoursAgo = (hours: number) => daysAgo(0, -60 * hours);

let executions = 0;

/** One scheduled sweep of the tenant: the Sweep state machine, every stage chunk by chunk. */
async function sweep(w: ApiWorld, tenantId: string): Promise<Receipt> {
  executions += 1;
  const runId = `policy-v2-${executions}`;
  await runSweepLocally(w.runDeps, sweepHandlers(w.runDeps, { stageBudgetMs: 0, logger: quiet }), { tenantIds: [tenantId] }, { executionName: runId });
  const receipt = await w.stores.control.getReceipt(tenantId, runId);
  expect(receipt?.status).toBe('completed');
  return receipt as Receipt;
}

/** Every record of a customer, by id. */
async function customerItems(w: ApiWorld, tenantId: string, customerId: string): Promise<Map<string, RecordItem>> {
  const items = await w.runDeps.records.findByPartition(keys.subjectPk(tenantId, customerId), { includeExpired: true });
  return new Map((items as RecordItem[]).map((i) => [i.sk, i]));
}

async function accountItems(w: ApiWorld, tenantId: string): Promise<RecordItem[]> {
  return (await w.runDeps.records.findByPartition(keys.accountPk(tenantId), { includeExpired: true })) as RecordItem[];
}

async function userItem(w: ApiWorld, tenantId: string, userId: string): Promise<RecordItem | undefined> {
  return w.runDeps.records.get({ pk: keys.userPk(tenantId, userId), sk: keys.userSk() });
}

const deletedRefs = (w: ApiWorld) => (w.runDeps.external as MemoryExternalProvider).deleted.map((d) => d.ref);

/** A customer with a call (recording, third-party data) and a conversation (messages, media, a log), all started `days` ago. */
function customerWithHistory(id: string, startedAt: string, options: { phone?: string; lastContactAt?: string; channel?: 'whatsapp' | 'email' } = {}): IngestRecordInput[] {
  const conv = `${id}-conv`;
  const call = `${id}-call`;
  return [
    { type: 'customer', id, name: `Customer ${id}`, phones: [options.phone ?? '+14155550100'], lastContactAt: options.lastContactAt ?? startedAt },
    { type: 'conversation', id: conv, customerId: id, channel: options.channel ?? 'whatsapp', startedAt, status: 'closed' },
    { type: 'message', id: `${conv}-m1`, conversationId: conv, customerId: id, sentAt: startedAt, direction: 'inbound', text: 'hello' },
    { type: 'message', id: `${conv}-m2`, conversationId: conv, customerId: id, sentAt: startedAt, direction: 'outbound', text: 'hi there' },
    { type: 'media', id: `${conv}-in`, conversationId: conv, customerId: id, direction: 'inbound', contentType: 'image/png', contentBase64: b64('photo'), sentAt: startedAt },
    { type: 'communication_log', id: `${conv}-log`, conversationId: conv, customerId: id, loggedAt: startedAt, text: 'log' },
    { type: 'call', id: call, customerId: id, startedAt, durationSeconds: 30, thirdPartyRef: `tp-${call}` },
    { type: 'recording', id: `${call}-rec`, callId: call, customerId: id, contentType: 'audio/wav', contentBase64: b64('voice') },
  ];
}

async function putPolicy(w: ApiWorld, tenantId: string, body: unknown, role = 'Administrator') {
  return w.call({ method: 'PUT', path: `/v1/tenants/${tenantId}/retention-policy`, body, token: token(role, tenantId) });
}

async function world(profile: ProfileName, tenantId: string, extra: Record<string, unknown> = {}): Promise<ApiWorld> {
  const w = await apiWorld({ profile });
  await registerTenant(w, tenantId, extra);
  return w;
}

describe('voice: one setting for recordings, calls, webhooks and WhatsApp conversations', () => {
  it('at 365 days keeps a 100-day-old call and WhatsApp conversation, everything under them, and sends no provider DELETE', async () => {
    const t = 'voice-365';
    const w = await world('voice', t);
    expect((await putPolicy(w, t, { settings: { retention: { days: 365 } } })).status).toBe(200);
    await ingest(w, t, customerWithHistory('kept', daysAgo(100), { lastContactAt: daysAgo(100) }));
    await ingest(w, t, customerWithHistory('old', daysAgo(400), { phone: '+14155550111', lastContactAt: daysAgo(10) }));
    await ingest(w, t, [{ type: 'webhook_delivery', id: 'wh-100', deliveredAt: daysAgo(100), url: 'https://hooks.example/a', statusCode: 200 }]);
    const before = await customerItems(w, t, 'kept');

    const receipt = await sweep(w, t);

    // Nothing of the 100-day-old call and conversation went, messages (90 days on their own) included.
    expect([...(await customerItems(w, t, 'kept')).keys()].sort()).toEqual([...before.keys()].sort());
    expect([...before.values()].some((i) => i.category === 'message')).toBe(true);
    expect(await w.stores.blobs.get('recordings', before.get(keys.recordingSk('kept-call', 'kept-call-rec'))!.blobKey!)).toBeDefined();
    expect(deletedRefs(w)).toEqual(['tp-old-call']);
    expect((await accountItems(w, t)).map((i) => i.id)).toContain('wh-100');
    // The 400-day-old call and WhatsApp conversation went with what was under them; the customer stays (contacted 10 days ago).
    expect([...(await customerItems(w, t, 'old')).values()].map((i) => i.category).filter((c) => c !== 'customer_profile')).toEqual([]);
    expect(receipt.cutoffs.call).toBe(receipt.cutoffs.whatsapp_conversation);
  });

  it('at 0 days deletes data 3 hours old and keeps data 1 hour old: 0 means once the 2-hour grace has passed', async () => {
    const t = 'voice-0';
    const w = await world('voice', t);
    const answer = await putPolicy(w, t, { settings: { retention: { days: 0 } }, acknowledgeDataLoss: true });
    expect(answer.status, answer.text).toBe(200);
    await ingest(w, t, customerWithHistory('three', hoursAgo(3), { lastContactAt: hoursAgo(1) }));
    await ingest(w, t, customerWithHistory('one', hoursAgo(1), { phone: '+14155550112', lastContactAt: hoursAgo(1) }));
    await ingest(w, t, [
      { type: 'webhook_delivery', id: 'wh-3h', deliveredAt: hoursAgo(3), url: 'https://hooks.example/a', statusCode: 200 },
      { type: 'webhook_delivery', id: 'wh-1h', deliveredAt: hoursAgo(1), url: 'https://hooks.example/a', statusCode: 200 },
    ]);
    const young = await customerItems(w, t, 'one');

    const receipt = await sweep(w, t);

    expect(receipt.cutoffs.call).toBe(hoursAgo(2));
    const three = [...(await customerItems(w, t, 'three')).values()];
    expect(three.map((i) => i.category).filter((c) => c !== 'customer_profile')).toEqual([]);
    expect([...(await customerItems(w, t, 'one')).keys()].sort()).toEqual([...young.keys()].sort());
    expect((await accountItems(w, t)).map((i) => i.id)).toEqual(['wh-1h']);
    expect(deletedRefs(w)).toEqual(['tp-three-call']);
  });
});

describe('support-desk: one subject-clock setting over customer data', () => {
  it('deletes nothing at all under the default, whatever the age', async () => {
    const t = 'desk-default';
    const w = await world('support-desk', t);
    const fourYears = daysAgo(4 * 365);
    await ingest(w, t, customerWithHistory('ancient', fourYears, { channel: 'email' }));
    await ingest(w, t, [
      { type: 'webhook_delivery', id: 'wh-old', deliveredAt: fourYears, url: 'https://hooks.example/a', statusCode: 500 },
      { type: 'user', id: 'u-old', email: 'agent@desk.example', lastSignInAt: fourYears, hasAccountAccess: false },
      { type: 'admin_activity_log', id: 'a-old', occurredAt: fourYears, actor: 'admin', action: 'login' },
      { type: 'account_config', id: 'q-old', kind: 'queue', updatedAt: fourYears },
      { type: 'analytics_event', id: 'e-old', occurredAt: fourYears, name: 'chat_started' },
    ]);
    const before = { customer: await customerItems(w, t, 'ancient'), account: await accountItems(w, t) };

    const receipt = await sweep(w, t);

    expect(Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0)).toBe(0);
    expect([...(await customerItems(w, t, 'ancient')).keys()].sort()).toEqual([...before.customer.keys()].sort());
    expect((await accountItems(w, t)).length).toBe(before.account.length);
    expect(await userItem(w, t, 'u-old')).toBeDefined();
    expect(deletedRefs(w)).toEqual([]);
  });

  it('at 365 days deletes a customer silent for 400 days whole, and nothing of one contacted 100 days ago', async () => {
    const t = 'desk-365';
    const w = await world('support-desk', t);
    expect((await putPolicy(w, t, { settings: { customer_data: { days: 365 } }, acknowledgeDataLoss: true }, 'Administrator')).status).toBe(403);
    const unacknowledged = await putPolicy(w, t, { settings: { customer_data: { days: 500 } } }, 'ComplianceAdministrator');
    expect(unacknowledged.status).toBe(400);
    expect(unacknowledged.body.error.field).toBe('acknowledgeDataLoss');
    const saved = await putPolicy(w, t, { settings: { customer_data: { days: 365 } }, acknowledgeDataLoss: true }, 'ComplianceAdministrator');
    expect(saved.status, saved.text).toBe(200);
    await ingest(w, t, [
      ...customerWithHistory('silent', daysAgo(450), { lastContactAt: daysAgo(400), channel: 'email', phone: '+14155550121' }),
      { type: 'form_submission', id: 'silent-form', customerId: 'silent', submittedAt: daysAgo(420), fields: { topic: 'refund' } },
      { type: 'analytics_event', id: 'silent-evt', occurredAt: daysAgo(400), name: 'chat_started', customerId: 'silent' },
    ]);
    await ingest(w, t, customerWithHistory('recent', daysAgo(500), { lastContactAt: daysAgo(100), channel: 'email', phone: '+14155550122' }));
    const recent = await customerItems(w, t, 'recent');

    await sweep(w, t);

    expect((await customerItems(w, t, 'silent')).size).toBe(0);
    expect(deletedRefs(w)).toEqual(['tp-silent-call']);
    expect([...(await customerItems(w, t, 'recent')).keys()].sort()).toEqual([...recent.keys()].sort());
    const found = await w.call({ method: 'GET', path: `/v1/tenants/${t}/customers`, query: { phone: '+14155550121' }, token: token('ComplianceAdministrator', t) });
    expect(found.body.customers).toEqual([]);
  });
});

describe('conversations: People, agents, knowledge base and configuration live as long as the account', () => {
  const accountData = (at: string): IngestRecordInput[] => [
    ...customerWithHistory('person', at, { channel: 'email' }),
    { type: 'user', id: 'agent-gone', email: 'gone@conv.example', lastSignInAt: at, hasAccountAccess: false },
    { type: 'user', id: 'agent-active', email: 'active@conv.example', lastSignInAt: at, hasAccountAccess: true },
    { type: 'account_config', id: 'kb-1', kind: 'setting', updatedAt: at },
    { type: 'account_config', id: 'q-1', kind: 'queue', updatedAt: at },
    { type: 'webhook_delivery', id: 'wh-1', deliveredAt: at, url: 'https://hooks.example/a', statusCode: 200 },
  ];

  it('keeps profiles and agents of an active account whatever their age', async () => {
    const t = 'conv-active';
    const w = await world('conversations', t);
    await ingest(w, t, accountData(daysAgo(1500)));
    // The account is in use: a customer contacted an hour ago.
    await ingest(w, t, [{ type: 'customer', id: 'today', name: 'Today', phones: ['+14155550140'], lastContactAt: hoursAgo(1) }]);

    const receipt = await sweep(w, t);

    expect(receipt.reason).toBeUndefined();
    const person = await customerItems(w, t, 'person');
    // The profile and its identifiers stay; her 1500-day-old conversation and call went by their own period.
    expect([...person.keys()].sort()).toEqual(['ID#NAME#customer person', 'ID#PHONE#+14155550100', 'PROFILE']);
    expect(await userItem(w, t, 'agent-gone')).toBeDefined();
    expect(await userItem(w, t, 'agent-active')).toBeDefined();
    expect((await accountItems(w, t)).filter((i) => i.category === 'account_config').map((i) => i.id).sort()).toEqual(['kb-1', 'q-1']);
    const tenant = await w.call({ method: 'GET', path: `/v1/tenants/${t}`, token: token('Administrator', t) });
    expect(s.tenantResponse.parse(tenant.body).status).toBe('active');
  });

  it('deletes them with all account data at the next sweep once the contract has ended, and says so', async () => {
    const t = 'conv-ended';
    const w = await world('conversations', t, { contractEndsAt: daysAgo(1) });
    await ingest(w, t, accountData(daysAgo(30)));
    const tenant = s.tenantResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}`, token: token('Administrator', t) })).body);
    expect(tenant.status).toBe('contract_ended');

    const receipt = await sweep(w, t);

    expect(receipt.reason).toBe('contract_ended');
    expect((await customerItems(w, t, 'person')).size).toBe(0);
    expect(await userItem(w, t, 'agent-gone')).toBeUndefined();
    expect(await userItem(w, t, 'agent-active')).toBeUndefined();
    expect(await accountItems(w, t)).toEqual([]);
    expect(deletedRefs(w)).toEqual(['tp-person-call']);
  });

  it('deletes them with all account data at the next sweep after 18 months without activity, and says so', async () => {
    const t = 'conv-inactive';
    const w = await world('conversations', t);
    await ingest(w, t, accountData(daysAgo(560)));
    const tenant = s.tenantResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}`, token: token('Administrator', t) })).body);
    expect(tenant).toMatchObject({ status: 'inactive', lastActivityAt: daysAgo(560) });

    const receipt = await sweep(w, t);

    expect(receipt.reason).toBe('inactive');
    expect((await customerItems(w, t, 'person')).size).toBe(0);
    expect(await userItem(w, t, 'agent-active')).toBeUndefined();
    expect(await accountItems(w, t)).toEqual([]);
  });

  it('counts an administrator’s write as activity: the account is active again', async () => {
    const t = 'conv-revived';
    const w = await world('conversations', t);
    await ingest(w, t, accountData(daysAgo(560)));
    expect((await putPolicy(w, t, { categories: { conversation: { days: 200 } } })).status).toBe(200);

    const tenant = s.tenantResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}`, token: token('Administrator', t) })).body);
    const receipt = await sweep(w, t);

    expect(tenant).toMatchObject({ status: 'active', lastActivityAt: w.clock.now().toISOString() });
    expect(receipt.reason).toBeUndefined();
    expect(await userItem(w, t, 'agent-gone')).toBeDefined();
  });
});

describe('call-tracking: 25-month communication records, no hold past them, contact data for the account’s life', () => {
  it('does not let a hold keep a 26-month-old call, and says so when the hold is placed', async () => {
    const t = 'ct-hold';
    const w = await world('call-tracking', t);
    await ingest(w, t, [
      { type: 'customer', id: 'caller', name: 'Caller', phones: ['+14155550131'], lastContactAt: daysAgo(30) },
      { type: 'call', id: 'call-26m', customerId: 'caller', startedAt: daysAgo(792), durationSeconds: 60, thirdPartyRef: 'tp-26m' },
      { type: 'recording', id: 'rec-26m', callId: 'call-26m', customerId: 'caller', contentType: 'audio/wav', contentBase64: b64('old voice') },
      { type: 'call', id: 'call-recent', customerId: 'caller', startedAt: daysAgo(30), durationSeconds: 60, thirdPartyRef: 'tp-recent' },
    ]);
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { customerId: 'caller' }, reason: 'litigation' }, token: token('ComplianceAdministrator', t) });
    expect(hold.status, hold.text).toBe(201);
    expect(s.holdCreatedResponse.parse(hold.body)).toMatchObject({ coversOnlyInsideCapDays: 761, capDaysByCategory: expect.objectContaining({ call: 761, call_recording: 761 }) });
    // The hold leaves the calls' TTL backstops at their cap (it does not keep them past it).
    const applied = await customerItems(w, t, 'caller');
    expect(applied.get(keys.callSk('call-recent'))?.expiresAt).toBeDefined();
    expect(applied.get(keys.recordingSk('call-26m', 'rec-26m'))?.expiresAt).toBeDefined();

    const receipt = await sweep(w, t);

    const left = await customerItems(w, t, 'caller');
    expect(left.has(keys.callSk('call-26m'))).toBe(false);
    expect(left.has(keys.recordingSk('call-26m', 'rec-26m'))).toBe(false);
    expect(left.has(keys.callSk('call-recent'))).toBe(true);
    expect(left.has(keys.profileSk())).toBe(true);
    expect(deletedRefs(w)).toEqual(['tp-26m']);
    expect(receipt.categories.call).toMatchObject({ deleted: 1, held: 0, deletedReasons: { cap_over_hold: 1 } });
    expect(receipt.categories.call_recording).toMatchObject({ deleted: 1, held: 0, deletedReasons: { cap_over_hold: 1 } });
  });

  it('keeps a customer whose calls are 30 months old, findable by phone, while her calls go', async () => {
    const t = 'ct-contact';
    const w = await world('call-tracking', t);
    await ingest(w, t, [
      { type: 'customer', id: 'old-caller', name: 'Old Caller', phones: ['+14151234567'], lastContactAt: daysAgo(913) },
      { type: 'call', id: 'call-30m', customerId: 'old-caller', startedAt: daysAgo(913), durationSeconds: 60 },
      { type: 'form_submission', id: 'form-30m', customerId: 'old-caller', submittedAt: daysAgo(913), fields: { topic: 'quote' } },
      { type: 'web_session', id: 'web-30m', customerId: 'old-caller', startedAt: daysAgo(913), landingPage: 'https://shop.example/', pageCount: 3 },
      // The account is in use: another customer called yesterday.
      { type: 'customer', id: 'new-caller', name: 'New Caller', phones: ['+14155550132'], lastContactAt: daysAgo(1) },
      { type: 'call', id: 'call-new', customerId: 'new-caller', startedAt: daysAgo(1), durationSeconds: 60 },
    ]);

    const receipt = await sweep(w, t);

    const left = [...(await customerItems(w, t, 'old-caller')).values()];
    // Her profile with its identifiers (phone, name) stays; her communication records went.
    expect(left.map((i) => i.sk).sort()).toEqual(['ID#NAME#old caller', 'ID#PHONE#+14151234567', 'PROFILE']);
    expect(receipt.categories).toMatchObject({ call: { deleted: 1 }, form_submission: { deleted: 1 }, web_session: { deleted: 1 } });
    const found = await w.call({ method: 'GET', path: `/v1/tenants/${t}/customers`, query: { phone: '+14151234567' }, token: token('ComplianceAdministrator', t) });
    expect(found.status).toBe(200);
    expect(found.body.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['old-caller']);
  });
});
