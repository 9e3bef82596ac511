/**
 * The retention policy's settings through the API: GET shows each setting
 * (bounds, value, source, what it governs, its clock) and the effective result
 * per category; PUT changes settings and refuses, with a 400 naming the field,
 * a category a setting governs (naming the setting), an unknown setting, a
 * period out of bounds, a missing acknowledgement; history keeps settings;
 * the preview adds up per setting and counts customers as customers.
 */
import { describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { ProfileName } from '../../shared/config/profiles.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld } from '../support/api.js';

let tenants = 0;

async function tenantUnder(profile: ProfileName): Promise<{ w: ApiWorld; t: string; call: (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, role?: string) => ReturnType<ApiWorld['call']> }> {
  const w = await apiWorld({ profile });
  tenants += 1;
  const t = `set-${tenants}`;
  await registerTenant(w, t);
  return {
    w,
    t,
    call: (method, path, body, role = 'ComplianceAdministrator') =>
      w.call({ method, path: `/v1/tenants/${t}${path}`, ...(body !== undefined && { body }), token: token(role, t) }),
  };
}

describe('GET /retention-policy under settings', () => {
  it('shows voice’s one setting and what it decides for, category by category', async () => {
    const { call } = await tenantUnder('voice');

    const policy = s.policyResponse.parse((await call('GET', '/retention-policy')).body);

    expect(policy.settings.retention).toMatchObject({ days: 90, default: 90, min: 0, max: 1095, extendable: true, indefiniteAllowed: false, source: 'default', clock: 'item', acknowledge: 'shorten' });
    expect(policy.settings.retention?.governs).toEqual(expect.arrayContaining(['call', 'call_recording', 'third_party_call_data', 'webhook_delivery', 'whatsapp_conversation', 'message']));
    expect(policy.categories.call_recording).toMatchObject({ governedBy: 'setting', setting: 'retention', days: 90, max: 1095 });
    // Messages of plain conversations keep their own period; under a WhatsApp conversation they follow the setting.
    expect(policy.categories.message).toMatchObject({ governedBy: 'category', followsUnder: { whatsapp_conversation: 'retention' } });
    expect(policy.accountLifetime).toBeNull();
    expect(policy.holds).toEqual({ beyondCap: true });
  });

  it('shows support-desk’s subject clock, indefinite by default, over everything of a customer', async () => {
    const { call } = await tenantUnder('support-desk');

    const policy = s.policyResponse.parse((await call('GET', '/retention-policy')).body);

    expect(policy.settings.customer_data).toMatchObject({ days: null, min: 365, max: null, clock: 'subject', acknowledge: 'always' });
    expect(policy.categories.call_recording).toMatchObject({ governedBy: 'setting', setting: 'customer_data', clock: 'subject', days: null });
    expect(policy.categories.webhook_delivery).toMatchObject({ governedBy: 'category', days: null });
  });

  it('shows conversations’ account lifetime', async () => {
    const { call } = await tenantUnder('conversations');

    const policy = s.policyResponse.parse((await call('GET', '/retention-policy')).body);

    expect(policy.accountLifetime).toEqual({ categories: ['customer_profile', 'user', 'account_config'], inactivityDays: 548 });
    expect(policy.categories.user).toMatchObject({ governedBy: 'account_lifetime', clock: 'account', days: null });
    expect(policy.settings).toEqual({});
  });
});

describe('PUT /retention-policy under settings', () => {
  it('changes a setting, answers the new version, and keeps it in the history', async () => {
    const { call } = await tenantUnder('voice');

    const saved = await call('PUT', '/retention-policy', { settings: { retention: { days: 365 } } }, 'Administrator');
    const history = s.historyResponse.parse((await call('GET', '/retention-policy/history')).body);

    expect(saved.status, saved.text).toBe(200);
    expect(s.policyResponse.parse(saved.body).settings.retention).toMatchObject({ days: 365, source: 'tenant' });
    expect(saved.body.categories.whatsapp_conversation).toMatchObject({ days: 365, source: 'tenant', setting: 'retention' });
    expect(history.revisions[0]?.policy.settings).toEqual({ retention: { days: 365 } });
  });

  it('refuses a category a setting governs with a 400 naming the field and the setting, and saves nothing', async () => {
    const { w, t, call } = await tenantUnder('voice');

    const answer = await call('PUT', '/retention-policy', { categories: { call: { days: 10 } }, acknowledgeDataLoss: true });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'categories.call.days', message: expect.stringContaining('settings.retention.days') });
    expect(await w.stores.control.getPolicy(t)).toBeUndefined();
  });

  it('refuses an unknown setting, a period out of bounds and a missing acknowledgement, naming each field', async () => {
    const { call } = await tenantUnder('voice');

    const unknown = await call('PUT', '/retention-policy', { settings: { calls: { days: 10 } } });
    const tooLong = await call('PUT', '/retention-policy', { settings: { retention: { days: 1096 } } });
    const shorter = await call('PUT', '/retention-policy', { settings: { retention: { days: 0 } } });
    const empty = await call('PUT', '/retention-policy', {});

    expect([unknown.status, tooLong.status, shorter.status, empty.status]).toEqual([400, 400, 400, 400]);
    expect(unknown.body.error).toMatchObject({ field: 'settings.calls', message: expect.stringContaining('retention') });
    expect(tooLong.body.error).toMatchObject({ field: 'settings.retention.days', message: expect.stringContaining('1095 days (maximum)') });
    expect(shorter.body.error.field).toBe('acknowledgeDataLoss');
    expect(empty.body.error.field).toBe('settings');
  });

  it('refuses a period for a category kept for the account’s lifetime', async () => {
    const { call } = await tenantUnder('conversations');

    const answer = await call('PUT', '/retention-policy', { categories: { customer_profile: { days: 400 } } });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'categories.customer_profile.days', message: expect.stringContaining('while the account is active') });
  });

  it('asks support-desk’s Compliance Administrator for the acknowledgement on every change, and refuses an Administrator', async () => {
    const { call } = await tenantUnder('support-desk');

    const admin = await call('PUT', '/retention-policy', { settings: { customer_data: { days: 400 } }, acknowledgeDataLoss: true }, 'Administrator');
    const first = await call('PUT', '/retention-policy', { settings: { customer_data: { days: 400 } }, acknowledgeDataLoss: true });
    const longer = await call('PUT', '/retention-policy', { settings: { customer_data: { days: 500 } } });

    expect(admin.status).toBe(403);
    expect(first.status, first.text).toBe(200);
    expect(longer.status).toBe(400);
    expect(longer.body.error.field).toBe('acknowledgeDataLoss');
  });
});

describe('POST /retention-policy/preview under settings', () => {
  it('counts 5 due customers as 5, not their identifier items, and adds up per setting', async () => {
    const { w, t, call } = await tenantUnder('voice');
    for (let i = 0; i < 5; i++) {
      await ingest(w, t, customerRecords({ id: `p${i}`, name: `Pre ${i}`, phone: `+1415555${6000 + i}`, email: `p${i}@preview.example`, secret: `s${i}`, age: 400 }));
    }

    const preview = s.previewResponse.parse((await call('POST', '/retention-policy/preview', { settings: { retention: { days: 365 } } }, 'Administrator')).body);

    expect(preview.categories.customer_profile?.wouldDelete).toBe(5);
    expect(preview.categories.call?.wouldDelete).toBe(5);
    expect(preview.settings.retention?.wouldDelete).toBe(
      ['call', 'call_recording', 'third_party_call_data', 'webhook_delivery', 'whatsapp_conversation'].reduce((n, c) => n + (preview.categories[c as 'call']?.wouldDelete ?? 0), 0),
    );
    expect(preview.reason).toBeUndefined();
  });

  it('says when the account is over: everything of it would go', async () => {
    const { w, t, call } = await tenantUnder('conversations');
    await ingest(w, t, customerRecords({ id: 'gone', name: 'Gone', phone: '+14155556100', email: 'gone@preview.example', secret: 's', age: 600 }));
    await w.stores.control.putTenant({ ...(await w.stores.control.getTenant(t))!, contractEndsAt: daysAgo(1) });

    const preview = s.previewResponse.parse((await call('POST', '/retention-policy/preview', { categories: { conversation: { days: 183 } } })).body);

    expect(preview.reason).toBe('contract_ended');
    expect(preview.categories.customer_profile?.wouldDelete).toBe(1);
  });
});

describe('legal holds where no hold may pass a cap', () => {
  it('say they cover only data inside the cap (call-tracking), and nothing of the kind elsewhere (voice)', async () => {
    const capped = await tenantUnder('call-tracking');
    const free = await tenantUnder('voice');

    const a = await capped.call('POST', '/legal-holds', { scope: { category: 'call' }, reason: 'case' });
    const b = await free.call('POST', '/legal-holds', { scope: {}, reason: 'case' });
    const listed = await capped.call('GET', '/legal-holds');

    expect(s.holdCreatedResponse.parse(a.body)).toMatchObject({ coversOnlyInsideCapDays: 761, capDaysByCategory: { call: 761 } });
    expect(b.body).not.toHaveProperty('coversOnlyInsideCapDays');
    expect(listed.body.holds[0]).toMatchObject({ coversOnlyInsideCapDays: 761 });
  });
});
