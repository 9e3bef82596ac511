/**
 * Issue 11's customer data through the admin API on the emulators: phone
 * numbers libphonenumber calls invalid but plausible (the seed page's
 * +14151234567) are stored and found again; a customer's address and custom
 * attributes are in her export (route and access request alike) and gone
 * after erasure and anonymisation; her first contact is derived from her
 * conversations and calls and only moves earlier; the chatbot bulk filter
 * takes a user by her first conversation; her analytics events outlive her
 * erasure, anonymisation and deletion, unlinked from her, and go at their own
 * period; form submissions and web sessions are ingested, exported and swept.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { ProfileName } from '../../shared/config/profiles.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { keys } from '../../shared/domain/records.js';
import { API_NOW, apiWorld, daysAgo, ingest, registerTenant, SUPER, token, type ApiWorld } from '../support/api.js';

const T = 'cdata';
const DAY = 86_400_000;
const ADMIN = token('Administrator', T);

type ExportDocument = ReturnType<typeof s.exportResponse.parse>;

async function world(profile: ProfileName): Promise<ApiWorld> {
  const w = await apiWorld({ profile });
  await registerTenant(w, T);
  return w;
}

const post = (w: ApiWorld, records: readonly unknown[]) => w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records }, token: ADMIN });

async function lookup(w: ApiWorld, query: Record<string, string>) {
  const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query, token: SUPER });
  return answer.status === 200 ? s.lookupResponse.parse(answer.body).customers : answer;
}

async function routeExport(w: ApiWorld, customerId: string): Promise<ExportDocument> {
  const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/${customerId}/export`, token: SUPER });
  expect(answer.status).toBe(200);
  return s.exportResponse.parse(answer.body);
}

/** Files a privacy request through the API (its workflow runs to its end in-process) and answers the stored request. */
async function privacyRequest(w: ApiWorld, body: Record<string, unknown>) {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body, token: SUPER });
  expect(answer.status, answer.text).toBe(202);
  const request = await w.privacyDeps.privacy.get(T, answer.body.requestId);
  expect(request).toBeDefined();
  return request!;
}

async function accessExport(w: ApiWorld, customerId: string): Promise<ExportDocument> {
  const request = await privacyRequest(w, { kind: 'access', subject: { customerId } });
  expect(request.status).toBe('completed');
  const document = JSON.parse(new TextDecoder().decode(await w.runDeps.blobs.get('exports', request.exportKey as string))) as { subjects: unknown[] };
  expect(document.subjects).toHaveLength(1);
  return s.exportResponse.parse(document.subjects[0]);
}

/** A document without what differs between two exports of the same data: the time and the links' signatures. */
function comparable(document: ExportDocument): unknown {
  const { exportedAt: _, ...rest } = document;
  return JSON.parse(JSON.stringify(rest).replace(/"(https?:\/\/[^"?]+)\?[^"]*"/gu, '"$1"'));
}

async function scanRecords(w: ApiWorld): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await w.stores.doc.send(new ScanCommand({ TableName: w.stores.tableNames.records, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items.filter((i) => i.tenantId === T);
}

const analyticsEvents = async (w: ApiWorld) => (await scanRecords(w)).filter((i) => i.category === 'analytics_event');

async function sweep(w: ApiWorld) {
  const started = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: SUPER });
  expect(started.status).toBe(202);
  const run = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/${started.body.runId}`, token: SUPER });
  return s.runResponse.parse(run.body);
}

describe('phone numbers plausibly E.164', () => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await world('support-desk');
  });

  it('stores the seed page example +14151234567 at ingest and finds it again however it is written', async () => {
    await ingest(w, T, [{ type: 'customer', id: 'seed-phone', name: 'Seed Phone', phones: ['+14151234567'], lastContactAt: daysAgo(3) }]);

    for (const phone of ['+14151234567', '+1 (415) 123-4567', '+1-415-123-4567', '0014151234567', ' 14151234567']) {
      expect(await lookup(w, { phone }), phone).toMatchObject([{ customerId: 'seed-phone' }]);
    }
    const items = await w.runDeps.records.findBySubject(T, 'seed-phone');
    expect(items.map((i) => i.sk)).toContain(keys.identifierSk('PHONE', '+14151234567'));
  });

  it('resolves a privacy request naming the number', async () => {
    await ingest(w, T, [{ type: 'customer', id: 'seed-access', phones: ['+1 415 123 9999'], lastContactAt: daysAgo(3) }]);

    const request = await privacyRequest(w, { kind: 'access', subject: { phone: '+14151239999' } });

    expect(request.subjectIds).toEqual(['seed-access']);
  });

  it('refuses what is not a phone number with a 400 naming the record and field, and writes nothing of the body', async () => {
    const answer = await post(w, [
      { type: 'customer', id: 'good-one', phones: ['+14155552671'], lastContactAt: daysAgo(1) },
      { type: 'customer', id: 'bad-one', phones: ['+14155552672', 'call me maybe'], lastContactAt: daysAgo(1) },
    ]);

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('records.1.phones.1');
    expect(answer.text).not.toContain('call me maybe');
    expect(await w.runDeps.records.findBySubject(T, 'good-one')).toEqual([]);
  });

  it('refuses a lookup by something that is not a phone number, naming phone', async () => {
    const answer = await lookup(w, { phone: '+1 800 FLOWERS' });
    expect(answer).toMatchObject({ status: 400, body: { error: { field: 'phone' } } });
  });
});

describe('a customer address and custom attributes', () => {
  let w: ApiWorld;
  const address = { lines: ['742 Evergreen Terrace'], city: 'Springfield', region: 'OR', postalCode: '97403', country: 'US' };
  const customAttributes = { loyaltyTier: 'platinum-4411', orders: 7, newsletter: false };
  const customer = (id: string): IngestRecordInput[] => [
    { type: 'customer', id, name: `Marge ${id}`, phones: ['+14155550123'], lastContactAt: daysAgo(5), address, customAttributes },
    { type: 'conversation', id: `${id}-conv`, customerId: id, channel: 'email', startedAt: daysAgo(5), status: 'closed' },
  ];
  beforeAll(async () => {
    w = await world('support-desk');
  });

  it('are in the export, the route and an access request alike', async () => {
    await ingest(w, T, customer('addr-1'));

    const byRoute = await routeExport(w, 'addr-1');
    const byAccess = await accessExport(w, 'addr-1');

    expect(byRoute.customer).toMatchObject({ customerId: 'addr-1', address, customAttributes });
    expect(comparable(byAccess)).toEqual(comparable(byRoute));
  });

  it('are gone after an erasure, from every table', async () => {
    await ingest(w, T, customer('addr-2'));

    const request = await privacyRequest(w, { kind: 'erasure', subject: { customerId: 'addr-2' } });

    expect(request.status).toBe('completed');
    const stored = JSON.stringify(await scanRecords(w));
    expect(JSON.parse(stored).filter((i: { subjectId?: string }) => i.subjectId === 'addr-2')).toEqual([]);
    const erasedExport = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/addr-2/export`, token: SUPER });
    expect(erasedExport.status).toBe(404);
  });

  it('are removed by an anonymisation, which keeps the profile', async () => {
    await ingest(w, T, customer('addr-3'));

    const request = await privacyRequest(w, { kind: 'anonymization', subject: { customerId: 'addr-3' } });

    expect(request.status).toBe('completed');
    const profile = (await w.runDeps.records.findBySubject(T, 'addr-3')).find((i) => i.sk === keys.profileSk());
    expect(profile?.data).toBeDefined();
    expect(profile?.data).not.toHaveProperty('address');
    expect(profile?.data).not.toHaveProperty('customAttributes');
    expect(JSON.stringify(profile)).not.toContain('Evergreen');
    expect(JSON.stringify(profile)).not.toContain('platinum-4411');
  });
});

describe('the first contact of a customer', () => {
  let w: ApiWorld;
  const firstContact = async (id: string) => {
    const found = await lookup(w, { externalId: `ext-${id}` });
    expect(Array.isArray(found) && found.length === 1, JSON.stringify(found)).toBe(true);
    return (found as { firstContactAt?: string }[])[0]!.firstContactAt;
  };
  const customerRecord = (id: string, lastContactDays: number, extra: Record<string, unknown> = {}) =>
    ({ type: 'customer', id, externalId: `ext-${id}`, lastContactAt: daysAgo(lastContactDays), ...extra }) as IngestRecordInput;
  const conversation = (id: string, customerId: string, days: number) =>
    ({ type: 'conversation', id, customerId, channel: 'chat', startedAt: daysAgo(days), status: 'closed' }) as IngestRecordInput;
  beforeAll(async () => {
    w = await world('chatbot');
  });

  it('is her last contact until something older is known', async () => {
    await ingest(w, T, [customerRecord('fc-1', 10)]);
    expect(await firstContact('fc-1')).toBe(daysAgo(10));
  });

  it('moves to an older conversation or call when one arrives, and never later', async () => {
    await ingest(w, T, [customerRecord('fc-2', 10)]);

    await ingest(w, T, [conversation('fc-2-a', 'fc-2', 50)]);
    expect(await firstContact('fc-2')).toBe(daysAgo(50));
    await ingest(w, T, [{ type: 'call', id: 'fc-2-call', customerId: 'fc-2', startedAt: daysAgo(80), durationSeconds: 20 }]);
    expect(await firstContact('fc-2')).toBe(daysAgo(80));

    // A newer conversation, a newer customer record, and the same body again change nothing.
    await ingest(w, T, [conversation('fc-2-b', 'fc-2', 20)]);
    await ingest(w, T, [customerRecord('fc-2', 2)]);
    await ingest(w, T, [conversation('fc-2-a', 'fc-2', 50)]);
    expect(await firstContact('fc-2')).toBe(daysAgo(80));
  });

  it('counts conversations stored before her customer record', async () => {
    await ingest(w, T, [conversation('fc-3-a', 'fc-3', 120)]);
    await ingest(w, T, [customerRecord('fc-3', 5)]);
    expect(await firstContact('fc-3')).toBe(daysAgo(120));
  });

  it('takes a first contact her record gives, and still lowers it to an older conversation', async () => {
    await ingest(w, T, [customerRecord('fc-4', 5, { firstContactAt: daysAgo(60) })]);
    expect(await firstContact('fc-4')).toBe(daysAgo(60));
    await ingest(w, T, [conversation('fc-4-a', 'fc-4', 90)]);
    expect(await firstContact('fc-4')).toBe(daysAgo(90));
  });

  it('is in her export', async () => {
    await ingest(w, T, [customerRecord('fc-5', 5), conversation('fc-5-a', 'fc-5', 70)]);
    expect((await routeExport(w, 'fc-5')).customer.firstContactAt).toBe(daysAgo(70));
  });

  it('selects the users of the chatbot bulk filter: one whose first conversation is in range is erased though her last contact is not', async () => {
    const bot = 'bot-fc';
    await ingest(w, T, [
      customerRecord('bulk-in', 3, { botId: bot }),
      { type: 'conversation', id: 'bulk-in-a', customerId: 'bulk-in', channel: 'chat', botId: bot, startedAt: daysAgo(200), status: 'closed' },
      { type: 'conversation', id: 'bulk-in-b', customerId: 'bulk-in', channel: 'chat', botId: bot, startedAt: daysAgo(3), status: 'closed' },
      customerRecord('bulk-out', 3, { botId: bot }),
      { type: 'conversation', id: 'bulk-out-a', customerId: 'bulk-out', channel: 'chat', botId: bot, startedAt: daysAgo(100), status: 'closed' },
    ]);

    const request = await privacyRequest(w, { kind: 'erasure', filter: { botId: bot, firstContactFrom: daysAgo(250), firstContactTo: daysAgo(150) } });

    expect(request).toMatchObject({ status: 'completed', matchedSubjects: 1 });
    expect(await w.runDeps.records.findBySubject(T, 'bulk-in')).toEqual([]);
    expect((await w.runDeps.records.findBySubject(T, 'bulk-out')).length).toBeGreaterThan(0);
  });
});

describe('analytics events of an erased, anonymised or deleted customer', () => {
  let w: ApiWorld;
  const customer = (id: string, events: number): IngestRecordInput[] => [
    { type: 'customer', id, name: `Analytic ${id}`, phones: ['+14155550142'], lastContactAt: daysAgo(2) },
    { type: 'conversation', id: `${id}-conv`, customerId: id, channel: 'chat', startedAt: daysAgo(2), status: 'closed' },
    ...Array.from({ length: events }, (_, i): IngestRecordInput => ({ type: 'analytics_event', id: `evt-${id.length}-${i}-${events}`, occurredAt: daysAgo(2, i), name: 'bot.answered', customerId: id })),
  ];
  beforeAll(async () => {
    w = await world('chatbot');
    await ingest(w, T, [
      ...customer('an-erased', 3),
      ...customer('an-anonymised-1', 2),
      ...customer('an-deleted-12', 4),
      { type: 'analytics_event', id: 'evt-account', occurredAt: daysAgo(1), name: 'bot.published' },
    ]);
  });

  const namesHer = (event: Record<string, unknown>, id: string) => event.subjectId === id || event.pk === keys.subjectPk(T, id) || JSON.stringify(event).includes(id);

  it('are all still counted after an erasure, and none of them names the erased customer', async () => {
    const before = await analyticsEvents(w);

    const request = await privacyRequest(w, { kind: 'erasure', subject: { customerId: 'an-erased' } });

    expect(request.status).toBe('completed');
    expect(request.counts.analytics_event).toMatchObject({ examined: 3, deleted: 0, kept: 3, keptReasons: { unlinked: 3 } });
    const after = await analyticsEvents(w);
    expect(after).toHaveLength(before.length);
    expect(after.filter((e) => namesHer(e, 'an-erased'))).toEqual([]);
    expect(after.map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
  });

  it('are all still counted after an anonymisation and a manual delete, naming neither customer', async () => {
    const before = await analyticsEvents(w);

    const anonymised = await privacyRequest(w, { kind: 'anonymization', subject: { customerId: 'an-anonymised-1' } });
    const deleted = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/an-deleted-12`, token: SUPER });

    expect(anonymised.status).toBe('completed');
    expect(deleted.status).toBe(200);
    expect(s.deletionResponse.parse(deleted.body).categories.analytics_event).toMatchObject({ deleted: 0, kept: 4, keptReasons: { unlinked: 4 } });
    const after = await analyticsEvents(w);
    expect(after).toHaveLength(before.length);
    expect(after.filter((e) => namesHer(e, 'an-anonymised-1') || namesHer(e, 'an-deleted-12'))).toEqual([]);
    // What an event says of itself stays: its name and time.
    expect(after.find((e) => e.id === 'evt-15-0-2')).toMatchObject({ data: { name: 'bot.answered', occurredAt: daysAgo(2) } });
  });

  it('go once their own period has passed, as any analytics event', async () => {
    const days = w.platform.categories.analytics_event.defaultDays;
    expect(typeof days).toBe('number');
    w.clock.set(new Date(API_NOW.getTime() + ((days as number) + 5) * DAY));
    try {
      const run = await sweep(w);

      expect(run.status).toBe('completed');
      expect(await analyticsEvents(w)).toEqual([]);
    } finally {
      w.clock.set(API_NOW);
    }
  });
});

describe('form submissions and web sessions', () => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await world('call-tracking');
  });

  const records = (id: string, days: number): IngestRecordInput[] => [
    {
      type: 'form_submission',
      id: `${id}-form`,
      customerId: 'web-1',
      submittedAt: daysAgo(days),
      page: 'https://shop.example/quote',
      formName: 'quote',
      fields: { message: `call me about ${id}`, budget: 5000, urgent: true },
    },
    {
      type: 'web_session',
      id: `${id}-session`,
      customerId: 'web-1',
      startedAt: daysAgo(days),
      endedAt: daysAgo(days, 15),
      landingPage: 'https://shop.example/',
      referrer: 'https://search.example/?q=shop',
      pageCount: 6,
    },
  ];

  it('are ingested through POST /records and in the export', async () => {
    await ingest(w, T, [{ type: 'customer', id: 'web-1', phones: ['+14155550199'], lastContactAt: daysAgo(1) }, ...records('recent', 10)]);

    const document = await routeExport(w, 'web-1');

    expect(document.formSubmissions).toEqual([
      { id: 'recent-form', submittedAt: daysAgo(10), page: 'https://shop.example/quote', formName: 'quote', fields: { message: 'call me about recent', budget: 5000, urgent: true } },
    ]);
    expect(document.webSessions).toEqual([
      { id: 'recent-session', startedAt: daysAgo(10), endedAt: daysAgo(10, 15), landingPage: 'https://shop.example/', referrer: 'https://search.example/?q=shop', pageCount: 6 },
    ]);
  });

  it('are swept by their own category once their period has passed, and the recent ones stay', async () => {
    const days = w.platform.categories.form_submission.defaultDays;
    expect(typeof days).toBe('number');
    expect(w.platform.categories.web_session.defaultDays).toBe(days);
    await ingest(w, T, records('old', (days as number) + 30));

    const run = await sweep(w);

    expect(run.categories.form_submission).toMatchObject({ deleted: 1 });
    expect(run.categories.web_session).toMatchObject({ deleted: 1 });
    const left = (await w.runDeps.records.findBySubject(T, 'web-1')).map((i) => i.id);
    expect(left).toEqual(expect.arrayContaining(['recent-form', 'recent-session', 'web-1']));
    expect(left).not.toContain('old-form');
    expect(left).not.toContain('old-session');
  });
});
