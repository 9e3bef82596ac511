/**
 * The `voice` profile, walked through its platform's data-retention page
 * (seeds/001) as the account's administrator would, through the admin API on
 * the emulators, with every scheduled sweep run by the rendered `Sweep` state
 * machine. One retention setting covers call recordings, calls (with their
 * third-party call data), webhook deliveries and WhatsApp conversations (with
 * their messages and media); 0 to 1095 days, 0 meaning "gone once the 2-hour
 * grace has passed"; a cleanup every 2 hours with a 2-hour grace; recordings
 * first, then third-party call data, then the rest; a failed record does not
 * stop the others, and a critical failure e-mails the administrators; only
 * Administrators (and Super Administrators) change the setting.
 *
 * Each statement has its own tenant, so the sweeps of one do not disturb
 * another; the clock stands still (API_NOW) and the data is placed in the
 * past at ingest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { API_NOW, type ApiWorld } from '../support/api.js';
import type { MemoryExternalProvider } from '../support/memory.js';
import {
  as,
  blob,
  DAY,
  expectGone,
  HOUR,
  ingestAs,
  mails,
  providerDeletes,
  scenarioWorld,
  scheduledSweep,
  snapshot,
  SUPER,
  tenantCall,
  total,
} from './support.js';

const TENANTS = ['v-read', 'v-roles', 'v-bounds', 'v-365', 'v-zero', 'v-grace', 'v-order', 'v-fail', 'v-shorten', 'v-extend', 'v-cadence'] as const;
type T = (typeof TENANTS)[number];

let w: ApiWorld;

beforeAll(async () => {
  w = await scenarioWorld('voice', TENANTS);
});

afterAll(() => {
  w.clock.set(API_NOW);
});

const admin = (t: T) => as('Administrator', t);
const at = (ageMs: number, plusMinutes = 0) => new Date(API_NOW.getTime() - ageMs + plusMinutes * 60_000).toISOString();

/**
 * A caller whose call (recording, provider copy) and WhatsApp conversation
 * (messages, a log, inbound and outbound media) started `ageMs` ago, and a
 * webhook delivery of the same time. Her profile says she was last in touch
 * then (or `lastContactMs` ago: her profile has a period of its own, outside
 * the setting).
 */
function caller(id: string, ageMs: number, lastContactMs = ageMs): IngestRecordInput[] {
  const wa = `${id}-wa`;
  return [
    { type: 'customer', id, name: `Caller ${id}`, lastContactAt: at(lastContactMs) },
    { type: 'call', id: `${id}-call`, customerId: id, startedAt: at(ageMs), durationSeconds: 61, thirdPartyRef: `tp-${id}` },
    { type: 'recording', id: `${id}-rec`, callId: `${id}-call`, customerId: id, contentType: 'audio/wav', contentBase64: blob(`voice of ${id}`) },
    { type: 'conversation', id: wa, customerId: id, channel: 'whatsapp', startedAt: at(ageMs), status: 'closed' },
    { type: 'message', id: `${wa}-m1`, conversationId: wa, customerId: id, sentAt: at(ageMs, 1), direction: 'inbound', text: `hi, it is ${id}` },
    { type: 'message', id: `${wa}-m2`, conversationId: wa, customerId: id, sentAt: at(ageMs, 2), direction: 'outbound', text: 'how can we help?' },
    { type: 'media', id: `${wa}-in`, conversationId: wa, customerId: id, direction: 'inbound', contentType: 'image/jpeg', contentBase64: blob(`photo of ${id}`), sentAt: at(ageMs, 1), messageId: `${wa}-m1` },
    { type: 'media', id: `${wa}-out`, conversationId: wa, customerId: id, direction: 'outbound', contentType: 'image/png', contentBase64: blob('price list') },
    { type: 'communication_log', id: `${wa}-log`, conversationId: wa, customerId: id, loggedAt: at(ageMs, 3), text: `transcript of ${id}` },
    { type: 'webhook_delivery', id: `${id}-hook`, deliveredAt: at(ageMs), url: 'https://hooks.example/voice', statusCode: 200 },
  ];
}

/** What the setting governs of a caller: her call and WhatsApp conversation with everything under them, and her webhook delivery (not her profile). */
const settingDataOf = (id: string) => (i: RecordItem) => (i.subjectId === id && i.category !== 'customer_profile') || i.id === `${id}-hook`;

const putRetention = (t: T, days: number | null, who = admin(t), acknowledgeDataLoss?: boolean) =>
  tenantCall(w, t, who, 'PUT', '/retention-policy', {
    body: { settings: { retention: { days } }, ...(acknowledgeDataLoss !== undefined && { acknowledgeDataLoss }) },
  });

const sweep = (t: T, stage?: Parameters<typeof scheduledSweep>[1]) => scheduledSweep(w, { tenantIds: [t], ...stage });

describe('what the data-retention setting covers', () => {
  it('is one setting over call recordings, calls, webhooks and WhatsApp conversations, their children following, 0 to 1095 days', async () => {
    const answer = await tenantCall(w, 'v-read', admin('v-read'), 'GET', '/retention-policy');

    expect(answer.status, answer.text).toBe(200);
    expect(Object.keys(answer.body.settings)).toEqual(['retention']);
    const setting = answer.body.settings.retention;
    expect(setting).toMatchObject({ min: 0, max: 1095, indefiniteAllowed: false, clock: 'item', source: 'default' });
    expect([...setting.categories].sort()).toEqual(['call', 'call_recording', 'third_party_call_data', 'webhook_delivery', 'whatsapp_conversation']);
    // The WhatsApp conversation's messages, logs and media follow it.
    for (const child of ['message', 'communication_log', 'inbound_media', 'outbound_media']) expect(setting.governs, child).toContain(child);
    for (const category of ['call', 'call_recording', 'third_party_call_data', 'webhook_delivery', 'whatsapp_conversation']) {
      expect(answer.body.categories[category], category).toMatchObject({ governedBy: 'setting', setting: 'retention', days: setting.days });
    }
  });
});

describe('who may configure it', () => {
  it('lets an Administrator and a Super Administrator change the setting', async () => {
    const byAdmin = await putRetention('v-roles', 200);
    const bySuper = await putRetention('v-roles', 300, SUPER);

    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(bySuper.status, bySuper.text).toBe(200);
    const read = await tenantCall(w, 'v-roles', admin('v-roles'), 'GET', '/retention-policy');
    expect(read.body.settings.retention).toMatchObject({ days: 300, source: 'tenant' });
  });

  it('refuses (403) a user with no administrator role, and another account\'s Administrator, and changes nothing', async () => {
    const before = await tenantCall(w, 'v-roles', admin('v-roles'), 'GET', '/retention-policy');
    const agent = { sub: 'agent@v-roles', groups: ['Agent'], tenantId: 'v-roles' };

    const byAgent = await putRetention('v-roles', 10, agent, true);
    const byStranger = await putRetention('v-roles', 10, admin('v-read'), true);

    expect([byAgent.status, byStranger.status]).toEqual([403, 403]);
    const after = await tenantCall(w, 'v-roles', admin('v-roles'), 'GET', '/retention-policy');
    expect(after.body).toEqual(before.body);
  });
});

describe('setting the retention period', () => {
  it('takes 0 to 1095 days, and refuses more, less or "forever" with a 400 naming the setting, saving nothing', async () => {
    for (const days of [1096, -1, null]) {
      const answer = await putRetention('v-bounds', days, admin('v-bounds'), true);
      expect(answer.status, `days ${days}`).toBe(400);
      expect(JSON.stringify(answer.body.error), `days ${days}`).toContain('settings.retention.days');
    }
    const unchanged = await tenantCall(w, 'v-bounds', admin('v-bounds'), 'GET', '/retention-policy');
    expect(unchanged.body).toMatchObject({ version: 0, settings: { retention: { source: 'default' } } });

    expect((await putRetention('v-bounds', 1095)).status).toBe(200);
    expect((await putRetention('v-bounds', 0, admin('v-bounds'), true)).status).toBe(200);
  });

  it('at 365 days deletes nothing of a 100-day-old call or WhatsApp conversation, children included, and sends the provider no DELETE; a 400-day-old one goes', async () => {
    await ingestAs(w, 'v-365', [...caller('recent', 100 * DAY), ...caller('old', 400 * DAY, 10 * DAY)]);
    expect((await putRetention('v-365', 365)).status).toBe(200);
    const before = await snapshot(w, 'v-365');

    const receipt = await (await sweep('v-365'))('v-365');

    const after = await snapshot(w, 'v-365');
    expectGone(before, after, settingDataOf('old'));
    expect(before.items.filter(settingDataOf('recent')).length).toBeGreaterThanOrEqual(10);
    expect(providerDeletes(w, 'v-365')).toEqual(['tp-old']);
    expect(receipt.status).toBe('completed');
  });

  it('at 0 deletes data 3 hours old once the sweep runs, and keeps data 1 hour old (the 2-hour grace)', async () => {
    await ingestAs(w, 'v-zero', [...caller('three-hours', 3 * HOUR), ...caller('one-hour', 1 * HOUR)]);
    expect((await putRetention('v-zero', 0, admin('v-zero'), true)).status).toBe(200);
    const before = await snapshot(w, 'v-zero');

    await sweep('v-zero');

    expectGone(before, await snapshot(w, 'v-zero'), settingDataOf('three-hours'));
    expect(providerDeletes(w, 'v-zero')).toEqual(['tp-three-hours']);
  });

  it('deletes data older than the period plus the 2-hour grace, no earlier', async () => {
    await ingestAs(w, 'v-grace', [...caller('past-grace', 30 * DAY + 3 * HOUR), ...caller('in-grace', 30 * DAY + 1 * HOUR)]);
    expect((await putRetention('v-grace', 30, admin('v-grace'), true)).status).toBe(200);
    const before = await snapshot(w, 'v-grace');

    const receipt = await (await sweep('v-grace'))('v-grace');

    expectGone(before, await snapshot(w, 'v-grace'), settingDataOf('past-grace'));
    const cutoff = new Date(API_NOW.getTime() - 30 * DAY - 2 * HOUR).toISOString();
    for (const category of ['call', 'call_recording', 'webhook_delivery', 'whatsapp_conversation'] as const) expect(receipt.cutoffs[category], category).toBe(cutoff);
  });
});

describe('automatic deletion', () => {
  it('deletes call recordings first, then third-party call data, then webhooks, calls and WhatsApp conversations', async () => {
    await ingestAs(w, 'v-order', caller('ordered', 100 * DAY));
    const before = await snapshot(w, 'v-order');
    const recording = before.items.find((i) => i.category === 'call_recording')?.blobKey as string;
    const present = async (sk: string) => (await snapshot(w, 'v-order')).keys.has(`${before.items.find((i) => i.sk === sk)?.pk}|${sk}`);
    const seen: { stage: number; recording: boolean; providerAsked: boolean; call: boolean; conversation: boolean; hook: boolean }[] = [];

    await sweep('v-order', {
      stage: (handlers) => async (payload) => {
        const result = await handlers.stage(payload);
        const after = await snapshot(w, 'v-order');
        seen.push({
          stage: (payload as { stage: number }).stage,
          recording: after.blobs.has(recording),
          providerAsked: providerDeletes(w, 'v-order').length > 0,
          call: await present('CALL#ordered-call'),
          conversation: await present('CONV#ordered-wa'),
          hook: after.items.some((i) => i.id === 'ordered-hook'),
        });
        return result;
      },
    });

    const afterStage = (stage: number) => seen.filter((s) => s.stage === stage).at(-1);
    expect(afterStage(1)).toEqual({ stage: 1, recording: false, providerAsked: false, call: true, conversation: true, hook: true });
    expect(afterStage(2)).toEqual({ stage: 2, recording: false, providerAsked: true, call: true, conversation: true, hook: true });
    expect(afterStage(3)).toEqual({ stage: 3, recording: false, providerAsked: true, call: false, conversation: false, hook: false });
    expectGone(before, await snapshot(w, 'v-order'), settingDataOf('ordered'));
  });

  it('goes on with the other records when one provider copy cannot be deleted, keeps that call for the next cleanup, and e-mails the administrators', async () => {
    await ingestAs(w, 'v-fail', [...caller('stuck', 100 * DAY), ...caller('fine', 100 * DAY)]);
    const provider = w.deps.external as MemoryExternalProvider;
    const mailsBefore = mails(w).length;
    const before = await snapshot(w, 'v-fail');
    provider.fails = (ref) => ref === 'tp-stuck';

    const receipt = await sweep('v-fail')
      .then((receiptOf) => receiptOf('v-fail'))
      .finally(() => {
        provider.fails = () => false;
      });

    const after = await snapshot(w, 'v-fail');
    // The stuck call's recording went (stage 1); the call and its provider copy wait for the provider.
    const waiting = (i: RecordItem) => i.sk === 'CALL#stuck-call' || i.sk === 'CALL#stuck-call#TPD';
    expectGone(before, after, (i) => settingDataOf('fine')(i) || (settingDataOf('stuck')(i) && !waiting(i)));
    expect(receipt.categories.third_party_call_data).toMatchObject({ failed: 1, deleted: 1 });
    expect(total(receipt, 'deleted')).toBeGreaterThan(10);
    const sent = mails(w).slice(mailsBefore);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toContain('admin@v-fail.example');
    expect(JSON.stringify(sent)).not.toMatch(/stuck|Caller|tp-/u);

    // The next cleanup, with the provider answering, finishes the call.
    await sweep('v-fail');
    expectGone(before, await snapshot(w, 'v-fail'), (i) => settingDataOf('fine')(i) || settingDataOf('stuck')(i));
  });
});

describe('changing the period', () => {
  it('deletes at the next cleanup what a shorter period leaves outside, and asks to acknowledge the loss first', async () => {
    await ingestAs(w, 'v-shorten', [...caller('hundred', 100 * DAY), ...caller('ten', 10 * DAY)]);
    const before = await snapshot(w, 'v-shorten');

    const unacknowledged = await putRetention('v-shorten', 30);
    const acknowledged = await putRetention('v-shorten', 30, admin('v-shorten'), true);
    await sweep('v-shorten');

    expect(unacknowledged.status).toBe(400);
    expect(JSON.stringify(unacknowledged.body.error)).toContain('acknowledgeDataLoss');
    expect(acknowledged.status, acknowledged.text).toBe(200);
    expectGone(before, await snapshot(w, 'v-shorten'), settingDataOf('hundred'));
  });

  it('keeps existing data longer after an increase: at 200 days a 150-day-old call outlives the 90-day default', async () => {
    await ingestAs(w, 'v-extend', caller('kept', 150 * DAY));
    expect((await putRetention('v-extend', 200)).status).toBe(200);
    const before = await snapshot(w, 'v-extend');

    await sweep('v-extend');

    expectGone(before, await snapshot(w, 'v-extend'), () => false);
    expect(providerDeletes(w, 'v-extend')).toEqual([]);
  });
});

describe('the cleanup cadence', () => {
  it('runs every 2 hours with a 2-hour grace: data kept by one cleanup at 0 days is gone at the next, 2 hours later', async () => {
    expect(w.platform.sweep).toMatchObject({ cadenceMinutes: 120, graceHours: 2 });
    await ingestAs(w, 'v-cadence', caller('soon', 1 * HOUR));
    expect((await putRetention('v-cadence', 0, admin('v-cadence'), true)).status).toBe(200);
    const before = await snapshot(w, 'v-cadence');

    await sweep('v-cadence');
    const afterFirst = await snapshot(w, 'v-cadence');
    w.clock.advance(w.platform.sweep.cadenceMinutes * 60_000);
    await sweep('v-cadence');

    expectGone(before, afterFirst, () => false, { what: 'first cleanup' });
    expectGone(before, await snapshot(w, 'v-cadence'), settingDataOf('soon'), { what: 'next cleanup' });
  });
});
