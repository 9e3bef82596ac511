/**
 * Retention policy through the API: preview's counts are exactly what the next
 * sweep deletes and holds once the policy is saved; every change is in the
 * history and the audit trail with before and after; shortening needs an
 * acknowledgement; a locked policy may only be extended.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { Category } from '../../shared/domain/catalog.js';
import { capDays } from '../../shared/domain/policy.js';
import { keys } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld } from '../support/api.js';

let w: ApiWorld;
let tenants = 0;

/** The ages in days of the seeded tenants' customers (`c0`, `c1`, …). */
const CUSTOMER_AGES = [3, 20, 45, 100, 190, 250, 400, 800];

/** A tenant with customers of many ages, some open conversations, account data and a hold. */
async function seededTenant(): Promise<string> {
  tenants += 1;
  const t = `pol-${tenants}`;
  await registerTenant(w, t);
  for (const [i, age] of CUSTOMER_AGES.entries()) {
    await ingest(w, t, customerRecords({ id: `c${i}`, name: `N ${i}`, phone: `+1415555${4000 + i}`, email: `n${i}@example.com`, secret: `s${i}`, age, open: i === 5 }));
  }
  await ingest(w, t, [
    { type: 'webhook_delivery', id: 'w1', deliveredAt: daysAgo(10), url: 'https://hooks.example/a', statusCode: 200 },
    { type: 'webhook_delivery', id: 'w2', deliveredAt: daysAgo(300), url: 'https://hooks.example/b', statusCode: 500 },
    { type: 'admin_activity_log', id: 'a1', occurredAt: daysAgo(500), actor: 'admin', action: 'login' },
    { type: 'user', id: 'u1', email: 'agent@example.com', lastSignInAt: daysAgo(600), hasAccountAccess: false },
    { type: 'analytics_event', id: 'e1', occurredAt: daysAgo(90), name: 'page_view' },
  ]);
  const hold = await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { callId: 'c6-call' }, reason: 'case' }, token: token('ComplianceAdministrator', t) });
  expect(hold.status).toBe(201);
  return t;
}

beforeAll(async () => {
  w = await apiWorld();
});

/** A proposed period for a category, anywhere inside the conversations profile's bounds. */
function proposals() {
  const categories: Category[] = ['conversation', 'message', 'call', 'call_recording', 'inbound_media', 'email_attachment', 'webhook_delivery', 'analytics_event', 'communication_log', 'customer_profile', 'admin_activity_log'];
  return fc.dictionary(
    fc.constantFrom(...categories),
    fc.double({ min: 0, max: 1, noNaN: true }),
    { minKeys: 1, maxKeys: 6 },
  );
}

describe('preview', () => {
  it('counts exactly what the next sweep deletes and holds once the policy is saved', async () => {
    await fc.assert(
      fc.asyncProperty(proposals(), async (fractions) => {
        const t = await seededTenant();
        const admin = token('Administrator', t);
        const categories: Record<string, { days: number }> = {};
        for (const [category, f] of Object.entries(fractions) as [Category, number][]) {
          const bounds = w.platform.categories[category];
          const upper = bounds.extendable ? (capDays(w.platform, category) ?? 3650) : (bounds.defaultDays ?? 3650);
          categories[category] = { days: Math.round(bounds.minDays + f * (upper - bounds.minDays)) };
        }
        const body = { categories, acknowledgeDataLoss: true };

        const preview = s.previewResponse.parse((await w.call({ method: 'POST', path: `/v1/tenants/${t}/retention-policy/preview`, body, token: admin })).body);
        const saved = await w.call({ method: 'PUT', path: `/v1/tenants/${t}/retention-policy`, body, token: admin });
        expect(saved.status, saved.text).toBe(200);
        const started = await w.call({ method: 'POST', path: `/v1/tenants/${t}/deletion-runs`, token: admin });
        const run = s.runResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}/deletion-runs/${started.body.runId}`, token: admin })).body);

        expect(run.status).toBe('completed');
        // Customers are counted as customers in the preview (a receipt counts their identifier items too).
        const rows = (counts: Record<string, { wouldDelete: number; held: number }>) => Object.fromEntries(Object.entries(counts).filter(([c]) => c !== 'customer_profile'));
        const swept = rows(Object.fromEntries(Object.entries(run.categories).map(([c, n]) => [c, { wouldDelete: n.deleted, held: n.held }])));
        const previewed = rows(Object.fromEntries(Object.entries(preview.categories).map(([c, n]) => [c, { wouldDelete: n.wouldDelete, held: n.held }])));
        expect(previewed).toEqual(swept);
        const profiles = await w.stores.records.getBatch(CUSTOMER_AGES.map((_, i) => ({ pk: keys.subjectPk(t, `c${i}`), sk: keys.profileSk() })));
        expect(preview.categories.customer_profile?.wouldDelete ?? 0).toBe(CUSTOMER_AGES.length - profiles.length);
        expect(Object.values(preview.categories).some((c) => c.wouldDelete > 0)).toBe(true);
      }),
      { numRuns: 4 },
    );
  });
});

describe('policy changes', () => {
  it('appear in the history and the audit trail with before and after', async () => {
    const t = `hist-${(tenants += 1)}`;
    await registerTenant(w, t);
    const admin = token('Administrator', t);
    await w.call({ method: 'PUT', path: `/v1/tenants/${t}/retention-policy`, body: { categories: { call: { days: 400 } } }, token: admin });
    await w.call({ method: 'PUT', path: `/v1/tenants/${t}/retention-policy`, body: { categories: { call: { days: 300 } }, acknowledgeDataLoss: true }, token: admin });

    const history = s.historyResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}/retention-policy/history`, token: admin })).body);
    expect(history.revisions.map((r) => [r.version, r.policy.categories.call?.days, r.previous?.categories.call?.days])).toEqual([
      [2, 300, 400],
      [1, 400, undefined],
    ]);
    const events = s.auditResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}/audit-events`, token: admin })).body).events;
    const changes = events.filter((e) => e.action === 'policy.updated');
    expect(changes.map((e) => [(e.before as { version: number }).version, (e.after as { version: number }).version])).toEqual([
      [1, 2],
      [0, 1],
    ]);
    expect(changes[0]?.before).toMatchObject({ categories: { call: { days: 400 } } });
    expect(changes[0]?.after).toMatchObject({ categories: { call: { days: 300 } } });
  });

  it('refuses shortening without acknowledgeDataLoss, saying why, and saves nothing', async () => {
    const t = `ack-${(tenants += 1)}`;
    await registerTenant(w, t);
    const answer = await w.call({ method: 'PUT', path: `/v1/tenants/${t}/retention-policy`, body: { categories: { conversation: { days: 30 } } }, token: token('Administrator', t) });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('acknowledgeDataLoss');
    expect(answer.body.error.message).toMatch(/shortening conversation makes data that is kept today due for deletion.*acknowledgeDataLoss: true/);
    expect(await w.stores.control.getPolicy(t)).toBeUndefined();
  });

  it('keeps a locked policy locked: only extensions pass', async () => {
    const t = `lock-${(tenants += 1)}`;
    await registerTenant(w, t);
    const admin = token('Administrator', t);
    const put = (body: unknown) => w.call({ method: 'PUT', path: `/v1/tenants/${t}/retention-policy`, body, token: admin });

    expect((await put({ categories: { call: { days: 400 } }, lock: true })).body).toMatchObject({ version: 1, locked: true });
    const shorter = await put({ categories: { call: { days: 300 } }, acknowledgeDataLoss: true });
    const unlock = await put({ categories: { call: { days: 400 } }, lock: false });
    const dropped = await put({ categories: { message: { days: 200 } }, acknowledgeDataLoss: true });
    const longer = await put({ categories: { call: { days: 500 } } });

    expect(shorter.status).toBe(400);
    expect(shorter.body.error).toMatchObject({ field: 'categories.call.days' });
    expect(shorter.body.error.message).toMatch(/locked/);
    expect(unlock.status).toBe(400);
    expect(unlock.body.error.field).toBe('lock');
    // Dropping the call override falls back to the 183-day default: a shortening too.
    expect(dropped.status).toBe(400);
    expect(longer.status).toBe(200);
    expect(longer.body).toMatchObject({ version: 2, locked: true, categories: { call: { days: 500 } } });
  });
});
