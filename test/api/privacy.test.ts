/**
 * Privacy requests through the admin API on the emulators: the production
 * handler, each request's `PrivacyRequest` state machine run to its end by the
 * in-process starter. Accepting (202, due in 30 days), the Idempotency-Key
 * (one request, one execution, a crashed first call completed by the retry),
 * what GET shows (never the subject or the notify address), a bad identifier
 * or key naming its field, 500 malformed bodies and keys changing nothing, and
 * a hold release resuming the erasure it deferred. The role and tenant matrix
 * of these routes is in rbac.test.ts, with every other route's.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../shared/app/api/handler.js';
import * as s from '../../shared/app/api/schemas.js';
import type { PrivacyStarter } from '../../shared/domain/ports.js';
import {
  API_NOW,
  apiEvent,
  apiWorld,
  auditOf,
  CapturingLogger,
  customerRecords,
  dumpStores,
  ingest,
  registerTenant,
  SUPER,
  token,
  type Answer,
  type ApiWorld,
  type Call,
  type CustomerFixture,
} from '../support/api.js';

const DAY = 86_400_000;
const T = 'priv';
const COMPLIANCE = token('ComplianceAdministrator', T);
const path = (suffix = '') => `/v1/tenants/${T}/privacy-requests${suffix}`;

let w: ApiWorld;
let n = 0;

/** A fresh customer with distinctive personal data. */
async function customer(extra: Partial<CustomerFixture> = {}): Promise<CustomerFixture> {
  n += 1;
  const c: CustomerFixture = {
    id: `pc-${n}`,
    name: `Philippa Quarrington-${n}`,
    phone: `+1415555${String(7000 + n)}`,
    email: `philippa.${n}@private.example`,
    secret: `secret-${n}`,
    age: 10,
    ...extra,
  };
  await ingest(w, T, customerRecords(c));
  return c;
}

const submit = (body: unknown, headers?: Record<string, string>): Promise<Answer> =>
  w.call({ method: 'POST', path: path(), body, token: COMPLIANCE, ...(headers !== undefined && { headers }) });
const read = (requestId: string): Promise<Answer> => w.call({ method: 'GET', path: path(`/${requestId}`), token: COMPLIANCE });

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  await registerTenant(w, 'other');
});

describe('POST /privacy-requests', () => {
  it('answers 202 with the request id, status received and a due date 30 days after receipt', async () => {
    const c = await customer();

    const answer = await submit({ kind: 'erasure', subject: { customerId: c.id } });

    expect(answer.status).toBe(202);
    expect(s.privacyAcceptedResponse.strict().parse(answer.body)).toEqual({
      requestId: expect.stringMatching(/^privacy-/),
      status: 'received',
      dueAt: new Date(API_NOW.getTime() + 30 * DAY).toISOString(),
    });
    const stored = await read(answer.body.requestId);
    expect(stored.body).toMatchObject({ requestId: answer.body.requestId, kind: 'erasure', status: 'completed', receivedAt: API_NOW.toISOString() });
  });

  it('starts one execution named by the request id, which erases the subject', async () => {
    const c = await customer();
    const before = w.privacyRequests.calls.length;

    const answer = await submit({ kind: 'erasure', subject: { phone: c.phone } });

    expect(w.privacyRequests.calls.slice(before)).toEqual([{ tenantId: T, requestId: answer.body.requestId, executionName: answer.body.requestId }]);
    expect(await w.stores.records.findBySubject(T, c.id)).toEqual([]);
    const view = (await read(answer.body.requestId)).body;
    expect(view.status).toBe('completed');
    expect(Object.values(view.counts as Record<string, { deleted: number }>).reduce((sum, x) => sum + x.deleted, 0)).toBeGreaterThan(10);
  });

  it('answers 404 for a tenant that does not exist, and stores nothing', async () => {
    const before = await dumpStores(w.stores);

    const answer = await w.call({ method: 'POST', path: '/v1/tenants/nobody/privacy-requests', body: { kind: 'erasure', subject: { customerId: 'x' } }, token: SUPER });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('t');
    expect(await dumpStores(w.stores)).toBe(before);
  });

  it.each([
    ['subject.phone', { phone: 'call me maybe' }],
    ['subject.phone', { phone: '+1 555' }],
    ['subject.email', { email: 'philippa@nowhere' }],
    ['subject.name', { name: '    ' }],
  ])('refuses a bad identifier with a 400 naming %s, and stores nothing', async (field, subject) => {
    const before = await dumpStores(w.stores);
    const calls = w.privacyRequests.calls.length;

    const answer = await submit({ kind: 'access', subject });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe(field);
    expect(answer.body.error.message).toContain(field);
    const raw = Object.values(subject)[0]!;
    if (raw.trim() !== '') expect(answer.text).not.toContain(raw);
    expect(await dumpStores(w.stores)).toBe(before);
    expect(w.privacyRequests.calls.length).toBe(calls);
  });

  it('records an audit event with hashed references only', async () => {
    const c = await customer();

    const answer = await submit({ kind: 'access', subject: { email: c.email }, notify: { email: 'requester@inbox.example' } });

    const event = (await auditOf(w, T)).find((e) => e.action === 'privacy_request.received' && e.refs?.requestId === answer.body.requestId);
    expect(event?.refs).toEqual({ requestId: answer.body.requestId, identifier: expect.stringMatching(/^h:[A-Za-z0-9_-]{22}$/) });
    expect(event?.after).toMatchObject({ kind: 'access', selector: 'email', subjects: 1, notify: true });
    const text = JSON.stringify(event);
    for (const pii of [c.id, c.email, c.phone, c.name, 'requester@inbox.example']) expect(text).not.toContain(pii);
  });
});

describe('the Idempotency-Key header', () => {
  it('returns the same request for the same key and starts one execution only', async () => {
    const c = await customer();
    const body = { kind: 'erasure', subject: { customerId: c.id } };
    const calls = w.privacyRequests.calls.length;
    const listed = (await w.call({ method: 'GET', path: path(), token: COMPLIANCE })).body.requests.length;

    const first = await submit(body, { 'Idempotency-Key': 'retry-me-1' });
    const second = await submit(body, { 'idempotency-key': 'retry-me-1' });

    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.requestId).toBe(first.body.requestId);
    expect(second.body.dueAt).toBe(first.body.dueAt);
    expect(w.privacyRequests.calls.length - calls).toBe(1);
    expect((await w.call({ method: 'GET', path: path(), token: COMPLIANCE })).body.requests.length).toBe(listed + 1);
    expect((await auditOf(w, T)).filter((e) => e.refs?.requestId === first.body.requestId)).toHaveLength(1);
  });

  it('binds one request to a key even when the same call arrives twice at once', async () => {
    const c = await customer();
    const started = w.privacyRequests.started.length;

    const [a, b] = await Promise.all([
      submit({ kind: 'erasure', subject: { customerId: c.id } }, { 'Idempotency-Key': 'twice-at-once' }),
      submit({ kind: 'erasure', subject: { customerId: c.id } }, { 'Idempotency-Key': 'twice-at-once' }),
    ]);

    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.requestId).toBe(a.body.requestId);
    expect(w.privacyRequests.started.slice(started).map((x) => x.executionName)).toEqual([a.body.requestId]);
    expect((await read(a.body.requestId)).body.status).toBe('completed');
  });

  it('keeps keys per tenant: the same key on another tenant is another request', async () => {
    const c = await customer();
    await ingest(w, 'other', customerRecords({ ...c }));

    const mine = await submit({ kind: 'access', subject: { customerId: c.id } }, { 'Idempotency-Key': 'shared-key' });
    const theirs = await w.call({ method: 'POST', path: '/v1/tenants/other/privacy-requests', body: { kind: 'access', subject: { customerId: c.id } }, token: SUPER, headers: { 'Idempotency-Key': 'shared-key' } });

    expect(theirs.status).toBe(202);
    expect(theirs.body.requestId).not.toBe(mine.body.requestId);
  });

  it('lets a retry with the key start the request a failed first call stored', async () => {
    const c = await customer();
    let failing = true;
    const flaky: PrivacyStarter = {
      start: async (input) => {
        if (failing) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
        return w.privacyRequests.start(input);
      },
    };
    const handler = createApiHandler({ ...w.deps, privacyRequests: flaky }, { logger: new CapturingLogger() });
    const call: Call = { method: 'POST', path: path(), body: { kind: 'erasure', subject: { customerId: c.id } }, token: COMPLIANCE, headers: { 'Idempotency-Key': 'crash-then-retry' } };

    const crashed = await handler(apiEvent(call));
    failing = false;
    const retried = await handler(apiEvent(call));

    expect(crashed.statusCode).toBe(500);
    expect(retried.statusCode).toBe(202);
    const { requestId } = JSON.parse(retried.body as string) as { requestId: string };
    expect((await read(requestId)).body.status).toBe('completed');
    expect(await w.stores.records.findBySubject(T, c.id)).toEqual([]);
  });

  it('without a key, a failed start marks the request failed and forgets the notify address', async () => {
    const c = await customer();
    const broken: PrivacyStarter = { start: async () => Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' })) };
    const handler = createApiHandler({ ...w.deps, privacyRequests: broken }, { logger: new CapturingLogger() });

    const answer = await handler(apiEvent({ method: 'POST', path: path(), body: { kind: 'erasure', subject: { customerId: c.id }, notify: { email: 'who@inbox.example' } }, token: COMPLIANCE }));

    expect(answer.statusCode).toBe(500);
    const failed = (await w.deps.privacy.list(T)).filter((r) => r.reason === 'start_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', subjectIds: [c.id] });
    expect(failed[0]?.notifyEmail).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['with a control character', 'key\u0007'],
    ['with a leading space', ' key'],
    ['not ASCII', 'clé'],
  ])('refuses a key that is %s with a 400 naming Idempotency-Key', async (_, key) => {
    const before = await dumpStores(w.stores);

    const answer = await submit({ kind: 'erasure', subject: { customerId: 'pc-1' } }, { 'Idempotency-Key': key });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'Idempotency-Key', message: expect.stringContaining('Idempotency-Key') });
    expect(await dumpStores(w.stores)).toBe(before);
  });

  it('accepts 255 printable characters', async () => {
    const answer = await submit({ kind: 'access', subject: { customerId: 'pc-1' } }, { 'Idempotency-Key': `${'k'.repeat(127)} ${'~'.repeat(127)}` });

    expect(answer.status).toBe(202);
  });
});

describe('GET /privacy-requests', () => {
  it('shows status, counts and the due date, but never the subject, its identifiers or the notify address', async () => {
    const c = await customer();
    const notify = 'private.requester@inbox.example';
    const erasure = await submit({ kind: 'erasure', subject: { phone: c.phone }, notify: { email: notify } });
    const other = await customer();
    const access = await submit({ kind: 'access', subject: { name: other.name }, notify: { email: notify } });

    const one = await read(erasure.body.requestId);
    const exported = await read(access.body.requestId);
    const list = await w.call({ method: 'GET', path: path(), token: COMPLIANCE });

    expect(s.privacyRequestResponse.strict().parse(one.body)).toMatchObject({ kind: 'erasure', status: 'completed', selector: 'phone', subjects: 1 });
    expect(s.privacyRequestResponse.strict().parse(exported.body)).toMatchObject({ kind: 'access', status: 'completed', exportUrl: expect.stringMatching(/X-Amz-Expires=604800/) });
    expect(s.privacyListResponse.parse(list.body).requests.length).toBeGreaterThan(1);
    const shown = [one.text, exported.text.replace(exported.body.exportUrl, ''), list.text.replaceAll(exported.body.exportUrl, '')].join('\n');
    for (const pii of [notify, c.phone, c.email, c.name, `"${c.id}"`, other.name, other.email, other.phone, `"${other.id}"`]) {
      expect(shown).not.toContain(pii);
    }
  });

  it('lists newest first', async () => {
    const c = await customer();
    w.clock.advance(60_000);
    const older = await submit({ kind: 'access', subject: { customerId: c.id } });
    w.clock.advance(60_000);
    const newer = await submit({ kind: 'access', subject: { customerId: c.id } });

    const list = await w.call({ method: 'GET', path: path(), query: { limit: '2' }, token: COMPLIANCE });

    expect(list.body.requests.map((r: { requestId: string }) => r.requestId)).toEqual([newer.body.requestId, older.body.requestId]);
  });

  it('answers 404 naming the id for an unknown request', async () => {
    const answer = await read('privacy-unknown');

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('id');
  });
});

describe('a legal hold on part of a subject', () => {
  it('defers the held part of an erasure, and its release through the API completes the same request', async () => {
    const c = await customer();
    const conversationId = `${c.id}-conv`;
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { conversationId }, reason: 'litigation' }, token: COMPLIANCE });
    const erasure = await submit({ kind: 'erasure', subject: { customerId: c.id } });

    const deferred = await read(erasure.body.requestId);
    expect(deferred.body).toMatchObject({ status: 'partially_completed', reason: 'legal_hold' });
    const left = await w.stores.records.findBySubject(T, c.id);
    expect(left.some((i) => i.conversationId === conversationId)).toBe(true);
    expect(left.some((i) => i.category === 'call')).toBe(false);
    const requests = (await w.call({ method: 'GET', path: path(), token: COMPLIANCE })).body.requests.length;
    const calls = w.privacyRequests.calls.length;

    const released = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${hold.body.holdId}`, token: COMPLIANCE });

    expect(released.status).toBe(200);
    // The Hold workflow's release resumed the deferred request.
    expect(released.body.status).toBe('released');
    expect(w.privacyRequests.calls.slice(calls)).toEqual([
      { tenantId: T, requestId: erasure.body.requestId, executionName: `${erasure.body.requestId}-resume-1` },
    ]);
    const completed = await read(erasure.body.requestId);
    expect(completed.body).toMatchObject({ requestId: erasure.body.requestId, status: 'completed' });
    expect(completed.body.reason).toBeUndefined();
    expect(await w.stores.records.findBySubject(T, c.id)).toEqual([]);
    expect((await w.call({ method: 'GET', path: path(), token: COMPLIANCE })).body.requests.length).toBe(requests);
    const resumed = (await auditOf(w, T)).find((e) => e.action === 'privacy_request.resumed');
    expect(resumed?.refs).toEqual({ requestId: erasure.body.requestId, holdId: hold.body.holdId });
  });
});

describe('malformed privacy requests', () => {
  const badIds = ['', 'has space', 'x'.repeat(129), 'semi;colon', 5, null];
  const wrongSubject = fc.oneof(
    fc.constantFrom<unknown>(null, [], 'pc-1', 5, {}, { customerId: 'pc-1', phone: '+14155557001' }, { email: 'a@b.example', name: 'A B' }),
    fc.constantFrom(...badIds).map((customerId) => ({ customerId })),
    fc.constantFrom<unknown>('12', 'call me', '+999 1234', '+1 555', '', 'x'.repeat(41), 5).map((phone) => ({ phone })),
    fc.constantFrom<unknown>('not-an-email', 'a@b', '  ', 'x@y', 7).map((email) => ({ email })),
    fc.constantFrom<unknown>('', '   ', 'x'.repeat(201), 5).map((name) => ({ name })),
    fc.string({ minLength: 1, maxLength: 8 }).map((k) => ({ [`zz_${k}`]: 'x' })),
  );
  const wrong: Record<string, fc.Arbitrary<unknown>> = {
    kind: fc.constantFrom('delete', 'Erasure', 'export', '', 5, null),
    subject: wrongSubject,
    // Wrong on its own, so removing the subject never leaves a valid bulk filter.
    filter: fc.constantFrom('x', 5, null, {}, { channel: 'fax' }, { botId: 'has space' }, { firstContactFrom: 'yesterday' }, { botId: 'b', extra: 1 }),
    force: fc.constantFrom('yes', 1, null, {}),
    notify: fc.constantFrom({ email: 'nope' }, 'a@b.example', { email: 5 }, {}, { email: 'a@b.example', cc: 'x' }, null),
  };
  const edit = fc.oneof(
    ...Object.entries(wrong).map(([key, values]) => values.map((value) => (o: Record<string, unknown>) => ({ ...o, [key]: value }))),
    fc.constantFrom('kind', 'subject').map((key) => (o: Record<string, unknown>) => {
      const { [key]: _removed, ...rest } = o;
      return rest;
    }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => (o: Record<string, unknown>) => ({ ...o, [`zz_${k}`]: v })),
  );
  const badBody = fc.oneof(
    { weight: 8, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }).map((fns) => ({ body: fns.reduce((o, f) => f(o), { kind: 'erasure', subject: { customerId: 'pc-1' } } as Record<string, unknown>) })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((body) => ({ body })) },
    { weight: 1, arbitrary: fc.constantFrom('{', 'kind=erasure', '{"kind": erasure}', '[1,').map((raw) => ({ raw })) },
  );
  const badKey = fc.oneof(
    fc.constant(''),
    fc.string({ minLength: 256, maxLength: 300 }),
    fc.string({ minLength: 1, maxLength: 20 }).map((k) => `${k}\u0001`),
    fc.string({ minLength: 1, maxLength: 20 }).map((k) => ` ${k}`),
    fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter((k) => /[^\x20-\x7E]/u.test(k)),
  );
  /** A broken body (valid key or none), a broken key (valid body), or both. */
  const request = fc.oneof(
    { weight: 6, arbitrary: fc.record({ body: badBody, key: fc.option(fc.constantFrom('good-key-1', 'good key 2'), { nil: undefined }) }) },
    { weight: 2, arbitrary: fc.record({ body: fc.constant({ body: { kind: 'access', subject: { customerId: 'pc-1' } } as unknown }), key: badKey }) },
    { weight: 1, arbitrary: fc.record({ body: badBody, key: badKey }) },
  );

  it('answer 4xx naming the field, for 500 generated bodies and keys, and change nothing', async () => {
    const before = await dumpStores(w.stores);
    const calls = w.privacyRequests.calls.length;
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(request, async ({ body, key }) => {
        const answer = await w.call({
          method: 'POST',
          path: path(),
          token: COMPLIANCE,
          ...('raw' in body ? { raw: body.raw as string } : { body: body.body }),
          ...(key !== undefined && { headers: { 'Idempotency-Key': key } }),
        });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, answer.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
        expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
        const error = answer.body?.error as { field?: string; message?: string } | undefined;
        expect(typeof error?.field, answer.text.slice(0, 300)).toBe('string');
        expect(error?.message, answer.text.slice(0, 300)).toContain(error?.field as string);
      }),
      { numRuns: 500 },
    );

    expect(await dumpStores(w.stores)).toBe(before);
    expect(w.privacyRequests.calls.length).toBe(calls);
    expect(statuses.get(400) ?? 0, JSON.stringify(Object.fromEntries(statuses))).toBe(500);
  });
});
