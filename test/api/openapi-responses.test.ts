/**
 * Real answers of every route, validated against the OpenAPI document the API
 * serves (`GET /v1/openapi.json`) with a JSON Schema validator (Ajv, draft
 * 2020-12 as OpenAPI 3.1 uses): each answer's status must be documented for
 * its route, and its body must match the documented schema. Exports are checked
 * in every state: fresh, after a message deletion (tombstone), a recording or
 * conversation deletion, an anonymisation (blobs gone, records kept), and with
 * a held call past its category's cap. The last test checks that every route of
 * the contract answered at least once with a documented success.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../../shared/app/api/contract.js';
import { Router, routeKey } from '../../shared/app/api/router.js';
import { DownloadTokens } from '../../shared/app/download-links.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { blobKey } from '../../shared/domain/records.js';
import {
  apiWorld,
  customerRecords,
  daysAgo,
  ingest,
  REF_SECRET,
  registerTenant,
  SUPER,
  token,
  type Answer,
  type ApiWorld,
  type Call,
  type CustomerFixture,
} from '../support/api.js';

// ajv-formats is CommonJS: NodeNext types its default import as the module object, though at run time it is the plugin itself.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

const T = 'oas';
const OTHER = 'oas-other';
const ADMIN = token('Administrator', T);
const COMPLIANCE = token('ComplianceAdministrator', T);
/** Where the document's shared schemas (`#/components/schemas/…`) are registered for Ajv. */
const COMPONENTS_ID = 'https://lethe.invalid/openapi.json';

interface OpenApiDocument {
  readonly paths: Record<string, Record<string, { readonly responses: Record<string, { readonly content?: Record<string, { readonly schema?: unknown }> }> }>>;
  readonly components: { readonly schemas: Record<string, unknown> };
}

let w: ApiWorld;
let served: OpenApiDocument;
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>();
const router = new Router(undefined);
/** `METHOD /template status` of every answer validated. */
const answered = new Set<string>();
let sequence = 0;

/** The validator of one documented response, its `#/components` references pointed at the registered copy. */
function validatorFor(route: RouteSpec, status: number): ValidateFunction | undefined {
  const key = `${routeKey(route)} ${status}`;
  const cached = validators.get(key);
  if (cached !== undefined) return cached;
  const response = served.paths[route.path]?.[route.method.toLowerCase()]?.responses[String(status)];
  expect(response, `${routeKey(route)} answered ${status}, which the served document does not list`).toBeDefined();
  const schema = response?.content?.['application/json']?.schema;
  if (schema === undefined) return undefined;
  const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENTS_ID}#/$defs/`)) as object);
  validators.set(key, validate);
  return validate;
}

/** Calls the API and checks the answer against the served document. */
async function call(request: Call): Promise<Answer> {
  const answer = await w.call(request);
  const { route } = router.match(request.method, request.path);
  const validate = validatorFor(route, answer.status);
  if (validate !== undefined) {
    validate(answer.body);
    expect(validate.errors ?? [], `${routeKey(route)} ${answer.status}: ${answer.text.slice(0, 300)}`).toEqual([]);
  }
  answered.add(`${routeKey(route)} ${answer.status}`);
  return answer;
}

const exportOf = (customerId: string) => call({ method: 'GET', path: `/v1/tenants/${T}/customers/${customerId}/export`, token: COMPLIANCE });

async function customer(more: (customerId: string) => IngestRecordInput[] = () => []): Promise<CustomerFixture> {
  sequence += 1;
  const c: CustomerFixture = {
    id: `oc-${sequence}`,
    name: `Perpetua Oas-${sequence}`,
    phone: `+1415555${String(4100 + sequence)}`,
    email: `perpetua.${sequence}@oas.example`,
    secret: `secret-${sequence}`,
    age: 20,
  };
  await ingest(w, T, [...customerRecords(c), ...more(c.id)]);
  return c;
}

beforeAll(async () => {
  w = await apiWorld();
  const answer = await w.call({ method: 'GET', path: '/v1/openapi.json' });
  expect(answer.status).toBe(200);
  served = answer.body as OpenApiDocument;
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: served.components.schemas });
  await registerTenant(w, T);
  await registerTenant(w, OTHER);
});

describe('tenants', () => {
  it('answers registration, update, listing and a bad body as documented', async () => {
    const body = { name: 'Documented Ltd', adminEmails: ['admin@documented.example'], contractEndsAt: '2030-01-01T00:00:00Z', retentionShards: 2 };

    expect((await call({ method: 'PUT', path: '/v1/tenants/oas-new', body, token: SUPER })).status).toBe(201);
    expect((await call({ method: 'PUT', path: '/v1/tenants/oas-new', body: { ...body, name: 'Renamed' }, token: SUPER })).status).toBe(200);
    expect((await call({ method: 'GET', path: '/v1/tenants', token: SUPER })).status).toBe(200);
    expect((await call({ method: 'GET', path: '/v1/tenants/oas-new', token: SUPER })).status).toBe(200);
    expect((await call({ method: 'PUT', path: '/v1/tenants/oas-new', body: { name: '' }, token: SUPER })).status).toBe(400);
  });
});

describe('retention policy', () => {
  it('answers reading, changing, a stale change, a preview and the history as documented', async () => {
    await customer();
    const policy = await call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });
    const changed = await call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, body: { categories: { call: { days: 3000 } }, expectedVersion: policy.body.version }, token: ADMIN });
    const stale = await call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, body: { categories: { call: { days: 2900 } }, expectedVersion: 0 }, token: ADMIN });
    const preview = await call({ method: 'POST', path: `/v1/tenants/${T}/retention-policy/preview`, body: { categories: { conversation: { days: 10 } } }, token: ADMIN });
    const history = await call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy/history`, token: ADMIN });
    const overview = await call({ method: 'GET', path: `/v1/tenants/${T}/retention-overview`, query: { bucketDays: '30' }, token: ADMIN });

    expect([policy.status, changed.status, stale.status, preview.status, history.status, overview.status]).toEqual([200, 200, 409, 200, 200, 200]);
  });
});

describe('legal holds', () => {
  it('answers creating, listing, releasing, an unknown hold and a bad body as documented', async () => {
    const c = await customer();
    const created = await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { customerId: c.id }, reason: 'case', expiresAt: '2030-01-01T00:00:00Z' }, token: COMPLIANCE });
    const listed = await call({ method: 'GET', path: `/v1/tenants/${T}/legal-holds`, token: COMPLIANCE });
    const released = await call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${created.body.holdId}`, token: COMPLIANCE });
    const unknown = await call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/no-such-hold`, token: COMPLIANCE });
    const bad = await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { planet: 'x' }, reason: 'case' }, token: COMPLIANCE });

    expect([created.status, listed.status, released.status, unknown.status, bad.status]).toEqual([201, 200, 200, 404, 400]);
  });
});

describe('ingest', () => {
  it('answers a body with inline content and one waiting for an upload, and an invalid body, as documented', async () => {
    const accepted = await call({
      method: 'POST',
      path: `/v1/tenants/${T}/records`,
      body: {
        records: [
          { type: 'customer', id: 'oas-up', lastContactAt: daysAgo(1) },
          { type: 'call', id: 'oas-up-call', customerId: 'oas-up', startedAt: daysAgo(1), durationSeconds: 5 },
          { type: 'recording', id: 'oas-up-rec', callId: 'oas-up-call', customerId: 'oas-up', contentType: 'audio/wav' },
        ],
      },
      token: ADMIN,
    });
    const invalid = await call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records: [{ type: 'call', id: 'x' }] }, token: ADMIN });

    expect(accepted.status).toBe(200);
    expect(accepted.body.uploads).toHaveLength(1);
    expect(invalid.status).toBe(400);
  });
});

describe('customers and their export', () => {
  it('answers a lookup, a bad lookup, an export and an unknown customer as documented', async () => {
    const c = await customer();

    expect((await call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { email: c.email }, token: COMPLIANCE })).status).toBe(200);
    expect((await call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: '12' }, token: COMPLIANCE })).status).toBe(400);
    expect((await exportOf(c.id)).status).toBe(200);
    expect((await exportOf('nobody-here')).status).toBe(404);
  });

  it('answers the export as documented after a message deletion (tombstone), a recording deletion and a conversation deletion', async () => {
    const c = await customer();

    const message = await call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/messages/${c.id}-conv-m1`, token: COMPLIANCE });
    const tombstoned = await exportOf(c.id);
    const recording = await call({ method: 'DELETE', path: `/v1/tenants/${T}/calls/${c.id}-call/recording`, token: COMPLIANCE });
    const conversation = await call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv`, token: COMPLIANCE });
    const whatIsLeft = await exportOf(c.id);

    expect([message.status, tombstoned.status, recording.status, conversation.status, whatIsLeft.status]).toEqual([200, 200, 200, 200, 200]);
    expect(tombstoned.body.conversations[0].messages[0]).toEqual({ id: `${c.id}-conv-m1`, deleted: true, text: 'This item has been deleted' });
    expect(whatIsLeft.body.conversations).toEqual([]);
    expect(whatIsLeft.body.calls[0].recordings).toEqual([]);
  });

  it('answers the export as documented after an anonymisation, the blobs gone and the records kept', async () => {
    const c = await customer();
    const request = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'anonymization', subject: { customerId: c.id } }, token: COMPLIANCE });
    expect((await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${request.body.requestId}`, token: COMPLIANCE })).body.status).toBe('completed');

    const exported = await exportOf(c.id);

    expect(exported.status).toBe(200);
    expect(exported.body.calls[0].recordings[0]).toMatchObject({ contentDeleted: true });
    expect(exported.body.calls[0].recordings[0].url).toBeUndefined();
  });

  it('answers the export as documented with an address, custom attributes, a form submission and a web session, fresh and anonymised', async () => {
    const c = await customer((id) => [
      { type: 'form_submission', id: `${id}-form`, customerId: id, submittedAt: daysAgo(3), page: 'https://oas.example/contact', fields: { message: 'hello', seats: 2, callBack: true } },
      { type: 'web_session', id: `${id}-web`, customerId: id, startedAt: daysAgo(3), endedAt: daysAgo(3, 9), landingPage: 'https://oas.example/', pageCount: 3 },
    ]);
    await ingest(w, T, [
      { type: 'customer', id: c.id, lastContactAt: daysAgo(1), address: { lines: ['1 Oas Road'], city: 'Oasis', country: 'US' }, customAttributes: { tier: 'gold', visits: 4, vip: false } },
    ]);

    const fresh = await exportOf(c.id);
    const request = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'anonymization', subject: { customerId: c.id } }, token: COMPLIANCE });
    expect((await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${request.body.requestId}`, token: COMPLIANCE })).body.status).toBe('completed');
    const anonymised = await exportOf(c.id);

    expect([fresh.status, anonymised.status]).toEqual([200, 200]);
    expect(fresh.body.customer).toMatchObject({ address: { city: 'Oasis' }, customAttributes: { tier: 'gold' } });
    expect(fresh.body.formSubmissions).toHaveLength(1);
    expect(fresh.body.webSessions).toHaveLength(1);
    expect(anonymised.body.customer.address).toBeUndefined();
    expect(anonymised.body.formSubmissions[0].fields).toBeUndefined();
  });

  it('answers the export as documented with a held call past its category cap in it', async () => {
    const c = await customer((id) => [
      { type: 'call', id: `${id}-old`, customerId: id, startedAt: daysAgo(3700), durationSeconds: 9, thirdPartyRef: `tp-${id}-old` },
      { type: 'recording', id: `${id}-old-rec`, callId: `${id}-old`, customerId: id, contentType: 'audio/wav', contentBase64: Buffer.from('old').toString('base64') },
    ]);
    await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { callId: `${c.id}-old` }, reason: 'case' }, token: COMPLIANCE });

    const exported = await exportOf(c.id);

    expect(exported.status).toBe(200);
    expect(exported.body.calls.map((x: { id: string }) => x.id)).toContain(`${c.id}-old`);
    expect(exported.body.thirdPartyCallData).toContainEqual({ id: `${c.id}-old`, callId: `${c.id}-old`, ref: `tp-${c.id}-old` });
  });

  it('answers deleting a customer, one with an open conversation, one wholly held and an unknown one as documented', async () => {
    const c = await customer();
    const open = await customer();
    await ingest(w, T, [{ type: 'conversation', id: `${open.id}-open`, customerId: open.id, channel: 'chat', startedAt: daysAgo(1), status: 'open' }]);
    const held = await customer();
    await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { customerId: held.id }, reason: 'case' }, token: COMPLIANCE });

    const deleted = await call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${c.id}`, token: COMPLIANCE });
    const refused = await call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${open.id}`, token: COMPLIANCE });
    const kept = await call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${held.id}-conv`, token: COMPLIANCE });
    const unknown = await call({ method: 'DELETE', path: `/v1/tenants/${T}/calls/nothing-here/recording`, token: COMPLIANCE });

    expect([deleted.status, refused.status, kept.status, unknown.status]).toEqual([200, 409, 409, 404]);
    expect(kept.body.error.holdIds).toHaveLength(1);
  });
});

describe('one attachment, admin activity logs, one record anonymised, a bulk erasure previewed', () => {
  it('answer deleting an attachment, a repeat, and one under legal hold as documented', async () => {
    const c = await customer();
    const held = await customer();
    await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { conversationId: `${held.id}-conv` }, reason: 'case' }, token: COMPLIANCE });
    const path = (id: string) => `/v1/tenants/${T}/conversations/${id}-conv/attachments/${id}-conv-att`;

    const deleted = await call({ method: 'DELETE', path: path(c.id), token: COMPLIANCE });
    const again = await call({ method: 'DELETE', path: path(c.id), token: COMPLIANCE });
    const refused = await call({ method: 'DELETE', path: path(held.id), token: COMPLIANCE });

    expect([deleted.status, again.status, refused.status]).toEqual([200, 404, 409]);
  });

  it('answer anonymising a call, a message, an unknown call, a call under legal hold and a bad body as documented', async () => {
    const c = await customer();
    const held = await customer();
    await call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { callId: `${held.id}-call` }, reason: 'case' }, token: COMPLIANCE });

    const callDone = await call({ method: 'POST', path: `/v1/tenants/${T}/calls/${c.id}-call/anonymize`, token: COMPLIANCE });
    const message = await call({ method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body: { type: 'message', id: `${c.id}-conv-m2`, conversationId: `${c.id}-conv` }, token: COMPLIANCE });
    const unknown = await call({ method: 'POST', path: `/v1/tenants/${T}/calls/no-call/anonymize`, token: COMPLIANCE });
    const refused = await call({ method: 'POST', path: `/v1/tenants/${T}/calls/${held.id}-call/anonymize`, token: COMPLIANCE });
    const bad = await call({ method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body: { type: 'fax', id: 'x' }, token: COMPLIANCE });

    expect([callDone.status, message.status, unknown.status, refused.status, bad.status]).toEqual([200, 200, 404, 409, 400]);
    const exported = await exportOf(c.id);
    expect(exported.body.calls[0].recordings[0].contentDeleted).toBe(true);
  });

  it('answer selecting, deleting and re-deleting admin activity logs, and a bad range, as documented', async () => {
    await ingest(w, T, [
      { type: 'admin_activity_log', id: 'oas-log-1', occurredAt: daysAgo(3), actor: 'admin@oas.example', action: 'bot.renamed' },
      { type: 'admin_activity_log', id: 'oas-log-2', occurredAt: daysAgo(2), actor: 'admin@oas.example', action: 'bot.renamed' },
    ]);

    const listed = await call({ method: 'GET', path: `/v1/tenants/${T}/admin-activity-logs`, query: { actor: 'admin@oas.example', limit: '1' }, token: COMPLIANCE });
    const deleted = await call({ method: 'POST', path: `/v1/tenants/${T}/admin-activity-logs/delete`, body: { actor: 'admin@oas.example' }, token: COMPLIANCE });
    const again = await call({ method: 'POST', path: `/v1/tenants/${T}/admin-activity-logs/delete`, body: { actor: 'admin@oas.example' }, token: COMPLIANCE });
    const bad = await call({ method: 'GET', path: `/v1/tenants/${T}/admin-activity-logs`, query: { from: daysAgo(1), to: daysAgo(2) }, token: COMPLIANCE });

    expect([listed.status, deleted.status, again.status, bad.status]).toEqual([200, 200, 404, 400]);
    expect(listed.body.nextCursor).toBeDefined();
  });

  it('answer previewing a bulk erasure, a page of it, and a body with a subject as documented', async () => {
    const c = await customer();
    await ingest(w, T, [{ type: 'customer', id: c.id, lastContactAt: daysAgo(20), botId: 'oas-bot' }]);

    const first = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests/preview`, body: { kind: 'erasure', filter: { channel: 'email' } }, query: { limit: '1' }, token: COMPLIANCE });
    const next = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests/preview`, body: { kind: 'erasure', filter: { channel: 'email' } }, query: { limit: '1', cursor: first.body.nextCursor }, token: COMPLIANCE });
    const bad = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests/preview`, body: { kind: 'erasure', subject: { customerId: c.id } }, token: COMPLIANCE });

    expect([first.status, next.status, bad.status]).toEqual([200, 200, 400]);
    expect(first.body.customers).toHaveLength(1);
  });

  it('answer an account export started, read complete with its links, a bad range and an unknown id as documented', async () => {
    await customer();

    const started = await call({ method: 'POST', path: `/v1/tenants/${T}/exports`, body: { categories: ['customer_profile', 'call_recording'] }, token: COMPLIANCE });
    const read = await call({ method: 'GET', path: `/v1/tenants/${T}/exports/${started.body.exportId}`, token: COMPLIANCE });
    const bad = await call({ method: 'POST', path: `/v1/tenants/${T}/exports`, body: { from: daysAgo(1), to: daysAgo(2) }, token: COMPLIANCE });
    const unknown = await call({ method: 'GET', path: `/v1/tenants/${T}/exports/no-such-export`, token: COMPLIANCE });

    expect([started.status, read.status, bad.status, unknown.status]).toEqual([202, 200, 400, 404]);
    expect(read.body.status).toBe('completed');
    expect(read.body.files.length).toBeGreaterThan(0);
  });
});

describe('reads of a customer, her timeline, a conversation, an attachment and a call (admins and services)', () => {
  const SERVICE = token('Service', T, 'platform-backend');

  it.each([
    ['an admin', '/v1/tenants', COMPLIANCE],
    ['a service', '/v1/service/tenants', SERVICE],
  ] as const)('answer %s reading fresh records, a tombstone, a deleted recording, a page, a bad cursor and unknown ids as documented', async (_who, base, reader) => {
    const c = await customer();
    const get = (path: string, query?: Record<string, string>) => call({ method: 'GET', path: `${base}/${T}${path}`, token: reader, ...(query !== undefined && { query }) });
    await call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/messages/${c.id}-conv-m1`, token: COMPLIANCE });
    await call({ method: 'DELETE', path: `/v1/tenants/${T}/calls/${c.id}-call/recording`, token: COMPLIANCE });

    const answers = [
      await get(`/customers/${c.id}`),
      await get(`/customers/${c.id}/timeline`, { limit: '1' }),
      await get(`/conversations/${c.id}-conv`, { limit: '1' }),
      await get(`/conversations/${c.id}-conv`),
      await get(`/conversations/${c.id}-conv/attachments/${c.id}-conv-in`),
      await get(`/calls/${c.id}-call`),
    ];
    const refusals = [
      await get(`/customers/${c.id}/timeline`, { cursor: 'nope' }),
      await get('/customers/nobody-here'),
      await get('/conversations/nobody-here'),
      await get(`/conversations/${c.id}-conv/attachments/nothing`),
      await get('/calls/nobody-here'),
    ];

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers[1]?.body.nextCursor).toBeDefined();
    expect(answers[3]?.body.messages).toContainEqual({ id: `${c.id}-conv-m1`, sentAt: daysAgo(20, 1), deleted: true, text: 'This item has been deleted' });
    expect(refusals.map((a) => a.status)).toEqual([400, 404, 404, 404, 404]);
  });

  it('answer a service ingesting as documented', async () => {
    const answer = await call({ method: 'POST', path: `/v1/service/tenants/${T}/records`, token: SERVICE, body: { records: [{ type: 'customer', id: 'svc-ingested', lastContactAt: daysAgo(1) }] } });

    expect(answer.status).toBe(200);
  });
});

describe('deletion runs and audit events', () => {
  it('answer starting, listing and reading a run, an unknown run and a page of events as documented', async () => {
    const started = await call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: { dryRun: true }, token: ADMIN });
    const listed = await call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs`, query: { limit: '5' }, token: ADMIN });
    const read = await call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/${started.body.runId}`, token: ADMIN });
    const unknown = await call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/no-such-run`, token: ADMIN });
    const events = await call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, query: { limit: '2' }, token: ADMIN });

    expect([started.status, listed.status, read.status, unknown.status, events.status]).toEqual([202, 200, 200, 404, 200]);
    expect(events.body.nextCursor).toBeDefined();
  });
});

describe('privacy requests', () => {
  it('answer submitting, listing and reading requests of each kind, a bad body and an unknown request as documented', async () => {
    const c = await customer();
    const access = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { email: c.email } }, token: COMPLIANCE });
    const readExport = await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${access.body.requestId}`, token: COMPLIANCE });
    const erasure = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'erasure', subject: { customerId: c.id } }, token: COMPLIANCE, headers: { 'Idempotency-Key': 'oas-1' } });
    const bad = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'forget' }, token: COMPLIANCE });
    const listed = await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests`, query: { limit: '10' }, token: COMPLIANCE });
    const readAccess = await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${access.body.requestId}`, token: COMPLIANCE });
    const readErasure = await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${erasure.body.requestId}`, token: COMPLIANCE });
    const unknown = await call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/no-such-request`, token: COMPLIANCE });

    expect([access.status, erasure.status, bad.status, listed.status, readAccess.status, readErasure.status, unknown.status]).toEqual([202, 202, 400, 200, 200, 200, 404]);
    expect(readExport.status).toBe(200);
    expect(readExport.body.exportUrl).toMatch(/X-Amz-Signature=/u);
    // The erasure of its subject deleted the export: the request says so instead of linking to it.
    expect(readAccess.body.exportUrl).toBeUndefined();
    expect(readAccess.body.exportDeletedBy).toBe(erasure.body.requestId);
  });

  it('write an access export whose every subject matches the export route’s documented schema', async () => {
    const c = await customer();
    const access = await call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { customerId: c.id } }, token: COMPLIANCE });
    const request = await w.privacyDeps.privacy.get(T, access.body.requestId);
    const document = JSON.parse(new TextDecoder().decode(await w.runDeps.blobs.get('exports', request?.exportKey as string))) as { subjects: unknown[] };
    const exportRoute = ROUTES.find((r) => r.path.endsWith('/export')) as RouteSpec;
    const validate = validatorFor(exportRoute, 200) as ValidateFunction;

    expect(document.subjects).toHaveLength(1);
    validate(document.subjects[0]);
    expect(validate.errors ?? []).toEqual([]);
  });
});

describe('download links', () => {
  it('answer the bytes, a malformed, altered or expired link and a gone object as documented', async () => {
    const c = await customer();
    const key = blobKey('recordings', T, c.id, `${c.id}-call-rec`);
    const tokens = new DownloadTokens(REF_SECRET);
    const link = (objectKey: string, seconds = 600) => `/v1/downloads/${tokens.issue('recordings', objectKey, new Date(w.clock.now().getTime() + seconds * 1000))}`;

    const served = await call({ method: 'GET', path: link(key) });
    const malformed = await call({ method: 'GET', path: '/v1/downloads/not-a-token' });
    const altered = await call({ method: 'GET', path: `${link(key).slice(0, -2)}AA` });
    const expired = await call({ method: 'GET', path: link(key, -1) });
    const gone = await call({ method: 'GET', path: link(blobKey('recordings', T, c.id, 'never-stored')) });

    expect([served.status, malformed.status, altered.status, expired.status, gone.status]).toEqual([200, 400, 403, 403, 404]);
    expect(served.text).toBe(`voice ${c.secret}`);
  });
});

describe('the document itself', () => {
  it('is served without a token', async () => {
    expect((await call({ method: 'GET', path: '/v1/openapi.json' })).status).toBe(200);
  });
});

describe('refusals on every route', () => {
  const concrete = (route: RouteSpec, tenantId: string) =>
    route.path.replaceAll('{t}', tenantId).replace(/\{\w+\}/gu, 'some-id');
  const guarded = ROUTES.filter((r) => r.minRole !== 'public');
  // Path and query are validated before the role and tenant are checked: give the one route that needs a query a valid one.
  const queries: Readonly<Record<string, Record<string, string>>> = { 'GET /v1/tenants/{t}/customers': { email: 'someone@oas.example' } };

  it.each(guarded.map((r) => [routeKey(r), r] as const))('%s answers 401 without a token and 403 with another tenant’s, as documented', async (_, route) => {
    const query = queries[routeKey(route)] ?? {};
    const noToken = await call({ method: route.method, path: concrete(route, T), query });
    const otherTenant = await call({ method: route.method, path: concrete(route, T), query, token: token('SuperAdministrator' === route.minRole ? 'Administrator' : route.minRole, OTHER) });

    expect(noToken.status).toBe(401);
    expect(otherTenant.status).toBe(403);
  });
});

describe('coverage', () => {
  it('every route of the contract answered at least once with a documented success', () => {
    const succeeded = ROUTES.filter((r) => [...answered].some((a) => a.startsWith(`${routeKey(r)} 2`)));

    expect(succeeded.map(routeKey)).toEqual(ROUTES.map(routeKey));
  });
});
