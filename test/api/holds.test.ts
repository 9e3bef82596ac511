/**
 * Legal holds through the API on the emulators: applying takes the TTL
 * backstop off every record in scope (and their ancestors), the sweep deletes
 * none of them; releasing restamps what no other hold keeps, and the following
 * sweep deletes what is due. Blob holds go through `setLegalHold`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as s from '../../shared/app/api/schemas.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import { backstopExpiresAt } from '../../shared/domain/policy.js';
import type { BlobStore } from '../../shared/domain/ports.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';

let w: ApiWorld;
let n = 0;
/** Object Lock calls (s3rver has no Object Lock: the wrapper stands in for a bucket that has). */
const lockCalls: { bucket: BucketName; key: string; on: boolean }[] = [];

function withObjectLock(blobs: BlobStore): BlobStore {
  return Object.assign(Object.create(blobs) as BlobStore, {
    setLegalHold: async (bucket: BucketName, key: string, on: boolean) => {
      lockCalls.push({ bucket, key, on });
      return 'applied' as const;
    },
  });
}

beforeAll(async () => {
  w = await apiWorld({ blobs: withObjectLock });
});

async function tenantWith(...fixtures: Omit<CustomerFixture, 'name' | 'phone' | 'email' | 'secret'>[]): Promise<string> {
  n += 1;
  const t = `hold-${n}`;
  await registerTenant(w, t);
  for (const [i, f] of fixtures.entries()) {
    await ingest(w, t, customerRecords({ name: `H ${i}`, phone: `+1415555${5000 + i}`, email: `h${i}@example.com`, secret: `s${i}`, ...f }));
  }
  return t;
}

const partition = (t: string, customerId: string) => w.stores.records.findBySubject(t, customerId);
/** Also what is past its TTL backstop and not yet removed by DynamoDB: a hold keeps whatever still exists. */
const stored = (t: string, customerId: string) => w.stores.records.findBySubject(t, customerId, { includeExpired: true });
const holdOf = async (t: string, holdId: string) =>
  s.holdListResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}/legal-holds`, token: compliance(t) })).body).holds.find((h) => h.holdId === holdId);
const compliance = (t: string) => token('ComplianceAdministrator', t);

async function sweep(t: string) {
  const started = await w.call({ method: 'POST', path: `/v1/tenants/${t}/deletion-runs`, token: token('Administrator', t) });
  return s.runResponse.parse((await w.call({ method: 'GET', path: `/v1/tenants/${t}/deletion-runs/${started.body.runId}`, token: token('Administrator', t) })).body);
}

/** The shape of a partition: sk kinds with ids made relative, so two customers' partitions compare. */
function shape(items: readonly RecordItem[], customerId: string): string[] {
  return items.map((i) => i.sk.replaceAll(customerId, 'C').replace(/#\d{4}-[^#]+#/u, '#T#').replace(/^(ID#[A-Z]+)#.*$/u, '$1')).sort();
}

describe('a customer hold', () => {
  it('removes expiresAt from all the customer’s records, and the next sweep deletes none of them', async () => {
    const t = await tenantWith({ id: 'held', age: 400 }, { id: 'free', age: 400 });
    const before = await stored(t, 'held');
    expect(before.every((i) => i.expiresAt !== undefined)).toBe(true);
    // Some records are past their platform cap: they read as gone already, but TTL lags and they still exist.
    expect((await partition(t, 'held')).length).toBeLessThan(before.length);
    lockCalls.length = 0;

    const created = await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { customerId: 'held' }, reason: 'litigation' }, token: compliance(t) });

    expect(created.status).toBe(201);
    // The test's Hold workflow runs to its end before the route answers (in AWS it answers `applying`).
    expect(created.body.status).toBe('active');
    const blobs = before.filter((i) => i.blobKey !== undefined);
    expect(blobs.length).toBeGreaterThan(0);
    expect(created.body.applied).toEqual({ records: before.length, blobHolds: blobs.length, blobHoldsUnsupported: 0 });
    expect(lockCalls.map((c) => c.key).sort()).toEqual(blobs.map((b) => b.blobKey).sort());
    expect(lockCalls.every((c) => c.on)).toBe(true);
    const held = await partition(t, 'held');
    expect(held).toHaveLength(before.length);
    for (const item of held) expect(item.expiresAt, item.sk).toBeUndefined();

    const run = await sweep(t);

    expect(shape(await partition(t, 'held'), 'held')).toEqual(shape(before, 'held'));
    expect(run.categories.conversation).toMatchObject({ held: 1, deleted: 1 });
    expect((await partition(t, 'free')).length).toBeLessThan(before.length);
  });

  it('is restamped on release, and the following sweep deletes what is due', async () => {
    const t = await tenantWith({ id: 'held', age: 400 }, { id: 'twin', age: 400 });
    const hold = await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { customerId: 'held' }, reason: 'litigation' }, token: compliance(t) });
    await sweep(t);
    // The twin was never held: what is left of it is what the sweep keeps of such a customer.
    const keptOfTwin = shape(await partition(t, 'twin'), 'twin');
    lockCalls.length = 0;

    const released = await w.call({ method: 'DELETE', path: `/v1/tenants/${t}/legal-holds/${hold.body.holdId}`, token: compliance(t) });

    expect(released.status).toBe(200);
    const restamped = await stored(t, 'held');
    const blobs = restamped.filter((i) => i.blobKey !== undefined);
    expect(released.body).toMatchObject({ status: 'released' });
    expect((await holdOf(t, hold.body.holdId))?.releasedCounts).toEqual({ records: restamped.length, blobHolds: blobs.length, blobHoldsUnsupported: 0 });
    expect(lockCalls.map((c) => [c.key, c.on]).sort()).toEqual(blobs.map((b) => [b.blobKey, false]).sort());
    for (const item of restamped) {
      expect(item.expiresAt, item.sk).toBe(backstopExpiresAt(w.platform, item.category, new Date(item.clockStart)));
    }

    await sweep(t);

    expect(shape(await partition(t, 'held'), 'held')).toEqual(keptOfTwin);
    expect(keptOfTwin.length).toBeGreaterThan(0);
  });
});

describe('narrower holds', () => {
  it('a conversation hold keeps the conversation, its children and its ancestors, and nothing else', async () => {
    const t = await tenantWith({ id: 'c', age: 400 });
    await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { conversationId: 'c-conv' }, reason: 'case' }, token: compliance(t) });

    const items = await partition(t, 'c');
    const unstamped = items.filter((i) => i.expiresAt === undefined).map((i) => i.sk);
    const kept = items.filter((i) => i.sk.startsWith('CONV#c-conv') || i.sk.startsWith('ID#') || i.sk === 'PROFILE').map((i) => i.sk);

    expect(kept.length).toBeGreaterThan(8);
    expect(unstamped.sort()).toEqual(kept.sort());
    expect(items.filter((i) => i.sk.startsWith('CALL#')).every((i) => i.expiresAt !== undefined)).toBe(true);
  });

  it('a category hold reaches the category across customers; releasing it leaves what another hold keeps', async () => {
    const t = await tenantWith({ id: 'a', age: 400 }, { id: 'b', age: 400 });
    const category = await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { category: 'call_recording' }, reason: 'regulator' }, token: compliance(t) });
    await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { customerId: 'b' }, reason: 'litigation' }, token: compliance(t) });
    const recordingOf = async (c: string) => (await partition(t, c)).find((i) => i.category === 'call_recording');

    expect((await recordingOf('a'))?.expiresAt).toBeUndefined();
    expect((await recordingOf('b'))?.expiresAt).toBeUndefined();

    await w.call({ method: 'DELETE', path: `/v1/tenants/${t}/legal-holds/${category.body.holdId}`, token: compliance(t) });

    expect((await recordingOf('a'))?.expiresAt).toBeDefined();
    expect((await recordingOf('b'))?.expiresAt).toBeUndefined();
  });

  it('ingest honours an active hold: new records in scope get no backstop', async () => {
    const t = await tenantWith({ id: 'c', age: 10 });
    await w.call({ method: 'POST', path: `/v1/tenants/${t}/legal-holds`, body: { scope: { customerId: 'late' }, reason: 'preservation' }, token: compliance(t) });

    await ingest(w, t, [{ type: 'customer', id: 'late', lastContactAt: '2025-05-01T00:00:00Z' }]);

    expect((await partition(t, 'late')).map((i) => i.expiresAt)).toEqual([undefined]);
  });
});
