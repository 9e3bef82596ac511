/**
 * The `lethe` commands of issue 11's operations against the real API (the
 * production handler on the emulators behind the local server, dev tokens):
 * `attachment delete`, `anonymize call|message|form|session`, `admin-logs ls`
 * and `admin-logs delete`, `privacy preview`. Each sends what the API expects,
 * prints the answer (--json for scripts) and exits 0, or 1 with the API's
 * error and its field, or 2 for a usage mistake.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../cli/context.js';
import { main } from '../../cli/program.js';
import { keys } from '../../shared/domain/records.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import { closeServer, createLocalServer, listen } from '../../shared/local/server.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, type ApiWorld } from '../support/api.js';

const T = 'clio';
const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

let w: ApiWorld;
let server: Server;
let endpoint: string;
let token: string;

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
}

async function lethe(...args: string[]) {
  const output = capture();
  const code = await main(['node', 'lethe', '--endpoint', endpoint, '--token', token, ...args], output);
  const text = output.stdout.join('\n');
  return { code, stdout: text, stderr: output.stderr.join('\n'), json: args.includes('--json') && code === 0 ? JSON.parse(text) : undefined };
}

const itemsOf = (customerId: string) => w.stores.records.findBySubject(T, customerId);

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  await ingest(w, T, customerRecords({ id: 'cl-1', name: 'Clio One', phone: '+14155558101', email: 'clio1@cli.example', secret: 's1', age: 20 }));
  await ingest(w, T, customerRecords({ id: 'cl-2', name: 'Clio Two', phone: '+14155558102', email: 'clio2@cli.example', secret: 's2', age: 20 }));
  const key = randomBytes(32);
  token = await signDevToken(key, { tenantId: T, roles: ['ComplianceAdministrator'] });
  server = createLocalServer({
    handler: (event) => w.handler(event),
    verifyToken: async (t) => toAuthorizerClaims(await verifyDevToken(key, t)),
    logger: quiet,
  });
  endpoint = await listen(server, 0);
});

afterAll(async () => {
  await closeServer(server);
});

describe('lethe attachment delete', () => {
  it('deletes one attachment and prints its receipt; a repeat exits 1 naming attachmentId', async () => {
    const first = await lethe('attachment', 'delete', 'cl-1-conv', 'cl-1-conv-att');
    const again = await lethe('attachment', 'delete', 'cl-1-conv', 'cl-1-conv-att');

    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/attachment cl-1-conv-att: completed · 1 deleted/u);
    expect((await itemsOf('cl-1')).some((i) => i.id === 'cl-1-conv-att')).toBe(false);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(field: attachmentId)');
  });
});

describe('lethe anonymize', () => {
  it('anonymises a call and a message, keeping their records', async () => {
    const call = await lethe('--json', 'anonymize', 'call', 'cl-2-call');
    const message = await lethe('anonymize', 'message', 'cl-2-conv', 'cl-2-conv-m1');

    expect(call.code, call.stderr).toBe(0);
    expect(call.json).toMatchObject({ type: 'call', status: 'completed', anonymized: 3 });
    expect(message.code, message.stderr).toBe(0);
    expect(message.stdout).toContain('message anonymised: completed');
    const items = await itemsOf('cl-2');
    expect(items.find((i) => i.category === 'call_recording')?.blobKey).toBeUndefined();
    expect(items.find((i) => i.id === 'cl-2-conv-m1')?.data?.text).toMatch(/^anon_/u);
  });

  it('anonymises a form submission and a web session of a customer', async () => {
    await ingest(w, T, [
      { type: 'form_submission', id: 'cl-form', customerId: 'cl-1', submittedAt: daysAgo(2), fields: { email: 'clio1@cli.example' } },
      { type: 'web_session', id: 'cl-web', customerId: 'cl-1', startedAt: daysAgo(2), landingPage: 'https://cli.example/', pageCount: 2 },
    ] as never);

    const form = await lethe('anonymize', 'form', 'cl-1', 'cl-form');
    const session = await lethe('anonymize', 'session', 'cl-1', 'cl-web');

    expect([form.code, session.code]).toEqual([0, 0]);
    expect(JSON.stringify((await itemsOf('cl-1')).find((i) => i.id === 'cl-form')?.data)).not.toContain('clio1@cli.example');
  });

  it('exits 1 naming the field for a call that is not there', async () => {
    const result = await lethe('anonymize', 'call', 'nowhere');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(field: id)');
  });
});

describe('lethe admin-logs', () => {
  beforeAll(async () => {
    await ingest(w, T, [
      { type: 'admin_activity_log', id: 'al-1', occurredAt: daysAgo(10), actor: 'ada@cli.example', action: 'bot.edited' },
      { type: 'admin_activity_log', id: 'al-2', occurredAt: daysAgo(5), actor: 'ada@cli.example', action: 'bot.edited' },
      { type: 'admin_activity_log', id: 'al-3', occurredAt: daysAgo(5), actor: 'bob@cli.example', action: 'bot.edited' },
    ]);
  });

  it('lists the selected logs across pages, and deletes them', async () => {
    const listed = await lethe('--json', 'admin-logs', 'ls', '--actor', 'ada@cli.example', '--limit', '1', '--all');
    const deleted = await lethe('--json', 'admin-logs', 'delete', '--actor', 'ada@cli.example');

    expect(listed.json.logs.map((l: { id: string }) => l.id)).toEqual(['al-1', 'al-2']);
    expect(deleted.json).toMatchObject({ selected: 2, deleted: 2, more: false });
    expect((await w.stores.records.findByPartition(keys.accountPk(T), { skPrefix: 'ADMINLOG#' })).map((i) => i.id)).toEqual(['al-3']);
  });

  it('refuses to delete without a selection (exit 2) and prints the API error for a bad range (exit 1)', async () => {
    const nothing = await lethe('admin-logs', 'delete');
    const badRange = await lethe('admin-logs', 'ls', '--from', daysAgo(1), '--to', daysAgo(3));

    expect(nothing.code).toBe(2);
    expect(badRange.code).toBe(1);
    expect(badRange.stderr).toContain('(field: to)');
  });
});

describe('lethe privacy preview', () => {
  it('lists the customers a bulk erasure would take, with the counts added up over every page, and files nothing', async () => {
    const before = (await w.deps.privacy.list(T)).length;

    const result = await lethe('--json', 'privacy', 'preview', '--channel', 'email', '--limit', '1', '--all');

    expect(result.code, result.stderr).toBe(0);
    expect(result.json.customers.map((c: { customerId: string }) => c.customerId).sort()).toEqual(['cl-1', 'cl-2']);
    expect(result.json.categories.conversation).toEqual({ examined: 2, wouldDelete: 2, held: 0 });
    expect((await w.deps.privacy.list(T)).length).toBe(before);
  });

  it('exits 2 without a filter', async () => {
    expect((await lethe('privacy', 'preview')).code).toBe(2);
  });
});
