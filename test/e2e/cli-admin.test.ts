/**
 * The `lethe` CLI as an admin uses it, against the real API (the production
 * handler on the emulators behind the local server, dev tokens): customers
 * found, exported and deleted; a file ingested in batches; dry runs that say
 * "would delete"; a refused policy change that names the flag and the count;
 * the audit trail with its actor ref, before/after and pages; a hold on a
 * customer that does not exist; an erasure that matches nobody; a bad token;
 * errors as JSON under --json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../cli/context.js';
import { main } from '../../cli/program.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import { closeServer, createLocalServer, listen } from '../../shared/local/server.js';
import { API_NOW, apiWorld, customerRecords, daysAgo, ingest, registerTenant, token as apiToken, type ApiWorld } from '../support/api.js';

const T = 'atlas';
const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

let w: ApiWorld;
let server: Server;
let endpoint: string;
let token: string;
let scratch: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: any;
  /** The `{"error": {...}}` a failure printed on stderr under --json. */
  readonly error: any;
}

async function lethe(...args: string[]): Promise<Run> {
  return letheAs(['--token', token], ...args);
}

async function letheAs(auth: string[], ...args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: Output = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
  const code = await main(['node', 'lethe', '--endpoint', endpoint, ...auth, ...args], output);
  const text = stdout.join('\n');
  const json = args.includes('--json');
  return {
    code,
    stdout: text,
    stderr: stderr.join('\n'),
    json: json && code === 0 ? JSON.parse(text) : undefined,
    error: json && code !== 0 ? JSON.parse(stderr.join('\n')) : undefined,
  };
}

const recordsOf = (customerId: string) => w.stores.records.findBySubject(T, customerId);
const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  w.call({ method, path: `/v1/tenants/${T}${path}`, ...(body !== undefined && { body }), token: apiToken('ComplianceAdministrator', T) });

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  // Old enough for the default periods to make most of it due: dry runs and previews have something to count.
  await ingest(w, T, customerRecords({ id: 'at-old', name: 'Atlas Old', phone: '+14155558301', email: 'old@atlas.example', secret: 's0', age: 900 }));
  await ingest(w, T, customerRecords({ id: 'at-1', name: 'Atlas One', phone: '+14155558311', email: 'one@atlas.example', secret: 's1', age: 10 }));
  await ingest(w, T, customerRecords({ id: 'at-2', name: 'Atlas Two', phone: '+14155558312', email: 'two@atlas.example', secret: 's2', age: 10 }));
  await ingest(w, T, customerRecords({ id: 'at-open', name: 'Atlas Open', phone: '+14155558313', email: 'open@atlas.example', secret: 's3', age: 5, open: true }));
  const key = randomBytes(32);
  token = await signDevToken(key, { tenantId: T, roles: ['ComplianceAdministrator'], subject: 'ada' });
  server = createLocalServer({ handler: (event) => w.handler(event), verifyToken: async (t) => toAuthorizerClaims(await verifyDevToken(key, t)), logger: quiet });
  endpoint = await listen(server, 0);
  scratch = await mkdtemp(join(tmpdir(), 'lethe-cli-admin-'));
});

afterAll(async () => {
  await closeServer(server);
  await rm(scratch, { recursive: true, force: true });
});

describe('lethe customers find', () => {
  it('finds a customer by phone, e-mail and name, and says so when no one matches', async () => {
    const byPhone = await lethe('--json', 'customers', 'find', '--phone', '+1 415 555 8311');
    const byEmail = await lethe('--json', 'customers', 'find', '--email', 'two@atlas.example');
    const byName = await lethe('customers', 'find', '--name', 'Atlas One');
    const nobody = await lethe('customers', 'find', '--email', 'nobody@atlas.example');

    expect(byPhone.code, byPhone.stderr).toBe(0);
    expect(byPhone.json.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['at-1']);
    expect(byEmail.json.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['at-2']);
    expect(byName.stdout).toMatch(/at-1/u);
    expect(nobody.code).toBe(0);
    expect(nobody.stdout).toBe('no customer matched');
  });

  it('needs exactly one identifier (exit 2) and shows the API’s refusal of a bad one naming the parameter (exit 1)', async () => {
    const none = await lethe('customers', 'find');
    const bad = await lethe('customers', 'find', '--phone', 'not a phone');

    expect(none.code).toBe(2);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(field: phone)');
  });
});

describe('lethe customers export', () => {
  it('writes the export to a file only its owner can read, and summarises it without personal data', async () => {
    const file = join(scratch, 'at-2.json');

    const result = await lethe('customers', 'export', 'at-2', '--out', file);

    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(await readFile(file, 'utf8'));
    expect(document.customer.customerId).toBe('at-2');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(result.stdout).toContain(`${document.recordCount} record(s)`);
    expect(result.stdout).not.toContain('two@atlas.example');
  });

  it('says "no such customer" for an id with nothing stored', async () => {
    const result = await lethe('--json', 'customers', 'export', 'at-nobody');

    expect(result.code).toBe(1);
    expect(result.error.error).toMatchObject({ code: 'no_such_customer' });
  });
});

describe('lethe customers delete', () => {
  it('refuses without --yes and deletes nothing', async () => {
    const before = (await recordsOf('at-1')).length;

    const result = await lethe('customers', 'delete', 'at-1');

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--yes/u);
    expect((await recordsOf('at-1')).length).toBe(before);
  });

  it('deletes everything of the customer with --yes; a repeat says there is no such customer', async () => {
    const deleted = await lethe('--json', 'customers', 'delete', 'at-1', '--yes');
    const again = await lethe('customers', 'delete', 'at-1', '--yes');

    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json.status).toBe('completed');
    expect(deleted.json.deleted).toBeGreaterThan(0);
    expect(await recordsOf('at-1')).toEqual([]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: no such customer at-1');
  });

  it('explains a refusal for an open conversation and deletes nothing', async () => {
    const before = (await recordsOf('at-open')).length;

    const result = await lethe('customers', 'delete', 'at-open', '--yes');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: not deleted: .*open/u);
    expect((await recordsOf('at-open')).length).toBe(before);
  });
});

describe('lethe conversation, message and recording delete', () => {
  it('deletes a message (a tombstone stays), a call’s recordings and a whole conversation', async () => {
    await ingest(w, T, customerRecords({ id: 'at-3', name: 'Atlas Three', phone: '+14155558314', email: 'three@atlas.example', secret: 's4', age: 10 }));

    const message = await lethe('message', 'delete', 'at-3-conv', 'at-3-conv-m2');
    const recording = await lethe('recording', 'delete', 'at-3-call');
    const conversation = await lethe('conversation', 'delete', 'at-3-conv');
    const missing = await lethe('conversation', 'delete', 'at-nowhere');

    expect([message.code, recording.code, conversation.code]).toEqual([0, 0, 0]);
    expect(conversation.stdout).toMatch(/^conversation at-3-conv: completed · \d+ deleted/u);
    const left = await recordsOf('at-3');
    expect(left.some((i) => i.category === 'call_recording')).toBe(false);
    expect(left.some((i) => i.id === 'at-3-conv' || i.id === 'at-3-conv-m1')).toBe(false);
    expect(left.some((i) => i.id === 'at-3-call')).toBe(true);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no such conversation at-nowhere');
  });
});

describe('lethe records ingest', () => {
  const customer = (id: string, phone: string) => ({ type: 'customer', id, name: `Ingest ${id}`, phones: [phone], lastContactAt: daysAgo(3) });

  it('posts an NDJSON file in batches and stores every record', async () => {
    const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify(customer(`in-${i}`, `+1415555840${i}`)));
    const file = join(scratch, 'customers.ndjson');
    await writeFile(file, `${lines.join('\n')}\n\n`);

    const result = await lethe('--json', 'records', 'ingest', '--file', file, '--batch-size', '3');

    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ accepted: 7, requests: 3 });
    for (let i = 0; i < 7; i += 1) expect((await recordsOf(`in-${i}`)).length).toBeGreaterThan(0);
  });

  it('takes a JSON array too', async () => {
    const file = join(scratch, 'array.json');
    await writeFile(file, JSON.stringify([customer('arr-1', '+14155558501')]));

    const result = await lethe('records', 'ingest', '--file', file);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^1 record\(s\) ingested/u);
    expect((await recordsOf('arr-1')).length).toBeGreaterThan(0);
  });

  it('refuses a file with a line that is not a JSON object before sending anything (exit 2)', async () => {
    const file = join(scratch, 'broken.ndjson');
    await writeFile(file, `${JSON.stringify(customer('br-1', '+14155558601'))}\nnot json\n`);

    const result = await lethe('records', 'ingest', '--file', file);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/line 2/u);
    expect(await recordsOf('br-1')).toEqual([]);
  });

  it('stops at a refused batch naming the line, keeps the batches before it, and resumes with --skip', async () => {
    const file = join(scratch, 'refused.ndjson');
    const good = [customer('rf-1', '+14155558701'), customer('rf-2', '+14155558702')];
    const bad = customer('rf-3', 'not a phone');
    await writeFile(file, [...good, bad].map((r) => JSON.stringify(r)).join('\n'));

    const refused = await lethe('--json', 'records', 'ingest', '--file', file, '--batch-size', '2');
    await writeFile(file, [...good, customer('rf-3', '+14155558703')].map((r) => JSON.stringify(r)).join('\n'));
    const resumed = await lethe('--json', 'records', 'ingest', '--file', file, '--skip', String(refused.error.error.ingestedBefore));

    expect(refused.code).toBe(1);
    expect(refused.error.error).toMatchObject({ status: 400, ingestedBefore: 2, firstRefused: 'line 3' });
    expect(refused.error.error.message).toMatch(/line 3, field phones\.0/u);
    expect(resumed.json).toMatchObject({ accepted: 1, skipped: 2 });
    for (const id of ['rf-1', 'rf-2', 'rf-3']) expect((await recordsOf(id)).length).toBeGreaterThan(0);
  });
});

describe('dry runs', () => {
  it('runs start --dry-run --wait says "would delete" (wouldDelete in JSON) and deletes nothing', async () => {
    const before = (await recordsOf('at-old')).length;

    const json = await lethe('--json', 'runs', 'start', '--dry-run', '--wait');
    const human = await lethe('runs', 'start', '--dry-run', '--wait');

    expect(json.code, json.stderr).toBe(0);
    const receipt = (await api('GET', `/deletion-runs/${json.json.runId}`)).body;
    expect(receipt.dryRun).toBe(true);
    for (const [category, counts] of Object.entries(json.json.categories) as [string, Record<string, number>][]) {
      expect(counts).not.toHaveProperty('deleted');
      expect(counts.wouldDelete).toBe(receipt.categories[category].deleted);
    }
    expect(Object.values(json.json.categories).some((c) => (c as { wouldDelete: number }).wouldDelete > 0)).toBe(true);
    expect(human.stdout).toMatch(/\(dry run\)/u);
    expect(human.stdout).toMatch(/would delete/u);
    expect(human.stdout).not.toMatch(/\bdeleted\b/u);
    expect((await recordsOf('at-old')).length).toBe(before);
  });

  it('runs ls puts a dry run’s count under "would delete", never under "deleted"', async () => {
    const result = await lethe('runs', 'ls');
    const json = await lethe('--json', 'runs', 'ls');

    expect(result.code, result.stderr).toBe(0);
    const header = result.stdout.split('\n').find((l) => l.includes('would delete')) ?? '';
    const cells = (line: string) => line.split('│').map((c) => c.trim());
    const deletedColumn = cells(header).indexOf('deleted');
    const wouldColumn = cells(header).indexOf('would delete');
    const dryRows = result.stdout.split('\n').filter((l) => / yes /u.test(l)).map(cells);
    expect(dryRows.length).toBeGreaterThan(0);
    for (const row of dryRows) {
      expect(row[deletedColumn]).toBe('-');
      expect(Number(row[wouldColumn])).toBeGreaterThan(0);
    }
    for (const run of json.json.runs.filter((r: { dryRun: boolean }) => r.dryRun)) {
      for (const counts of Object.values(run.categories)) expect(counts).not.toHaveProperty('deleted');
    }
  });
});

describe('lethe policy set without the acknowledgement', () => {
  it('names the CLI flag and the preview’s count per category, and saves nothing', async () => {
    const version = (await api('GET', '/retention-policy')).body.version;
    const preview = (await api('POST', '/retention-policy/preview', { categories: { conversation: { days: 1 } } })).body;
    const expected = Object.values(preview.categories as Record<string, { wouldDelete: number }>).reduce((n, c) => n + c.wouldDelete, 0);

    const human = await lethe('policy', 'set', '--category', 'conversation=1');
    const json = await lethe('--json', 'policy', 'set', '--category', 'conversation=1');

    expect(expected).toBeGreaterThan(0);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain(`would delete ${expected} item(s)`);
    expect(human.stderr).toContain(`conversation ${preview.categories.conversation.wouldDelete}`);
    expect(human.stderr).toContain('--acknowledge-data-loss');
    expect(human.stderr).not.toContain('acknowledgeDataLoss: true');
    expect(json.code).toBe(1);
    expect(json.error.error).toMatchObject({ code: 'acknowledgement_required', flag: '--acknowledge-data-loss', wouldDeleteTotal: expected });
    expect((await api('GET', '/retention-policy')).body.version).toBe(version);
  });
});

describe('lethe hold add', () => {
  it('warns that a customer may not exist when the hold found nothing to hold, and not for one that does', async () => {
    const ghost = await lethe('--json', 'hold', 'add', '--customer', 'at-ghost', '--reason', 'case 1');
    const real = await lethe('hold', 'add', '--customer', 'at-2', '--reason', 'case 2');

    expect(ghost.code, ghost.stderr).toBe(0);
    expect(ghost.json.warning).toMatch(/customerId at-ghost may not exist/u);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/^hold \S+ placed on customerId=at-2 \(in force; [1-9]\d* record backstop/u);
    expect(real.stderr).toBe('');
    const holds = (await api('GET', '/legal-holds')).body.holds as { holdId: string }[];
    for (const h of holds) expect((await lethe('hold', 'release', h.holdId)).code).toBe(0);
  });
});

describe('an erasure that matches nobody', () => {
  it('says "no customer matched" instead of an empty receipt', async () => {
    const byPhone = await lethe('privacy', 'erase', '--phone', '+14155559999', '--wait');
    const byId = await lethe('--json', 'privacy', 'erase', '--customer', 'at-nobody', '--wait');
    const status = await lethe('privacy', 'status', byId.json.requestId);

    expect(byPhone.code, byPhone.stderr).toBe(0);
    expect(byPhone.stdout).toMatch(/no customer matched: no customer has that phone number; nothing was erased$/u);
    expect(byPhone.stdout).not.toContain('┌');
    expect(byId.json).toMatchObject({ status: 'completed', outcome: 'no_subject_matched' });
    expect(status.stdout).toMatch(/no customer matched: no record is stored for that customer id/u);
  });
});

describe('lethe audit', () => {
  it('shows the actor ref, before/after in one line, and pages with --cursor and --all', async () => {
    const first = await lethe('--json', 'audit', '--limit', '2');
    const second = await lethe('--json', 'audit', '--limit', '2', '--cursor', first.json.nextCursor);
    const all = await lethe('--json', 'audit', '--all', '--limit', '3');
    const human = await lethe('audit', '--action', 'deletion_run');

    expect(first.json.events).toHaveLength(2);
    expect(all.json.events.slice(0, 4)).toEqual([...first.json.events, ...second.json.events]);
    expect(all.json.nextCursor).toBeUndefined();
    expect(all.json.events.length).toBe((await w.stores.control.listAudit(T, { limit: 1000 })).length);
    expect(human.stdout).toContain('actor ref');
    expect(human.stdout).toContain('dryRun=true');
    expect(human.stdout).not.toMatch(/│ (policy|legal_hold)/u);
    expect(human.stdout).toMatch(/h:\S{10}…/u);
  });

  it('keeps the events at or after --since, and says so when none is left', async () => {
    const after = await lethe('--json', 'audit', '--all', '--since', new Date(API_NOW.getTime() + 1).toISOString());
    const before = await lethe('--json', 'audit', '--all', '--since', new Date(API_NOW.getTime() - 86_400_000).toISOString());
    const none = await lethe('audit', '--since', new Date(API_NOW.getTime() + 1).toISOString());

    expect(after.json.events).toEqual([]);
    expect(before.json.events.length).toBeGreaterThan(0);
    expect(none.stdout).toBe('no audit events match');
  });
});

describe('tokens and errors', () => {
  it('says a token that is not a JWT is invalid, not that the tenant is missing', async () => {
    const result = await letheAs(['--token', 'bogus'], 'policy', 'get');
    const json = await letheAs(['--token', 'bogus'], '--json', 'policy', 'get');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: the token is invalid/u);
    expect(result.stderr).not.toContain('no tenant');
    expect(json.error.error.code).toBe('invalid_token');
  });

  it('shows the API’s 401 as a refused token when the tenant is named', async () => {
    const forged = await signDevToken(randomBytes(32), { tenantId: T, roles: ['ComplianceAdministrator'] });

    const bogus = await letheAs(['--token', 'bogus', '--tenant', T], 'policy', 'get');
    const wrongKey = await letheAs(['--token', forged], '--json', 'policy', 'get');

    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toMatch(/^error: the API refused the token \(invalid or expired\)/u);
    expect(wrongKey.error.error).toMatchObject({ status: 401 });
    expect(wrongKey.error.error.message).toMatch(/refused the token/u);
  });

  it('prints usage and API errors as JSON on stderr under --json, with their exit codes', async () => {
    const usage = await lethe('--json', 'hold', 'add', '--customer', 'at-2');
    const notFound = await lethe('--json', 'runs', 'show', 'run-nowhere');

    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.error.error).toMatchObject({ code: 'usage_error' });
    expect(usage.error.error.message).toMatch(/--reason/u);
    expect(notFound.code).toBe(1);
    expect(notFound.error.error).toMatchObject({ status: 404 });
  });
});
