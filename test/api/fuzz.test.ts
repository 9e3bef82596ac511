/**
 * Malformed input never gets past the edge: for every mutating route, at least
 * 500 generated requests with a broken body, path or query string (oversized
 * bodies, unknown categories, negative, huge and fractional days, bad phone
 * numbers and e-mails among them) each answer a 4xx whose error names the field,
 * never a 2xx or 5xx, and every table and bucket is unchanged afterwards.
 * (test/api/privacy.test.ts adds 500 malformed privacy-request bodies and
 * Idempotency-Key headers on their own.)
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '../../shared/app/api/contract.js';
import { routeKey } from '../../shared/app/api/router.js';
import { ID_PATTERN } from '../../shared/domain/ingest/schemas.js';
import {
  apiWorld,
  customerRecords,
  daysAgo,
  dumpStores,
  ingest,
  registerTenant,
  SUPER,
  token,
  type ApiWorld,
  type Token,
} from '../support/api.js';

const RUNS = 500;
const T = 'acme';
const C = 'fuzz-cust';
const CONV = `${C}-conv`;
const HOLD = 'hold-fuzz';
/** Larger than the 6 MB the API accepts. */
const OVERSIZED = `{"x":"${'a'.repeat(6 * 1024 * 1024 + 16)}"}`;

type Json = unknown;

interface BodyCase {
  readonly body?: Json;
  readonly raw?: string;
}

interface RouteFuzz {
  /** Valid values of the path parameters (existing records, so only the broken part can fail). */
  readonly params: Readonly<Record<string, string>>;
  /** A valid body, or none for routes that take none. */
  readonly body?: Json;
  /** Bodies that are wrong whatever the path and query. */
  readonly badBodies: fc.Arbitrary<BodyCase>;
  /** Whether an unknown but well-formed id is harmless (404) — not for an upsert. */
  readonly unknownIdIsHarmless: boolean;
  readonly tokens: readonly Token[];
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const notJson = fc.string({ maxLength: 40 }).filter((s) => {
  if (s.trim() === '') return false;
  try {
    JSON.parse(s);
    return false;
  } catch {
    return true;
  }
});

/** A key no schema knows. */
const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).map((k) => `zz_${k}`);

const oversized: fc.Arbitrary<BodyCase> = fc.constant({ raw: OVERSIZED });
const garbage: fc.Arbitrary<BodyCase> = fc.oneof(notJson.map((raw) => ({ raw })), oversized);

/** Every member is a wrong value for the field (so any combination of mutations stays wrong). */
type Mutations = Readonly<Record<string, readonly Json[] | fc.Arbitrary<Json>>>;

/**
 * A valid object with one to three of its fields replaced by wrong values,
 * removed (where listed as required) or joined by an unknown field.
 */
function mutated(valid: Record<string, Json>, wrong: Mutations, required: readonly string[]): fc.Arbitrary<Json> {
  const edits = Object.entries(wrong).map(([key, values]) =>
    (Array.isArray(values) ? fc.constantFrom(...(values as Json[])) : (values as fc.Arbitrary<Json>)).map(
      (value) => (o: Record<string, Json>) => ({ ...o, [key]: value }),
    ),
  );
  const removals = required.map((key) =>
    fc.constant((o: Record<string, Json>) => {
      const { [key]: _removed, ...rest } = o;
      return rest;
    }),
  );
  const extra = fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => (o: Record<string, Json>) => ({ ...o, [k]: v }));
  return fc.array(fc.oneof(...edits, ...removals, extra), { minLength: 1, maxLength: 3 }).map((fns) => fns.reduce((o, f) => f(o), { ...valid }));
}

/** Any JSON that is not an object, for a body that must be one. */
const notAnObject = fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v));

const bodies = (objects: fc.Arbitrary<Json>): fc.Arbitrary<BodyCase> =>
  fc.oneof({ weight: 6, arbitrary: objects.map((body) => ({ body })) }, { weight: 1, arbitrary: notAnObject.map((body) => ({ body })) }, { weight: 1, arbitrary: garbage });

/** Bodies for routes that take none: anything non-empty. */
const anyBody: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((body) => ({ body })),
  garbage,
);

const badDays: readonly Json[] = [-1, -365, 1.5, 0.25, 1e9, 36_501, Number.MAX_SAFE_INTEGER, '30', true, {}, []];

function policyBodies(shorteningIsWrong: boolean): fc.Arbitrary<BodyCase> {
  const categories = fc.oneof(
    fc.constantFrom<Json>({}, [], null, 'call', 5),
    fc.constantFrom(...badDays).map((days) => ({ call: { days } })),
    fc.constantFrom(...badDays).map((days) => ({ message: { days }, call: { days: 400 } })),
    unknownKey.map((category) => ({ [category]: { days: 30 } })),
    fc.constantFrom<Json>(
      { telephone: { days: 30 } },
      { Call: { days: 30 } },
      { call: {} },
      { call: { days: 30, extra: 1 } },
      { call: 30 },
      // Valid shapes the platform refuses: above the cap, below the minimum, indefinite where not allowed.
      { inbound_media: { days: 31 } },
      { inbound_media: { days: 0 } },
      { call: { days: 3651 } },
      { call: { days: null } },
      { email_attachment: { days: 400 } },
    ),
    ...(shorteningIsWrong ? [fc.constantFrom<Json>({ conversation: { days: 1 } }, { call: { days: 10 } })] : []),
  );
  return bodies(
    mutated(
      { categories: { call: { days: 400 } } },
      {
        categories,
        acknowledgeDataLoss: ['yes', 1, null, [], {}],
        lock: ['true', 0, null, {}],
        expectedVersion: shorteningIsWrong ? [-1, 1.5, 'x', null, 999] : [-1, 1.5, 'x', null],
      },
      ['categories'],
    ),
  );
}

const badInstants: readonly Json[] = ['yesterday', '2025-13-01T00:00:00Z', '2025-01-01', '2025-01-01T00:00:00+02:00', 1_700_000_000, null];
const badIds: readonly Json[] = ['', 'has space', 'x'.repeat(129), 'semi;colon', 'slash/ed', 'ünïcode', 5, null];

function ingestBodies(): fc.Arbitrary<BodyCase> {
  const customer = { type: 'customer', id: 'new-cust', name: 'New Person', phones: ['+14155550199'], emails: ['new@example.com'], lastContactAt: daysAgo(1) };
  const conversation = { type: 'conversation', id: 'new-conv', customerId: 'new-cust', channel: 'chat', startedAt: daysAgo(1), status: 'closed' };
  const message = { type: 'message', id: 'new-msg', conversationId: 'new-conv', customerId: 'new-cust', sentAt: daysAgo(1), direction: 'inbound', text: 'hi' };
  const badCustomer = mutated(
    customer,
    {
      phones: [['12'], ['+1 555'], ['call me'], ['+999 1234'], '+14155550199', [5], ['']],
      emails: [['not-an-email'], ['a@b'], [' '], 'x@y.example', [7]],
      name: [5, '', 'x'.repeat(257)],
      lastContactAt: [...badInstants, '2099-01-01T00:00:00Z'],
      id: badIds,
      type: ['telegram', 'Customer', 5, null],
    },
    ['id', 'type', 'lastContactAt'],
  );
  const badConversation = mutated(
    conversation,
    { channel: ['fax', 'SMS', 5], status: ['pending', true], startedAt: badInstants, customerId: [...badIds, 'someone-else'] },
    ['channel', 'status', 'startedAt', 'customerId'],
  );
  const badMessage = mutated(
    message,
    { conversationId: ['nowhere', ...badIds], direction: ['sideways'], text: [5, null, 'x'.repeat(100_001)], sentAt: badInstants },
    ['conversationId', 'text', 'direction'],
  );
  const badMedia = fc.constantFrom<Json>(
    { type: 'media', id: 'new-media', conversationId: 'new-conv', customerId: 'new-cust', direction: 'inbound', contentType: 'image/png', contentBase64: 'not base64!' },
    { type: 'media', id: 'new-media', conversationId: 'new-conv', customerId: 'new-cust', direction: 'inbound', contentType: 'no slash', contentBase64: 'aGk=' },
    { type: 'recording', id: 'new-rec', callId: 'no-call', customerId: 'new-cust', contentType: 'audio/wav' },
    { type: 'webhook_delivery', id: 'w', deliveredAt: daysAgo(1), url: 'not a url', statusCode: 200 },
    { type: 'webhook_delivery', id: 'w', deliveredAt: daysAgo(1), url: 'https://x.example', statusCode: 99.5 },
    { type: 'user', id: 'u', email: 'nope', lastSignInAt: daysAgo(1), hasAccountAccess: true },
  );
  // A body with one bad record among valid ones (in any position): all or nothing.
  const withBadRecord = fc
    .tuple(fc.oneof(badCustomer, badConversation, badMessage, badMedia), fc.nat(3))
    .map(([bad, at]) => {
      const records: Json[] = [customer, conversation, message];
      records.splice(at, 0, bad);
      return { records };
    });
  const envelope = mutated(
    { records: [customer] },
    {
      records: fc.oneof(
        fc.constantFrom<Json>([], 'customer', null, {}, [null], [5], [[]]),
        fc.constant(Array.from({ length: 501 }, (_, i) => ({ ...customer, id: `bulk-${i}` }))),
        fc.constant([customer, customer]),
      ),
    },
    ['records'],
  );
  return bodies(fc.oneof({ weight: 3, arbitrary: withBadRecord }, { weight: 1, arbitrary: envelope }));
}

function holdBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { scope: { customerId: C }, reason: 'litigation' },
      {
        scope: fc.oneof(
          fc.constantFrom<Json>(null, [], 'tenant', 5),
          fc.constantFrom(...badIds).map((customerId) => ({ customerId })),
          fc.constantFrom(...badIds).map((conversationId) => ({ conversationId })),
          fc.constantFrom<Json>({ category: 'nope' }, { category: 'Call' }, { category: 5 }, { customer: C }),
          unknownKey.map((k) => ({ [k]: 'x' })),
        ),
        reason: ['', '   ', 'x'.repeat(1001), 5, null],
        expiresAt: [...badInstants, '2020-01-01T00:00:00Z', '2025-06-01T12:00:00Z'],
      },
      ['scope', 'reason'],
    ),
  );
}

function tenantBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { name: 'Acme', adminEmails: ['admin@acme.example'] },
      {
        name: ['', '   ', 'x'.repeat(257), 5, null],
        adminEmails: [[], ['not-an-email'], ['a@b'], 'admin@acme.example', [5], Array.from({ length: 21 }, (_, i) => `a${i}@acme.example`)],
        contractEndsAt: badInstants,
        thirdPartyEndpoints: [
          'x',
          [{}],
          [{ name: 'p', deleteUrl: 'ftp://p.example/{ref}' }],
          [{ name: 'p', deleteUrl: 'https://p.example/calls' }],
          [{ name: '', deleteUrl: 'https://p.example/{ref}' }],
          Array.from({ length: 11 }, (_, i) => ({ name: `p${i}`, deleteUrl: 'https://p.example/{ref}' })),
        ],
      },
      ['name', 'adminEmails'],
    ),
  );
}

function privacyBodies(): fc.Arbitrary<BodyCase> {
  const badPhones: readonly Json[] = ['12', 'call me', '+999 1234', '+1 555', '', 'x'.repeat(41), 5, null];
  const badEmails: readonly Json[] = ['not-an-email', 'a@b', '  ', 'x@y', 'two@@at.example', 7, null];
  const badNames: readonly Json[] = ['', '   ', 'x'.repeat(201), 5, null];
  return bodies(
    mutated(
      { kind: 'erasure', subject: { customerId: C } },
      {
        kind: ['delete', 'Erasure', 'export', '', 5, null],
        subject: fc.oneof(
          fc.constantFrom<Json>(null, [], C, 5, {}, { customerId: C, phone: '+14155550100' }, { email: 'fuzzy@example.com', name: 'Fuzzy Person' }),
          fc.constantFrom(...badIds).map((customerId) => ({ customerId })),
          fc.constantFrom(...badPhones).map((phone) => ({ phone })),
          fc.constantFrom(...badEmails).map((email) => ({ email })),
          fc.constantFrom(...badNames).map((name) => ({ name })),
          unknownKey.map((k) => ({ [k]: 'x' })),
        ),
        // Each wrong on its own, so removing the subject never leaves a valid bulk filter.
        filter: ['x', 5, null, {}, { channel: 'fax' }, { botId: 'has space' }, { firstContactFrom: 'yesterday' }, { firstContactTo: '2025-01-01' }, { botId: 'b', extra: 1 }],
        force: ['yes', 1, null, {}],
        notify: [{ email: 'nope' }, 'a@b.example', { email: 5 }, {}, { email: 'a@b.example', cc: 'x' }, null],
      },
      ['kind', 'subject'],
    ),
  );
}

function anonymizeBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { type: 'message', id: `${CONV}-m1`, conversationId: CONV },
      {
        type: ['sms', 'Call', 'conversation', '', 5, null],
        id: badIds,
        conversationId: badIds,
        customerId: badIds,
      },
      ['type', 'id', 'conversationId'],
    ),
  );
}

function adminLogDeleteBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { actor: 'nobody' },
      {
        actor: ['', 5, null, [], 'x'.repeat(257)],
        from: badInstants,
        to: badInstants,
        ids: [[], 'log-1', [5], ['has space'], [null], Array.from({ length: 1001 }, (_, i) => `log-${i}`)],
      },
      ['actor'],
    ),
  );
}

function accountExportBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { categories: ['message'] },
      {
        categories: [[], 'message', ['messages'], [5], [null], {}, null, Array.from({ length: 19 }, () => 'message')],
        from: badInstants,
        to: badInstants,
        subject: [{ customerId: C }, 'x'],
      },
      [],
    ),
  );
}

function previewBodies(): fc.Arbitrary<BodyCase> {
  return bodies(
    mutated(
      { kind: 'erasure', filter: { botId: 'bot-1' } },
      {
        kind: ['access', 'anonymization', 'Erasure', '', 5, null],
        filter: ['x', 5, null, {}, { channel: 'fax' }, { botId: 'has space' }, { firstContactFrom: 'yesterday' }, { firstContactTo: '2025-01-01' }, { botId: 'b', extra: 1 }],
        subject: [{ customerId: C }, { phone: '+14155550100' }, null, 'x'],
        force: ['yes', 1, null, {}],
        notify: [{ email: 'nope' }, 'a@b.example', { email: 5 }, {}, null],
      },
      ['kind', 'filter'],
    ),
  );
}

const runBodies: fc.Arbitrary<BodyCase> = bodies(
  mutated({ dryRun: true }, { dryRun: ['yes', 1, null, [], {}] }, []),
);

const COMPLIANCE = token('ComplianceAdministrator', T);
const SERVICE = token('Service', T, 'platform-backend');

const FUZZ: Readonly<Record<string, RouteFuzz>> = {
  'PUT /v1/tenants/{t}': { params: { t: T }, body: { name: 'Acme', adminEmails: ['a@acme.example'] }, badBodies: tenantBodies(), unknownIdIsHarmless: false, tokens: [SUPER] },
  'PUT /v1/tenants/{t}/retention-policy': { params: { t: T }, body: { categories: { call: { days: 400 } } }, badBodies: policyBodies(true), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/retention-policy/preview': { params: { t: T }, body: { categories: { call: { days: 30 } } }, badBodies: policyBodies(false), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/legal-holds': { params: { t: T }, body: { scope: { customerId: C }, reason: 'x' }, badBodies: holdBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/legal-holds/{holdId}': { params: { t: T, holdId: HOLD }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/customers/{id}': { params: { t: T, id: C }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/conversations/{id}': { params: { t: T, id: CONV }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/conversations/{id}/messages/{msgId}': { params: { t: T, id: CONV, msgId: `${CONV}-m1` }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/calls/{id}/recording': { params: { t: T, id: `${C}-call` }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/records': { params: { t: T }, body: { records: [{ type: 'customer', id: 'x', lastContactAt: daysAgo(1) }] }, badBodies: ingestBodies(), unknownIdIsHarmless: true, tokens: [SUPER, token('Administrator', T)] },
  'POST /v1/tenants/{t}/deletion-runs': { params: { t: T }, body: { dryRun: true }, badBodies: runBodies, unknownIdIsHarmless: true, tokens: [SUPER, token('Administrator', T)] },
  'POST /v1/tenants/{t}/privacy-requests': { params: { t: T }, body: { kind: 'erasure', subject: { customerId: C } }, badBodies: privacyBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'DELETE /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}': { params: { t: T, id: CONV, attachmentId: `${CONV}-att` }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/calls/{id}/anonymize': { params: { t: T, id: `${C}-call` }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/communication-records/anonymize': { params: { t: T }, body: { type: 'message', id: `${CONV}-m1`, conversationId: CONV }, badBodies: anonymizeBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/admin-activity-logs/delete': { params: { t: T }, body: { actor: 'nobody' }, badBodies: adminLogDeleteBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/privacy-requests/preview': { params: { t: T }, body: { kind: 'erasure', filter: { botId: 'bot-1' } }, badBodies: previewBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'POST /v1/tenants/{t}/exports': { params: { t: T }, body: { categories: ['message'] }, badBodies: accountExportBodies(), unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  // A platform service's ingest (issue 13): the same body, its own token.
  'POST /v1/service/tenants/{t}/records': { params: { t: T }, body: { records: [{ type: 'customer', id: 'x', lastContactAt: daysAgo(1) }] }, badBodies: ingestBodies(), unknownIdIsHarmless: true, tokens: [SERVICE] },
};

/** A path segment that is not a valid id (raw, or percent-encoded so it stays one segment). */
const badSegment = fc.oneof(
  fc.constantFrom('', 'has space', 'x'.repeat(129), 'a;b', '..', 'ünï', '%zz', '%2F', 'a%20b'),
  fc.string({ maxLength: 140 }).filter((s) => !ID_PATTERN.test(s)).map(encodeURIComponent),
  fc.string({ maxLength: 20 }).filter((s) => !ID_PATTERN.test(s)),
);
/** A well-formed id nobody uses. */
const unknownId = fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `unknown-${s}`);

const badQuery = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 30 }), { minKeys: 1, maxKeys: 3 });

function requestArb(route: RouteSpec, fuzz: RouteFuzz) {
  const names = Object.keys(fuzz.params);
  const pathBreak = fc.record({
    name: fc.constantFrom(...names),
    value: fuzz.unknownIdIsHarmless ? fc.oneof(badSegment, unknownId) : badSegment,
  });
  const none = fc.constant(undefined);
  // Mostly one broken part at a time, so each reaches the check that owns it; sometimes several.
  const breaks = fc.oneof(
    { weight: 5, arbitrary: fc.record({ body: fuzz.badBodies, path: none, query: none }) },
    { weight: 2, arbitrary: fc.record({ body: none, path: pathBreak, query: none }) },
    { weight: 1, arbitrary: fc.record({ body: none, path: none, query: badQuery }) },
    {
      weight: 1,
      arbitrary: fc
        .record({
          body: fc.option(fuzz.badBodies, { nil: undefined }),
          path: fc.option(pathBreak, { nil: undefined }),
          query: fc.option(badQuery, { nil: undefined }),
        })
        .filter((c) => c.body !== undefined || c.path !== undefined || c.query !== undefined),
    },
  );
  return fc
    .tuple(breaks, fc.constantFrom(...fuzz.tokens))
    .map(([c, token]) => ({ ...c, token }))
    .map((c) => {
      const params = { ...fuzz.params, ...(c.path !== undefined && { [c.path.name]: c.path.value }) };
      const path = route.path.replace(/\{(\w+)\}/gu, (_, name: string) => params[name] as string);
      const body: BodyCase = c.body ?? (fuzz.body === undefined ? {} : { body: fuzz.body });
      return {
        method: route.method,
        path,
        ...(c.query !== undefined && { query: c.query }),
        ...(body.raw !== undefined ? { raw: body.raw } : body.body !== undefined ? { body: body.body } : {}),
        token: c.token,
      };
    });
}

let w: ApiWorld;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  await ingest(w, T, customerRecords({ id: C, name: 'Fuzzy Person', phone: '+14155550100', email: 'fuzzy@example.com', secret: 'fz', age: 10 }));
  await w.stores.control.putHold({ tenantId: T, holdId: HOLD, scope: { category: 'user' }, reason: 'fuzz', createdAt: daysAgo(1), createdBy: 'x' });
});

const MUTATING = ROUTES.filter((r) => r.method !== 'GET');

/** Read routes added with issue 11, fuzzed the same way (any body, a bad query or path). */
const READS: Readonly<Record<string, RouteFuzz>> = {
  'GET /v1/tenants/{t}/admin-activity-logs': { params: { t: T }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  'GET /v1/tenants/{t}/exports/{id}': { params: { t: T, id: 'no-such-export' }, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] },
  // The reads of issue 13, for admins and, under /v1/service/, for a platform service.
  ...Object.fromEntries(
    (
      [
        ['/customers/{id}', { t: T, id: C }],
        ['/customers/{id}/timeline', { t: T, id: C }],
        ['/conversations/{id}', { t: T, id: CONV }],
        ['/conversations/{id}/attachments/{attachmentId}', { t: T, id: CONV, attachmentId: `${CONV}-att` }],
        ['/calls/{id}', { t: T, id: `${C}-call` }],
      ] as const
    ).flatMap(([path, params]) => [
      [`GET /v1/tenants/{t}${path}`, { params, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SUPER, COMPLIANCE] }],
      [`GET /v1/service/tenants/{t}${path}`, { params, badBodies: anyBody, unknownIdIsHarmless: true, tokens: [SERVICE] }],
    ]),
  ),
};

describe('malformed requests to mutating routes', () => {
  it('covers every mutating route', () => {
    expect(Object.keys(FUZZ).sort()).toEqual(MUTATING.map(routeKey).sort());
  });

  it.each([...MUTATING, ...ROUTES.filter((r) => READS[routeKey(r)] !== undefined)].map((r) => [routeKey(r), r] as const))('%s answers 4xx naming the field and changes nothing', async (key, route) => {
    const fuzz = (FUZZ[key] ?? READS[key]) as RouteFuzz;
    const before = await dumpStores(w.stores);
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(requestArb(route, fuzz), async (request) => {
        const answer = await w.call(request);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, answer.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
        expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
        const error = answer.body?.error as { field?: unknown; message?: unknown } | undefined;
        expect(typeof error?.field, answer.text.slice(0, 300)).toBe('string');
        expect((error?.field as string).length).toBeGreaterThan(0);
        expect(error?.message as string, answer.text.slice(0, 300)).toContain(error?.field as string);
      }),
      { numRuns: RUNS },
    );

    expect(await dumpStores(w.stores)).toBe(before);
    // Most cases must reach the validation that owns them, not stop at a 404 or 413.
    expect(statuses.get(400) ?? 0, JSON.stringify(Object.fromEntries(statuses))).toBeGreaterThan(RUNS / 2);
  });
});
