/**
 * `lethe login` / `logout` and the stored session, against a small OAuth
 * server standing in for the Cognito managed login (`/oauth2/authorize`,
 * `/oauth2/token`, `/oauth2/revoke`) and the admin API (one route). The test
 * plays the browser: it opens the printed URL, and the fake login redirects
 * it to the CLI's loopback callback.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Output } from '../../cli/context.js';
import { main } from '../../cli/program.js';
import type { StoredSession } from '../../cli/login.js';

const CLIENT_ID = 'consoleclient123';

function capture(): Output & { stdout: string[]; stderr: string[]; all: () => string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false, all: () => [...stdout, ...stderr].join('\n') };
}

/** An unsigned JWT-shaped ID token (the CLI reads claims; the API, not the CLI, checks signatures). */
function idToken(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.${randomBytes(16).toString('base64url')}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Issued {
  readonly challenge: string;
  readonly method: string;
  readonly redirectUri: string;
}

/** The fake login and API: what it issued and what it was asked. */
class FakeLogin {
  server!: Server;
  url = '';
  readonly codes = new Map<string, Issued>();
  readonly tokenRequests: URLSearchParams[] = [];
  readonly revoked: string[] = [];
  readonly apiAuthorizations: (string | undefined)[] = [];
  readonly issuedTokens: string[] = [];
  /** Seconds the next ID tokens live (negative: already expired). */
  idTokenLifetime = 3600;
  refreshToken = `refresh-${randomBytes(12).toString('hex')}`;

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private issue(): { id_token: string; access_token: string } {
    const id = idToken({ sub: 'u-1', email: 'ada@ops.example', 'custom:tenantId': 'acme', 'cognito:groups': ['ComplianceAdministrator'], exp: nowSeconds() + this.idTokenLifetime });
    const access = `access-${randomBytes(12).toString('hex')}`;
    this.issuedTokens.push(id, access);
    return { id_token: id, access_token: access };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };

    if (url.pathname === '/oauth2/authorize') {
      const p = url.searchParams;
      if (p.get('client_id') !== CLIENT_ID || p.get('response_type') !== 'code') return json(400, { error: 'invalid_request' });
      const code = randomBytes(8).toString('hex');
      this.codes.set(code, { challenge: p.get('code_challenge') ?? '', method: p.get('code_challenge_method') ?? '', redirectUri: p.get('redirect_uri') ?? '' });
      const back = new URL(p.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state') ?? '');
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/oauth2/token' && request.method === 'POST') {
      this.tokenRequests.push(form);
      if (form.get('client_id') !== CLIENT_ID) return json(400, { error: 'invalid_client' });
      if (form.get('grant_type') === 'authorization_code') {
        const issued = this.codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const hashed = createHash('sha256').update(verifier).digest('base64url');
        if (issued === undefined || issued.method !== 'S256' || hashed !== issued.challenge || form.get('redirect_uri') !== issued.redirectUri) {
          return json(400, { error: 'invalid_grant' });
        }
        this.codes.delete(form.get('code')!);
        this.issuedTokens.push(this.refreshToken);
        return json(200, { ...this.issue(), refresh_token: this.refreshToken, token_type: 'Bearer', expires_in: this.idTokenLifetime });
      }
      if (form.get('grant_type') === 'refresh_token') {
        if (form.get('refresh_token') !== this.refreshToken) return json(400, { error: 'invalid_grant', error_description: 'Refresh Token has expired' });
        return json(200, { ...this.issue(), token_type: 'Bearer', expires_in: 3600 });
      }
      return json(400, { error: 'unsupported_grant_type' });
    }
    if (url.pathname === '/oauth2/revoke' && request.method === 'POST') {
      this.revoked.push(form.get('token') ?? '');
      return json(200, {});
    }
    if (url.pathname === '/v1/tenants/acme/retention-policy') {
      this.apiAuthorizations.push(request.headers.authorization);
      return json(200, { tenantId: 'acme', profile: 'conversations', version: 1, locked: false, categories: {} });
    }
    json(404, { error: { code: 'route_not_found', message: 'no such route' } });
  }
}

let login: FakeLogin;
let configDir: string;
const previousConfigDir = process.env.LETHE_CONFIG_DIR;
const previousToken = process.env.LETHE_TOKEN;
const previousEndpoint = process.env.LETHE_ENDPOINT;

beforeAll(async () => {
  login = new FakeLogin();
  await login.start();
  delete process.env.LETHE_TOKEN;
  delete process.env.LETHE_ENDPOINT;
});

afterAll(async () => {
  await new Promise((done) => login.server.close(done));
  for (const [key, value] of [['LETHE_CONFIG_DIR', previousConfigDir], ['LETHE_TOKEN', previousToken], ['LETHE_ENDPOINT', previousEndpoint]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

beforeEach(() => {
  configDir = mkdtempSync(join(tmpdir(), 'lethe-login-'));
  process.env.LETHE_CONFIG_DIR = join(configDir, 'lethe');
  login.idTokenLifetime = 3600;
});

afterEach(() => {
  login.tokenRequests.length = 0;
  login.apiAuthorizations.length = 0;
});

const sessionPath = () => join(configDir, 'lethe', 'session.json');

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise((done) => probe.close(done));
  return port;
}

/** Starts `lethe login` and waits until it prints the sign-in URL. */
async function startLogin(extra: string[] = []) {
  const output = capture();
  const port = await freePort();
  const exit = main(
    ['node', 'lethe', 'login', '--no-browser', '--domain', login.url, '--client-id', CLIENT_ID, '--api-url', login.url, '--callback-port', String(port), '--timeout', '20', ...extra],
    output,
  );
  let authorizeUrl: URL | undefined;
  for (let i = 0; i < 200 && authorizeUrl === undefined; i += 1) {
    const printed = output.stderr.join('\n').match(/https?:\/\/\S+\/oauth2\/authorize\S+/);
    if (printed !== null) authorizeUrl = new URL(printed[0]);
    else await new Promise((r) => setTimeout(r, 25));
  }
  if (authorizeUrl === undefined) throw new Error(`lethe login printed no URL: ${output.all()}`);
  return { output, exit, authorizeUrl, port };
}

describe('lethe login', () => {
  it('signs in with the authorization code and the PKCE verifier, and stores the session for the user alone', async () => {
    const { output, exit, authorizeUrl, port } = await startLogin();
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/callback`);
    expect(authorizeUrl.searchParams.get('scope')).toBe('openid email profile');

    // The browser: the login redirects it to the CLI's loopback callback.
    const redirected = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(redirected.status).toBe(302);
    const callbackPage = await fetch(redirected.headers.get('location')!.replace('localhost', '127.0.0.1'));
    expect(callbackPage.status).toBe(200);
    expect(await callbackPage.text()).toMatch(/Signed in to Lethe/);
    expect(await exit, output.all()).toBe(0);

    const [exchange] = login.tokenRequests;
    expect(exchange!.get('grant_type')).toBe('authorization_code');
    expect(createHash('sha256').update(exchange!.get('code_verifier')!).digest('base64url')).toBe(authorizeUrl.searchParams.get('code_challenge'));
    const session = JSON.parse(await readFile(sessionPath(), 'utf8')) as StoredSession;
    expect(session).toMatchObject({ apiUrl: login.url, domain: login.url, clientId: CLIENT_ID, refreshToken: login.refreshToken });
    expect((await stat(sessionPath())).mode & 0o777).toBe(0o600);
    expect((await stat(join(configDir, 'lethe'))).mode & 0o777).toBe(0o700);
    expect(output.stdout.join('\n')).toMatch(/Signed in to .* as ada@ops\.example \(tenant acme\), ComplianceAdministrator/);
  });

  it('prints no token, in words or in JSON', async () => {
    const { output, exit, authorizeUrl } = await startLogin(['--json']);
    const redirected = await fetch(authorizeUrl, { redirect: 'manual' });
    await fetch(redirected.headers.get('location')!.replace('localhost', '127.0.0.1'));
    expect(await exit, output.all()).toBe(0);
    const printed = output.all();
    expect(JSON.parse(output.stdout.join('\n'))).toMatchObject({ signedIn: true, tenant: 'acme', refreshable: true });
    const session = JSON.parse(await readFile(sessionPath(), 'utf8')) as StoredSession;
    for (const token of [session.idToken, session.accessToken, session.refreshToken!]) expect(printed).not.toContain(token);
  });

  it('refuses a callback whose state does not match, and exchanges nothing', async () => {
    const { output, exit, port } = await startLogin(['--json']);
    const forged = await fetch(`http://127.0.0.1:${port}/callback?code=stolen&state=${randomBytes(24).toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(await exit).toBe(1);
    expect(JSON.parse(output.stderr.at(-1)!)).toMatchObject({ error: { code: 'state_mismatch' } });
    expect(login.tokenRequests).toEqual([]);
    await expect(stat(sessionPath())).rejects.toThrow();
  });

  it('says where to sign in when given neither flags nor an outputs file', async () => {
    const output = capture();
    expect(await main(['node', 'lethe', 'login', '--no-browser', '--outputs', join(configDir, 'missing.json')], output)).toBe(2);
    expect(output.stderr.join('\n')).toMatch(/cannot read the outputs file/);
  });

  it('reads the domain, client and API from `cdk deploy --outputs-file`', async () => {
    const outputs = join(configDir, 'cdk-outputs.json');
    await writeFile(
      outputs,
      JSON.stringify({
        'Lethe-voice-Stateful': { RecordsTableName: 't' },
        'Lethe-voice-Stateless': { AdminApiUrl: `${login.url}/`, AdminLoginDomain: login.url, AdminLoginClientId: CLIENT_ID, ConsoleUrl: 'https://d1.cloudfront.net' },
      }),
    );
    const output = capture();
    const port = await freePort();
    const exit = main(['node', 'lethe', 'login', '--no-browser', '--outputs', outputs, '--callback-port', String(port), '--timeout', '20'], output);
    let url: string | undefined;
    for (let i = 0; i < 200 && url === undefined; i += 1) {
      url = output.stderr.join('\n').match(/http:\/\/\S+\/oauth2\/authorize\S+/)?.[0];
      if (url === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    const redirected = await fetch(url!, { redirect: 'manual' });
    await fetch(redirected.headers.get('location')!.replace('localhost', '127.0.0.1'));
    expect(await exit).toBe(0);
    expect(JSON.parse(await readFile(sessionPath(), 'utf8'))).toMatchObject({ apiUrl: login.url, clientId: CLIENT_ID });
  });
});

describe('the stored session', () => {
  async function signedIn(lifetimeSeconds: number): Promise<StoredSession> {
    login.idTokenLifetime = lifetimeSeconds;
    const { exit, authorizeUrl } = await startLogin(['--json']);
    const redirected = await fetch(authorizeUrl, { redirect: 'manual' });
    await fetch(redirected.headers.get('location')!.replace('localhost', '127.0.0.1'));
    expect(await exit).toBe(0);
    login.tokenRequests.length = 0;
    return JSON.parse(await readFile(sessionPath(), 'utf8')) as StoredSession;
  }

  it('is used by other commands without --token, against its own API', async () => {
    const session = await signedIn(3600);
    const output = capture();
    expect(await main(['node', 'lethe', '--json', 'policy', 'get'], output)).toBe(0);
    expect(login.apiAuthorizations).toEqual([`Bearer ${session.idToken}`]);
    expect(login.tokenRequests).toEqual([]);
  });

  it('is refreshed with the refresh token once the ID token has expired, and the new token stored', async () => {
    const expired = await signedIn(-10);
    const output = capture();
    expect(await main(['node', 'lethe', '--json', 'policy', 'get'], output)).toBe(0);
    expect(login.tokenRequests.map((f) => [f.get('grant_type'), f.get('refresh_token')])).toEqual([['refresh_token', login.refreshToken]]);
    const stored = JSON.parse(await readFile(sessionPath(), 'utf8')) as StoredSession;
    expect(stored.idToken).not.toBe(expired.idToken);
    expect(login.apiAuthorizations).toEqual([`Bearer ${stored.idToken}`]);
    expect((await stat(sessionPath())).mode & 0o777).toBe(0o600);
    expect(output.all()).not.toContain(stored.idToken);
  });

  it('says to sign in again when the refresh token is refused', async () => {
    await signedIn(-10);
    const session = JSON.parse(await readFile(sessionPath(), 'utf8')) as StoredSession;
    await writeFile(sessionPath(), JSON.stringify({ ...session, refreshToken: 'revoked' }), { mode: 0o600 });
    const output = capture();
    expect(await main(['node', 'lethe', 'policy', 'get'], output)).toBe(1);
    expect(output.stderr.join('\n')).toMatch(/sign-in to .* has expired: run `lethe login` again/);
    expect(login.apiAuthorizations).toEqual([]);
  });

  it('is never sent to another endpoint', async () => {
    await signedIn(3600);
    const other = new FakeLogin();
    await other.start();
    try {
      const output = capture();
      expect(await main(['node', 'lethe', '--endpoint', other.url, 'policy', 'get', '--tenant', 'acme'], output)).toBe(2);
      expect(output.stderr.join('\n')).toMatch(/no token/);
      expect(other.apiAuthorizations).toEqual([]);
    } finally {
      await new Promise((done) => other.server.close(done));
    }
  });

  it('gives way to an explicit --token', async () => {
    await signedIn(3600);
    const explicit = idToken({ 'custom:tenantId': 'acme', exp: nowSeconds() + 60 });
    expect(await main(['node', 'lethe', '--endpoint', login.url, '--token', explicit, '--json', 'policy', 'get'], capture())).toBe(0);
    expect(login.apiAuthorizations).toEqual([`Bearer ${explicit}`]);
  });
});

describe('lethe logout', () => {
  it('revokes the refresh token at the login and deletes the session', async () => {
    const { exit, authorizeUrl } = await startLogin(['--json']);
    const redirected = await fetch(authorizeUrl, { redirect: 'manual' });
    await fetch(redirected.headers.get('location')!.replace('localhost', '127.0.0.1'));
    expect(await exit).toBe(0);
    const output = capture();
    expect(await main(['node', 'lethe', 'logout'], output)).toBe(0);
    expect(login.revoked).toContain(login.refreshToken);
    await expect(stat(sessionPath())).rejects.toThrow();
    expect(output.stdout.join('\n')).toMatch(/Signed out of .* \(refresh token revoked\)/);
    expect(output.all()).not.toContain(login.refreshToken);
  });
});
