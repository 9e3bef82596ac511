/**
 * The `call-tracking` profile, walked through its platform's data retention
 * policy (seeds/003) as the account's administrator would, through the admin
 * API on the emulators, with every scheduled sweep run by the rendered
 * `Sweep` state machine. Communication records (calls, call and voicemail
 * recordings, texts, chat logs, form submissions, web sessions) go 25 months
 * after they happened; they can be deleted sooner, never kept longer, and no
 * legal hold keeps them past that. Customer data (consumer contact data,
 * tracking numbers, call flows, greetings) stays while the account is active.
 * One communication record, or everything about one consumer, can be
 * anonymised. A user goes once she has no access to the account and has not
 * signed in for 13 months, whichever comes last.
 *
 * Each statement has its own tenant; the clock stands still (API_NOW) and the
 * data is placed in the past at ingest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { API_NOW, registerTenant, type ApiWorld } from '../support/api.js';
import {
  as,
  blob,
  DAY,
  expectGone,
  ingestAs,
  keyOf,
  ofCustomer,
  providerDeletes,
  scenarioWorld,
  scheduledSweep,
  snapshot,
  tenantCall,
  under,
} from './support.js';

const TENANTS = ['ct-records', 'ct-bounds', 'ct-hold', 'ct-anon', 'ct-users'] as const;
type T = (typeof TENANTS)[number] | 'ct-closed';

let w: ApiWorld;

beforeAll(async () => {
  w = await scenarioWorld('call-tracking', TENANTS);
  await registerTenant(w, 'ct-closed', { contractEndsAt: at(1) });
});

const admin = (t: T) => as('Administrator', t);
const compliance = (t: T) => as('ComplianceAdministrator', t);
function at(days: number, plusMinutes = 0): string {
  return new Date(API_NOW.getTime() - days * DAY + plusMinutes * 60_000).toISOString();
}

/** 25 months, in days (the profile's 761). */
const CAP = 761;

/**
 * A consumer who reached the account `days` ago (and not since): a call with
 * its recording and provider copy, a voicemail, a text thread, a chat with its
 * log, a form submission and a web session.
 */
function consumer(id: string, phone: string, days: number): IngestRecordInput[] {
  return [
    { type: 'customer', id, name: `Consumer ${id}`, phones: [phone], emails: [`${id}@consumers.example`], lastContactAt: at(days, 30) },
    { type: 'call', id: `${id}-call`, customerId: id, startedAt: at(days), durationSeconds: 125, thirdPartyRef: `tp-${id}` },
    { type: 'recording', id: `${id}-rec`, callId: `${id}-call`, customerId: id, contentType: 'audio/mpeg', contentBase64: blob(`call with ${id}`) },
    { type: 'call', id: `${id}-vm`, customerId: id, startedAt: at(days, 5), durationSeconds: 40 },
    { type: 'recording', id: `${id}-vm-rec`, callId: `${id}-vm`, customerId: id, contentType: 'audio/mpeg', contentBase64: blob(`voicemail of ${id}`) },
    { type: 'conversation', id: `${id}-sms`, customerId: id, channel: 'sms', startedAt: at(days, 10), status: 'closed' },
    { type: 'message', id: `${id}-sms-1`, conversationId: `${id}-sms`, customerId: id, sentAt: at(days, 10), direction: 'inbound', text: `text from ${id}` },
    { type: 'conversation', id: `${id}-chat`, customerId: id, channel: 'chat', startedAt: at(days, 20), status: 'closed' },
    { type: 'communication_log', id: `${id}-chat-log`, conversationId: `${id}-chat`, customerId: id, loggedAt: at(days, 21), text: `chat log of ${id}` },
    { type: 'form_submission', id: `${id}-form`, customerId: id, submittedAt: at(days, 25), formName: 'Quote', fields: { email: `${id}@consumers.example`, message: `call me, ${id}` } },
    { type: 'web_session', id: `${id}-web`, customerId: id, startedAt: at(days, 24), landingPage: 'https://shop.example/?gclid=abc', pageCount: 3 },
  ];
}

/** Account-level customer data, `days` old: a tracking number and greeting setting, a call flow. */
const accountConfig = (days: number): IngestRecordInput[] => [
  { type: 'account_config', id: 'tracking-number-1', kind: 'setting', updatedAt: at(days) },
  { type: 'account_config', id: 'greeting-1', kind: 'setting', updatedAt: at(days) },
  { type: 'account_config', id: 'call-flow-1', kind: 'routing', updatedAt: at(days) },
];

/** Everything of a consumer but her contact data (profile and identifiers). */
const communicationsOf = (id: string) => (i: RecordItem) => ofCustomer(id)(i) && i.category !== 'customer_profile';

const putSetting = (t: T, days: number | null, acknowledgeDataLoss = false) =>
  tenantCall(w, t, admin(t), 'PUT', '/retention-policy', {
    body: { settings: { communication_records: { days } }, ...(acknowledgeDataLoss && { acknowledgeDataLoss }) },
  });

const sweep = (t: T) => scheduledSweep(w, { tenantIds: [t] });

describe('communication records', () => {
  beforeAll(async () => {
    await ingestAs(w, 'ct-records', [
      ...consumer('thirty-months', '+14155550101', 913),
      ...consumer('past-cap', '+14155550102', CAP + 9),
      ...consumer('inside-cap', '+14155550103', CAP - 21),
      ...consumer('this-week', '+14155550104', 2),
      ...accountConfig(5 * 365),
    ]);
  });

  it('are deleted 25 months after they happened: calls, recordings, voicemails, texts, chat logs, form submissions and web sessions', async () => {
    const before = await snapshot(w, 'ct-records');

    await sweep('ct-records');

    const gone = expectGone(before, await snapshot(w, 'ct-records'), (i) => communicationsOf('thirty-months')(i) || communicationsOf('past-cap')(i));
    expect(new Set(gone.map((i) => i.category))).toEqual(
      new Set(['call', 'call_recording', 'third_party_call_data', 'conversation', 'message', 'communication_log', 'form_submission', 'web_session']),
    );
    expect(providerDeletes(w, 'ct-records').sort()).toEqual(['tp-past-cap', 'tp-thirty-months']);
  });

  it('leave the consumer\'s contact data, kept while the account is active: a consumer whose calls were 30 months ago is still found by phone', async () => {
    const found = await tenantCall(w, 'ct-records', admin('ct-records'), 'GET', '/customers', { query: { phone: '+1 415 555 0101' } });
    const exported = await tenantCall(w, 'ct-records', compliance('ct-records'), 'GET', '/customers/thirty-months/export');

    expect(found.status, found.text).toBe(200);
    expect(found.body.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['thirty-months']);
    const document = s.exportResponse.parse(exported.body);
    expect(document.customer).toMatchObject({ name: 'Consumer thirty-months', phones: ['+14155550101'] });
    expect([document.calls, document.conversations, document.formSubmissions, document.webSessions]).toEqual([[], [], [], []]);
  });

  it('cannot be kept longer than 25 months: a longer or indefinite setting is a 400 naming it', async () => {
    const policy = await tenantCall(w, 'ct-bounds', admin('ct-bounds'), 'GET', '/retention-policy');
    const longer = await putSetting('ct-bounds', CAP + 1);
    const forever = await putSetting('ct-bounds', null);

    expect(policy.body.settings.communication_records).toMatchObject({ days: CAP, max: CAP, extendable: false, indefiniteAllowed: false });
    for (const answer of [longer, forever]) {
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body.error)).toContain('settings.communication_records.days');
    }
    // Consumer contact data has no period: it lives as long as the account.
    const profiles = await tenantCall(w, 'ct-bounds', admin('ct-bounds'), 'PUT', '/retention-policy', { body: { categories: { customer_profile: { days: 30 } }, acknowledgeDataLoss: true } });
    expect(profiles.status).toBe(400);
  });

  it('can be deleted sooner: at a shorter setting the next sweep deletes what is past it', async () => {
    await ingestAs(w, 'ct-bounds', [...consumer('year-ago', '+14155550201', 400), ...consumer('months-ago', '+14155550202', 300)]);
    expect((await putSetting('ct-bounds', 365, true)).status).toBe(200);
    const before = await snapshot(w, 'ct-bounds');

    await sweep('ct-bounds');

    expectGone(before, await snapshot(w, 'ct-bounds'), communicationsOf('year-ago'));
  });
});

describe('legal holds', () => {
  it('cannot keep a 26-month-old call: the hold says it covers only data inside 25 months, and the sweep deletes the call', async () => {
    await ingestAs(w, 'ct-hold', [
      ...consumer('litigant', '+14155550301', 790),
      { type: 'call', id: 'litigant-recent', customerId: 'litigant', startedAt: at(400), durationSeconds: 60, thirdPartyRef: 'tp-litigant-recent' },
      ...consumer('bystander', '+14155550302', 400),
    ]);
    const hold = await tenantCall(w, 'ct-hold', compliance('ct-hold'), 'POST', '/legal-holds', { body: { scope: { customerId: 'litigant' }, reason: 'case 2025-17' } });
    // A shorter setting, so that the hold has something inside the cap to keep.
    expect((await putSetting('ct-hold', 365, true)).status).toBe(200);
    const before = await snapshot(w, 'ct-hold');

    const receipt = await (await sweep('ct-hold'))('ct-hold');

    expect(hold.status, hold.text).toBe(201);
    expect(hold.body.coversOnlyInsideCapDays).toBe(CAP);
    // Past the cap, the hold does not keep her records; inside it, it keeps her 400-day-old call the setting would delete.
    expectGone(before, await snapshot(w, 'ct-hold'), (i) => (communicationsOf('litigant')(i) && !under('CALL#litigant-recent')(i)) || communicationsOf('bystander')(i));
    expect(receipt.categories.call?.deletedReasons?.cap_over_hold).toBe(2);
    expect(receipt.categories.call?.held).toBe(1);
    expect(providerDeletes(w, 'ct-hold').sort()).toEqual(['tp-bystander', 'tp-litigant']);
  });
});

describe('anonymisation', () => {
  beforeAll(async () => {
    await ingestAs(w, 'ct-anon', [
      ...consumer('caller', '+14155550401', 20),
      ...consumer('whole', '+14155550402', 20),
      ...consumer('deleted', '+14155550403', 20),
    ]);
  });

  it('keeps an anonymised call\'s record and loses its recording and provider copy, the rest of the consumer untouched', async () => {
    const before = await snapshot(w, 'ct-anon');
    const recording = before.items.find((i) => i.id === 'caller-rec') as RecordItem;

    const answer = await tenantCall(w, 'ct-anon', admin('ct-anon'), 'POST', '/calls/caller-call/anonymize');

    expect(answer.status, answer.text).toBe(200);
    const after = await snapshot(w, 'ct-anon');
    expectGone(before, after, () => false, { blobGone: (i) => i.sk === recording.sk });
    const now = (sk: string) => after.items.find((i) => i.pk === recording.pk && i.sk === sk);
    expect(now('CALL#caller-call')?.data).toEqual(before.items.find((i) => i.sk === 'CALL#caller-call')?.data);
    expect(now(recording.sk)?.blobKey).toBeUndefined();
    expect(after.blobs.has(recording.blobKey as string)).toBe(false);
    expect(now('CALL#caller-call#TPD')?.externalRef).toBeUndefined();
    expect(providerDeletes(w, 'ct-anon')).toEqual(['tp-caller']);
    const touched = new Set(['CALL#caller-call', 'CALL#caller-call#TPD', recording.sk]);
    const changed = before.items.filter((i) => JSON.stringify(i) !== JSON.stringify(after.items.find((a) => keyOf(a) === keyOf(i))));
    expect(changed.map((i) => i.sk).filter((sk) => !touched.has(sk))).toEqual([]);
  });

  it('anonymises one text and one form submission, keeping their records', async () => {
    const before = await snapshot(w, 'ct-anon');
    const anonymize = (body: unknown) => tenantCall(w, 'ct-anon', admin('ct-anon'), 'POST', '/communication-records/anonymize', { body });

    const text = await anonymize({ type: 'message', id: 'caller-sms-1', conversationId: 'caller-sms' });
    const form = await anonymize({ type: 'form_submission', id: 'caller-form', customerId: 'caller' });

    expect([text.status, form.status]).toEqual([200, 200]);
    const after = await snapshot(w, 'ct-anon');
    expectGone(before, after, () => false);
    const stored = JSON.stringify(after.items.filter((i) => i.id === 'caller-sms-1' || i.id === 'caller-form'));
    expect(stored).not.toMatch(/text from caller|call me, caller|caller@consumers/u);
  });

  it('anonymises everything about one consumer on request, keeping her records for counts', async () => {
    const before = await snapshot(w, 'ct-anon');

    const filed = await tenantCall(w, 'ct-anon', compliance('ct-anon'), 'POST', '/privacy-requests', { body: { kind: 'anonymization', subject: { phone: '+14155550402' } } });

    expect(filed.status, filed.text).toBe(202);
    const request = await tenantCall(w, 'ct-anon', compliance('ct-anon'), 'GET', `/privacy-requests/${filed.body.requestId}`);
    expect(request.body.status).toBe('completed');
    const after = await snapshot(w, 'ct-anon');
    const records = (snap: typeof before) => snap.items.filter((i) => ofCustomer('whole')(i) && !i.sk.startsWith('ID#')).map(keyOf).sort();
    expect(records(after)).toEqual(records(before));
    expect(JSON.stringify(after.items.filter(ofCustomer('whole')))).not.toMatch(/Consumer whole|whole@consumers|5550402|text from whole|chat log of whole/u);
    expectGone(before, after, (i) => ofCustomer('whole')(i) && i.sk.startsWith('ID#'), {
      what: 'identifiers',
      blobGone: ofCustomer('whole'),
    });
  });
});

describe('deletion on request', () => {
  it('deletes a consumer entirely, her communication records and contact data alike, and no one else', async () => {
    const before = await snapshot(w, 'ct-anon');

    const answer = await tenantCall(w, 'ct-anon', admin('ct-anon'), 'DELETE', '/customers/deleted');
    await w.deletionWork.idle();

    expect([200, 202], answer.text).toContain(answer.status);
    expectGone(before, await snapshot(w, 'ct-anon'), ofCustomer('deleted'));
    expect(providerDeletes(w, 'ct-anon')).toContain('tp-deleted');
  });
});

describe('customer data and users', () => {
  it('keeps a user until she has no access and 13 months without sign-in, whichever comes last', async () => {
    await ingestAs(w, 'ct-users', [
      { type: 'user', id: 'still-invited', email: 'invited@agency.example', lastSignInAt: at(500), hasAccountAccess: true },
      { type: 'user', id: 'removed-lately', email: 'lately@agency.example', lastSignInAt: at(100), hasAccountAccess: false },
      { type: 'user', id: 'removed-long-ago', email: 'long-ago@agency.example', lastSignInAt: at(400), hasAccountAccess: false },
      ...consumer('active-account', '+14155550501', 1),
    ]);
    const before = await snapshot(w, 'ct-users');

    await sweep('ct-users');

    expectGone(before, await snapshot(w, 'ct-users'), (i) => i.id === 'removed-long-ago');
  });

  it('keeps tracking numbers, call flows and greetings at any age while the account is active, and deletes them with the consumers once it is not', async () => {
    await ingestAs(w, 'ct-closed', [...accountConfig(5 * 365), ...consumer('last-caller', '+14155550601', 3)]);
    const activeBefore = await snapshot(w, 'ct-records');
    const closedBefore = await snapshot(w, 'ct-closed');

    await sweep('ct-records');
    const receipt = await (await sweep('ct-closed'))('ct-closed');

    expectGone(activeBefore, await snapshot(w, 'ct-records'), () => false, { what: 'active account' });
    expectGone(closedBefore, await snapshot(w, 'ct-closed'), () => true, { what: 'closed account' });
    expect(receipt.reason).toBe('contract_ended');
  });
});
