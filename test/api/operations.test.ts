/**
 * The operations issue 11 adds, through the API on the emulators: deleting one
 * attachment or media item, selecting and deleting admin activity logs,
 * anonymising one communication record, and previewing a bulk erasure (which
 * lists exactly the customers the same filter then erases, run to its end by
 * the local PrivacyRequest workflow). Each deletes exactly what it names,
 * honours legal holds, writes a receipt and an audit event without personal
 * data, and changes nothing when it refuses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { MemoryExternalProvider } from '../support/memory.js';
import { keys } from '../../shared/domain/records.js';
import {
  apiWorld,
  auditOf,
  customerRecords,
  daysAgo,
  dumpStores,
  ingest,
  registerTenant,
  token,
  type ApiWorld,
  type CustomerFixture,
} from '../support/api.js';

const T = 'ops';
const COMPLIANCE = token('ComplianceAdministrator', T);

let w: ApiWorld;
let sequence = 0;

async function customer(extra: Partial<CustomerFixture> = {}): Promise<CustomerFixture> {
  sequence += 1;
  const c: CustomerFixture = {
    id: `op-${sequence}`,
    name: `Ophelia Ops-${sequence}`,
    phone: `+1415555${String(6100 + sequence)}`,
    email: `ophelia.${sequence}@ops.example`,
    secret: `secret-${sequence}`,
    age: 20,
    ...extra,
  };
  await ingest(w, T, customerRecords(c));
  return c;
}

const itemsOf = (customerId: string) => w.runDeps.records.findBySubject(T, customerId, { includeExpired: true });
const blobKeysOf = async (customerId: string) => (await itemsOf(customerId)).flatMap((i) => (i.blobKey === undefined ? [] : [i.blobKey]));

async function hold(scope: Record<string, string>): Promise<string> {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope, reason: 'case 7' }, token: COMPLIANCE });
  expect(answer.status, answer.text).toBe(201);
  return answer.body.holdId as string;
}

async function release(holdId: string): Promise<void> {
  expect((await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: COMPLIANCE })).status).toBe(200);
}

/** Everything stored, as text, to show that no name, phone, e-mail or message text reached it. */
async function controlText(): Promise<string> {
  const receipts = await w.stores.control.listReceipts(T, { limit: 1000 });
  return JSON.stringify({ receipts, audit: await auditOf(w, T), log: w.logLines });
}

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
});

describe('deleting one attachment or media item', () => {
  it('deletes an e-mail attachment with its blob, keeps its message and everything else, and writes a receipt and an audit event', async () => {
    const c = await customer();
    const conv = `${c.id}-conv`;
    const before = await itemsOf(c.id);

    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${conv}/attachments/${conv}-att`, token: COMPLIANCE });

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.categories).toEqual({ email_attachment: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 } });
    const after = await itemsOf(c.id);
    expect(before.filter((i) => !after.some((a) => a.sk === i.sk)).map((i) => i.sk)).toEqual([keys.attachmentSk(conv, `${conv}-att`)]);
    expect(await w.stores.blobs.get('media', before.find((i) => i.category === 'email_attachment')?.blobKey as string)).toBeUndefined();
    expect(after.find((i) => i.category === 'message' && i.id === `${conv}-m1`)?.data?.text).toBe(`first ${c.secret}`);
    expect(await w.stores.control.getReceipt(T, answer.body.receiptId)).toMatchObject({ kind: 'manual', status: 'completed' });
    const event = (await auditOf(w, T)).find((e) => e.refs?.receiptId === answer.body.receiptId);
    expect(event?.action).toBe('email_attachment.deleted');
    expect(await controlText()).not.toContain(c.secret);
    expect(JSON.stringify(event)).not.toContain(conv);
  });

  it('deletes an inbound and an outbound media item of the conversation, one at a time', async () => {
    const c = await customer();
    const conv = `${c.id}-conv`;

    const inbound = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${conv}/attachments/${conv}-in`, token: COMPLIANCE });
    const left = (await itemsOf(c.id)).filter((i) => i.category === 'outbound_media');
    const outbound = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${conv}/attachments/${conv}-out`, query: { kind: 'outbound_media' }, token: COMPLIANCE });

    expect(inbound.body.categories).toEqual({ inbound_media: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 } });
    expect(left).toHaveLength(1);
    expect(outbound.body.categories).toEqual({ outbound_media: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 } });
    expect((await itemsOf(c.id)).filter((i) => ['inbound_media', 'outbound_media', 'email_attachment'].includes(i.category)).map((i) => i.id)).toEqual([`${conv}-att`]);
  });

  it('answers a repeat with 404 naming attachmentId and changes nothing', async () => {
    const c = await customer();
    const path = `/v1/tenants/${T}/conversations/${c.id}-conv/attachments/${c.id}-conv-att`;
    await w.call({ method: 'DELETE', path, token: COMPLIANCE });
    const before = await dumpStores(w.stores);

    const again = await w.call({ method: 'DELETE', path, token: COMPLIANCE });

    expect(again.status).toBe(404);
    expect(again.body.error.field).toBe('attachmentId');
    expect(await dumpStores(w.stores)).toBe(before);
  });

  it('answers 404 naming id for an unknown conversation, and refuses a kind that does not match', async () => {
    const c = await customer();

    const unknown = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/nowhere/attachments/x`, token: COMPLIANCE });
    const wrongKind = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/attachments/${c.id}-conv-att`, query: { kind: 'inbound_media' }, token: COMPLIANCE });
    const badKind = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/attachments/${c.id}-conv-att`, query: { kind: 'photo' }, token: COMPLIANCE });

    expect([unknown.status, unknown.body.error.field]).toEqual([404, 'id']);
    expect([wrongKind.status, wrongKind.body.error.field]).toEqual([404, 'attachmentId']);
    expect([badKind.status, badKind.body.error.field]).toEqual([400, 'kind']);
    expect((await itemsOf(c.id)).some((i) => i.id === `${c.id}-conv-att`)).toBe(true);
  });

  it('refuses (409) an attachment under legal hold, names the hold, changes nothing, and deletes it once the hold is released', async () => {
    const c = await customer();
    const holdId = await hold({ conversationId: `${c.id}-conv` });
    const path = `/v1/tenants/${T}/conversations/${c.id}-conv/attachments/${c.id}-conv-att`;
    const before = await dumpStores(w.stores);

    const refused = await w.call({ method: 'DELETE', path, token: COMPLIANCE });

    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'held', field: 'attachmentId', holdIds: [holdId] });
    expect(await dumpStores(w.stores)).toBe(before);
    await release(holdId);
    expect((await w.call({ method: 'DELETE', path, token: COMPLIANCE })).status).toBe(200);
  });
});

describe('admin activity logs', () => {
  const logs = [
    { id: 'log-1', actor: 'ada@ops.example', at: daysAgo(40) },
    { id: 'log-2', actor: 'ada@ops.example', at: daysAgo(20) },
    { id: 'log-3', actor: 'bob@ops.example', at: daysAgo(20, 5) },
    { id: 'log-4', actor: 'ada@ops.example', at: daysAgo(5) },
    { id: 'log-5', actor: 'bob@ops.example', at: daysAgo(1) },
  ];
  const list = (query: Record<string, string>) => w.call({ method: 'GET', path: `/v1/tenants/${T}/admin-activity-logs`, query, token: COMPLIANCE });
  const remove = (body: unknown) => w.call({ method: 'POST', path: `/v1/tenants/${T}/admin-activity-logs/delete`, body, token: COMPLIANCE });
  const storedLogs = async () => (await w.runDeps.records.findByPartition(keys.accountPk(T), { skPrefix: 'ADMINLOG#' })).map((i) => i.id).sort();

  beforeAll(async () => {
    await ingest(
      w,
      T,
      logs.map((l) => ({ type: 'admin_activity_log', id: l.id, occurredAt: l.at, actor: l.actor, action: 'bot.published' })),
    );
  });

  it('selects by actor, by range and by both, oldest first, showing ids and times only', async () => {
    const byActor = await list({ actor: 'ada@ops.example' });
    const byRange = await list({ from: daysAgo(21), to: daysAgo(2) });
    const both = await list({ actor: 'bob@ops.example', from: daysAgo(21), to: daysAgo(2) });

    expect(byActor.body.logs.map((l: { id: string }) => l.id)).toEqual(['log-1', 'log-2', 'log-4']);
    expect(byRange.body.logs.map((l: { id: string }) => l.id)).toEqual(['log-2', 'log-3', 'log-4']);
    expect(both.body.logs).toEqual([{ id: 'log-3', occurredAt: daysAgo(20, 5), held: false }]);
    expect(JSON.stringify([byActor.body, byRange.body])).not.toMatch(/ops\.example|bot\.published/u);
  });

  it('pages through a selection with the cursor it answers', async () => {
    const first = await list({ limit: '2' });
    const second = await list({ limit: '2', cursor: first.body.nextCursor });
    const third = await list({ limit: '2', cursor: second.body.nextCursor });

    expect([...first.body.logs, ...second.body.logs, ...third.body.logs].map((l: { id: string }) => l.id)).toEqual(logs.map((l) => l.id));
    expect(third.body.nextCursor).toBeUndefined();
  });

  it('refuses a range that ends before it starts, an unknown query parameter and a forged cursor, naming each', async () => {
    expect((await list({ from: daysAgo(1), to: daysAgo(2) })).body.error.field).toBe('to');
    expect((await list({ user: 'ada' })).body.error.field).toBe('user');
    expect((await list({ cursor: 'bm9wZQ' })).body.error.field).toBe('cursor');
  });

  it('refuses to delete without a selection, naming the body, and changes nothing', async () => {
    const before = await dumpStores(w.stores);

    const answer = await remove({});

    expect([answer.status, answer.body.error.field]).toEqual([400, 'body']);
    expect(await dumpStores(w.stores)).toBe(before);
  });

  it('refuses (409) to delete logs a hold keeps, shows them held, and changes nothing', async () => {
    const holdId = await hold({ category: 'admin_activity_log' });
    const before = await dumpStores(w.stores);

    const answer = await remove({ actor: 'bob@ops.example' });
    const listed = await list({ actor: 'bob@ops.example' });

    expect(answer.status).toBe(409);
    expect(answer.body.error.holdIds).toEqual([holdId]);
    expect(listed.body.logs.every((l: { held: boolean }) => l.held)).toBe(true);
    expect(await dumpStores(w.stores)).toBe(before);
    await release(holdId);
  });

  it('deletes exactly the selected logs, with a receipt and an audit event that name no actor', async () => {
    const answer = await remove({ actor: 'ada@ops.example', from: daysAgo(30), to: daysAgo(0) });

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ selected: 2, more: false, deleted: 2, held: 0, failed: 0 });
    expect(await storedLogs()).toEqual(['log-1', 'log-3', 'log-5']);
    const event = (await auditOf(w, T)).find((e) => e.refs?.receiptId === answer.body.receiptId);
    expect(event?.action).toBe('admin_activity_log.deleted');
    expect(await controlText()).not.toContain('ops.example');
  });

  it('deletes the logs picked by id, and answers a repeat with 404', async () => {
    const answer = await remove({ ids: ['log-3', 'log-5', 'no-such-log'] });
    const again = await remove({ ids: ['log-3', 'log-5'] });

    expect(answer.body).toMatchObject({ selected: 2, deleted: 2 });
    expect(await storedLogs()).toEqual(['log-1']);
    expect([again.status, again.body.error.field]).toEqual([404, 'body']);
  });
});

describe('anonymising one communication record', () => {
  it('keeps a call and its recording record, deletes the recording and the provider copy, and leaves the rest of the customer as it was', async () => {
    const c = await customer();
    const call = `${c.id}-call`;
    const before = await itemsOf(c.id);
    const blob = before.find((i) => i.category === 'call_recording')?.blobKey as string;

    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/calls/${call}/anonymize`, token: COMPLIANCE });

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ status: 'completed', type: 'call', anonymized: 3, failed: 0 });
    const after = await itemsOf(c.id);
    expect(after.map((i) => i.sk).sort()).toEqual(before.map((i) => i.sk).sort());
    const recording = after.find((i) => i.category === 'call_recording');
    expect(recording?.blobKey).toBeUndefined();
    expect(await w.stores.blobs.get('recordings', blob)).toBeUndefined();
    expect(after.find((i) => i.category === 'third_party_call_data')?.externalRef).toBeUndefined();
    expect((w.deps.external as MemoryExternalProvider).deleted.map((d) => d.ref)).toContain(`tp-${call}`);
    const untouched = (i: { category: string }) => !['call', 'call_recording', 'third_party_call_data'].includes(i.category);
    expect(after.filter(untouched)).toEqual(before.filter(untouched));
    expect((await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: c.phone }, token: COMPLIANCE })).body.customers).toHaveLength(1);
  });

  it('replaces a message text by a token and deletes its attachment content, keeping both records', async () => {
    const c = await customer();
    const conv = `${c.id}-conv`;

    const answer = await w.call({
      method: 'POST',
      path: `/v1/tenants/${T}/communication-records/anonymize`,
      body: { type: 'message', id: `${conv}-m1`, conversationId: conv },
      token: COMPLIANCE,
    });

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.categories).toEqual({
      message: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 },
      email_attachment: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 },
    });
    const after = await itemsOf(c.id);
    const message = after.find((i) => i.id === `${conv}-m1`);
    expect(message?.data?.text).toMatch(/^anon_/u);
    expect(message?.data?.direction).toBe('inbound');
    expect(after.find((i) => i.id === `${conv}-att`)?.blobKey).toBeUndefined();
    expect(after.find((i) => i.id === `${conv}-m2`)?.data?.text).toBe(`second ${c.secret}`);
    expect(await controlText()).not.toContain(c.secret);
  });

  it('anonymises a form submission and a web session of a customer', async () => {
    const c = await customer();
    await ingest(w, T, [
      { type: 'form_submission', id: `${c.id}-form`, customerId: c.id, submittedAt: daysAgo(3), formName: 'Quote', page: 'https://shop.example/quote?email=x', fields: { email: c.email, note: c.secret } },
      { type: 'web_session', id: `${c.id}-web`, customerId: c.id, startedAt: daysAgo(3), landingPage: 'https://shop.example/?utm=mail', pageCount: 4 },
    ] as never);

    const form = await w.call({ method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body: { type: 'form_submission', id: `${c.id}-form`, customerId: c.id }, token: COMPLIANCE });
    const web = await w.call({ method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body: { type: 'web_session', id: `${c.id}-web`, customerId: c.id }, token: COMPLIANCE });

    expect([form.status, web.status]).toEqual([200, 200]);
    const after = await itemsOf(c.id);
    const submission = after.find((i) => i.id === `${c.id}-form`);
    expect(JSON.stringify(submission?.data)).not.toContain(c.secret);
    expect(JSON.stringify(submission?.data)).not.toContain(c.email);
    expect(Object.keys(submission?.data?.fields as object).sort()).toEqual(['email', 'note']);
    const session = after.find((i) => i.id === `${c.id}-web`);
    expect(session?.data?.landingPage).toMatch(/^anon_/u);
    expect(session?.data?.pageCount).toBe(4);
  });

  it('refuses (409) a call under legal hold and changes nothing', async () => {
    const c = await customer();
    const holdId = await hold({ callId: `${c.id}-call` });
    const before = await dumpStores(w.stores);

    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/calls/${c.id}-call/anonymize`, token: COMPLIANCE });

    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ field: 'id', holdIds: [holdId] });
    expect(await dumpStores(w.stores)).toBe(before);
  });

  it('answers 404 naming the field for a record that is not there, and 400 for a message without its conversation', async () => {
    const c = await customer();
    const post = (body: unknown) => w.call({ method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body, token: COMPLIANCE });

    const noCall = await w.call({ method: 'POST', path: `/v1/tenants/${T}/calls/nowhere/anonymize`, token: COMPLIANCE });
    const otherCustomer = await post({ type: 'call', id: `${c.id}-call`, customerId: 'someone-else' });
    const noConversation = await post({ type: 'message', id: 'm', conversationId: 'nowhere' });
    const missing = await post({ type: 'message', id: `${c.id}-conv-m1` });

    expect([noCall.status, noCall.body.error.field]).toEqual([404, 'id']);
    expect([otherCustomer.status, otherCustomer.body.error.field]).toEqual([404, 'id']);
    expect([noConversation.status, noConversation.body.error.field]).toEqual([404, 'conversationId']);
    expect([missing.status, missing.body.error.field]).toEqual([400, 'conversationId']);
  });
});

describe('previewing a bulk erasure', () => {
  const BOT = 'bot-preview';
  const inRange = daysAgo(60);
  const filter = { botId: BOT, firstContactFrom: daysAgo(90), firstContactTo: daysAgo(30) };
  const preview = (body: unknown, query: Record<string, string> = {}) =>
    w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests/preview`, body, query, token: COMPLIANCE });
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const bot = (id: string, firstContactAt: string, botId: string, open = false) => [
      { type: 'customer', id, name: `Bulk ${id}`, phones: [`+1415555${String(7000 + Object.keys(ids).length)}`], lastContactAt: daysAgo(2), firstContactAt, botId },
      { type: 'conversation', id: `${id}-conv`, customerId: id, channel: 'chat', botId, startedAt: firstContactAt, status: open ? 'open' : 'closed' },
      { type: 'message', id: `${id}-m`, conversationId: `${id}-conv`, customerId: id, sentAt: firstContactAt, direction: 'inbound', text: `hello from ${id}` },
    ];
    const fixtures = [
      ['in-a', inRange, BOT],
      ['in-b', daysAgo(45), BOT],
      ['in-c', daysAgo(31), BOT],
      ['in-d', daysAgo(89), BOT],
      ['early', daysAgo(120), BOT],
      ['late', daysAgo(10), BOT],
      ['other-bot', inRange, 'bot-other'],
    ] as const;
    for (const [id, at, botId] of fixtures) {
      ids[id] = `pv-${id}`;
      await ingest(w, T, bot(`pv-${id}`, at, botId) as never);
    }
    ids.open = 'pv-open';
    await ingest(w, T, bot('pv-open', inRange, BOT, true) as never);
  });

  it('lists exactly the customers the same filter then erases, and the erasure touches no one else', async () => {
    const body = { kind: 'erasure', filter };
    const shown = await preview(body);
    const everyoneElse = Object.values(ids).filter((id) => !shown.body.customers.some((c: { customerId: string }) => c.customerId === id));
    const othersBefore = await Promise.all(everyoneElse.map(itemsOf));
    const before = await Promise.all(shown.body.customers.map((c: { customerId: string }) => itemsOf(c.customerId)));

    const filed = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body, token: COMPLIANCE });
    const request = await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${filed.body.requestId}`, token: COMPLIANCE });

    expect(shown.status, shown.text).toBe(200);
    expect(shown.body.customers.map((c: { customerId: string }) => c.customerId).sort()).toEqual([ids['in-a'], ids['in-b'], ids['in-c'], ids['in-d']].sort());
    expect(shown.body.skipped).toEqual([{ customerId: ids.open, reason: 'open_conversation' }]);
    expect(request.body.status).toBe('partially_completed');
    for (const c of shown.body.customers as { customerId: string }[]) expect(await itemsOf(c.customerId), c.customerId).toEqual([]);
    expect(await Promise.all(everyoneElse.map(itemsOf))).toEqual(othersBefore);
    // The preview's counts are what the erasure deleted.
    const erased = before.flat().length;
    const wouldDelete = Object.values(shown.body.categories as Record<string, { wouldDelete: number }>).reduce((n, c) => n + c.wouldDelete, 0);
    expect(wouldDelete).toBe(erased);
  });

  it('pages through the customers with its cursor, deletes nothing and files nothing', async () => {
    // Fresh customers for this test: the previous test erased its own.
    for (const id of ['pg-1', 'pg-2', 'pg-3']) {
      await ingest(w, T, [
        { type: 'customer', id, lastContactAt: daysAgo(2), firstContactAt: daysAgo(50), botId: 'bot-pages' },
        { type: 'conversation', id: `${id}-conv`, customerId: id, channel: 'chat', botId: 'bot-pages', startedAt: daysAgo(50), status: 'closed' },
      ] as never);
    }
    const body = { kind: 'erasure', filter: { botId: 'bot-pages' }, force: true };
    const requestsBefore = (await w.deps.privacy.list(T)).length;
    const before = await dumpStores(w.stores);

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await preview(body, { limit: '2', ...(cursor !== undefined && { cursor }) });
      expect(page.status, page.text).toBe(200);
      expect(page.body.customers.length).toBeLessThanOrEqual(2);
      pages.push(...page.body.customers.map((c: { customerId: string }) => c.customerId));
      cursor = page.body.nextCursor;
    } while (cursor !== undefined);

    expect(pages.sort()).toEqual(['pg-1', 'pg-2', 'pg-3']);
    expect(await dumpStores(w.stores)).toBe(before);
    expect((await w.deps.privacy.list(T)).length).toBe(requestsBefore);
  });

  it('counts held records as held, not as deleted', async () => {
    await ingest(w, T, [
      { type: 'customer', id: 'pv-held', lastContactAt: daysAgo(2), firstContactAt: daysAgo(50), botId: 'bot-held' },
      { type: 'conversation', id: 'pv-held-conv', customerId: 'pv-held', channel: 'chat', botId: 'bot-held', startedAt: daysAgo(50), status: 'closed' },
    ] as never);
    const holdId = await hold({ conversationId: 'pv-held-conv' });

    const shown = await preview({ kind: 'erasure', filter: { botId: 'bot-held' } });

    expect(shown.body.categories.conversation).toEqual({ examined: 1, wouldDelete: 0, held: 1 });
    expect(shown.body.categories.customer_profile.held).toBeGreaterThan(0);
    await release(holdId);
  });

  it('refuses a subject, a filter on another kind and a forged cursor, naming each', async () => {
    const subject = await preview({ kind: 'erasure', subject: { customerId: 'x' } });
    const access = await preview({ kind: 'access', filter: { botId: BOT } });
    const forged = await preview({ kind: 'erasure', filter: { botId: BOT } }, { cursor: 'bm9wZQ' });

    expect([subject.status, subject.body.error.field]).toEqual([400, 'subject']);
    expect([access.status, access.body.error.field]).toEqual([400, 'filter']);
    expect([forged.status, forged.body.error.field]).toEqual([400, 'cursor']);
  });
});
