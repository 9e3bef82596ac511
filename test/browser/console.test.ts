/**
 * The web console in a real headless Chromium (playwright-core driving
 * @sparticuz/chromium's binary, or /usr/bin/chromium when present) against a
 * real local-mode runtime on a temp data directory: dev sign-in, a shortening
 * change through the acknowledgement, a hold placed and released, an erasure
 * filed and watched to completion, a customer looked up and exported (and a
 * delete refused with its 409 explained), runs and receipts, the audit trail,
 * the API docs page; what a role may not do is not offered. Each page is
 * saved as a 1280×800 screenshot in test-artifacts/screenshots/. One browser
 * and one server for the file. The console is built first (scripts/build-console.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api-client.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { startLocalRuntime, type LocalRuntime } from '../../shared/local/runtime.js';
import { generateDemoDataset, ingestDataset } from '../../shared/local/seed.js';
import { buildConsole } from '../../scripts/build-console.js';
import { quietLogger } from '../support/sweep-harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(REPO, 'test-artifacts', 'screenshots');
const TENANT = 'acme';
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

let dataDir: string;
let runtime: LocalRuntime;
let admin: ApiClient;
let browser: Browser;
let page: Page;
/** Problems the page reported: uncaught errors, console errors (CSP violations among them). */
const pageProblems: string[] = [];

/** Customers of the seeded dataset, by what the tests do with them. */
let erased: string;
let erasedPhone: string;
let held: string;
let looked: { customerId: string; phone: string };
const OPEN_CUSTOMER = 'cust-open';

async function launchChromium(): Promise<Browser> {
  const executablePath = existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : await chromium.executablePath();
  return playwright.launch({ executablePath, args: chromium.args, headless: true });
}

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

async function open(route: string, heading: string): Promise<void> {
  await page.goto(`${runtime.url}/#/${route}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** Customers of the dataset whose conversations are all closed, with their first phone. */
function closedCustomers(bundles: readonly (readonly IngestRecordInput[])[]): { customerId: string; phone: string }[] {
  const out: { customerId: string; phone: string }[] = [];
  for (const bundle of bundles) {
    const customer = bundle.find((r) => r.type === 'customer') as { id: string; phones?: string[] } | undefined;
    if (customer?.phones?.[0] === undefined) continue;
    const open = bundle.some((r) => r.type === 'conversation' && (r as { status?: string }).status === 'open');
    if (!open) out.push({ customerId: customer.id, phone: customer.phones[0] });
  }
  return out;
}

/** A GET with a chosen Host and Origin (fetch cannot set Host). */
function rawGet(path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(path, runtime.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  await buildConsole();
  dataDir = await mkdtemp(join(tmpdir(), 'lethe-console-'));
  runtime = await startLocalRuntime({ dataDir, port: 0, profile: 'conversations', logger: quietLogger, stageBudgetMs: 200 });
  const superAdmin = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ roles: ['SuperAdministrator'], subject: 'test' }) });
  await superAdmin.put(`/v1/tenants/${TENANT}`, {
    name: 'Acme (synthetic)',
    adminEmails: ['dpo@acme.example'],
    thirdPartyEndpoints: [{ name: 'provider', deleteUrl: runtime.fakeProviderDeleteUrl }],
  });
  admin = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ roles: ['ComplianceAdministrator'], tenantId: TENANT, subject: 'test' }) });
  const now = new Date();
  const dataset = generateDemoDataset({ now, customers: 24, seed: 11 });
  runtime.fakeProvider.add(...dataset.thirdPartyRefs);
  await ingestDataset(dataset, async (records) => (await admin.post<{ accepted: number }>(`/v1/tenants/${TENANT}/records`, { records })).accepted);
  // A customer in the middle of a conversation: the console's delete gets the API's 409.
  const recent = new Date(now.getTime() - 3_600_000).toISOString();
  await admin.post(`/v1/tenants/${TENANT}/records`, {
    records: [
      { type: 'customer', id: OPEN_CUSTOMER, name: 'Open Example', phones: ['+1 202 555 0199'], lastContactAt: recent },
      { type: 'conversation', id: 'conv-open-1', customerId: OPEN_CUSTOMER, channel: 'chat', startedAt: recent, status: 'open' },
    ],
  });
  const customers = closedCustomers(dataset.bundles);
  const kept: { customerId: string; phone: string }[] = [];
  for (const c of customers) {
    const { customers: found } = await admin.get<{ customers: { customerId: string }[] }>(`/v1/tenants/${TENANT}/customers`, { phone: c.phone });
    if (found.some((f) => f.customerId === c.customerId)) kept.push(c);
  }
  if (kept.length < 3) throw new Error(`the seeded dataset kept ${kept.length} customers with closed conversations; the test needs 3`);
  [erased, held] = [kept[0]!.customerId, kept[1]!.customerId];
  erasedPhone = kept[0]!.phone;
  looked = kept[2]!;

  browser = await launchChromium();
  // A fixed locale: uPlot formats with the browser's, and a C/POSIX environment gives Chromium one Intl rejects.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // The 409 the delete test provokes is the one failed request expected.
    if (message.type() === 'error' && !/status of 409/.test(message.text())) pageProblems.push(`console: ${message.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close({ graceMs: 2_000 });
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('the web console in a browser', () => {
  it('signs in with the dev sign-in: a tenant and a role', async () => {
    await page.goto(`${runtime.url}/`);
    await page.getByRole('form', { name: 'Dev sign-in' }).waitFor();
    await page.getByLabel('Tenant').selectOption(TENANT);
    await page.getByLabel('Role').selectOption('ComplianceAdministrator');
    await shot('sign-in');

    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect.poll(() => page.getByRole('navigation', { name: 'Console pages' }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('header').textContent()).toContain(`tenant ${TENANT}`);
    expect(await page.evaluate('sessionStorage.getItem("lethe.session")')).toContain('"mode":"dev"');
  });

  it('shortens a period only through the acknowledgement, which shows the preview counts', async () => {
    await open('settings', 'Retention settings');
    const before = await admin.get<{ version: number; categories: { conversation: { days: number } } }>(`/v1/tenants/${TENANT}/retention-policy`);
    const preview = await admin.post<{ categories: Record<string, { wouldDelete: number }> }>(`/v1/tenants/${TENANT}/retention-policy/preview`, {
      categories: { conversation: { days: 30 } },
    });
    const expected = Object.values(preview.categories).reduce((n, c) => n + c.wouldDelete, 0);
    expect(expected).toBeGreaterThan(0);

    await page.getByLabel('conversation: days kept', { exact: true }).fill('30');
    await page.getByRole('button', { name: 'Save' }).click();

    const dialog = page.getByRole('dialog', { name: 'This change deletes data' });
    await dialog.waitFor();
    await expect.poll(() => dialog.textContent()).toContain(`${expected} items kept today would be deleted`);
    expect(await dialog.getByRole('row', { name: /^message/ }).textContent()).toContain(String(preview.categories.message?.wouldDelete ?? 0));
    const confirm = dialog.getByRole('button', { name: 'Save and acknowledge data loss' });
    expect(await confirm.isDisabled()).toBe(true);
    await shot('settings-acknowledge');

    await dialog.getByLabel(/I understand/).check();
    await confirm.click();

    await page.getByRole('status').filter({ hasText: `Saved: version ${before.version + 1}.` }).waitFor();
    const after = await admin.get<{ version: number; categories: { conversation: { days: number } } }>(`/v1/tenants/${TENANT}/retention-policy`);
    expect(after.categories.conversation.days).toBe(30);
    await page.getByRole('cell', { name: 'conversation 183 days → 30 days' }).waitFor();
    await shot('settings');
  });

  it('cancelling the acknowledgement changes nothing', async () => {
    await open('settings', 'Retention settings');
    const before = await admin.get<{ version: number }>(`/v1/tenants/${TENANT}/retention-policy`);

    await page.getByLabel('message: days kept', { exact: true }).fill('20');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog', { name: 'This change deletes data' }).getByRole('button', { name: 'Cancel' }).click();

    expect((await admin.get<{ version: number }>(`/v1/tenants/${TENANT}/retention-policy`)).version).toBe(before.version);
    await page.getByRole('button', { name: 'Discard' }).click();
  });

  it('places a legal hold on a customer and releases it', async () => {
    await open('holds', 'Legal holds');
    const form = page.getByRole('form', { name: 'Place a legal hold' });
    await form.getByLabel('Customer id').fill(held);
    await form.getByLabel(/Reason/).fill('Litigation LIT-7 (synthetic)');

    await form.getByRole('button', { name: 'Place hold' }).click();

    const placed = await page.getByRole('status').filter({ hasText: /Hold .* placed\./ }).textContent();
    const holdId = /Hold (\S+) placed/.exec(placed ?? '')?.[1] as string;
    const row = page.getByRole('row').filter({ hasText: holdId });
    await expect.poll(() => row.textContent()).toContain(`customerId ${held}`);
    const { holds } = await admin.get<{ holds: { holdId: string; active: boolean; scope: { customerId?: string } }[] }>(`/v1/tenants/${TENANT}/legal-holds`);
    expect(holds.find((h) => h.holdId === holdId)).toMatchObject({ active: true, scope: { customerId: held } });
    await shot('holds');

    await row.getByRole('button', { name: `Release hold ${holdId}` }).click();

    await page.getByRole('status').filter({ hasText: `Hold ${holdId} released.` }).waitFor();
    await expect.poll(() => row.getByRole('button').count()).toBe(0);
    const after = await admin.get<{ holds: { holdId: string; active: boolean }[] }>(`/v1/tenants/${TENANT}/legal-holds`);
    expect(after.holds.find((h) => h.holdId === holdId)?.active).toBe(false);
  });

  it('files an erasure and shows it complete, live', async () => {
    await open('privacy', 'Privacy requests');
    const form = page.getByRole('form', { name: 'File a privacy request' });
    await form.getByLabel('Kind').selectOption('erasure');
    await form.getByLabel('Find the customer by').selectOption('customerId');
    await form.getByLabel('Value').fill(erased);

    await form.getByRole('button', { name: 'File erasure request' }).click();

    const filed = await page.getByRole('status').filter({ hasText: /Request \S+ received/ }).textContent();
    const requestId = /Request (\S+) received/.exec(filed ?? '')?.[1] as string;
    const row = page.locator(`tr[data-request="${requestId}"]`);
    // The list polls while the request works; no reload here.
    await expect.poll(() => row.textContent(), { timeout: 45_000, interval: 500 }).toContain('completed');
    await shot('privacy');
    const { customers } = await admin.get<{ customers: unknown[] }>(`/v1/tenants/${TENANT}/customers`, { phone: erasedPhone });
    expect(customers).toEqual([]);
  });

  it('previews a bulk erasure filter before it can be filed', async () => {
    await open('privacy', 'Privacy requests');
    const form = page.getByRole('form', { name: 'File a privacy request' });
    await form.getByLabel('every customer matching a filter (bulk)').check();
    await form.getByLabel('Channel').selectOption('whatsapp');
    expect(await form.getByRole('button', { name: 'File erasure request' }).isDisabled()).toBe(true);

    await form.getByRole('button', { name: 'Preview' }).click();

    await page.getByText(/The erasure would take \d+\+? customers?/).waitFor();
    expect(await form.getByRole('button', { name: 'File erasure request' }).isDisabled()).toBe(false);
  });

  it('looks a customer up by phone and downloads the export', async () => {
    await open('customers', 'Customers');
    const form = page.getByRole('form', { name: 'Find a customer' });
    await form.getByLabel('By').selectOption('phone');
    await form.getByLabel('Value').fill(looked.phone);
    await form.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('cell', { name: looked.customerId, exact: true }).waitFor();
    await shot('customers');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Export ${looked.customerId}` }).click()]);

    expect(download.suggestedFilename()).toBe(`lethe-export-${TENANT}-${looked.customerId}.json`);
    const exported = JSON.parse(await readFile((await download.path()) as string, 'utf8')) as { customer?: { customerId?: string }; recordCount: number };
    expect(exported.customer?.customerId).toBe(looked.customerId);
    expect(exported.recordCount).toBeGreaterThan(0);
  });

  it('explains why a customer in an open conversation is not deleted (409)', async () => {
    await open('customers', 'Customers');
    const form = page.getByRole('form', { name: 'Find a customer' });
    await form.getByLabel('By').selectOption('phone');
    await form.getByLabel('Value').fill('+1 202 555 0199');
    await form.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('button', { name: `Delete ${OPEN_CUSTOMER}` }).click();
    await page.getByRole('dialog', { name: `Delete customer ${OPEN_CUSTOMER}?` }).getByRole('button', { name: 'Delete customer' }).click();

    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('1 open conversation');
    expect(await alert.textContent()).toContain('close the conversation');
    await shot('customers-delete-409');
    const { customers } = await admin.get<{ customers: unknown[] }>(`/v1/tenants/${TENANT}/customers`, { phone: '+1 202 555 0199' });
    expect(customers).toHaveLength(1);
  });

  it('shows stored records by age per category with the cutoff line, and deletions per run', async () => {
    await open('overview', 'Overview');

    await page.locator('.small-chart canvas').first().waitFor();
    expect(await page.locator('.small-chart').count()).toBeGreaterThan(5);
    expect(await page.getByRole('img', { name: 'conversation: records by age in 30-day buckets', exact: true }).count()).toBe(1);
    expect(await page.locator('figcaption', { hasText: 'cutoff 183 days' }).count()).toBeGreaterThan(0);
    await page.getByRole('img', { name: 'Records deleted and held per run over time' }).locator('canvas').waitFor();
    await shot('overview');
  });

  it('lists runs and shows a receipt', async () => {
    await open('runs', 'Runs and receipts');
    const { runs } = await admin.get<{ runs: { runId: string; kind: string }[] }>(`/v1/tenants/${TENANT}/deletion-runs`);
    const erasure = runs.find((r) => r.kind === 'privacy_request')?.runId as string;
    await page.getByRole('link', { name: erasure }).click();

    const receipt = page.getByRole('region', { name: `Receipt ${erasure}` });
    await receipt.waitFor();
    expect(await receipt.textContent()).toContain('completed');
    expect(await receipt.getByRole('table').count()).toBe(1);
    await shot('runs');
  });

  it('shows the audit trail with before and after, and pages back', async () => {
    await open('audit', 'Audit trail');
    const policyEvent = page.getByRole('row').filter({ hasText: 'policy.' }).first();
    await policyEvent.waitFor();
    await policyEvent.getByText('before / after').click();
    expect(await policyEvent.getByLabel('after').textContent()).toContain('30');
    await shot('audit');
  });

  it('serves the API docs page offline at /docs, and the document at /openapi.json', async () => {
    await page.goto(`${runtime.url}/docs`);
    await page.getByRole('heading', { name: /Lethe admin API/ }).waitFor();
    await page.getByText('/v1/tenants/{t}/retention-overview').first().waitFor();
    await shot('docs');
    const doc = (await (await fetch(`${runtime.url}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('offers an Administrator only what the profile lets an Administrator do', async () => {
    await page.goto(`${runtime.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Role').selectOption('Administrator');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const nav = page.getByRole('navigation', { name: 'Console pages' });
    await nav.waitFor();

    // The conversations profile lets an Administrator delete customers, not export them, hold or file privacy requests.
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Overview', 'Retention settings', 'Customers', 'Runs and receipts', 'Audit trail']);
    await open('customers', 'Customers');
    const form = page.getByRole('form', { name: 'Find a customer' });
    await form.getByLabel('By').selectOption('phone');
    await form.getByLabel('Value').fill(looked.phone);
    await form.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('button', { name: `Delete ${looked.customerId}` }).waitFor();
    expect(await page.getByRole('button', { name: `Export ${looked.customerId}` }).count()).toBe(0);
  });

  it('raised no page error and no CSP violation on any page', () => {
    expect(pageProblems).toEqual([]);
  });
});

describe('what local mode serves besides the API', () => {
  it('answers the console, its config and the docs page with strict security headers', async () => {
    for (const path of ['/', '/config.json', '/docs', '/app.js']) {
      const response = await fetch(`${runtime.url}${path}`);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });

  it('says where the API is and how to sign in', async () => {
    const config = (await (await fetch(`${runtime.url}/config.json`)).json()) as { apiUrl: string; auth: { mode: string }; actionRoles: Record<string, string> };

    expect(config).toMatchObject({ apiUrl: runtime.url, auth: { mode: 'dev' } });
    expect(config.actionRoles.manageLegalHolds).toBe('ComplianceAdministrator');
  });

  it('keeps the API answering as before: JSON 404 for no route, 401 without a token', async () => {
    expect((await fetch(`${runtime.url}/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${runtime.url}/v1/tenants/${TENANT}`)).status).toBe(401);
  });

  it('serves no file outside the console', async () => {
    expect(await rawGet('/..%2f..%2fpackage.json', { host: new URL(runtime.url).host })).toBe(404);
    expect((await fetch(`${runtime.url}/nothing-here.js`)).status).toBe(404);
  });

  it('mints dev tokens only for pages of this server on a loopback address', async () => {
    const host = new URL(runtime.url).host;
    expect(await rawGet('/_local/dev-sign-in', { host })).toBe(200);
    expect(await rawGet('/_local/dev-sign-in', { host: 'attacker.example' })).toBe(403);
    expect(await rawGet('/_local/dev-sign-in', { host, origin: 'http://attacker.example' })).toBe(403);
  });

  it('refuses a bad dev sign-in with a 400 naming the field', async () => {
    const post = (body: unknown) =>
      fetch(`${runtime.url}/_local/dev-sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const badRole = await post({ tenantId: TENANT, role: 'Root' });
    const noTenant = await post({ role: 'Administrator' });
    const unknownTenant = await post({ tenantId: 'nobody', role: 'Administrator' });

    expect([badRole.status, ((await badRole.json()) as { error: { field: string } }).error.field]).toEqual([400, 'role']);
    expect([noTenant.status, ((await noTenant.json()) as { error: { field: string } }).error.field]).toEqual([400, 'tenantId']);
    expect(unknownTenant.status).toBe(404);
  });
});
