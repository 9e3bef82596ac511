/**
 * The `support-desk` profile, walked through its platform's customer data
 * retention page (seeds/004) as a Compliance Administrator would, through the
 * admin API on the emulators, with every scheduled sweep run by the rendered
 * `Sweep` state machine. By default every customer's data is kept and nothing
 * is deleted automatically; a custom setting of at least 365 days, confirmed
 * each time, deletes a customer with everything of hers once her last contact
 * (apps' activity aside) is that old, and nothing of a customer contacted
 * since; a customer, one message (a tombstone stays), an e-mail thread, one
 * attachment or a call's recording can be deleted by hand, never a customer
 * with an open conversation; the export carries her name, contact
 * information, address and custom attributes, and the lookup finds her by
 * the page's example phone number. Compliance Administrators alone configure,
 * delete and export.
 *
 * Each statement has its own tenant; the clock stands still (API_NOW) and the
 * data is placed in the past at ingest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { TOMBSTONE } from '../../shared/domain/export.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { API_NOW, type ApiWorld } from '../support/api.js';
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

const TENANTS = ['sd-roles', 'sd-default', 'sd-custom', 'sd-apps', 'sd-delete', 'sd-items', 'sd-export'] as const;
type T = (typeof TENANTS)[number];

let w: ApiWorld;

beforeAll(async () => {
  w = await scenarioWorld('support-desk', TENANTS);
});

const compliance = (t: T) => as('ComplianceAdministrator', t);
const admin = (t: T) => as('Administrator', t);
const at = (days: number, plusMinutes = 0) => new Date(API_NOW.getTime() - days * DAY + plusMinutes * 60_000).toISOString();

interface CustomerOptions {
  /** Days since her last contact as the platform reports it. */
  readonly lastContact: number;
  /** Days since her conversations and call (default: her last contact). */
  readonly items?: number;
  readonly open?: boolean;
  readonly phone?: string;
}

/** A distinct, valid-looking number per customer id. */
const phoneOf = (id: string) => `+1415555${String(1000 + ([...id].reduce((n, c) => n * 31 + c.charCodeAt(0), 7) % 9000))}`;

/**
 * A customer with an e-mail thread (two messages, an attachment, an inline
 * image), a chat, and a call with its recording and provider copy.
 */
function customer(id: string, o: CustomerOptions): IngestRecordInput[] {
  const days = o.items ?? o.lastContact;
  const mail = `${id}-mail`;
  const chat = `${id}-chat`;
  return [
    {
      type: 'customer',
      id,
      name: `Martha ${id}`,
      phones: [o.phone ?? phoneOf(id)],
      emails: [`${id}@customers.example`],
      lastContactAt: at(o.lastContact),
      address: { lines: ['1 Harbour Street'], city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' },
      customAttributes: { plan: 'gold', orders: 12, vip: true },
    },
    { type: 'conversation', id: mail, customerId: id, channel: 'email', startedAt: at(days), status: o.open ? 'open' : 'closed' },
    { type: 'message', id: `${mail}-m1`, conversationId: mail, customerId: id, sentAt: at(days, 1), direction: 'inbound', text: `my card is 4111 for ${id}` },
    { type: 'message', id: `${mail}-m2`, conversationId: mail, customerId: id, sentAt: at(days, 2), direction: 'outbound', text: 'thanks, noted' },
    { type: 'email_attachment', id: `${mail}-att`, conversationId: mail, customerId: id, sentAt: at(days, 1), contentType: 'application/pdf', contentBase64: blob(`invoice of ${id}`), messageId: `${mail}-m1` },
    { type: 'media', id: `${mail}-img`, conversationId: mail, customerId: id, direction: 'inbound', contentType: 'image/png', contentBase64: blob(`inline image of ${id}`), sentAt: at(days, 1), messageId: `${mail}-m1` },
    { type: 'conversation', id: chat, customerId: id, channel: 'chat', startedAt: at(days, 10), status: 'closed' },
    { type: 'message', id: `${chat}-m1`, conversationId: chat, customerId: id, sentAt: at(days, 11), direction: 'inbound', text: `chat from ${id}` },
    { type: 'call', id: `${id}-call`, customerId: id, startedAt: at(days, 20), durationSeconds: 300, thirdPartyRef: `tp-${id}` },
    { type: 'recording', id: `${id}-rec`, callId: `${id}-call`, customerId: id, contentType: 'audio/wav', contentBase64: blob(`voice of ${id}`) },
  ];
}

/** Data of the account outside customers, `days` old. */
const accountData = (days: number): IngestRecordInput[] => [
  { type: 'webhook_delivery', id: `hook-${days}`, deliveredAt: at(days), url: 'https://hooks.example/desk', statusCode: 200 },
  { type: 'user', id: `agent-${days}`, email: `agent-${days}@desk.example`, lastSignInAt: at(days), hasAccountAccess: false },
  { type: 'admin_activity_log', id: `log-${days}`, occurredAt: at(days), actor: 'lead@desk.example', action: 'settings.changed' },
  { type: 'account_config', id: `queue-${days}`, kind: 'queue', updatedAt: at(days) },
];

/** Saves the customer data setting; the confirmation is given unless `confirmed` is 'omitted'. */
const putSetting = (t: T, days: number | null, who = compliance(t), confirmed: 'given' | 'omitted' = 'given') =>
  tenantCall(w, t, who, 'PUT', '/retention-policy', {
    body: { settings: { customer_data: { days } }, ...(confirmed === 'given' && { acknowledgeDataLoss: true }) },
  });

const sweep = (t: T) => scheduledSweep(w, { tenantIds: [t] });

describe('the required role: Compliance Administrator', () => {
  it('answers an Administrator\'s PUT of the setting with 403 and a Compliance Administrator\'s with 200', async () => {
    const byAdmin = await putSetting('sd-roles', 400, admin('sd-roles'));
    const byCompliance = await putSetting('sd-roles', 400);

    expect(byAdmin.status).toBe(403);
    expect(byCompliance.status, byCompliance.text).toBe(200);
    expect(byCompliance.body.settings.customer_data).toMatchObject({ days: 400, source: 'tenant' });
  });

  it('keeps the settings, customer deletion and export from Administrators (403)', async () => {
    await ingestAs(w, 'sd-roles', customer('guarded', { lastContact: 5 }));
    const before = await snapshot(w, 'sd-roles');

    const read = await tenantCall(w, 'sd-roles', admin('sd-roles'), 'GET', '/retention-policy');
    const remove = await tenantCall(w, 'sd-roles', admin('sd-roles'), 'DELETE', '/customers/guarded');
    const exported = await tenantCall(w, 'sd-roles', admin('sd-roles'), 'GET', '/customers/guarded/export');

    expect([read.status, remove.status, exported.status]).toEqual([403, 403, 403]);
    expectGone(before, await snapshot(w, 'sd-roles'), () => false);
  });
});

describe('the platform-level setting', () => {
  it('by default keeps all customer data: a sweep over 4-year-old data deletes nothing', async () => {
    await ingestAs(w, 'sd-default', [...customer('old-timer', { lastContact: 4 * 365 }), ...accountData(4 * 365)]);
    const policy = await tenantCall(w, 'sd-default', compliance('sd-default'), 'GET', '/retention-policy');
    const before = await snapshot(w, 'sd-default');

    const receipt = await (await sweep('sd-default'))('sd-default');

    expect(policy.body.settings.customer_data).toMatchObject({ days: null, source: 'default', clock: 'subject' });
    expectGone(before, await snapshot(w, 'sd-default'), () => false);
    expect(providerDeletes(w, 'sd-default')).toEqual([]);
    expect(receipt.status).toBe('completed');
  });

  it('takes a custom number of days of at least 365, only once the loss is confirmed, every time', async () => {
    const tooShort = await putSetting('sd-custom', 364);
    const unconfirmed = await putSetting('sd-custom', 365, compliance('sd-custom'), 'omitted');
    const policy = await tenantCall(w, 'sd-custom', compliance('sd-custom'), 'GET', '/retention-policy');
    // Once custom, a longer period (which deletes less) still needs the confirmation, and so does going back to the default.
    expect((await putSetting('sd-roles', 500, compliance('sd-roles'), 'omitted')).status).toBe(400);
    expect((await putSetting('sd-roles', null, compliance('sd-roles'), 'omitted')).status).toBe(400);

    expect(tooShort.status).toBe(400);
    expect(JSON.stringify(tooShort.body.error)).toContain('settings.customer_data.days');
    expect(unconfirmed.status).toBe(400);
    expect(JSON.stringify(unconfirmed.body.error)).toContain('acknowledgeDataLoss');
    expect(policy.body.version).toBe(0);
  });

  it('at 365 days deletes a customer silent for 400 days whole, and keeps everything of one contacted 100 days ago, her 500-day-old items too', async () => {
    await ingestAs(w, 'sd-custom', [
      ...customer('silent', { lastContact: 400 }),
      ...customer('recent', { lastContact: 100, items: 500 }),
      // The platform's last contact is old, but a call stored under her is recent: a contact, she stays.
      ...customer('called-back', { lastContact: 400 }),
      { type: 'call', id: 'called-back-call-2', customerId: 'called-back', startedAt: at(100), durationSeconds: 30 },
      ...accountData(4 * 365),
    ]);
    // What the change would delete, seen before saving it: one customer (her identifiers are not customers).
    const preview = await tenantCall(w, 'sd-custom', compliance('sd-custom'), 'POST', '/retention-policy/preview', {
      body: { settings: { customer_data: { days: 365 } } },
    });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.categories.customer_profile.wouldDelete).toBe(1);
    expect((await putSetting('sd-custom', 365)).status).toBe(200);
    const before = await snapshot(w, 'sd-custom');

    await sweep('sd-custom');

    const gone = expectGone(before, await snapshot(w, 'sd-custom'), ofCustomer('silent'));
    expect(new Set(gone.map((i) => i.category))).toEqual(
      new Set(['customer_profile', 'conversation', 'message', 'email_attachment', 'inbound_media', 'call', 'call_recording', 'third_party_call_data']),
    );
    expect(providerDeletes(w, 'sd-custom')).toEqual(['tp-silent']);
  });

  it('counts from the last contact, not from apps\' activity: a customer silent for 400 days goes though an app posted an event for her last month', async () => {
    await ingestAs(w, 'sd-apps', [
      ...customer('surveyed', { lastContact: 400 }),
      { type: 'analytics_event', id: 'surveyed-csat', customerId: 'surveyed', occurredAt: at(30), name: 'csat_survey_answered' },
      ...customer('talking', { lastContact: 30, items: 400 }),
    ]);
    expect((await putSetting('sd-apps', 365)).status).toBe(200);
    const before = await snapshot(w, 'sd-apps');

    await sweep('sd-apps');

    expectGone(before, await snapshot(w, 'sd-apps'), ofCustomer('surveyed'));
  });
});

describe('deleting by hand', () => {
  const del = (path: string) => tenantCall(w, 'sd-delete', compliance('sd-delete'), 'DELETE', path);

  it('refuses (409) to delete a customer with an open conversation, and changes nothing', async () => {
    await ingestAs(w, 'sd-delete', customer('on-the-line', { lastContact: 1, open: true }));
    const before = await snapshot(w, 'sd-delete');

    const answer = await del('/customers/on-the-line');

    expect(answer.status).toBe(409);
    expectGone(before, await snapshot(w, 'sd-delete'), () => false);
  });

  it('deletes a customer profile with everything of hers, whatever the setting, and no one else', async () => {
    await ingestAs(w, 'sd-delete', [...customer('leaving', { lastContact: 3 }), ...customer('staying', { lastContact: 3 })]);
    const before = await snapshot(w, 'sd-delete');

    const answer = await del('/customers/leaving');
    await w.deletionWork.idle();

    expect([200, 202], answer.text).toContain(answer.status);
    expectGone(before, await snapshot(w, 'sd-delete'), ofCustomer('leaving'));
    expect(providerDeletes(w, 'sd-delete')).toEqual(['tp-leaving']);
    const exported = await tenantCall(w, 'sd-delete', compliance('sd-delete'), 'GET', '/customers/leaving/export');
    expect(exported.status).toBe(404);
  });
});

describe('deleting one item of a customer', () => {
  const del = (path: string) => tenantCall(w, 'sd-items', compliance('sd-items'), 'DELETE', path);
  const item = (snap: { items: readonly RecordItem[] }, id: string) => snap.items.find((i) => i.id === id && !i.sk.startsWith('ID#'));

  beforeAll(async () => {
    await ingestAs(w, 'sd-items', [...customer('ines', { lastContact: 10 }), ...customer('other', { lastContact: 10 })]);
  });

  it('deletes one message, leaving a tombstone in the timeline and every other record as it was', async () => {
    const before = await snapshot(w, 'sd-items');

    const answer = await del('/conversations/ines-mail/messages/ines-mail-m2');

    expect(answer.status, answer.text).toBe(200);
    const after = await snapshot(w, 'sd-items');
    expectGone(before, after, () => false);
    const tombstone = item(after, 'ines-mail-m2');
    expect(tombstone?.status).toBe('deleted');
    expect(JSON.stringify(tombstone)).not.toContain('thanks, noted');
    const changed = before.items.filter((i) => JSON.stringify(i) !== JSON.stringify(after.items.find((a) => keyOf(a) === keyOf(i))));
    expect(changed.map((i) => i.id)).toEqual(['ines-mail-m2']);
    const exported = s.exportResponse.parse((await tenantCall(w, 'sd-items', compliance('sd-items'), 'GET', '/customers/ines/export')).body);
    const thread = exported.conversations.find((c) => c.id === 'ines-mail');
    expect(thread?.messages.find((m) => m.id === 'ines-mail-m2')).toEqual({ id: 'ines-mail-m2', ...TOMBSTONE });
    expect(thread?.messages.find((m) => m.id === 'ines-mail-m1')).toMatchObject({ text: 'my card is 4111 for ines' });
  });

  it('deletes one conversation attachment on its own, its message staying', async () => {
    const before = await snapshot(w, 'sd-items');

    const answer = await del('/conversations/ines-mail/attachments/ines-mail-att');

    expect(answer.status, answer.text).toBe(200);
    expectGone(before, await snapshot(w, 'sd-items'), (i) => i.id === 'ines-mail-att');
  });

  it('deletes a call\'s recordings, the call staying', async () => {
    const before = await snapshot(w, 'sd-items');

    const answer = await del('/calls/ines-call/recording');

    expect(answer.status, answer.text).toBe(200);
    expectGone(before, await snapshot(w, 'sd-items'), (i) => i.category === 'call_recording' && i.callId === 'ines-call');
    expect(before.items.some((i) => i.category === 'call_recording' && i.callId === 'ines-call')).toBe(true);
  });

  it('deletes an e-mail thread with all its messages, images and attachments, and nothing else of hers', async () => {
    const before = await snapshot(w, 'sd-items');

    const answer = await del('/conversations/ines-mail');
    await w.deletionWork.idle();

    expect([200, 202], answer.text).toContain(answer.status);
    const gone = expectGone(before, await snapshot(w, 'sd-items'), (i) => i.subjectId === 'ines' && under('CONV#ines-mail')(i));
    expect(new Set(gone.map((i) => i.category))).toEqual(new Set(['conversation', 'message', 'inbound_media']));
  });
});

describe('exporting a customer', () => {
  beforeAll(async () => {
    await ingestAs(w, 'sd-export', customer('martha', { lastContact: 20, phone: '+14151234567' }));
  });

  it('exports a JSON file with her name, contact information, address and custom attributes', async () => {
    const answer = await tenantCall(w, 'sd-export', compliance('sd-export'), 'GET', '/customers/martha/export');

    expect(answer.status, answer.text).toBe(200);
    const document = s.exportResponse.parse(answer.body);
    expect(document.customer).toMatchObject({
      customerId: 'martha',
      name: 'Martha martha',
      phones: ['+14151234567'],
      emails: ['martha@customers.example'],
      address: { lines: ['1 Harbour Street'], city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' },
      customAttributes: { plan: 'gold', orders: 12, vip: true },
    });
    expect(document.conversations.map((c) => c.id).sort()).toEqual(['martha-chat', 'martha-mail']);
    expect(document.calls.map((c) => c.id)).toEqual(['martha-call']);
  });

  it('finds her through the API by the page\'s example phone number, and answers an access request naming it', async () => {
    const found = await tenantCall(w, 'sd-export', compliance('sd-export'), 'GET', '/customers', { query: { phone: '+14151234567' } });
    const filed = await tenantCall(w, 'sd-export', compliance('sd-export'), 'POST', '/privacy-requests', {
      body: { kind: 'access', subject: { phone: '+1 415 123 4567' } },
    });

    expect(found.status, found.text).toBe(200);
    expect(found.body.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['martha']);
    expect(filed.status, filed.text).toBe(202);
    const request = await tenantCall(w, 'sd-export', compliance('sd-export'), 'GET', `/privacy-requests/${filed.body.requestId}`);
    expect(request.body).toMatchObject({ status: 'completed', subjects: 1 });
    expect(request.body.exportUrl).toEqual(expect.any(String));
  });
});
