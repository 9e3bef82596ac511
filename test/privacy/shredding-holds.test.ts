/**
 * Crypto-shredding never makes held data unreadable, nor anything of a
 * customer who is still there: a sweep that deletes an expired customer's
 * neighbours keeps the subject key of a held customer past her retention and
 * every epoch key one of her records still needs — her records still open, in
 * the live table and in a copy of it. Once the hold is released, the next
 * sweep deletes her and destroys those keys; an erasure that a hold defers
 * destroys nothing until it completes.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyRows } from '../../shared/adapters/crypto/key-store.js';
import { epochOf } from '../../shared/adapters/crypto/sealed-record-store.js';
import { keys } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';

const T = 'shred-holds';
const COMPLIANCE = token('ComplianceAdministrator', T);
const ADMIN = token('Administrator', T);

const held: CustomerFixture = { id: 'sh-held', name: 'Euphemia Blackwood', phone: '+14155558821', email: 'euphemia@private.example', secret: 'held-secret', age: 2000 };
const gone: CustomerFixture = { id: 'sh-gone', name: 'Rupert Ellingham', phone: '+14155558822', email: 'rupert@private.example', secret: 'gone-secret', age: 2000 };
const deferred: CustomerFixture = { id: 'sh-deferred', name: 'Isadora Penhallow', phone: '+14155558823', email: 'isadora@private.example', secret: 'deferred-secret', age: 10 };

let w: ApiWorld;

async function keyRowsNow(): Promise<{ pk: string; sk: string }[]> {
  return ((await w.stores.doc.send(new ScanCommand({ TableName: w.stores.tableNames.keys, ConsistentRead: true }))).Items ?? []) as { pk: string; sk: string }[];
}

const hasSubjectKey = (rows: readonly { pk: string; sk: string }[], c: CustomerFixture) => rows.some((r) => r.pk === keyRows.subject(keys.subjectPk(T, c.id)).pk);

async function sweep(): Promise<void> {
  const run = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN });
  expect(run.status).toBe(202);
}

async function hold(customerId: string): Promise<string> {
  const created = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { customerId }, reason: 'litigation' }, token: COMPLIANCE });
  expect(created.status).toBeLessThan(300);
  return created.body.holdId as string;
}

let heldHold: string;

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  for (const c of [held, gone, deferred]) await ingest(w, T, customerRecords(c));
  heldHold = await hold(held.id);
  await sweep();
}, 120_000);

describe('a sweep with a held customer past her retention', () => {
  it('deletes the unheld neighbour and destroys its subject key', async () => {
    expect(await w.runDeps.records.findBySubject(T, gone.id, { includeExpired: true })).toEqual([]);
    expect(hasSubjectKey(await keyRowsNow(), gone)).toBe(false);
  });

  it('keeps the held customer readable: her subject key and the epoch keys of her records stay', async () => {
    const items = await w.runDeps.records.findBySubject(T, held.id, { includeExpired: true });
    expect(items.length).toBeGreaterThan(5);
    const rows = await keyRowsNow();
    expect(hasSubjectKey(rows, held)).toBe(true);
    for (const item of items) {
      expect(rows.some((r) => r.pk === keyRows.epochs(T) && r.sk === epochOf(item)), item.sk).toBe(true);
      if (!item.sk.startsWith('ID#')) expect(item.data, item.sk).toBeDefined();
    }
    const texts = JSON.stringify(items.map((i) => i.data));
    expect(texts).toContain(held.secret);
    const found = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: held.phone }, token: ADMIN });
    expect(JSON.stringify(found.body)).toContain(held.id);
  });

  it('deletes her and destroys her keys in the first sweep after the hold is released', async () => {
    const released = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${heldHold}`, token: COMPLIANCE });
    expect(released.status).toBeLessThan(300);
    await sweep();
    expect(await w.runDeps.records.findBySubject(T, held.id, { includeExpired: true })).toEqual([]);
    const rows = await keyRowsNow();
    expect(hasSubjectKey(rows, held)).toBe(false);
  });
});

describe('an erasure deferred by a hold', () => {
  it('destroys no key while the hold keeps her records, and her subject key once it completes after the release', async () => {
    const holdId = await hold(deferred.id);
    const filed = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'erasure', subject: { customerId: deferred.id } }, token: COMPLIANCE });
    const requestId = filed.body.requestId as string;
    const during = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${requestId}`, token: COMPLIANCE })).body;
    expect(during.status).toBe('partially_completed');
    expect(hasSubjectKey(await keyRowsNow(), deferred)).toBe(true);
    const items = await w.runDeps.records.findBySubject(T, deferred.id);
    expect(JSON.stringify(items.map((i) => i.data))).toContain(deferred.secret);

    await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: COMPLIANCE });
    const after = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${requestId}`, token: COMPLIANCE })).body;
    expect(after.status).toBe('completed');
    expect(after.subjectKeysShredded).toBe(1);
    expect(hasSubjectKey(await keyRowsNow(), deferred)).toBe(false);
  });
});
