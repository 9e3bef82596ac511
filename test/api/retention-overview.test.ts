/**
 * GET /v1/tenants/{t}/retention-overview, the console's chart: per category,
 * stored records by age in buckets, the age past which the policy makes them
 * due (period plus grace) and how many are past it; counts only, nothing of
 * the records' content; bad input is a 400 naming the field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { retentionOverviewResponse } from '../../shared/app/api/use-cases/retention-overview.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld } from '../support/api.js';

const T = 'overview';
let w: ApiWorld;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  await registerTenant(w, 'other');
  for (const [i, age] of [10, 100, 400].entries()) {
    await ingest(w, T, customerRecords({ id: `c${i}`, name: `Ada Lovelace ${i}`, phone: `+1415555${6100 + i}`, email: `ada${i}@example.com`, secret: `secret-${i}`, age }));
  }
});

const overview = (query: Record<string, string> = {}, t = token('Administrator', T)) =>
  w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-overview`, query, token: t });

describe('the retention overview', () => {
  it('counts stored records per category by age, with the cutoff of a sweep started now', async () => {
    const answer = await overview({ bucketDays: '30' });

    expect(answer.status).toBe(200);
    const body = retentionOverviewResponse.parse(answer.body);
    const conversation = body.categories.conversation!;
    expect(conversation.stored).toBe(3);
    // Ages 10, 100 and 400 days: buckets 0, 3 and 13 of 30 days.
    expect(conversation.buckets[0]).toBe(1);
    expect(conversation.buckets[3]).toBe(1);
    expect(conversation.buckets[13]).toBe(1);
    expect(conversation.buckets.reduce((a, b) => a + b, 0)).toBe(3);
    const policy = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: token('Administrator', T) })).body as {
      categories: { conversation: { days: number } };
    };
    const cutoff = policy.categories.conversation.days + w.platform.sweep.graceHours / 24;
    expect(conversation.cutoffAgeDays).toBeCloseTo(cutoff, 1);
    expect(conversation.pastCutoff).toBe([10, 100, 400].filter((age) => age > cutoff).length);
    expect(body.categories.customer_profile?.stored).toBe(3);
    expect(body.bucketDays).toBe(30);
    expect(body.at).toBe(w.clock.now().toISOString());
  });

  it('answers counts only: no name, phone, e-mail or text of the records', async () => {
    const text = JSON.stringify((await overview()).body);

    for (const pii of ['Ada', 'Lovelace', '415555', 'example.com', 'secret-']) expect(text).not.toContain(pii);
  });

  it('refuses a bucket width outside 1 to 365 days with a 400 naming bucketDays', async () => {
    for (const bad of ['0', '366', 'x']) {
      const answer = await overview({ bucketDays: bad });
      expect(answer.status).toBe(400);
      expect((answer.body as { error: { field: string } }).error.field).toBe('bucketDays');
    }
  });

  it("is not another tenant's to read", async () => {
    expect((await overview({}, token('ComplianceAdministrator', 'other'))).status).toBe(403);
  });
});
