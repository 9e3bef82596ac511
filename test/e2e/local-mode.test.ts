/**
 * End to end, as a new user does it: `npx tsx bin/local.ts` in a child process
 * on a fresh data directory and a free port, then the `lethe` CLI (child
 * processes, --json) for everything, and the API and the outbox to check what
 * happened. Voice profile (1 % failure ratio alerts), a tenant registered with
 * the local stand-in call-data provider.
 *
 * Story: a policy change is refused without acknowledgeDataLoss, then saved;
 * data is seeded through the ingest route; a customer is put on hold; the
 * preview predicts the first sweep exactly; the hold is released; the provider
 * fails during the next sweep, which keeps the calls it could not clean up and
 * e-mails an alert without personal data; the sweep after that catches up.
 * Then a subject is erased and another one's data exported on request, each
 * confirmed by e-mail.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../shared/adapters/mail/outbox-mailer.js';
import type { Category } from '../../shared/domain/catalog.js';
import { generateDemoDataset } from '../../shared/local/seed.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LETHE = join(REPO, 'bin', 'lethe.js');
const SEED = 7;
const CUSTOMERS = 40;
const ADMIN_EMAIL = 'compliance@acme.example.com';

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: any;
}

type Counts = { examined: number; deleted: number; held: number; failed: number };
type Preview = { categories: Partial<Record<Category, { wouldDelete: number; held: number }>> };
type Run = { runId: string; status: string; categories: Partial<Record<Category, Counts>> };

let server: ChildProcess | undefined;
let serverExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
let serverOutput = '';
let dataDir: string;
let url: string;
let superToken: string;
let adminToken: string;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function lethe(token: string | undefined, ...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LETHE_DATA_DIR: dataDir };
  delete env.LETHE_TENANT;
  delete env.LETHE_TOKEN;
  delete env.LETHE_ENDPOINT;
  if (token !== undefined) env.LETHE_TOKEN = token;
  return new Promise((resolve) => {
    execFile(process.execPath, [LETHE, '--json', '--endpoint', url, ...args], { cwd: REPO, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      let json: unknown;
      try {
        json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

async function ok(token: string | undefined, ...args: string[]): Promise<any> {
  const result = await lethe(token, ...args);
  expect(result.stderr, `lethe ${args.join(' ')}`).toBe('');
  expect(result.code, `lethe ${args.join(' ')}`).toBe(0);
  return result.json;
}

async function api<T>(path: string, token = adminToken, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(serverOutput);
      if (match !== null) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(match);
      }
    };
    const timer = setInterval(check, 100);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`local mode did not print ${pattern} within ${timeoutMs} ms:\n${serverOutput}`));
    }, timeoutMs);
    serverExit?.then(({ code, signal }) => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(new Error(`local mode exited (${code ?? signal}) before ${pattern}:\n${serverOutput}`));
    });
    check();
  });
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole process group (npx, tsx, node). */
/** The node process running bin/local.ts for this test's data directory (under npx and tsx), if it can be found. */
function lethePid(): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-f', `bin/local.ts --no-seed --data-dir ${dataDir}`], { encoding: 'utf8' });
    const pids = out.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 0);
    // The deepest process (the highest pid here: started last) is node running the script; the others are npx and tsx.
    return pids.length === 0 ? undefined : Math.max(...pids);
  } catch {
    return undefined;
  }
}

async function stopServer(): Promise<void> {
  if (server?.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const pid = server.pid;
  // Ctrl-C reaches the Lethe process itself; through the whole group, tsx's own relay (a 30 ms hand-shake with its child)
  // can kill the child outright on a loaded machine before it has stopped, which is tsx's behaviour, not Lethe's.
  const lethe = lethePid();
  try {
    if (lethe !== undefined) process.kill(lethe, 'SIGINT');
    else process.kill(-pid, 'SIGINT');
  } catch {
    return;
  }
  const stopped = await Promise.race([serverExit, new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
  if (stopped === 'timeout') {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The customer to put on hold: long inactive (so everything of theirs is due), with third-party call data. */
function heldCustomer() {
  const dataset = generateDemoDataset({ now: new Date(), customers: CUSTOMERS, seed: SEED });
  const candidates = dataset.bundles
    .filter((b) => b[0]?.type === 'customer')
    .map((b) => {
      const customer = b[0] as { id: string; name: string; emails: string[]; phones: string[]; lastContactAt: string };
      const ageDays = (Date.now() - Date.parse(customer.lastContactAt)) / 86_400_000;
      const thirdParty = b.filter((r) => r.type === 'call' && r.thirdPartyRef !== undefined).length;
      return { customer, ageDays, thirdParty, size: b.length };
    })
    .filter((c) => c.ageDays > 400 && c.thirdParty > 0)
    .sort((a, b) => b.size - a.size);
  const chosen = candidates[0];
  if (chosen === undefined) throw new Error('the demo dataset has no long-inactive customer with third-party call data');
  return chosen.customer;
}

/** Recently active customers without an open conversation, largest first: subjects for the privacy requests. */
function activeCustomers() {
  const dataset = generateDemoDataset({ now: new Date(), customers: CUSTOMERS, seed: SEED });
  return dataset.bundles
    .filter((b) => b[0]?.type === 'customer')
    .filter((b) => !b.some((r) => r.type === 'conversation' && r.status === 'open'))
    .map((b) => ({ customer: b[0] as { id: string; name: string; emails: string[]; phones: string[]; lastContactAt: string }, size: b.length }))
    .filter((c) => Date.now() - Date.parse(c.customer.lastContactAt) < 150 * 86_400_000)
    .sort((a, b) => b.size - a.size)
    .map((c) => c.customer);
}

const held = heldCustomer();
const [erased, exported] = activeCustomers();
const DPO_EMAIL = 'dpo@acme.example.com';
/** Voice's one setting: recordings, calls with their third-party data, webhooks and WhatsApp conversations. */
const POLICY = ['--setting', 'retention=30'];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lethe-e2e-'));
  const port = await freePort();
  server = spawn('npx', ['tsx', 'bin/local.ts', '--no-seed', '--data-dir', dataDir, '--port', String(port), '--profile', 'voice'], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LETHE_LOG_LEVEL: 'WARN' },
  });
  // 'close', not 'exit': npx may exit before the Lethe process under it has printed its last lines (they share the pipes).
  serverExit = new Promise((resolve) => server?.once('close', (code, signal) => resolve({ code, signal })));
  server.stdout?.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')));
  server.stderr?.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')));
  const ready = await waitForOutput(/Lethe is ready at (http:\/\/127\.0\.0\.1:\d+)/, 45_000);
  url = ready[1] as string;
}, 60_000);

afterAll(async () => {
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('local mode, driven through the lethe CLI', () => {
  it('starts empty, with --no-seed', () => {
    expect(serverOutput).toContain('Empty store, not seeded (--no-seed).');
    expect(serverOutput).toContain('profile voice');
  });

  it('registers a tenant and issues role tokens from the data directory’s key', async () => {
    superToken = (await ok(undefined, 'token', '--role', 'SuperAdministrator')).token;
    const deleteUrl = `${url}/_local/fake-provider/calls/{ref}`;

    await ok(superToken, 'tenants', 'put', 'acme', '--name', 'Acme Voice', '--admin-email', ADMIN_EMAIL, '--third-party', `provider=${deleteUrl}`);
    adminToken = (await ok(undefined, '--tenant', 'acme', 'token', '--role', 'ComplianceAdministrator', '--sub', 'e2e-admin')).token;

    const tenants = await ok(superToken, 'tenants', 'ls');
    expect(tenants.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual(['acme']);
    const denied = await api('/v1/tenants/acme/retention-policy', 'not-a-token');
    expect(denied.status).toBe(401);
  });

  it('refuses to shorten periods without acknowledgeDataLoss, then saves the policy', async () => {
    const refused = await lethe(adminToken, 'policy', 'set', ...POLICY);
    expect(refused.code).toBe(1);
    // Under --json the refusal is JSON on stderr: the CLI's flag and the preview's counts.
    expect(JSON.parse(refused.stderr).error).toMatchObject({ code: 'acknowledgement_required', field: 'acknowledgeDataLoss', flag: '--acknowledge-data-loss', wouldDeleteTotal: 0 });

    const saved = await ok(adminToken, 'policy', 'set', ...POLICY, '--acknowledge-data-loss');

    expect(saved.version).toBe(1);
    expect(saved.settings.retention).toMatchObject({ days: 30, source: 'tenant' });
    expect(saved.categories.call_recording).toMatchObject({ days: 30, source: 'tenant', setting: 'retention' });
    expect(saved.categories.message).toMatchObject({ days: 90, source: 'default' });
  });

  it('ingests the synthetic dataset through the API', async () => {
    const seeded = await ok(adminToken, 'seed', '--customers', String(CUSTOMERS), '--seed', String(SEED));

    expect(seeded.accepted).toBeGreaterThan(1000);
    expect(Object.keys(seeded.byType).sort()).toHaveLength(13);
    const found = await api<{ customers: { customerId: string }[] }>(`/v1/tenants/acme/customers?email=${encodeURIComponent(held.emails[0]!)}`);
    expect(found.status).toBe(200);
    expect(found.body.customers.map((c) => c.customerId)).toEqual([held.id]);
  });

  let holdId: string;
  let firstPreview: Preview;

  it('places a hold and previews: the held customer’s records are counted as held', async () => {
    holdId = (await ok(adminToken, 'hold', 'add', '--customer', held.id, '--reason', 'litigation case 42')).holdId;
    expect((await ok(adminToken, 'hold', 'ls')).holds.map((h: { holdId: string }) => h.holdId)).toContain(holdId);

    firstPreview = await ok(adminToken, 'policy', 'preview', ...POLICY, '--acknowledge-data-loss');

    // Customers are counted as customers: the one on hold.
    expect(firstPreview.categories.customer_profile?.held).toBe(1);
    expect(firstPreview.categories.call?.held).toBeGreaterThan(0);
    expect(firstPreview.categories.message?.wouldDelete).toBeGreaterThan(0);
  });

  it('sweeps exactly what the preview predicted and keeps the held customer', async () => {
    const run: Run = await ok(adminToken, 'sweep');

    expect(run.status).toBe('completed');
    for (const [category, predicted] of Object.entries(firstPreview.categories)) {
      // The preview counts customers; a receipt counts their identifier items too.
      if (category === 'customer_profile') continue;
      expect({ category, deleted: run.categories[category as Category]?.deleted ?? 0, held: run.categories[category as Category]?.held ?? 0 }).toEqual({
        category,
        deleted: predicted.wouldDelete,
        held: predicted.held,
      });
    }
    const viaApi = await api<Run>(`/v1/tenants/acme/deletion-runs/${run.runId}`);
    expect(viaApi.body.categories).toEqual(run.categories);
    const stillThere = await api<{ customers: unknown[] }>(`/v1/tenants/acme/customers?email=${encodeURIComponent(held.emails[0]!)}`);
    expect(stillThere.body.customers).toHaveLength(1);
    expect(await readOutbox(join(dataDir, 'outbox'))).toEqual([]);
  });

  let thirdPartyDue: number;
  let outageRun: Run;

  it('releases the hold; a provider outage during the next sweep keeps those calls and e-mails an alert without personal data', async () => {
    const released = await ok(adminToken, 'hold', 'release', holdId);
    expect(released).toMatchObject({ holdId, releasedAt: expect.any(String) });
    const preview: Preview = await ok(adminToken, 'policy', 'preview', ...POLICY, '--acknowledge-data-loss');
    thirdPartyDue = preview.categories.third_party_call_data?.wouldDelete ?? 0;
    expect(thirdPartyDue).toBeGreaterThan(0);
    const outage = await api(`/_local/fake-provider/fail-next`, adminToken, { method: 'POST', body: JSON.stringify({ count: thirdPartyDue, status: 400 }) });
    expect(outage.status).toBe(204);

    outageRun = await ok(adminToken, 'sweep');

    expect(outageRun.categories.third_party_call_data).toMatchObject({ deleted: 0, failed: thirdPartyDue });
    // A call whose third-party data could not be deleted stays, and so does its customer's profile.
    expect(outageRun.categories.call?.deleted ?? 0).toBeLessThan(preview.categories.call?.wouldDelete ?? 0);
    expect((await api(`/v1/tenants/acme/customers/${held.id}/export`)).status).toBe(200);
    expect(outageRun.categories.message?.deleted).toBe(preview.categories.message?.wouldDelete);
    const mails = await readOutbox(join(dataDir, 'outbox'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([ADMIN_EMAIL, 'operator@localhost.localdomain']);
    expect(mails[0]!.text).toContain(outageRun.runId);
    expect(mails[0]!.text).toMatch(/third_party_call_data\s+\d+\s+0\s+0\s+\d+/);
    for (const pii of [held.name, held.emails[0]!, held.phones[0]!.replaceAll(' ', ''), held.id]) {
      expect(JSON.stringify(mails)).not.toContain(pii);
    }
  });

  it('catches up on the next sweep once the provider answers again', async () => {
    const run: Run = await ok(adminToken, 'sweep');

    expect(run.categories.third_party_call_data).toMatchObject({ deleted: thirdPartyDue, failed: 0 });
    expect(run.categories.customer_profile?.deleted).toBeGreaterThan(0);
    const gone = await api<{ customers: unknown[] }>(`/v1/tenants/acme/customers?email=${encodeURIComponent(held.emails[0]!)}`);
    expect(gone.body.customers).toEqual([]);
    expect(await readOutbox(join(dataDir, 'outbox'))).toHaveLength(1);

    const runs = await ok(adminToken, 'runs', 'ls');
    expect(runs.runs.map((r: Run) => r.status)).toEqual(['completed', 'completed', 'completed']);
    const audit = await ok(adminToken, 'audit');
    const actions: string[] = audit.events.map((e: { action: string }) => e.action);
    expect(actions.some((a) => /hold/.test(a) && /releas/.test(a))).toBe(true);
    expect(actions.some((a) => /polic/.test(a))).toBe(true);
  });

  it('erases a subject named by phone number, and e-mails a confirmation without their data', async () => {
    const request = await ok(adminToken, 'privacy', 'erase', '--phone', erased!.phones[0]!, '--notify', DPO_EMAIL, '--wait');

    expect(request.status).toBe('completed');
    expect(request.kind).toBe('erasure');
    // Local mode seals personal data: the erasure destroyed her subject key too.
    expect(request.subjectKeysShredded).toBe(1);
    const deleted = Object.values(request.counts as Record<string, Counts>).reduce((n, c) => n + c.deleted, 0);
    expect(deleted).toBeGreaterThan(0);
    const lookup = await api<{ customers: unknown[] }>(`/v1/tenants/acme/customers?email=${encodeURIComponent(erased!.emails[0]!)}`);
    expect(lookup.body.customers).toEqual([]);
    const confirmation = (await readOutbox(join(dataDir, 'outbox'))).filter((m) => m.text.includes(request.requestId));
    expect(confirmation).toHaveLength(1);
    expect(confirmation[0]!.to).toEqual([DPO_EMAIL]);
    for (const pii of [erased!.name, erased!.emails[0]!, erased!.phones[0]!.replaceAll(' ', ''), erased!.id]) {
      expect(JSON.stringify(confirmation)).not.toContain(pii);
    }
    const listed = await ok(adminToken, 'privacy', 'status');
    expect(listed.requests.map((r: { requestId: string }) => r.requestId)).toContain(request.requestId);
  });

  it('answers an access request with an export link that holds the subject’s data', async () => {
    const request = await ok(adminToken, 'privacy', 'export', '--customer', exported!.id, '--notify', DPO_EMAIL, '--wait');

    expect(request.status).toBe('completed');
    expect(request.exportUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const download = await fetch(request.exportUrl);
    expect(download.status).toBe(200);
    const document = JSON.stringify(await download.json());
    expect(document).toContain(exported!.id);
    expect(document).not.toContain(erased!.id);
    const mail = (await readOutbox(join(dataDir, 'outbox'))).find((m) => m.text.includes(request.requestId));
    expect(mail?.to).toEqual([DPO_EMAIL]);
    expect(mail?.text).toContain(request.exportUrl);
    const status = await ok(adminToken, 'privacy', 'status', request.requestId);
    expect(status).toMatchObject({ requestId: request.requestId, kind: 'access', status: 'completed' });
  });

  it('stops cleanly on Ctrl-C and frees its port', async () => {
    await stopServer();

    expect(serverOutput).toContain('Stopped. The data stays in the data directory; work still running (a sweep, an erasure, a hold) resumes at the next start.');
    const port = Number(new URL(url).port);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
});
