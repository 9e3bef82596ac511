/**
 * The restore drill of crypto-shredding (DESIGN.md §3): a copy of the records
 * table taken before an erasure and a sweep — what a point-in-time restore
 * would bring back — is read with the live keys table afterwards. The erased
 * customer's items and the swept (expired) ones no longer open; every kept
 * item still opens to what was ingested; and nothing personal is in the copy
 * in plaintext to begin with.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { SealedRecordStore } from '../../shared/adapters/crypto/sealed-record-store.js';
import { createTableInput } from '../../shared/adapters/provision.js';
import { RECORDS_TABLE } from '../../shared/adapters/table-definitions.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';
import { uniqueSuffix } from '../support/env.js';

const T = 'drill';
const COMPLIANCE = token('ComplianceAdministrator', T);
const ADMIN = token('Administrator', T);

const erased: CustomerFixture = { id: 'dr-erased', name: 'Philippa Drummond-Hay', phone: '+14155558801', email: 'philippa@private.example', secret: 'erased-secret-text', age: 10 };
const kept: CustomerFixture = { id: 'dr-kept', name: 'Ottoline Castellane', phone: '+14155558802', email: 'ottoline@private.example', secret: 'kept-secret-text', age: 10 };
const expired: CustomerFixture = { id: 'dr-expired', name: 'Leopold Vanstone', phone: '+14155558803', email: 'leopold@private.example', secret: 'expired-secret-text', age: 2000 };

let w: ApiWorld;

async function scan(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await w.stores.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start !== undefined && { ExclusiveStartKey: start }) }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** A copy of the records table as it is now, in a table of its own: what a point-in-time restore gives. */
async function backup(): Promise<string> {
  const name = `restored-${uniqueSuffix()}`;
  await w.stores.dynamo.send(new CreateTableCommand(createTableInput(RECORDS_TABLE, name)));
  const items = await scan(w.stores.tableNames.records);
  for (let i = 0; i < items.length; i += 25) {
    await w.stores.doc.send(new BatchWriteCommand({ RequestItems: { [name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
  return name;
}

/** The restored table read through the live keys. */
function restoredStore(table: string): SealedRecordStore {
  const inner = new DynamoRecordStore({ doc: w.stores.doc, tableName: table, clock: w.clock, retry: { sleep: async () => {} } });
  return new SealedRecordStore({ inner, keys: w.keyStore as NonNullable<ApiWorld['keyStore']> });
}

/** Everything of a customer's partition in the restored copy, expired items included. */
function partitionOf(store: SealedRecordStore, c: CustomerFixture): Promise<RecordItem[]> {
  return store.findBySubject(T, c.id, { includeExpired: true });
}

let before: Map<string, RecordItem>;
let restoredTable: string;

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  for (const c of [erased, kept, expired]) await ingest(w, T, customerRecords(c));
  before = new Map((await Promise.all([erased, kept, expired].map((c) => w.runDeps.records.findBySubject(T, c.id)))).flat().map((i) => [`${i.pk}|${i.sk}`, i]));
  restoredTable = await backup();

  const erasure = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'erasure', subject: { customerId: erased.id } }, token: COMPLIANCE });
  expect(erasure.status).toBe(202);
  const run = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN });
  expect(run.status).toBe(202);
  // Epoch keys retire in two steps, a sweep apart: the second sweep destroys what the first marked.
  expect((await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN })).status).toBe(202);
}, 120_000);

describe('a restored copy of the records table, read with the live keys after an erasure and a sweep', () => {
  it('holds no name, phone, e-mail or message text in plaintext', async () => {
    const raw = JSON.stringify(await scan(restoredTable));
    for (const c of [erased, kept, expired]) {
      for (const value of [c.name, c.phone, c.email, c.secret]) expect(raw).not.toContain(value);
    }
  });

  it('no longer opens anything of the erased customer', async () => {
    const items = await partitionOf(restoredStore(restoredTable), erased);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) expect(item.data, item.sk).toBeUndefined();
  });

  it('no longer opens the records the sweep deleted as expired', async () => {
    const items = await partitionOf(restoredStore(restoredTable), expired);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) expect(item.data, item.sk).toBeUndefined();
  });

  it('still opens every kept record to what was ingested', async () => {
    const items = await partitionOf(restoredStore(restoredTable), kept);
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) {
      const original = before.get(`${item.pk}|${item.sk}`);
      expect(original?.data, item.sk).toBeDefined();
      expect(item.data, item.sk).toEqual(original?.data);
    }
    const live = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { phone: kept.phone }, token: ADMIN });
    expect(JSON.stringify(live.body)).toContain(kept.id);
  });

  it('counts the keys it destroyed: the erased subject key on the request, the swept subject key and the retired epoch keys on the runs', async () => {
    const requests = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests`, token: COMPLIANCE })).body.requests as { kind: string; status: string; subjectKeysShredded?: number }[];
    expect(requests.find((r) => r.kind === 'erasure')).toMatchObject({ status: 'completed', subjectKeysShredded: 1 });
    const runs = (await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN })).body.runs as { kind: string; shredded?: { subjectKeys: number; epochKeys: number } }[];
    const sweeps = runs.filter((r) => r.kind === 'sweep');
    expect(sweeps).toHaveLength(2);
    const total = (field: 'subjectKeys' | 'epochKeys') => sweeps.reduce((sum, r) => sum + (r.shredded?.[field] ?? 0), 0);
    expect(total('subjectKeys')).toBe(1);
    expect(total('epochKeys')).toBeGreaterThan(0);
  });
});
