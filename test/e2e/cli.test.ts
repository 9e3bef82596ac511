/**
 * The `lethe` CLI against a scripted API: exit codes, one-line errors, the
 * tenant taken from the token, and policy changes merged into the overrides.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/program.js';
import type { Output } from '../../cli/context.js';
import { parseAssignment } from '../../cli/policy.js';
import { signDevToken } from '../../shared/local/dev-token.js';
import { closeServer, listen } from '../../shared/local/server.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  readonly authorization?: string;
}

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
}

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
let token: string;

beforeAll(async () => {
  token = await signDevToken(randomBytes(32), { tenantId: 'acme', roles: ['Administrator'] });
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: request.method ?? '', url: request.url ?? '', body: text === '' ? undefined : JSON.parse(text), authorization: request.headers.authorization });
      const reply = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (request.url === '/v1/tenants/acme/retention-policy' && request.method === 'GET') {
        return reply(200, {
          tenantId: 'acme',
          profile: 'conversations',
          version: 2,
          locked: false,
          categories: {
            message: { days: 100, default: 183, min: 1, max: 3650, extendable: true, source: 'tenant' },
            conversation: { days: 183, default: 183, min: 1, max: 3650, extendable: true, source: 'default' },
          },
        });
      }
      if (request.url === '/v1/tenants/acme/retention-policy' && request.method === 'PUT') {
        const issue = { field: 'acknowledgeDataLoss', message: 'shortening conversation makes data that is kept today due for deletion at the next sweep; send acknowledgeDataLoss: true to confirm' };
        return reply(400, { error: { code: 'validation_error', message: `${issue.field}: ${issue.message}`, field: issue.field, issues: [issue] } });
      }
      if (request.url === '/v1/tenants/acme/retention-policy/preview' && request.method === 'POST') {
        return reply(200, { settings: {}, categories: { conversation: { wouldDelete: 120, held: 0, examined: 300 }, message: { wouldDelete: 57, held: 2, examined: 900 }, call: { wouldDelete: 0, held: 0, examined: 4 } } });
      }
      if (request.url === '/v1/tenants/acme/customers/c-big' && request.method === 'DELETE') {
        return reply(202, { receiptId: 'rcpt-1', status: 'continuing', deleted: 500, held: 0, failed: 0, categories: {}, remaining: 3 });
      }
      if (request.url === '/v1/tenants/acme/privacy-requests') return reply(404, { error: { code: 'route_not_found', message: 'no route' } });
      return reply(404, { error: { code: 'not_found', message: 'nothing here' } });
    });
  });
  endpoint = await listen(server, 0);
});
afterAll(async () => {
  await closeServer(server);
});

const run = async (...args: string[]) => {
  const output = capture();
  const code = await main(['node', 'lethe', '--endpoint', endpoint, '--token', token, ...args], output);
  return { code, ...output };
};

describe('the lethe CLI', () => {
  it('acts on the token’s tenant and prints JSON with --json', async () => {
    const result = await run('--json', 'policy', 'get');

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.join('\n')).version).toBe(2);
    expect(seen.at(-1)?.url).toBe('/v1/tenants/acme/retention-policy');
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${token}`);
  });

  it('merges a changed period into the tenant’s overrides; a refusal for want of the acknowledgement names the flag and the preview’s counts', async () => {
    const result = await run('policy', 'set', '--category', 'conversation=90');

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      'error: not saved: shortening conversation makes data that is kept today due for deletion at the next sweep; ' +
        'under the new periods the next sweep would delete 177 item(s) (message 57, conversation 120; customer_profile counts customers). Re-run with --acknowledge-data-loss to confirm.',
    ]);
    const put = seen.find((s) => s.method === 'PUT');
    expect(put).toMatchObject({ body: { categories: { message: { days: 100 }, conversation: { days: 90 } } } });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/v1/tenants/acme/retention-policy/preview', body: put?.body });
  });

  it('shows a 202 continuing deletion as continuing, with its receipt, not as done', async () => {
    const result = await run('customers', 'delete', 'c-big', '--yes');

    expect(result.code).toBe(0);
    expect(result.stdout[0]).toBe(
      'customer c-big: continuing · 500 deleted so far, 0 held, 0 failed, 3 not started yet · the rest goes on in the background (receipt rcpt-1: lethe runs show rcpt-1, or pass --wait)',
    );
  });

  it('says plainly when the API has no privacy-request routes', async () => {
    const result = await run('privacy', 'erase', '--customer', 'c1');

    expect(result.code).toBe(1);
    expect(result.stderr[0]).toMatch(/^error: the API at .* does not serve privacy requests/);
  });

  it('exits 2 on a usage mistake and 1 when the API cannot be reached', async () => {
    const unknownCategory = await run('policy', 'preview', '--category', 'nonsense=3');
    const missingReason = await run('hold', 'add', '--customer', 'c1');
    const closed = createServer();
    const nobody = await listen(closed, 0);
    await closeServer(closed);
    const unreachable = capture();
    const code = await main(['node', 'lethe', '--endpoint', nobody, '--token', token, 'runs', 'ls'], unreachable);

    expect(unknownCategory.code).toBe(2);
    expect(unknownCategory.stderr[0]).toMatch(/unknown category "nonsense"/);
    expect(missingReason.code).toBe(2);
    expect(missingReason.stderr[0]).toMatch(/required option '--reason <text>'/);
    expect(code).toBe(1);
    expect(unreachable.stderr[0]).toBe(`error: cannot reach ${nobody}: connection refused (is \`npm start\` running?)`);
  });

  it('prints the package version with --version and exits 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

    const result = await run('--version');

    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([pkg.version]);
  });

  it('reads periods as days, "indefinite" or "default"', () => {
    expect(parseAssignment('conversation=90')).toEqual(['conversation', 90]);
    expect(parseAssignment('customer_profile=indefinite')).toEqual(['customer_profile', null]);
    expect(parseAssignment('message=default')).toEqual(['message', undefined]);
    expect(() => parseAssignment('message=-1')).toThrow(/whole number/);
  });
});
