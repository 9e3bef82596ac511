/**
 * The read routes (use-cases/reads.ts) on the emulators, sealed as deployed:
 * a customer, her timeline, a conversation page by page with its tombstones
 * and attachment links, a call with its recording link; never what is past its
 * retention or its backstop, always what a hold keeps; bad input a 400 naming
 * the field; nothing personal in the logs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld, type Call } from '../support/api.js';

const T = 'acme';
const SERVICE = token('Service', T, 'arn:aws:iam::123456789012:role/platform');
const COMPLIANCE = token('ComplianceAdministrator', T);
const ANA = { id: 'ana', name: 'Ana Lima', phone: '+14155550101', email: 'ana@example.com', secret: 'ana-secret-7731', age: 10 };

let w: ApiWorld;

const svc = (path: string, query?: Record<string, string>): Promise<{ status: number; body: any; text: string }> =>
  w.call({ method: 'GET', path: `/v1/service/tenants/${T}${path}`, token: SERVICE, ...(query !== undefined && { query }) } as Call);

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  await registerTenant(w, 'globex');
  await ingest(w, T, customerRecords(ANA));
  // Older conversations and calls for the timeline; one past the 183 days of conversations and calls.
  await ingest(w, T, [
    { type: 'conversation', id: 'ana-chat-1', customerId: 'ana', channel: 'chat', startedAt: daysAgo(20), status: 'closed' },
    { type: 'call', id: 'ana-call-2', customerId: 'ana', startedAt: daysAgo(30), durationSeconds: 7 },
    { type: 'conversation', id: 'ana-chat-3', customerId: 'ana', channel: 'sms', startedAt: daysAgo(40), status: 'closed' },
    { type: 'conversation', id: 'ana-old', customerId: 'ana', channel: 'chat', startedAt: daysAgo(200), status: 'closed' },
    { type: 'message', id: 'ana-old-m', conversationId: 'ana-old', customerId: 'ana', sentAt: daysAgo(200), direction: 'inbound', text: `old ${ANA.secret}` },
    ...Array.from({ length: 7 }, (_, i) => ({
      type: 'message' as const,
      id: `ana-chat-1-m${i}`,
      conversationId: 'ana-chat-1',
      customerId: 'ana',
      sentAt: daysAgo(20, i + 1),
      direction: 'inbound' as const,
      text: `chat line ${i}`,
    })),
  ]);
});

describe('a customer', () => {
  it("reads the customer's profile decrypted through the service route", async () => {
    const answer = await svc('/customers/ana');

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ customerId: 'ana', name: 'Ana Lima', phones: ['+14155550101'], emails: ['ana@example.com'], calls: 2 });
    expect(answer.body.conversations).toBe(3);
  });

  it('answers 404 naming the id for a customer never ingested', async () => {
    const answer = await svc('/customers/nobody');

    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'not_found', field: 'id' });
  });
});

describe('the timeline', () => {
  it('lists conversations and calls newest first, page by page, without what is past its retention', async () => {
    const seen: { type: string; id: string }[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await svc('/customers/ana/timeline', { limit: '2', ...(cursor !== undefined && { cursor }) });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.items.map((i: { type: string; id: string }) => ({ type: i.type, id: i.id })));
      cursor = answer.body.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 10);

    expect(seen).toEqual([
      { type: 'conversation', id: 'ana-conv' },
      { type: 'call', id: 'ana-call' },
      { type: 'conversation', id: 'ana-chat-1' },
      { type: 'call', id: 'ana-call-2' },
      { type: 'conversation', id: 'ana-chat-3' },
    ]);
    expect(pages).toBe(3);
  });

  it('refuses a cursor it did not make with a 400 naming the cursor', async () => {
    const answer = await svc('/customers/ana/timeline', { cursor: 'not-a-cursor' });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('cursor');
  });

  it('refuses a limit above 200 with a 400 naming the limit', async () => {
    const answer = await svc('/customers/ana/timeline', { limit: '201' });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('limit');
  });
});

describe('a conversation', () => {
  it('pages its messages newest first, each once', async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const answer = await svc('/conversations/ana-chat-1', { limit: '3', ...(cursor !== undefined && { cursor }) });
      expect(answer.status, answer.text).toBe(200);
      ids.push(...answer.body.messages.map((m: { id: string }) => m.id));
      cursor = answer.body.nextCursor;
    } while (cursor !== undefined);

    expect(ids).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `ana-chat-1-m${i}`));
  });

  it('gives its attachments and media with links that serve their content', async () => {
    const answer = await svc('/conversations/ana-conv');

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ id: 'ana-conv', customerId: 'ana', channel: 'email', notes: `notes ${ANA.secret}` });
    const attachment = answer.body.attachments.find((a: { id: string }) => a.id === 'ana-conv-att');
    expect(attachment).toMatchObject({ kind: 'email_attachment', messageId: 'ana-conv-m1' });
    const content = await fetch(attachment.url);
    expect(await content.text()).toBe(`attachment ${ANA.secret}`);
    expect(answer.body.attachments.map((a: { id: string }) => a.id).sort()).toEqual(['ana-conv-att', 'ana-conv-in', 'ana-conv-out']);
  });

  it('reads one attachment with a fresh link', async () => {
    const answer = await svc('/conversations/ana-conv/attachments/ana-conv-in');

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ id: 'ana-conv-in', kind: 'inbound_media', contentType: 'image/png' });
    expect(await (await fetch(answer.body.url)).text()).toBe(`photo ${ANA.secret}`);
  });

  it('shows a deleted message as its tombstone', async () => {
    const deleted = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/ana-chat-1/messages/ana-chat-1-m3`, token: COMPLIANCE });
    expect(deleted.status, deleted.text).toBe(200);

    const answer = await svc('/conversations/ana-chat-1');

    const message = answer.body.messages.find((m: { id: string }) => m.id === 'ana-chat-1-m3');
    expect(message).toEqual({ id: 'ana-chat-1-m3', sentAt: daysAgo(20, 4), deleted: true, text: 'This item has been deleted' });
  });

  it('does not return a conversation past its retention, before any sweep', async () => {
    const answer = await svc('/conversations/ana-old');

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('id');
  });

  it('returns a conversation past its retention while a legal hold keeps it', async () => {
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, token: COMPLIANCE, body: { scope: { conversationId: 'ana-old' }, reason: 'litigation' } });
    expect(hold.status, hold.text).toBe(201);

    const answer = await svc('/conversations/ana-old');

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.messages.map((m: { text: string }) => m.text)).toEqual([`old ${ANA.secret}`]);
    await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${hold.body.holdId}`, token: COMPLIANCE });
  });

  it('treats a conversation past its TTL backstop as gone', async () => {
    await ingest(w, T, [{ type: 'conversation', id: 'ana-expired', customerId: 'ana', channel: 'chat', startedAt: daysAgo(5), status: 'closed' }]);
    const key = { pk: keys.subjectPk(T, 'ana'), sk: keys.conversationSk('ana-expired') };
    expect(await w.stores.records.update(key, { set: { expiresAt: Math.floor(w.clock.now().getTime() / 1000) - 60 } })).toBe(true);

    const answer = await svc('/conversations/ana-expired');

    expect(answer.status).toBe(404);
  });
});

describe('a call', () => {
  it('gives its recordings with links that serve the audio', async () => {
    const answer = await svc('/calls/ana-call');

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ id: 'ana-call', customerId: 'ana', durationSeconds: 42, thirdPartyRef: 'tp-ana-call' });
    const [recording] = answer.body.recordings;
    expect(recording).toMatchObject({ id: 'ana-call-rec', contentType: 'audio/wav' });
    expect(Date.parse(recording.urlExpiresAt)).toBeGreaterThan(w.clock.now().getTime());
    expect(await (await fetch(recording.url)).text()).toBe(`voice ${ANA.secret}`);
  });
});

describe('erasure and shredded keys', () => {
  it('reads nothing of a customer once erased', async () => {
    await ingest(w, T, customerRecords({ id: 'bo', name: 'Bo Berg', phone: '+14155550102', email: 'bo@example.com', secret: 'bo-secret-1', age: 3 }));
    const erasure = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/bo`, token: COMPLIANCE });
    expect(erasure.status, erasure.text).toBe(200);

    for (const path of ['/customers/bo', '/customers/bo/timeline', '/conversations/bo-conv', '/calls/bo-call']) {
      expect((await svc(path)).status, path).toBe(404);
    }
  });

  it('reads a customer whose subject key was destroyed as gone', async () => {
    await ingest(w, T, customerRecords({ id: 'cy', name: 'Cy Dahl', phone: '+14155550103', email: 'cy@example.com', secret: 'cy-secret-2', age: 3 }));
    expect(await w.keyStore?.shredSubject(keys.subjectPk(T, 'cy'))).toBe(true);

    expect((await svc('/customers/cy')).status).toBe(404);
    expect((await svc('/conversations/cy-conv')).status).toBe(404);
  });
});

describe('the admin twin', () => {
  it('serves an admin of the tenant the same conversation', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/conversations/ana-conv`, token: COMPLIANCE });

    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.id).toBe('ana-conv');
  });

  it("refuses an admin of another tenant the tenant's reads", async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/ana`, token: token('ComplianceAdministrator', 'globex') });

    expect(answer.status).toBe(403);
  });
});

it('logs no name, phone, e-mail or message text of what it read', async () => {
  const lines = w.logLines.join('\n');

  for (const pii of [ANA.name, ANA.phone, ANA.email, ANA.secret, 'chat line']) expect(lines).not.toContain(pii);
});

describe('under a subject clock (support-desk: a customer goes with everything of hers, her last contact deciding)', () => {
  let s: ApiWorld;
  const read = (path: string) => s.call({ method: 'GET', path: `/v1/service/tenants/${T}${path}`, token: SERVICE });

  beforeAll(async () => {
    s = await apiWorld({ profile: 'support-desk' });
    await registerTenant(s, T);
    const policy = await s.call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, token: COMPLIANCE, body: { settings: { customer_data: { days: 365 } }, acknowledgeDataLoss: true } });
    expect(policy.status, policy.text).toBe(200);
    await ingest(s, T, [
      { type: 'customer', id: 'gone', lastContactAt: daysAgo(400) },
      { type: 'conversation', id: 'gone-conv', customerId: 'gone', channel: 'chat', startedAt: daysAgo(400), status: 'closed' },
      { type: 'customer', id: 'back', lastContactAt: daysAgo(400) },
      { type: 'conversation', id: 'back-old', customerId: 'back', channel: 'chat', startedAt: daysAgo(400), status: 'closed' },
      { type: 'conversation', id: 'back-new', customerId: 'back', channel: 'chat', startedAt: daysAgo(10), status: 'closed' },
    ]);
  });

  it('reads nothing of a customer whose last contact is past the period', async () => {
    expect((await read('/customers/gone')).status).toBe(404);
    expect((await read('/conversations/gone-conv')).status).toBe(404);
  });

  it('keeps everything of a customer with a later contact, her old conversations too', async () => {
    const timeline = await read('/customers/back/timeline');

    expect(timeline.status, timeline.text).toBe(200);
    expect(timeline.body.items.map((i: { id: string }) => i.id)).toEqual(['back-new', 'back-old']);
    expect((await read('/conversations/back-old')).status).toBe(200);
  });

  it('shows what a sweep then keeps: the customer gone from the store, the one with a later contact whole', async () => {
    const run = await s.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, token: COMPLIANCE, body: {} });
    expect(run.status, run.text).toBe(202);

    expect(await s.stores.records.findBySubject(T, 'gone', { includeExpired: true })).toEqual([]);
    const kept = await s.stores.records.findBySubject(T, 'back', { includeExpired: true });
    expect(kept.map((i) => i.id).sort()).toEqual(['back', 'back-new', 'back-old']);
  });
});
