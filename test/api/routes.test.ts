/**
 * Every route of the admin API through the real handler on the emulators:
 * status codes, bodies (parsed with the documented response schemas) and the
 * audit events each mutation writes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import { CATEGORIES } from '../../shared/domain/catalog.js';
import { isOpaqueRef, subjectRef } from '../../shared/domain/references.js';
import { keys } from '../../shared/domain/records.js';
import {
  apiWorld,
  customerRecords,
  daysAgo,
  dumpStores,
  ingest,
  REF_SECRET,
  registerTenant,
  SUPER,
  token,
  type ApiWorld,
  type CustomerFixture,
} from '../support/api.js';

const T = 'acme';
const ADMIN = token('Administrator', T);
const COMPLIANCE = token('ComplianceAdministrator', T);

let w: ApiWorld;
let sequence = 0;

/** A fresh customer with everything, ingested through the API. */
async function seedCustomer(overrides: Partial<CustomerFixture> = {}): Promise<CustomerFixture> {
  sequence += 1;
  const c: CustomerFixture = {
    id: `cust-${sequence}`,
    name: `Person ${sequence}`,
    phone: `+1415555${String(2600 + sequence).padStart(4, '0')}`,
    email: `person${sequence}@example.com`,
    secret: `secret-${sequence}`,
    age: 20,
    ...overrides,
  };
  await ingest(w, T, customerRecords(c));
  return c;
}

async function latestAudit(tenantId = T) {
  const [event] = await w.stores.control.listAudit(tenantId, { limit: 1 });
  return event;
}

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  await registerTenant(w, 'globex');
});

describe('tenants', () => {
  it('registers a new tenant as active and audits it without its admin e-mails', async () => {
    const answer = await w.call({
      method: 'PUT',
      path: '/v1/tenants/initech',
      body: { name: 'Initech', adminEmails: ['Boss@Initech.Example'], contractEndsAt: '2027-01-01T00:00:00Z' },
      token: SUPER,
    });

    expect(answer.status).toBe(201);
    const tenant = s.tenantResponse.parse(answer.body);
    expect(tenant).toMatchObject({ tenantId: 'initech', status: 'active', adminEmails: ['boss@initech.example'], contractEndsAt: '2027-01-01T00:00:00.000Z' });
    const event = await latestAudit('initech');
    expect(event).toMatchObject({ action: 'tenant.created', refs: { tenantId: 'initech' } });
    expect(isOpaqueRef(event?.actor)).toBe(true);
    expect(JSON.stringify(event)).not.toContain('initech.example');
  });

  it('updates a tenant, keeping its status and creation time', async () => {
    await w.call({ method: 'PUT', path: '/v1/tenants/hooli', body: { name: 'Hooli', adminEmails: ['a@hooli.example'] }, token: SUPER });
    w.clock.advance(60_000);
    const answer = await w.call({
      method: 'PUT',
      path: '/v1/tenants/hooli',
      body: { name: 'Hooli XYZ', adminEmails: ['b@hooli.example'], thirdPartyEndpoints: [{ name: 'pbx', deleteUrl: 'https://pbx.example/calls/{ref}' }] },
      token: SUPER,
    });
    w.clock.set('2025-06-01T12:00:00.000Z');

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'Hooli XYZ', status: 'active', createdAt: '2025-06-01T12:00:00.000Z', updatedAt: '2025-06-01T12:01:00.000Z' });
    expect((await latestAudit('hooli'))?.action).toBe('tenant.updated');
  });

  it('raises a tenant\'s retention shards and keeps them when an update leaves them out', async () => {
    await w.call({ method: 'PUT', path: '/v1/tenants/bigco', body: { name: 'BigCo', adminEmails: ['a@bigco.example'] }, token: SUPER });
    const raised = await w.call({ method: 'PUT', path: '/v1/tenants/bigco', body: { name: 'BigCo', adminEmails: ['a@bigco.example'], retentionShards: 8 }, token: SUPER });
    const renamed = await w.call({ method: 'PUT', path: '/v1/tenants/bigco', body: { name: 'BigCo Ltd', adminEmails: ['a@bigco.example'] }, token: SUPER });

    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ retentionShards: 8 });
    expect(renamed.body).toMatchObject({ name: 'BigCo Ltd', retentionShards: 8 });
    expect((await w.stores.control.getTenant('bigco'))?.retentionShards).toBe(8);
  });

  it('refuses to lower a tenant\'s retention shards, naming the field and changing nothing', async () => {
    await w.call({ method: 'PUT', path: '/v1/tenants/shrinky', body: { name: 'Shrinky', adminEmails: ['a@shrinky.example'], retentionShards: 4 }, token: SUPER });

    const answer = await w.call({ method: 'PUT', path: '/v1/tenants/shrinky', body: { name: 'Renamed', adminEmails: ['a@shrinky.example'], retentionShards: 2 }, token: SUPER });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'validation_error', field: 'retentionShards' });
    expect(answer.body.error.message).toContain('can only be raised');
    expect(await w.stores.control.getTenant('shrinky')).toMatchObject({ name: 'Shrinky', retentionShards: 4 });
  });

  it('refuses more retention shards than the index allows', async () => {
    const answer = await w.call({ method: 'PUT', path: '/v1/tenants/huge', body: { name: 'Huge', adminEmails: ['a@huge.example'], retentionShards: 17 }, token: SUPER });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('retentionShards');
    expect(await w.stores.control.getTenant('huge')).toBeUndefined();
  });

  it('refuses an invalid admin e-mail naming the field', async () => {
    const answer = await w.call({ method: 'PUT', path: '/v1/tenants/bad', body: { name: 'Bad', adminEmails: ['not-an-email'] }, token: SUPER });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'validation_error', field: 'adminEmails.0' });
    expect(await w.stores.control.getTenant('bad')).toBeUndefined();
  });

  it('refuses a third-party endpoint without a {ref} placeholder', async () => {
    const answer = await w.call({
      method: 'PUT',
      path: '/v1/tenants/bad',
      body: { name: 'Bad', adminEmails: ['a@bad.example'], thirdPartyEndpoints: [{ name: 'x', deleteUrl: 'https://x.example/calls' }] },
      token: SUPER,
    });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('thirdPartyEndpoints.0.deleteUrl');
  });

  it('lists every tenant', async () => {
    const answer = await w.call({ method: 'GET', path: '/v1/tenants', token: SUPER });

    expect(answer.status).toBe(200);
    const ids = s.tenantListResponse.parse(answer.body).tenants.map((t) => t.tenantId);
    expect(ids).toEqual(expect.arrayContaining([T, 'globex', 'initech']));
  });
});

describe('retention policy', () => {
  it('reads the effective policy with every category bound and source', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });

    expect(answer.status).toBe(200);
    const policy = s.policyResponse.parse(answer.body);
    expect(Object.keys(policy.categories).sort()).toEqual([...CATEGORIES].sort());
    expect(policy).toMatchObject({ tenantId: T, profile: 'conversations', locked: false });
    expect(policy.categories.inbound_media).toEqual({ days: 30, default: 30, min: 1, max: 30, extendable: false, indefiniteAllowed: false, source: 'default', governedBy: 'category', clock: 'item' });
  });

  it('saves a change, answers the new version, and audits it with before and after', async () => {
    const before = s.policyResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN })).body);
    const answer = await w.call({
      method: 'PUT',
      path: `/v1/tenants/${T}/retention-policy`,
      body: { categories: { call: { days: 400 } }, expectedVersion: before.version },
      token: ADMIN,
    });

    expect(answer.status).toBe(200);
    const policy = s.policyResponse.parse(answer.body);
    expect(policy.version).toBe(before.version + 1);
    expect(policy.categories.call).toMatchObject({ days: 400, source: 'tenant' });
    const event = await latestAudit();
    expect(event).toMatchObject({ action: 'policy.updated', refs: { version: String(policy.version) } });
    expect(event?.after).toMatchObject({ version: policy.version, categories: { call: { days: 400 } } });
    expect(event?.before).toMatchObject({ version: before.version });
  });

  it('refuses a stale expectedVersion with 409', async () => {
    const answer = await w.call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, body: { categories: { call: { days: 500 } }, expectedVersion: 0 }, token: ADMIN });

    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'concurrent_modification', field: 'expectedVersion' });
  });

  it('refuses a period above the platform maximum, naming the category', async () => {
    const answer = await w.call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, body: { categories: { inbound_media: { days: 31 } } }, token: ADMIN });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('categories.inbound_media.days');
    expect(answer.body.error.message).toMatch(/at most 30 days/);
  });

  it('previews without saving anything', async () => {
    await seedCustomer({ age: 100 });
    const dump = await dumpStores(w.stores);
    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/retention-policy/preview`, body: { categories: { conversation: { days: 30 } } }, token: ADMIN });

    expect(answer.status).toBe(200);
    const preview = s.previewResponse.parse(answer.body);
    expect(preview.categories.conversation?.wouldDelete).toBeGreaterThan(0);
    expect(await dumpStores(w.stores)).toBe(dump);
  });

  it('lists the history newest first', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy/history`, token: ADMIN });

    expect(answer.status).toBe(200);
    const { revisions } = s.historyResponse.parse(answer.body);
    expect(revisions.length).toBeGreaterThan(0);
    expect(revisions.map((r) => r.version)).toEqual([...revisions.map((r) => r.version)].sort((a, b) => b - a));
    expect(isOpaqueRef(revisions[0]?.changedBy)).toBe(true);
  });
});

describe('legal holds', () => {
  it('creates, lists and releases a hold, auditing both changes', async () => {
    const c = await seedCustomer();
    const created = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { customerId: c.id }, reason: 'Case 42' }, token: COMPLIANCE });

    expect(created.status).toBe(201);
    const hold = s.holdCreatedResponse.parse(created.body);
    // The test's Hold workflow runs to its end before the route answers (in AWS it answers `applying`).
    expect(hold).toMatchObject({ scope: { customerId: c.id }, reason: 'Case 42', active: true, status: 'active' });
    expect(hold.applied!.records).toBe(customerRecordCount(c));
    expect(hold.applied!.blobHoldsUnsupported).toBe(4);
    const createdEvent = await latestAudit();
    expect(createdEvent).toMatchObject({ action: 'legal_hold.created', refs: { holdId: hold.holdId, customer: subjectRef(REF_SECRET, T, c.id) } });
    expect(JSON.stringify(createdEvent)).not.toContain(c.id);

    const listed = s.holdListResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/legal-holds`, token: COMPLIANCE })).body);
    expect(listed.holds.find((h) => h.holdId === hold.holdId)?.active).toBe(true);

    const released = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${hold.holdId}`, token: COMPLIANCE });
    expect(released.status).toBe(200);
    expect(s.holdReleasedResponse.parse(released.body)).toMatchObject({ holdId: hold.holdId, releasedAt: '2025-06-01T12:00:00.000Z', status: 'released' });
    expect(await latestAudit()).toMatchObject({ action: 'legal_hold.released', refs: { holdId: hold.holdId } });
    const after = s.holdListResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/legal-holds`, token: COMPLIANCE })).body);
    expect(after.holds.find((h) => h.holdId === hold.holdId)).toMatchObject({ active: false, status: 'released', releasedCounts: { records: hold.applied!.records } });
  });

  it('answers a second release with the first release time and changes nothing', async () => {
    const created = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { category: 'webhook_delivery' }, reason: 'audit' }, token: COMPLIANCE });
    const { holdId } = created.body as { holdId: string };
    await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: COMPLIANCE });
    const dump = await dumpStores(w.stores);

    const again = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: COMPLIANCE });

    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ holdId, status: 'released' });
    expect(await dumpStores(w.stores)).toBe(dump);
  });

  it('answers 404 for an unknown hold', async () => {
    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/hold-nope`, token: COMPLIANCE });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('holdId');
  });

  it('refuses an expiry in the past', async () => {
    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: {}, reason: 'x', expiresAt: '2020-01-01T00:00:00Z' }, token: COMPLIANCE });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('expiresAt');
  });
});

function customerRecordCount(c: CustomerFixture): number {
  // profile + 3 identifiers, conversation, 2 messages, attachment, 2 media, log, call, recording, third-party data, event
  void c;
  return 4 + 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1;
}

describe('customers', () => {
  it('finds a customer by phone in any common spelling, by e-mail and by name', async () => {
    const c = await seedCustomer({ phone: '+14155552671', email: 'Lookup.Me@Example.com', name: 'Zoë  Lookup' });
    const find = async (query: Record<string, string>) =>
      s.lookupResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query, token: COMPLIANCE })).body).customers;

    for (const phone of ['+1 (415) 555-2671', '0014155552671', ' 14155552671']) {
      expect((await find({ phone })).map((x) => x.customerId), phone).toEqual([c.id]);
    }
    expect((await find({ email: 'lookup.me@EXAMPLE.com' })).map((x) => x.customerId)).toEqual([c.id]);
    expect((await find({ name: 'zoë lookup' })).map((x) => x.customerId)).toEqual([c.id]);
    const [summary] = await find({ email: 'lookup.me@example.com' });
    expect(summary).toEqual({ customerId: c.id, firstContactAt: daysAgo(20), lastContactAt: daysAgo(20), conversations: 1, openConversations: 0, calls: 1 });
  });

  it('answers an empty list when nobody matches', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { email: 'nobody@example.com' }, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ customers: [] });
  });

  it.each([
    [{ phone: '12345' }, 'phone'],
    [{ phone: '+1 555' }, 'phone'],
    [{ email: 'no-at-sign' }, 'email'],
    [{}, 'query'],
    [{ phone: '+14155552671', email: 'a@b.example' }, 'query'],
    [{ ssn: '1' }, 'ssn'],
  ])('refuses the lookup %j naming %s', async (query, field) => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query, token: COMPLIANCE });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe(field);
  });

  it('exports a customer with messages, logs, recordings and media as links, and audits the export', async () => {
    const c = await seedCustomer();
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/${c.id}/export`, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    const data = s.exportResponse.parse(answer.body);
    expect(data.customer).toMatchObject({ customerId: c.id, name: c.name, phones: [c.phone], emails: [c.email] });
    expect(data.identifiers.map((i) => i.kind).sort()).toEqual(['email', 'name', 'phone']);
    expect(data.conversations).toHaveLength(1);
    expect(data.conversations[0]?.messages.map((m) => m.text)).toEqual([`first ${c.secret}`, `second ${c.secret}`]);
    expect(data.conversations[0]?.communicationLogs).toHaveLength(1);
    expect(data.calls[0]?.recordings[0]?.url).toMatch(/^http.*X-Amz-Signature=/);
    expect(data.media).toHaveLength(2);
    expect(data.emailAttachments[0]).toMatchObject({ messageId: `${c.id}-conv-m1` });
    expect(await latestAudit()).toMatchObject({ action: 'customer.exported', refs: { customer: subjectRef(REF_SECRET, T, c.id) } });
  });

  it('answers 404 for the export of an unknown customer', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/nobody/export`, token: COMPLIANCE });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('id');
  });
});

describe('manual deletion', () => {
  it('refuses to delete a customer with an open conversation and changes nothing', async () => {
    const c = await seedCustomer({ open: true });
    const dump = await dumpStores(w.stores);

    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${c.id}`, token: COMPLIANCE });

    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'conversation_open', field: 'id' });
    expect(await dumpStores(w.stores)).toBe(dump);
  });

  it('deletes a customer with every record and blob, writes a manual receipt and audits it', async () => {
    const c = await seedCustomer();
    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${c.id}`, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    const outcome = s.deletionResponse.parse(answer.body);
    expect(outcome).toMatchObject({ status: 'completed', held: 0, failed: 0 });
    // Everything of hers but her analytics event, which stays unlinked from her.
    expect(outcome.deleted).toBe(customerRecordCount(c) - 1);
    expect(outcome.categories.analytics_event).toMatchObject({ deleted: 0, kept: 1, keptReasons: { unlinked: 1 } });
    expect(await w.runDeps.records.findBySubject(T, c.id)).toEqual([]);
    expect(await w.stores.blobs.list('media', `inbound/${T}/${c.id}/`)).toEqual([]);
    expect(await w.stores.blobs.list('recordings', `recordings/${T}/${c.id}/`)).toEqual([]);
    const receipt = await w.stores.control.getReceipt(T, outcome.receiptId);
    expect(receipt).toMatchObject({ kind: 'manual', status: 'completed', subjectRefs: [subjectRef(REF_SECRET, T, c.id)] });
    expect(await latestAudit()).toMatchObject({ action: 'customer.deleted', refs: { receiptId: outcome.receiptId, customer: subjectRef(REF_SECRET, T, c.id) } });
    const again = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${c.id}`, token: COMPLIANCE });
    expect(again.status).toBe(404);
  });

  it('deletes a whole conversation with its messages, logs, media and attachments, and nothing else', async () => {
    const c = await seedCustomer();
    const conv = `${c.id}-conv`;
    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${conv}`, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    const outcome = s.deletionResponse.parse(answer.body);
    expect(outcome.categories).toMatchObject({
      conversation: { deleted: 1 },
      message: { deleted: 2 },
      communication_log: { deleted: 1 },
      email_attachment: { deleted: 1 },
      inbound_media: { deleted: 1 },
      outbound_media: { deleted: 1 },
    });
    const left = (await w.runDeps.records.findBySubject(T, c.id)).map((i) => i.category).sort();
    expect(left).toEqual(['analytics_event', 'call', 'call_recording', 'customer_profile', 'customer_profile', 'customer_profile', 'customer_profile', 'third_party_call_data']);
    expect(await w.stores.blobs.list('media', `email/${T}/${c.id}/`)).toEqual([]);
    expect((await latestAudit())?.action).toBe('conversation.deleted');
  });

  it('turns a deleted message into a tombstone, deletes its attachment, and does so idempotently', async () => {
    const c = await seedCustomer();
    const conv = `${c.id}-conv`;
    const path = `/v1/tenants/${T}/conversations/${conv}/messages/${conv}-m1`;

    const answer = await w.call({ method: 'DELETE', path, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    expect(answer.body.categories).toMatchObject({ message: { deleted: 1 }, email_attachment: { deleted: 1 } });
    const message = (await w.runDeps.records.findByPartition(keys.subjectPk(T, c.id), { skPrefix: `${keys.conversationSk(conv)}#MSG#` })).find((m) => m.id === `${conv}-m1`);
    expect(message).toMatchObject({ status: 'deleted', data: { deleted: true, text: 'This item has been deleted' } });
    expect(await w.stores.blobs.list('media', `email/${T}/${c.id}/`)).toEqual([]);
    expect((await latestAudit())?.action).toBe('message.deleted');

    const again = await w.call({ method: 'DELETE', path, token: COMPLIANCE });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ deleted: 0, failed: 0 });

    const exported = s.exportResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/${c.id}/export`, token: COMPLIANCE })).body);
    expect(exported.conversations[0]?.messages[0]).toEqual({ id: `${conv}-m1`, deleted: true, text: 'This item has been deleted' });
    expect(exported.conversations[0]?.messages[1]).toMatchObject({ text: `second ${c.secret}` });
  });

  it('answers 404 for an unknown message', async () => {
    const c = await seedCustomer();
    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/messages/nope`, token: COMPLIANCE });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('msgId');
  });

  it("deletes a call's recording and keeps the call", async () => {
    const c = await seedCustomer();
    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/calls/${c.id}-call/recording`, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ deleted: 1, categories: { call_recording: { deleted: 1 } } });
    expect(await w.stores.blobs.list('recordings', `recordings/${T}/${c.id}/`)).toEqual([]);
    expect(await w.runDeps.records.get({ pk: keys.subjectPk(T, c.id), sk: keys.callSk(`${c.id}-call`) })).toBeDefined();
    expect((await latestAudit())?.action).toBe('call_recording.deleted');
    const again = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/calls/${c.id}-call/recording`, token: COMPLIANCE });
    expect(again.status).toBe(404);
  });

  it('refuses a deletion whose every record is held, naming the hold, and changes nothing', async () => {
    const c = await seedCustomer();
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { conversationId: `${c.id}-conv` }, reason: 'case' }, token: COMPLIANCE });
    const dump = await dumpStores(w.stores);

    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv`, token: COMPLIANCE });
    const message = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/messages/${c.id}-conv-m2`, token: COMPLIANCE });

    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'held', field: 'id', holdIds: [hold.body.holdId] });
    expect(message.status).toBe(409);
    expect(message.body.error).toMatchObject({ code: 'held', holdIds: [hold.body.holdId] });
    expect(await dumpStores(w.stores)).toBe(dump);
  });

  it('deletes what is not held of a partly held customer and reports the held counts', async () => {
    const c = await seedCustomer();
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { callId: `${c.id}-call` }, reason: 'case' }, token: COMPLIANCE });

    const answer = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${c.id}`, token: COMPLIANCE });

    expect(answer.status).toBe(200);
    const outcome = s.deletionResponse.parse(answer.body);
    expect(outcome.holdIds).toEqual([hold.body.holdId]);
    expect(outcome.categories).toMatchObject({ call: { held: 1 }, call_recording: { held: 1 }, third_party_call_data: { held: 1 }, message: { deleted: 2 } });
    const left = (await w.runDeps.records.findBySubject(T, c.id)).map((i) => i.sk.split('#')[0]).sort();
    // The held call keeps its ancestor, the profile, and the profile keeps its identifiers:
    // the customer stays findable while anything of theirs is kept.
    expect(left).toEqual(['CALL', 'CALL', 'CALL', 'ID', 'ID', 'ID', 'PROFILE']);
  });
});

describe('ingest', () => {
  it('accepts a valid body, stores blobs and items, touches the tenant activity and audits counts only', async () => {
    // Admin writes earlier in this file count as account activity too: the activity only moves forward.
    const before = (await w.stores.control.getTenant(T))?.lastActivityAt;
    const answer = await w.call({
      method: 'POST',
      path: `/v1/tenants/${T}/records`,
      body: {
        records: [
          { type: 'customer', id: 'ing-1', name: 'Ingest One', phones: ['+14155550101'], lastContactAt: daysAgo(0, -60) },
          { type: 'webhook_delivery', id: 'wh-1', deliveredAt: daysAgo(1), url: 'https://hooks.example/x', statusCode: 200 },
        ],
      },
      token: ADMIN,
    });

    expect(answer.status).toBe(200);
    expect(s.ingestResponse.parse(answer.body)).toEqual({ accepted: 2 });
    expect(await w.runDeps.records.get({ pk: keys.subjectPk(T, 'ing-1'), sk: keys.profileSk() })).toBeDefined();
    const ingested = daysAgo(0, -60);
    expect((await w.stores.control.getTenant(T))?.lastActivityAt).toBe(before !== undefined && before > ingested ? before : ingested);
    const event = await latestAudit();
    expect(event).toMatchObject({ action: 'records.ingested', after: { accepted: 2, byType: { customer: 1, webhook_delivery: 1 } } });
    expect(JSON.stringify(event)).not.toContain('Ingest One');
  });

  it('links records to a conversation and a call stored earlier', async () => {
    const c = await seedCustomer();
    const answer = await w.call({
      method: 'POST',
      path: `/v1/tenants/${T}/records`,
      body: {
        records: [
          { type: 'message', id: 'late-msg', conversationId: `${c.id}-conv`, customerId: c.id, sentAt: daysAgo(1), direction: 'inbound', text: 'later' },
          { type: 'recording', id: 'late-rec', callId: `${c.id}-call`, customerId: c.id, contentType: 'audio/wav' },
        ],
      },
      token: ADMIN,
    });

    expect(answer.status).toBe(200);
    const { uploads } = s.ingestResponse.parse(answer.body);
    expect(uploads).toHaveLength(1);
    expect(uploads?.[0]).toMatchObject({ index: 1, recordId: 'late-rec', method: 'PUT', headers: { 'content-type': 'audio/wav' } });
    expect(uploads?.[0]?.url).toMatch(/X-Amz-Signature=/);
    const message = (await w.runDeps.records.findByPartition(keys.subjectPk(T, c.id), { skPrefix: `${keys.conversationSk(`${c.id}-conv`)}#MSG#` })).find((m) => m.id === 'late-msg');
    expect(message?.clockStart).toBe(daysAgo(20));
  });

  it('refuses a body with invalid records, listing each index and field, and writes nothing', async () => {
    const dump = await dumpStores(w.stores);
    const answer = await w.call({
      method: 'POST',
      path: `/v1/tenants/${T}/records`,
      body: {
        records: [
          { type: 'customer', id: 'ok-1', lastContactAt: daysAgo(1) },
          { type: 'customer', id: 'bad-1', phones: ['12'], lastContactAt: daysAgo(1) },
          { type: 'message', id: 'bad-2', conversationId: 'nowhere', customerId: 'ok-1', sentAt: daysAgo(1), direction: 'inbound', text: 'x' },
          { type: 'telegram', id: 'bad-3' },
        ],
      },
      token: ADMIN,
    });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('records.1.phones.0');
    expect(answer.body.error.issues.map((i: { index: number; field: string }) => [i.index, i.field])).toEqual([
      [1, 'records.1.phones.0'],
      [2, 'records.2.conversationId'],
      [3, 'records.3.type'],
    ]);
    expect(await dumpStores(w.stores)).toBe(dump);
  });

  it('refuses inline content above the deployment limit, naming the field', async () => {
    const small = await apiWorld({ maxInlineBlobBytes: 8 });
    await registerTenant(small, T);
    const answer = await small.call({
      method: 'POST',
      path: `/v1/tenants/${T}/records`,
      body: {
        records: [
          { type: 'customer', id: 'c', lastContactAt: daysAgo(1) },
          { type: 'conversation', id: 'v', customerId: 'c', channel: 'chat', startedAt: daysAgo(1), status: 'closed' },
          { type: 'media', id: 'm', conversationId: 'v', customerId: 'c', direction: 'outbound', contentType: 'image/png', contentBase64: Buffer.from('0123456789').toString('base64') },
        ],
      },
      token: ADMIN,
    });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('records.2.contentBase64');
  });

  it('keeps each profile\'s activity watermark above every record under it, in whatever order they arrive', async () => {
    const post = (records: unknown[]) => w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records }, token: ADMIN });
    const profileOf = async () => w.runDeps.records.get({ pk: keys.subjectPk(T, 'wm-1'), sk: keys.profileSk() });
    // A bot conversation first, for a customer not known yet; then the customer, with an older last contact.
    await post([{ type: 'conversation', id: 'wm-bot', customerId: 'wm-1', channel: 'chat', botId: 'bot-1', startedAt: daysAgo(2), status: 'closed' }]);
    await post([{ type: 'customer', id: 'wm-1', lastContactAt: daysAgo(30) }]);
    const tracked = await profileOf();
    await post([{ type: 'call', id: 'wm-call', customerId: 'wm-1', startedAt: daysAgo(1), durationSeconds: 5 }]);
    const raised = await profileOf();
    await post([{ type: 'customer', id: 'wm-1', name: 'Wm One', lastContactAt: daysAgo(20) }]);
    const rewritten = await profileOf();

    expect(tracked).toMatchObject({ activityTracked: true, activityUntil: daysAgo(2), clockStart: daysAgo(30) });
    expect(raised).toMatchObject({ activityTracked: true, activityUntil: daysAgo(1) });
    expect(rewritten).toMatchObject({ activityTracked: true, activityUntil: daysAgo(1), clockStart: daysAgo(20) });
  });

  it('refuses to move a stored conversation\'s start, naming the field and writing nothing, but closes it when asked', async () => {
    const post = (records: unknown[]) => w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records }, token: ADMIN });
    const conversation = { type: 'conversation', id: 'mv-1', customerId: 'mv-c', channel: 'chat', startedAt: daysAgo(10), status: 'open' };
    await post([{ type: 'customer', id: 'mv-c', lastContactAt: daysAgo(10) }, conversation]);
    const dump = await dumpStores(w.stores);

    const moved = await post([{ ...conversation, startedAt: daysAgo(3) }]);
    const unchanged = await dumpStores(w.stores);
    const closed = await post([{ ...conversation, status: 'closed' }]);

    expect(moved.status).toBe(400);
    expect(moved.body.error.field).toBe('records.0.startedAt');
    expect(unchanged).toBe(dump);
    expect(closed.status).toBe(200);
    expect(await w.runDeps.records.get({ pk: keys.subjectPk(T, 'mv-c'), sk: keys.conversationSk('mv-1') })).toMatchObject({ status: 'closed', clockStart: daysAgo(10) });
  });

  it('keeps a customer and their identifiers where they are when an older customer record arrives late, and the old phone findable', async () => {
    const post = (records: unknown[]) => w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records }, token: ADMIN });
    await post([{ type: 'customer', id: 'late-c', phones: ['+14155550177'], lastContactAt: daysAgo(1) }]);

    const late = await post([{ type: 'customer', id: 'late-c', phones: ['+14155550188'], lastContactAt: daysAgo(100) }]);

    expect(late.status).toBe(200);
    const items = await w.runDeps.records.findBySubject(T, 'late-c');
    const profile = items.find((i) => i.sk === keys.profileSk())!;
    expect(profile.clockStart).toBe(daysAgo(1));
    for (const identifier of items.filter((i) => i.sk.startsWith('ID#'))) {
      expect(identifier, identifier.sk).toMatchObject({ clockStart: profile.clockStart, expiresAt: profile.expiresAt, retentionSk: profile.retentionSk });
    }
    const found = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: '+14155550188' }, token: COMPLIANCE });
    expect(found.body.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['late-c']);
  });

  it('keeps a user as they are when an older user record arrives late', async () => {
    const post = (records: unknown[]) => w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, body: { records }, token: ADMIN });
    await post([{ type: 'user', id: 'late-u', email: 'agent@acme.example', lastSignInAt: daysAgo(1), hasAccountAccess: true }]);

    await post([{ type: 'user', id: 'late-u', email: 'agent@acme.example', lastSignInAt: daysAgo(400), hasAccountAccess: false }]);

    expect(await w.runDeps.records.get({ pk: keys.userPk(T, 'late-u'), sk: keys.userSk() })).toMatchObject({ clockStart: daysAgo(1), hasAccountAccess: true });
  });

  it('writes the records of a tenant with more retention shards across all of them', async () => {
    await w.call({ method: 'PUT', path: `/v1/tenants/sharded`, body: { name: 'Sharded', adminEmails: ['a@sharded.example'], retentionShards: 4 }, token: SUPER });
    const records = Array.from({ length: 60 }, (_, i) => ({ type: 'webhook_delivery', id: `wh-${i}`, deliveredAt: daysAgo(1), url: 'https://hooks.example/x', statusCode: 200 }));

    const answer = await w.call({ method: 'POST', path: '/v1/tenants/sharded/records', body: { records }, token: SUPER });

    expect(answer.status).toBe(200);
    const items = await w.runDeps.records.findByPartition(keys.accountPk('sharded'));
    expect(new Set(items.map((i) => i.retentionPk))).toEqual(new Set([0, 1, 2, 3].map((n) => keys.retentionPk('sharded', 'webhook_delivery', n))));
  });

  it('answers 404 for a tenant that is not registered', async () => {
    const answer = await w.call({ method: 'POST', path: '/v1/tenants/nowhere/records', body: { records: [{ type: 'customer', id: 'x', lastContactAt: daysAgo(1) }] }, token: SUPER });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('t');
  });
});

describe('deletion runs', () => {
  it('starts a dry run (202), which deletes nothing, and lists and reads its receipt', async () => {
    await seedCustomer({ age: 300 });
    const recordsBefore = JSON.parse(await dumpStores(w.stores)).records;
    const started = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: { dryRun: true }, token: ADMIN });

    expect(started.status).toBe(202);
    const { runId } = s.runStartedResponse.parse(started.body);
    expect(w.sweeps.started.at(-1)).toEqual({ tenantId: T, runId, dryRun: true });
    expect(JSON.parse(await dumpStores(w.stores)).records).toEqual(recordsBefore);
    expect(await latestAudit()).toMatchObject({ action: 'deletion_run.started', refs: { runId }, after: { dryRun: true } });

    const one = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/${runId}`, token: ADMIN });
    expect(one.status).toBe(200);
    const run = s.runResponse.parse(one.body);
    expect(run).toMatchObject({ runId, status: 'completed', dryRun: true, kind: 'sweep' });
    expect(run.categories.conversation?.deleted).toBeGreaterThan(0);
    const list = s.runListResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs`, query: { limit: '5' }, token: ADMIN })).body);
    expect(list.runs.map((r) => r.runId)).toContain(runId);
  });

  it('starts a run without a body', async () => {
    const started = await w.call({ method: 'POST', path: `/v1/tenants/globex/deletion-runs`, token: token('Administrator', 'globex') });

    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', dryRun: false });
  });

  it('answers 404 for an unknown run', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/run-nope`, token: ADMIN });

    expect(answer.status).toBe(404);
    expect(answer.body.error.field).toBe('id');
  });
});

describe('audit events', () => {
  it('lists events newest first, in pages', async () => {
    const all = s.auditResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, token: ADMIN })).body).events;
    const first = s.auditResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, query: { limit: '2' }, token: ADMIN })).body);
    const second = s.auditResponse.parse(
      (await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, query: { limit: '2', cursor: first.nextCursor as string }, token: ADMIN })).body,
    );

    expect(all.length).toBeGreaterThan(4);
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort().reverse());
    expect(first.events.map((e) => e.eventId)).toEqual(all.slice(0, 2).map((e) => e.eventId));
    expect(second.events.map((e) => e.eventId)).toEqual(all.slice(2, 4).map((e) => e.eventId));
    for (const e of all) expect(isOpaqueRef(e.actor)).toBe(true);
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ cursor: 'garbage' }, 'cursor'],
  ])('refuses the query %j naming %s', async (query, field) => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, query, token: ADMIN });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe(field);
  });
});
