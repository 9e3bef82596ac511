/**
 * Account-level export on the emulators, with crypto-shredding: a tenant's
 * export holds exactly its live records (NDJSON per category, parts of a
 * page each) and their blobs, nothing of another tenant; a filter by
 * categories and date range is honoured; a job stepped a page at a time,
 * interrupted (a step dying before it saved its position, a new process),
 * ends with the same files and no line twice; the admins get an e-mail
 * without personal data.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoAccountExportStore } from '../../shared/adapters/dynamodb/account-export-store.js';
import {
  accountExportStep,
  exportFiles,
  newAccountExport,
  type AccountExportDeps,
  type AccountExportFilter,
  type AccountExportJob,
  type AccountExportStore,
} from '../../shared/domain/account-export.js';
import { isIdentifierSk, keys } from '../../shared/domain/records.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';
import type { MemoryMailer } from '../support/memory.js';

const A = 'acct-a';
const B = 'acct-b';
const person = (id: string, age: number, n: number): CustomerFixture => ({
  id,
  name: `Rosalind Featherstonehaugh-${n}`,
  phone: `+4420794611${n}`,
  email: `rosalind.${n}@private.example`,
  secret: `account secret ${n}`,
  age,
});
const A1 = person('a-cust-1', 20, 11);
const A2 = person('a-cust-2', 5, 22);
const B1 = person('b-cust-1', 10, 33);

let w: ApiWorld;
let store: AccountExportStore;
let deps: AccountExportDeps;
let n = 0;

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  store = new DynamoAccountExportStore({ doc: w.stores.doc, tableName: w.stores.tableNames.control });
  deps = { ...w.runDeps, exportJobs: store };
  await registerTenant(w, A);
  await registerTenant(w, B);
  await ingest(w, A, [
    ...customerRecords(A1),
    ...customerRecords(A2),
    { type: 'webhook_delivery', id: 'a-hook-1', deliveredAt: daysAgo(3), url: 'https://hooks.example/a', statusCode: 200 },
    { type: 'analytics_event', id: 'a-evt-anon', occurredAt: daysAgo(2), name: 'page_view' },
  ]);
  await ingest(w, B, customerRecords(B1));
});

async function start(filter: AccountExportFilter = {}): Promise<AccountExportJob> {
  n += 1;
  const job = newAccountExport({ tenantId: A, exportId: `exp-${n}`, filter, requestedBy: 'admin-ref', now: w.clock.now() });
  await store.put(job);
  return job;
}

/** Steps until done; each step does one page (its deadline has passed when it starts). */
async function runToEnd(job: AccountExportJob, d: AccountExportDeps = deps, pageSize = 4): Promise<number> {
  let steps = 0;
  for (;;) {
    steps += 1;
    const r = await accountExportStep(d, job.tenantId, job.exportId, { deadline: new Date(0), pageSize });
    if (r.done) return steps;
  }
}

async function linesOf(job: AccountExportJob): Promise<Record<string, any>[]> {
  const stored = (await store.get(job.tenantId, job.exportId)) as AccountExportJob;
  const out: Record<string, any>[] = [];
  for (const file of exportFiles(stored)) {
    const body = await w.runDeps.blobs.get('exports', file.key);
    expect(body, file.key).toBeDefined();
    out.push(...Buffer.from(body as Uint8Array).toString('utf8').trim().split('\n').map((l) => JSON.parse(l)));
  }
  return out;
}

/** The tenant's live records as category:id, identifier items aside (their values are in the profile's data). */
async function storedRecords(tenantId: string, customers: readonly string[]): Promise<string[]> {
  const items = [
    ...(await Promise.all(customers.map((c) => w.stores.records.findBySubject(tenantId, c)))).flat(),
    ...(await w.stores.records.findByPartition(keys.accountPk(tenantId))),
  ];
  return items.filter((i) => !isIdentifierSk(i.sk)).map((i) => `${i.category}:${i.id}`).sort();
}

describe('an account export of a whole tenant', () => {
  let job: AccountExportJob;
  let lines: Record<string, any>[];

  beforeAll(async () => {
    job = await start();
    await runToEnd(job);
    lines = await linesOf(job);
  });

  it('holds exactly the tenant\'s live records, each once, and nothing of another tenant', async () => {
    const exported = lines.map((l) => `${l.category}:${l.id}`).sort();

    expect(exported).toEqual(await storedRecords(A, [A1.id, A2.id]));
    expect(new Set(exported).size).toBe(exported.length);
    expect(JSON.stringify(lines)).not.toContain(B1.id);
    expect(JSON.stringify(lines)).not.toContain(B1.name);
  });

  it('carries each record\'s data opened, and its blob beside it', async () => {
    const profile = lines.find((l) => l.category === 'customer_profile' && l.id === A1.id);
    const recording = lines.find((l) => l.category === 'call_recording' && l.id === `${A1.id}-call-rec`);
    const blob = await w.runDeps.blobs.get('exports', recording?.blob);

    expect(profile?.data).toMatchObject({ name: A1.name });
    expect(Buffer.from(blob as Uint8Array).toString('utf8')).toBe(`voice ${A1.secret}`);
  });

  it('writes NDJSON per category in parts of a page, counted on the job, and completes', async () => {
    const stored = (await store.get(A, job.exportId)) as AccountExportJob;
    const messages = lines.filter((l) => l.category === 'message').length;

    expect(stored.status).toBe('completed');
    expect(stored.position).toBeUndefined();
    expect(stored.counts.message).toMatchObject({ records: messages, parts: Math.ceil(messages / 4) });
    expect(exportFiles(stored).every((f) => f.key.startsWith(`account-exports/${A}/${job.exportId}/`))).toBe(true);
  });

  it('stores its files sealed: the bucket holds no personal data in the clear', async () => {
    const stored = (await store.get(A, job.exportId)) as AccountExportJob;
    const raw = await w.stores.blobs.get('exports', exportFiles(stored)[0]?.key as string);

    expect(Buffer.from(raw as Uint8Array).toString('latin1')).not.toContain('Rosalind');
  });

  it('e-mails the tenant\'s admins that it is ready, with ids and counts only', () => {
    const mail = (w.runDeps.mailer as MemoryMailer).sent.find((m) => m.subject.includes(job.exportId));

    expect(mail?.to).toEqual([`admin@${A}.example`]);
    expect(mail?.text).toContain(`/v1/tenants/${A}/exports/${job.exportId}`);
    expect(JSON.stringify(mail)).not.toMatch(/Rosalind|private\.example|secret/);
  });
});

describe('a filtered account export', () => {
  it('holds only the categories asked for, whose clock started in the range', async () => {
    const job = await start({ categories: ['message', 'call_recording', 'customer_profile'], from: daysAgo(10), to: daysAgo(1) });
    await runToEnd(job);
    const lines = await linesOf(job);

    expect(new Set(lines.map((l) => l.category))).toEqual(new Set(['message', 'call_recording', 'customer_profile']));
    expect(lines.map((l) => l.id).sort()).toEqual([A2.id, `${A2.id}-call-rec`, `${A2.id}-conv-m1`, `${A2.id}-conv-m2`].sort());
    expect(lines.every((l) => l.clockStart >= daysAgo(10) && l.clockStart < daysAgo(1))).toBe(true);
  });
});

describe('an interrupted account export', () => {
  it('resumes from its last saved position, in a new process too, and ends with every record once', async () => {
    const job = await start();
    // A step dies after writing its part, before saving its position: the next writes the same part again.
    let failOnce = true;
    const dying: AccountExportStore = {
      get: (t, id) => store.get(t, id),
      list: (t) => store.list(t),
      put: async (j) => {
        if (failOnce && j.counts.message !== undefined) {
          failOnce = false;
          throw new Error('process killed');
        }
        await store.put(j);
      },
    };
    let failed = 0;
    for (let i = 0; i < 12; i += 1) {
      try {
        await accountExportStep({ ...deps, exportJobs: dying }, A, job.exportId, { deadline: new Date(0), pageSize: 3 });
      } catch {
        failed += 1;
      }
    }
    const midway = (await store.get(A, job.exportId)) as AccountExportJob;
    // A new process: new store instance, same table.
    await runToEnd(job, { ...deps, exportJobs: new DynamoAccountExportStore({ doc: w.stores.doc, tableName: w.stores.tableNames.control }) }, 3);
    const exported = (await linesOf(job)).map((l) => `${l.category}:${l.id}`).sort();

    expect(failed).toBe(1);
    expect(midway.status).toBe('running');
    expect(exported).toEqual(await storedRecords(A, [A1.id, A2.id]));
  });
});

describe('the account export routes', () => {
  const COMPLIANCE = token('ComplianceAdministrator', A);

  it('start a job that runs to its end, then link each NDJSON part for download, opened', async () => {
    const started = await w.call({ method: 'POST', path: `/v1/tenants/${A}/exports`, body: { categories: ['message'] }, token: COMPLIANCE });
    const read = await w.call({ method: 'GET', path: `/v1/tenants/${A}/exports/${started.body.exportId}`, token: COMPLIANCE });
    const downloaded = await Promise.all((read.body.files as { url: string }[]).map(async (f) => (await fetch(f.url)).text()));
    const lines = downloaded.join('').trim().split('\n').map((l) => JSON.parse(l));

    expect(started.status).toBe(202);
    expect(read.body).toMatchObject({ status: 'completed', filter: { categories: ['message'] }, counts: { message: { records: 4 } } });
    expect(lines.map((l) => l.id).sort()).toEqual([`${A1.id}-conv-m1`, `${A1.id}-conv-m2`, `${A2.id}-conv-m1`, `${A2.id}-conv-m2`]);
  });

  it('refuse a range that ends before it starts, naming the field, and start nothing', async () => {
    const before = (await store.list(A)).length;

    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${A}/exports`, body: { from: daysAgo(1), to: daysAgo(2) }, token: COMPLIANCE });

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('to');
    expect((await store.list(A)).length).toBe(before);
  });

  it('answer 404 for an unknown export, and for another tenant\'s', async () => {
    const mine = await w.call({ method: 'POST', path: `/v1/tenants/${A}/exports`, body: { categories: ['webhook_delivery'] }, token: COMPLIANCE });

    const unknown = await w.call({ method: 'GET', path: `/v1/tenants/${A}/exports/nope`, token: COMPLIANCE });
    const foreign = await w.call({ method: 'GET', path: `/v1/tenants/${B}/exports/${mine.body.exportId}`, token: token('ComplianceAdministrator', B) });

    expect([unknown.status, foreign.status]).toEqual([404, 404]);
  });
});
