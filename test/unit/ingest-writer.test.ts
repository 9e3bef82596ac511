import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../shared/domain/catalog.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { IngestValidationError, parseIngestBody } from '../../shared/domain/ingest/parse.js';
import { externalParents, toRecordItems, validateIngest, type IngestWrite } from '../../shared/domain/ingest/plan.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { backstopExpiresAt } from '../../shared/domain/policy.js';
import { DEFAULT_RETENTION_SHARDS, keys, retentionShard, type RecordItem } from '../../shared/domain/records.js';
import { conversationsV1, DAY_MS, hold, profile } from './_helpers.js';
import { context, examples, NOW, TENANT } from './_ingest-fixtures.js';

const write = (records: IngestRecordInput[], overrides: Parameters<typeof context>[0] = {}): IngestWrite =>
  toRecordItems({ records }, context(overrides));

const only = (w: IngestWrite, sk: string): RecordItem => {
  const found = w.items.filter((i) => i.sk === sk);
  expect(found, `exactly one item with sk ${sk}`).toHaveLength(1);
  return found[0]!;
};

const epochSeconds = (iso: string, plusDays = 0) => Math.ceil((Date.parse(iso) + plusDays * DAY_MS) / 1000);
const subjectPk = keys.subjectPk(TENANT, 'c1');
const conversations = conversationsV1();

/** Validation outcome's issues, or fails the test when the body was accepted. */
function rejected(records: unknown[], overrides: Parameters<typeof context>[0] = {}) {
  const outcome = validateIngest({ records }, context(overrides));
  if (outcome.ok) throw new Error('expected the body to be rejected');
  return outcome.issues;
}

describe('ingest writer: customers', () => {
  const w = write([examples.customer]);
  const profileItem = only(w, keys.profileSk());

  it('writes the profile under the subject partition with the customer_profile category', () => {
    expect(profileItem).toMatchObject({ pk: subjectPk, tenantId: TENANT, category: 'customer_profile', id: 'c1', subjectId: 'c1' });
  });

  it('starts the profile clock at the last customer contact', () => {
    expect(profileItem.clockStart).toBe('2025-05-20T08:00:00.000Z');
  });

  it('indexes the profile by retention on a shard derived from its keys', () => {
    const shard = retentionShard(subjectPk, 'PROFILE', DEFAULT_RETENTION_SHARDS);
    expect(profileItem.retentionPk).toBe(keys.retentionPk(TENANT, 'customer_profile', shard));
    expect(profileItem.retentionSk).toBe(keys.retentionSk('2025-05-20T08:00:00.000Z', 'c1'));
  });

  it('stamps the TTL backstop at clock start plus cap', () => {
    expect(profileItem.expiresAt).toBe(epochSeconds('2025-05-20T08:00:00.000Z', 3650));
  });

  it('keeps the personal data in data only, with normalised phones and e-mails', () => {
    expect(profileItem.data).toEqual({
      name: 'Ada   Lovelace',
      phones: ['+14155552671'],
      emails: ['ada@example.com'],
      externalId: 'CRM-42',
      lastContactAt: '2025-05-20T08:00:00.000Z',
    });
  });

  it('keeps the bot and first contact when given, and leaves a first contact not given to be derived', () => {
    const chatbot = write([{ ...examples.customer, botId: 'bot-7', firstContactAt: '2025-01-01T00:00:00Z' }]);
    expect(only(chatbot, 'PROFILE').data).toMatchObject({ botId: 'bot-7', firstContactAt: '2025-01-01T00:00:00.000Z' });
    expect(profileItem.data).not.toHaveProperty('firstContactAt');
    expect(profileItem).not.toHaveProperty('firstContactAt');
  });

  it('writes one identifier item per phone, e-mail, name and external id', () => {
    const identifiers = w.items.filter((i) => i.identifierPk !== undefined);
    expect(identifiers.map((i) => [i.sk, i.identifierPk])).toEqual([
      [keys.identifierSk('PHONE', '+14155552671'), keys.identifierPk(TENANT, 'PHONE', '+14155552671')],
      [keys.identifierSk('EMAIL', 'ada@example.com'), keys.identifierPk(TENANT, 'EMAIL', 'ada@example.com')],
      [keys.identifierSk('NAME', 'ada lovelace'), keys.identifierPk(TENANT, 'NAME', 'ada lovelace')],
      [keys.identifierSk('EXTERNAL', 'CRM-42'), keys.identifierPk(TENANT, 'EXTERNAL', 'CRM-42')],
    ]);
  });

  it('points identifier items at the subject and the profile, in the identifiers\' partitions of the retention index', () => {
    const identifiers = w.items.filter((i) => i.identifierPk !== undefined && i.sk.startsWith('ID#'));
    expect(identifiers.length).toBeGreaterThan(0);
    for (const item of identifiers) {
      expect(item).toMatchObject({ pk: subjectPk, identifierSk: 'c1', subjectId: 'c1', parentSk: 'PROFILE', category: 'customer_profile' });
      // On the profile's shard and at its clock, so they are swept right after it.
      expect(item.retentionPk).toBe(keys.retentionPk(TENANT, 'customer_identifier', retentionShard(subjectPk, 'PROFILE', DEFAULT_RETENTION_SHARDS)));
      expect(item.retentionSk).toBe(profileItem.retentionSk);
      expect(item.data).toBeUndefined();
    }
  });

  it('gives identifier items the profile TTL backstop, since the identifier itself is personal data', () => {
    for (const item of w.items.filter((i) => i.identifierPk !== undefined)) expect(item.expiresAt).toBe(profileItem.expiresAt);
  });

  it('writes one identifier for phones that normalise to the same number', () => {
    const twice = write([{ ...examples.customer, phones: ['+1 415 555 2671', '(415) 555-2671'] }], { defaultPhoneRegion: 'US' });
    expect(twice.items.filter((i) => i.sk.startsWith('ID#PHONE#'))).toHaveLength(1);
  });

  it('rejects an invalid phone, naming its position in the body', () => {
    expect(rejected([examples.call, { ...examples.customer, phones: ['+1 415 555 2671', '555'] }])).toEqual([
      { index: 1, field: 'records.1.phones.1', message: expect.stringContaining('phone') },
    ]);
  });

  it('reads national numbers in the default phone region', () => {
    const w2 = write([{ ...examples.customer, phones: ['020 7946 0958'] }], { defaultPhoneRegion: 'GB' });
    expect(w2.items.some((i) => i.sk === 'ID#PHONE#+442079460958')).toBe(true);
  });

  it('rejects an invalid e-mail, naming its position', () => {
    expect(rejected([{ ...examples.customer, emails: ['ada@example.com', 'ada-at-example'] }]).map((i) => i.field)).toEqual([
      'records.0.emails.1',
    ]);
  });

  it('rejects a first contact after the last contact', () => {
    expect(rejected([{ ...examples.customer, firstContactAt: '2025-05-21T00:00:00Z' }]).map((i) => i.field)).toEqual([
      'records.0.firstContactAt',
    ]);
  });
});

describe('ingest writer: conversations and their children', () => {
  it('files a WhatsApp conversation under whatsapp_conversation', () => {
    const w = write([{ ...examples.conversation, channel: 'whatsapp' }]);
    expect(only(w, keys.conversationSk('v1')).category).toBe('whatsapp_conversation');
  });

  it('files other channels under conversation, with the status at the top level', () => {
    const item = only(write([{ ...examples.conversation, status: 'open' }]), 'CONV#v1');
    expect(item).toMatchObject({ category: 'conversation', status: 'open', conversationId: 'v1', subjectId: 'c1', parentSk: 'PROFILE' });
    expect(item.clockStart).toBe('2025-05-01T09:00:00.000Z');
    expect(item.data).toMatchObject({ channel: 'chat', notes: 'asked about the invoice' });
  });

  it('starts a message clock at its conversation start from the same body, in any order', () => {
    const w = write([examples.message, examples.conversation]);
    const item = only(w, keys.messageSk('v1', '2025-05-01T09:05:00.000Z', 'm1'));
    expect(item).toMatchObject({ category: 'message', clockStart: '2025-05-01T09:00:00.000Z', conversationId: 'v1', parentSk: 'CONV#v1' });
    expect(item.retentionSk).toBe('2025-05-01T09:00:00.000Z#m1');
    expect(item.data).toEqual({ direction: 'inbound', sentAt: '2025-05-01T09:05:00.000Z', text: examples.message.text });
  });

  it('starts a message clock at a stored conversation start, asking for it by conversation and customer', () => {
    const asked: [string, string][] = [];
    const w = write([examples.message], {
      conversation: (conversationId, customerId) => {
        asked.push([conversationId, customerId]);
        return { startedAt: '2025-04-30T00:00:00Z', category: 'whatsapp_conversation' };
      },
    });
    expect(asked).toEqual([['v1', 'c1']]);
    expect(w.items[0]).toMatchObject({ clockStart: '2025-04-30T00:00:00.000Z', parentClock: '2025-04-30T00:00:00.000Z', parentCategory: 'whatsapp_conversation' });
  });

  it('rejects a message of an unknown conversation, naming the record and conversationId', () => {
    expect(rejected([examples.call, examples.message])).toEqual([
      { index: 1, field: 'records.1.conversationId', message: expect.stringContaining('v1') },
    ]);
  });

  it('rejects a message whose customer differs from its conversation', () => {
    expect(rejected([examples.conversation, { ...examples.message, customerId: 'c2' }]).map((i) => i.field)).toEqual([
      'records.1.customerId',
    ]);
  });

  it('does not blame a message for its conversation being invalid', () => {
    expect(rejected([{ ...examples.conversation, status: 'pending' }, examples.message]).map((i) => i.field)).toEqual([
      'records.0.status',
    ]);
  });

  it('starts a communication log clock at its conversation start', () => {
    const item = only(write([examples.communication_log, examples.conversation]), keys.communicationLogSk('v1', 'l1'));
    expect(item).toMatchObject({ category: 'communication_log', clockStart: '2025-05-01T09:00:00.000Z', parentSk: 'CONV#v1', conversationId: 'v1' });
  });

  it('rejects a communication log of an unknown conversation', () => {
    expect(rejected([examples.communication_log]).map((i) => i.field)).toEqual(['records.0.conversationId']);
  });
});

describe('ingest writer: media and e-mail attachments', () => {
  it('starts inbound media at their own date and stores them under inbound/', () => {
    const w = write([{ ...examples.media, sentAt: '2025-05-01T09:10:00Z' }, examples.conversation]);
    const item = only(w, keys.mediaSk('v1', 'p1'));
    const key = 'inbound/acme/c1/p1';
    expect(item).toMatchObject({ category: 'inbound_media', clockStart: '2025-05-01T09:10:00.000Z', blobBucket: 'media', blobKey: key, parentSk: 'CONV#v1' });
    expect(w.blobs).toEqual([{ bucket: 'media', key, contentType: 'image/png', body: new Uint8Array(Buffer.from('hello')) }]);
  });

  it('starts inbound media without a date at their conversation start', () => {
    const item = only(write([examples.media, examples.conversation]), 'CONV#v1#MEDIA#p1');
    expect(item.clockStart).toBe('2025-05-01T09:00:00.000Z');
  });

  it('refuses inbound media of an unknown conversation even with a date of their own, naming conversationId', () => {
    expect(rejected([{ ...examples.media, sentAt: '2025-05-01T09:10:00Z' }])).toEqual([
      { index: 0, field: 'records.0.conversationId', message: expect.stringContaining('v1') },
    ]);
  });

  it('starts outbound media at their conversation start and stores them under outbound/', () => {
    const w = write([{ ...examples.media, direction: 'outbound', sentAt: '2025-05-09T00:00:00Z' }], {
      conversation: () => ({ startedAt: '2025-05-01T09:00:00.000Z', category: 'conversation' }),
    });
    expect(w.items[0]).toMatchObject({ category: 'outbound_media', clockStart: '2025-05-01T09:00:00.000Z', blobKey: 'outbound/acme/c1/p1' });
  });

  it('rejects outbound media of an unknown conversation', () => {
    expect(rejected([{ ...examples.media, direction: 'outbound' }]).map((i) => i.field)).toEqual(['records.0.conversationId']);
  });

  it('starts an e-mail attachment at its own date, under email/, keeping its message', () => {
    const w = write([examples.conversation, { ...examples.email_attachment, messageId: 'm1' }]);
    const item = only(w, keys.attachmentSk('v1', 'a1'));
    expect(item).toMatchObject({
      category: 'email_attachment',
      clockStart: '2025-05-02T00:00:00.000Z',
      blobBucket: 'media',
      blobKey: 'email/acme/c1/a1',
      conversationId: 'v1',
      parentSk: 'CONV#v1',
    });
    expect(item.data).toMatchObject({ messageId: 'm1', size: 5 });
  });

  it('places every blob under its catalog prefix', () => {
    const w = write([examples.conversation, examples.media, examples.email_attachment, examples.call, examples.recording]);
    for (const item of w.items.filter((i) => i.blobKey !== undefined)) {
      const store = CATALOG[item.category].store;
      expect(store.kind).toBe('blob');
      if (store.kind === 'blob') {
        expect(item.blobKey).toBe(`${store.prefix}/${TENANT}/c1/${item.id}`);
        expect(item.blobBucket).toBe(store.bucket);
      }
    }
    expect(w.blobs.map((b) => b.key).sort()).toEqual(w.items.flatMap((i) => (i.blobKey ? [i.blobKey] : [])).sort());
  });

  it('lists blobs sent without content as uploads instead of blobs', () => {
    const { contentBase64: _, ...media } = examples.media;
    const w = write([media, examples.conversation]);
    expect(w.blobs).toEqual([]);
    expect(w.uploads).toEqual([{ index: 0, recordId: 'p1', bucket: 'media', key: 'inbound/acme/c1/p1', contentType: 'image/png' }]);
    expect(only(w, 'CONV#v1#MEDIA#p1').blobKey).toBe('inbound/acme/c1/p1');
  });

  it('rejects two blobs that would share an object key', () => {
    const other = { ...examples.recording, callId: 'k2' };
    const issues = rejected([examples.call, { ...examples.call, id: 'k2' }, examples.recording, other]);
    expect(issues.map((i) => i.field)).toEqual(['records.3.id']);
  });
});

describe('ingest writer: calls, recordings and third-party data', () => {
  it('writes the call with its clock at the call start', () => {
    const item = only(write([examples.call]), keys.callSk('k1'));
    expect(item).toMatchObject({ category: 'call', callId: 'k1', subjectId: 'c1', clockStart: '2025-04-01T10:00:00.000Z', parentSk: 'PROFILE' });
    expect(item.data).toEqual({ startedAt: '2025-04-01T10:00:00.000Z', durationSeconds: 125 });
  });

  it('writes no third-party marker for a call without a provider reference', () => {
    expect(write([examples.call]).items).toHaveLength(1);
  });

  it('writes a third-party marker for a call with a provider reference', () => {
    const item = only(write([{ ...examples.call, thirdPartyRef: 'prov-991' }]), keys.thirdPartyCallDataSk('k1'));
    expect(item).toMatchObject({
      category: 'third_party_call_data',
      callId: 'k1',
      parentSk: 'CALL#k1',
      clockStart: '2025-04-01T10:00:00.000Z',
      externalRef: 'prov-991',
      data: { ref: 'prov-991' },
    });
    expect(item.retentionPk).toMatch(/^T#acme#third_party_call_data#\d+$/);
  });

  it('starts a recording at its call start from the same body and stores it in the recordings bucket', () => {
    const w = write([examples.recording, examples.call]);
    const item = only(w, keys.recordingSk('k1', 'r1'));
    expect(item).toMatchObject({
      category: 'call_recording',
      callId: 'k1',
      parentSk: 'CALL#k1',
      clockStart: '2025-04-01T10:00:00.000Z',
      blobBucket: 'recordings',
      blobKey: 'recordings/acme/c1/r1',
    });
    expect(w.blobs).toEqual([{ bucket: 'recordings', key: 'recordings/acme/c1/r1', contentType: 'audio/wav', body: new Uint8Array(Buffer.from('hello')) }]);
  });

  it('starts a recording at a stored call start', () => {
    const w = write([examples.recording], { call: (callId) => (callId === 'k1' ? { startedAt: '2025-03-01T00:00:00.000Z', category: 'call' } : undefined) });
    expect(w.items[0]).toMatchObject({ clockStart: '2025-03-01T00:00:00.000Z', parentClock: '2025-03-01T00:00:00.000Z', parentCategory: 'call' });
  });

  it('rejects a recording of an unknown call, naming callId', () => {
    expect(rejected([examples.recording])).toEqual([{ index: 0, field: 'records.0.callId', message: expect.stringContaining('k1') }]);
  });

  it('lists the conversations and calls a body refers to without carrying them', () => {
    const parsed = parseIngestBody({ records: [examples.message, examples.recording, examples.communication_log, examples.call] });
    if (!parsed.ok) throw new Error('body should parse');
    expect(externalParents(parsed.body)).toEqual({ conversations: [{ customerId: 'c1', conversationId: 'v1' }], calls: [] });
  });
});

describe('ingest writer: account, user and analytics records', () => {
  it('files a webhook delivery under the account with its delivery time', () => {
    const item = only(write([examples.webhook_delivery]), keys.webhookDeliverySk('w1'));
    expect(item).toMatchObject({ pk: keys.accountPk(TENANT), category: 'webhook_delivery', clockStart: '2025-05-03T00:00:00.000Z' });
    expect(item.subjectId).toBeUndefined();
    expect(item.data).toMatchObject({ url: examples.webhook_delivery.url, statusCode: 200 });
  });

  it('files an analytics event without a customer under the account', () => {
    const item = only(write([examples.analytics_event]), keys.analyticsEventSk('e1'));
    expect(item).toMatchObject({ pk: keys.accountPk(TENANT), category: 'analytics_event', clockStart: '2025-05-04T00:00:00.000Z' });
    expect(item.subjectId).toBeUndefined();
  });

  it('files an analytics event with a customer under that customer', () => {
    const item = only(write([{ ...examples.analytics_event, customerId: 'c1' }]), 'EVT#e1');
    expect(item).toMatchObject({ pk: subjectPk, subjectId: 'c1' });
  });

  it('files a user under its own partition with its account access', () => {
    const item = only(write([{ ...examples.user, hasAccountAccess: false }]), keys.userSk());
    expect(item).toMatchObject({
      pk: keys.userPk(TENANT, 'u1'),
      category: 'user',
      clockStart: '2025-05-05T00:00:00.000Z',
      hasAccountAccess: false,
      data: { email: 'agent@acme.test', hasAccountAccess: false, lastSignInAt: '2025-05-05T00:00:00.000Z' },
    });
  });

  it('rejects a user with an invalid e-mail', () => {
    expect(rejected([{ ...examples.user, email: 'agent' }]).map((i) => i.field)).toEqual(['records.0.email']);
  });

  it('files an admin activity log under the account with its event time', () => {
    const item = only(write([examples.admin_activity_log]), keys.adminActivitySk('2025-05-06T00:00:00.000Z', 'g1'));
    expect(item).toMatchObject({ pk: keys.accountPk(TENANT), category: 'admin_activity_log', clockStart: '2025-05-06T00:00:00.000Z' });
    expect(item.data).toEqual({ occurredAt: '2025-05-06T00:00:00.000Z', actor: 'admin@acme.test', action: 'policy.update' });
  });

  it('files account configuration under the account with its last change', () => {
    const item = only(write([examples.account_config]), keys.accountConfigSk('queue', 'q1'));
    expect(item).toMatchObject({ pk: keys.accountPk(TENANT), category: 'account_config', clockStart: '2025-05-07T00:00:00.000Z' });
  });
});

describe('ingest writer: legal holds and the TTL backstop', () => {
  const everything: IngestRecordInput[] = [
    examples.customer,
    examples.conversation,
    examples.message,
    examples.call,
    { ...examples.call, id: 'k2', thirdPartyRef: 'prov-2' },
    examples.recording,
    { ...examples.recording, id: 'r2', callId: 'k2' },
    examples.webhook_delivery,
    { ...examples.customer, id: 'c2', phones: [], emails: [], name: undefined, externalId: undefined },
  ];
  const held = (w: IngestWrite) => w.items.filter((i) => i.expiresAt === undefined).map((i) => `${i.pk}|${i.sk}`).sort();

  it('stamps every item with the backstop of its category when nothing is held', () => {
    const w = write(everything);
    for (const item of w.items) {
      expect(item.expiresAt, item.sk).toBe(backstopExpiresAt(conversations, item.category, new Date(item.clockStart)));
    }
  });

  it('leaves out expiresAt on everything of a customer under a customer hold', () => {
    const w = write(everything, { holds: [hold({ scope: { customerId: 'c1' } })] });
    expect(w.items.filter((i) => i.subjectId === 'c1').every((i) => i.expiresAt === undefined)).toBe(true);
    expect(w.items.filter((i) => i.subjectId !== 'c1').every((i) => i.expiresAt !== undefined)).toBe(true);
  });

  it('leaves out expiresAt on a conversation and its messages under a conversation hold', () => {
    const w = write(everything, { holds: [hold({ scope: { conversationId: 'v1' } })] });
    expect(held(w)).toEqual([`${subjectPk}|CONV#v1`, `${subjectPk}|CONV#v1#MSG#2025-05-01T09:05:00.000Z#m1`]);
  });

  it('leaves out expiresAt on a call, its recordings and its marker under a call hold', () => {
    const w = write(everything, { holds: [hold({ scope: { callId: 'k2' } })] });
    expect(held(w)).toEqual([`${subjectPk}|CALL#k2`, `${subjectPk}|CALL#k2#REC#r2`, `${subjectPk}|CALL#k2#TPD`]);
  });

  it('leaves out expiresAt on one category under a category hold', () => {
    const w = write(everything, { holds: [hold({ scope: { category: 'call_recording' } })] });
    expect(held(w)).toEqual([`${subjectPk}|CALL#k1#REC#r1`, `${subjectPk}|CALL#k2#REC#r2`]);
  });

  it('leaves out expiresAt on everything under a tenant-wide hold', () => {
    const w = write(everything, { holds: [hold({ scope: {} })] });
    expect(w.items.every((i) => i.expiresAt === undefined)).toBe(true);
  });

  it('ignores released holds, expired holds and holds of other tenants', () => {
    const w = write(everything, {
      holds: [
        hold({ scope: {}, releasedAt: '2025-05-01T00:00:00.000Z' }),
        hold({ scope: {}, expiresAt: NOW.toISOString() }),
        hold({ scope: {}, tenantId: 'globex' }),
      ],
    });
    expect(held(w)).toEqual([]);
  });

  it('keeps the retention keys of held items, so sweeps count them as held', () => {
    const w = write(everything, { holds: [hold({ scope: {} })] });
    expect(w.items.filter((i) => i.identifierPk === undefined).every((i) => i.retentionPk !== undefined)).toBe(true);
  });

  it('leaves out expiresAt for a category without a cap', () => {
    const w = write([examples.customer], { platform: profile('support-desk') });
    expect(w.items.every((i) => i.expiresAt === undefined)).toBe(true);
  });

  it('adds the grace period to the backstop', () => {
    const item = only(write([examples.call], { platform: profile('voice') }), 'CALL#k1');
    expect(item.expiresAt).toBe(epochSeconds('2025-04-01T12:00:00.000Z', 1095));
  });
});

describe('ingest writer: keys and shapes', () => {
  const all = Object.values(examples) as IngestRecordInput[];

  it('writes items of every record type from one body', () => {
    const w = write(all);
    expect(new Set(w.items.map((i) => i.category))).toEqual(
      new Set(['customer_profile', 'conversation', 'message', 'call', 'call_recording', 'inbound_media', 'email_attachment', 'webhook_delivery', 'communication_log', 'analytics_event', 'form_submission', 'web_session', 'user', 'admin_activity_log', 'account_config']),
    );
    expect(w.accepted).toBe(all.length);
  });

  it('spreads retention keys over the configured number of shards', () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ ...examples.analytics_event, id: `e${i}` }));
    const shards = new Set(write(records, { shardCount: 4 }).items.map((i) => Number(i.retentionPk!.split('#').at(-1))));
    expect([...shards].sort()).toEqual([0, 1, 2, 3]);
  });

  it('writes clock starts whose string order is their time order', () => {
    const w = write([
      { ...examples.call, id: 'k1', startedAt: '2025-01-01T00:00:00Z' },
      { ...examples.call, id: 'k2', startedAt: '2025-01-01T00:00:00.500Z' },
    ]);
    const [a, b] = [only(w, 'CALL#k1').clockStart, only(w, 'CALL#k2').clockStart];
    expect(a < b).toBe(true);
    expect(a).toBe('2025-01-01T00:00:00.000Z');
  });

  it('never writes an undefined-valued attribute', () => {
    const w = write(all);
    for (const item of w.items) {
      for (const [name, value] of Object.entries(item)) expect(value, `${item.sk}.${name}`).not.toBeUndefined();
      for (const [name, value] of Object.entries(item.data ?? {})) expect(value, `${item.sk}.data.${name}`).not.toBeUndefined();
    }
  });

  it('keeps names, phones, e-mails, texts, notes, urls and actors out of every top-level attribute of governed items', () => {
    const pii = ['Lovelace', 'lovelace', '4155552671', 'example.com', 'card number', 'invoice', 'transcript', 'hooks.example', 'admin@acme', 'agent@acme'];
    for (const item of write(all).items.filter((i) => i.identifierPk === undefined)) {
      const { data: _, ...topLevel } = item;
      const text = JSON.stringify(topLevel);
      for (const needle of pii) expect(text, `${item.sk} carries ${needle}`).not.toContain(needle);
    }
  });

  it('reports the latest customer-facing activity, never later than now', () => {
    expect(write(all).lastActivityAt).toBe('2025-05-20T08:00:00.000Z');
    expect(write([{ ...examples.call, startedAt: '2025-06-01T13:00:00Z' }]).lastActivityAt).toBe(NOW.toISOString());
    expect(write([examples.webhook_delivery]).lastActivityAt).toBeUndefined();
  });
});

describe('ingest writer: what the sweep needs to find cascades in the index', () => {
  it('marks every record under a conversation with its start and category, and indexes it at the earlier clock', () => {
    const w = write([
      { ...examples.conversation, channel: 'whatsapp' },
      examples.message,
      examples.communication_log,
      { ...examples.media, sentAt: '2025-05-01T09:10:00Z' },
      examples.email_attachment,
    ]);
    for (const item of w.items.filter((i) => i.parentSk === 'CONV#v1')) {
      expect(item, item.sk).toMatchObject({ parentClock: '2025-05-01T09:00:00.000Z', parentCategory: 'whatsapp_conversation' });
      expect(item.retentionSk, item.sk).toBe(keys.retentionSk('2025-05-01T09:00:00.000Z', item.id));
    }
    // Their own clocks stay their own.
    expect(only(w, keys.mediaSk('v1', 'p1')).clockStart).toBe('2025-05-01T09:10:00.000Z');
    expect(only(w, keys.attachmentSk('v1', 'a1')).clockStart).toBe('2025-05-02T00:00:00.000Z');
  });

  it('marks recordings and third-party data with their call\'s start', () => {
    const w = write([{ ...examples.call, thirdPartyRef: 'pbx-1' }, examples.recording]);
    for (const sk of [keys.recordingSk('k1', 'r1'), keys.thirdPartyCallDataSk('k1')]) {
      expect(only(w, sk)).toMatchObject({ parentClock: '2025-04-01T10:00:00.000Z', parentCategory: 'call' });
    }
  });

  it('refuses an attachment of an unknown conversation: it could not go with it', () => {
    expect(rejected([examples.email_attachment]).map((i) => i.field)).toEqual(['records.0.conversationId']);
  });

  it('refuses to move a stored conversation\'s start or channel, naming the field: the records under it are kept by them', () => {
    const stored = { conversation: () => ({ startedAt: '2025-04-01T00:00:00.000Z', category: 'conversation' as const }) };
    expect(rejected([examples.conversation], stored).map((i) => i.field)).toEqual(['records.0.startedAt']);
    expect(rejected([{ ...examples.conversation, startedAt: '2025-04-01T00:00:00Z', channel: 'whatsapp' }], stored).map((i) => i.field)).toEqual(['records.0.channel']);
  });

  it('accepts a stored conversation again with its start and channel, e.g. to close it', () => {
    const stored = { conversation: () => ({ startedAt: '2025-05-01T09:00:00.000Z', category: 'conversation' as const }) };
    expect(only(write([{ ...examples.conversation, status: 'closed' }], stored), keys.conversationSk('v1')).status).toBe('closed');
  });

  it('refuses to move a stored conversation\'s start even past its TTL backstop, but will not file records under it', () => {
    const stored = { conversation: () => ({ startedAt: '2025-04-01T00:00:00.000Z', category: 'conversation' as const, expired: true }) };
    expect(rejected([examples.conversation], stored).map((i) => i.field)).toEqual(['records.0.startedAt']);
    expect(rejected([examples.message], stored).map((i) => i.field)).toEqual(['records.0.conversationId']);
  });

  it('refuses to move a stored call\'s start', () => {
    const stored = { call: () => ({ startedAt: '2025-03-01T00:00:00.000Z', category: 'call' as const }) };
    expect(rejected([examples.call], stored).map((i) => i.field)).toEqual(['records.0.startedAt']);
  });

  it('lists, per customer, the latest clock under the profile, for its activity watermark', () => {
    const w = write([
      examples.customer,
      examples.conversation,
      examples.message,
      examples.call,
      { ...examples.analytics_event, customerId: 'c1', occurredAt: '2025-05-25T00:00:00Z' },
      { ...examples.conversation, id: 'v9', customerId: 'c2', startedAt: '2025-03-01T00:00:00Z' },
      examples.webhook_delivery,
    ]);
    expect(new Map(w.activity.map((a) => [a.pk, a.until]))).toEqual(
      new Map([
        [keys.subjectPk(TENANT, 'c1'), '2025-05-25T00:00:00.000Z'],
        [keys.subjectPk(TENANT, 'c2'), '2025-03-01T00:00:00.000Z'],
      ]),
    );
  });

  it('leaves the watermark out of the profile it writes: the store keeps it', () => {
    const p = only(write([examples.customer]), keys.profileSk());
    expect(p.activityUntil).toBeUndefined();
    expect(p.activityTracked).toBeUndefined();
  });

  it('refuses more write shards than the index has', () => {
    expect(() => write([examples.call], { shardCount: 17 })).toThrow(RangeError);
  });
});

describe('ingest writer: rejected bodies', () => {
  it('writes nothing when one record of many is invalid', () => {
    const outcome = validateIngest({ records: [examples.customer, examples.call, { ...examples.user, hasAccountAccess: 'yes' }] }, context());
    expect(outcome.ok).toBe(false);
    expect(outcome).not.toHaveProperty('write');
  });

  it('throws one validation error carrying every issue, named after the first field', () => {
    let error: unknown;
    try {
      write([examples.message, { ...examples.call, durationSeconds: -1 }] as IngestRecordInput[]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IngestValidationError);
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as IngestValidationError;
    expect(e.field).toBe('records.0.conversationId');
    expect(e.issues.map((i) => i.field)).toEqual(['records.0.conversationId', 'records.1.durationSeconds']);
    expect(e.message).toContain('and 1 more');
  });

  it('rejects two conversations with the same id', () => {
    expect(rejected([examples.conversation, { ...examples.conversation, customerId: 'c2' }]).map((i) => i.field)).toEqual(['records.1.id']);
  });

  it('rejects two records that would write the same item', () => {
    expect(rejected([examples.user, examples.user]).map((i) => [i.index, i.field])).toEqual([[1, 'records.1.id']]);
  });

  it('rejects a date more than a day in the future, since it would postpone deletion', () => {
    const issues = rejected([{ ...examples.call, startedAt: '2025-06-02T12:00:00.001Z' }]);
    expect(issues).toEqual([{ index: 0, field: 'records.0.startedAt', message: expect.stringContaining('future') }]);
  });

  it('accepts a date slightly ahead of the clock (skew)', () => {
    expect(write([{ ...examples.call, startedAt: '2025-06-01T13:00:00Z' }]).items).toHaveLength(1);
  });

  it('refuses a tenant id that would break the key formats', () => {
    expect(() => toRecordItems({ records: [examples.call] }, context({ tenantId: 'a#b' }))).toThrow(ValidationError);
  });

  it('accepts a bare array of records in the typed writer', () => {
    expect(toRecordItems([examples.call], context()).items).toHaveLength(1);
  });
});
