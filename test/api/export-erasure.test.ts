/**
 * An access export dies with the erasure (or anonymisation) of its subject:
 * through the admin API on the emulators, each request's PrivacyRequest
 * state machine run to its end. The export object leaves the exports bucket,
 * its pre-signed link answers 404, the access request stops showing the link
 * and says when and by which request it went, and the erasure's receipt
 * counts it; exports of other customers stay, and a failed deletion fails the
 * erasure and leaves the link to a re-run.
 */
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BucketName } from '../../shared/domain/catalog.js';
import type { BlobStore } from '../../shared/domain/ports.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type Answer, type ApiWorld, type CustomerFixture } from '../support/api.js';

const T = 'exp-erase';
const COMPLIANCE = token('ComplianceAdministrator', T);
const path = (suffix = '') => `/v1/tenants/${T}/privacy-requests${suffix}`;

let w: ApiWorld;
let n = 0;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
});

async function customer(world: ApiWorld = w): Promise<CustomerFixture> {
  n += 1;
  const c: CustomerFixture = { id: `ee-${n}`, name: `Araminta Fellowes-${n}`, phone: `+1415555${8300 + n}`, email: `araminta.${n}@private.example`, secret: `ee-secret-${n}`, age: 10 };
  await ingest(world, T, customerRecords(c));
  return c;
}

async function submit(body: unknown, world: ApiWorld = w): Promise<Answer> {
  const answer = await world.call({ method: 'POST', path: path(), body, token: COMPLIANCE });
  expect(answer.status).toBe(202);
  return world.call({ method: 'GET', path: path(`/${answer.body.requestId}`), token: COMPLIANCE });
}

async function exportKeys(world: ApiWorld = w): Promise<string[]> {
  const page = await world.stores.s3.send(new ListObjectsCommand({ Bucket: world.stores.bucketNames.exports }));
  return (page.Contents ?? []).map((o) => o.Key as string).sort();
}

describe('an access export after the erasure of its subject', () => {
  it('is deleted from the exports bucket, its link answers 404, the request no longer shows it, and the receipt counts it', async () => {
    const c = await customer();
    const access = await submit({ kind: 'access', subject: { customerId: c.id } });
    const url = access.body.exportUrl as string;
    expect(access.body.status).toBe('completed');
    const served = await fetch(url);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain(c.phone);

    const erasure = await submit({ kind: 'erasure', subject: { phone: c.phone } });

    expect(erasure.body).toMatchObject({ status: 'completed', exportsDeleted: 1 });
    expect(await exportKeys()).not.toContain(`exports/${T}/${access.body.requestId}.json`);
    expect((await fetch(url)).status).toBe(404);
    const after = await w.call({ method: 'GET', path: path(`/${access.body.requestId}`), token: COMPLIANCE });
    expect(after.body.exportUrl).toBeUndefined();
    expect(after.body).toMatchObject({ status: 'completed', exportDeletedAt: w.clock.now().toISOString(), exportDeletedBy: erasure.body.requestId });
    const listed = (await w.call({ method: 'GET', path: path(), token: COMPLIANCE })).body.requests.find((r: { requestId: string }) => r.requestId === access.body.requestId);
    expect(listed.exportUrl).toBeUndefined();
    const run = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/${erasure.body.requestId}-1`, token: COMPLIANCE });
    expect(run.status).toBe(200);
    expect(run.body.exportsDeleted).toBe(1);
    const receipt = await w.stores.control.getReceipt(T, `${erasure.body.requestId}-1`);
    expect(receipt?.exportsDeleted).toBe(1);
    // PII-free: the receipt names no export key, subject id or identifier.
    for (const value of [c.id, c.phone, c.email, c.name, access.body.requestId]) expect(JSON.stringify(receipt)).not.toContain(value);
  });

  it('goes with every access export of the subject, and leaves those of other customers', async () => {
    const mine = await customer();
    const other = await customer();
    const first = await submit({ kind: 'access', subject: { customerId: mine.id } });
    const second = await submit({ kind: 'access', subject: { email: mine.email } });
    const others = await submit({ kind: 'access', subject: { customerId: other.id } });

    const erasure = await submit({ kind: 'erasure', subject: { customerId: mine.id } });

    expect(erasure.body.exportsDeleted).toBe(2);
    const keys = await exportKeys();
    expect(keys).not.toContain(`exports/${T}/${first.body.requestId}.json`);
    expect(keys).not.toContain(`exports/${T}/${second.body.requestId}.json`);
    expect(keys).toContain(`exports/${T}/${others.body.requestId}.json`);
    expect((await fetch(others.body.exportUrl)).status).toBe(200);
    const kept = await w.call({ method: 'GET', path: path(`/${others.body.requestId}`), token: COMPLIANCE });
    expect(kept.body.exportUrl).toBe(others.body.exportUrl);
    expect(kept.body.exportDeletedAt).toBeUndefined();
  });

  it('is deleted by an anonymisation of its subject too, counted on the anonymisation', async () => {
    const c = await customer();
    const access = await submit({ kind: 'access', subject: { customerId: c.id } });

    const anonymisation = await submit({ kind: 'anonymization', subject: { customerId: c.id } });

    expect(anonymisation.body).toMatchObject({ status: 'completed', exportsDeleted: 1 });
    expect((await fetch(access.body.exportUrl)).status).toBe(404);
    const after = await w.call({ method: 'GET', path: path(`/${access.body.requestId}`), token: COMPLIANCE });
    expect(after.body.exportUrl).toBeUndefined();
    expect(after.body.exportDeletedBy).toBe(anonymisation.body.requestId);
  });

  it('goes with a bulk erasure that matches its subject', async () => {
    const c = await customer();
    const access = await submit({ kind: 'access', subject: { customerId: c.id } });

    const erasure = await submit({ kind: 'erasure', filter: { channel: 'email', firstContactFrom: new Date(w.clock.now().getTime() - 11 * 86_400_000).toISOString() } });

    expect(erasure.body.status).toBe('completed');
    expect(erasure.body.exportsDeleted).toBeGreaterThanOrEqual(1);
    expect((await fetch(access.body.exportUrl)).status).toBe(404);
    expect((await w.call({ method: 'GET', path: path(`/${access.body.requestId}`), token: COMPLIANCE })).body.exportDeletedBy).toBe(erasure.body.requestId);
  });

  it('is counted 0 on an erasure whose subject had no export', async () => {
    const c = await customer();

    const erasure = await submit({ kind: 'erasure', subject: { customerId: c.id } });

    expect(erasure.body).toMatchObject({ status: 'completed', exportsDeleted: 0 });
    expect((await w.stores.control.getReceipt(T, `${erasure.body.requestId}-1`))?.exportsDeleted).toBe(0);
  });
});

describe('an export whose deletion fails', () => {
  it('fails the erasure and keeps its link on the access request, and the next erasure deletes it', async () => {
    let refuse = true;
    const failing = (blobs: BlobStore): BlobStore => ({
      put: (...a) => blobs.put(...a),
      get: (...a) => blobs.get(...a),
      read: (...a) => blobs.read(...a),
      list: (...a) => blobs.list(...a),
      setLegalHold: (...a) => blobs.setLegalHold(...a),
      presignGet: (...a) => blobs.presignGet(...a),
      presignPut: (...a) => blobs.presignPut(...a),
      deleteBatch: async (bucket: BucketName, keys: readonly string[]) =>
        bucket === 'exports' && refuse ? { succeeded: [], failed: keys.map((key) => ({ key, reason: 'AccessDenied' })) } : blobs.deleteBatch(bucket, keys),
    });
    const world = await apiWorld({ blobs: failing });
    await registerTenant(world, T);
    const c = await customer(world);
    const access = await submit({ kind: 'access', subject: { customerId: c.id } }, world);

    const erasure = await submit({ kind: 'erasure', subject: { customerId: c.id } }, world);

    expect(erasure.body).toMatchObject({ status: 'failed', reason: 'deletion_failed', exportsDeleted: 0 });
    expect((await fetch(access.body.exportUrl)).status).toBe(200);
    const kept = await world.call({ method: 'GET', path: path(`/${access.body.requestId}`), token: COMPLIANCE });
    expect(kept.body.exportUrl).toBe(access.body.exportUrl);

    refuse = false;
    const again = await submit({ kind: 'erasure', subject: { customerId: c.id } }, world);

    expect(again.body).toMatchObject({ status: 'completed', exportsDeleted: 1 });
    expect((await fetch(access.body.exportUrl)).status).toBe(404);
  });
});
