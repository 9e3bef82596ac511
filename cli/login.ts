/**
 * `lethe login` and `lethe logout` for a deployed stack, as `gh auth login`
 * does it: the OAuth authorization code grant with PKCE against the Cognito
 * managed login, the browser sent back to a loopback port this process
 * listens on (127.0.0.1), `state` checked, the code exchanged at
 * `/oauth2/token` with the verifier. The tokens are kept in the user's config
 * directory (`session.json`, mode 0600, directory 0700); later commands use
 * the ID token when they are given no `--token`/`LETHE_TOKEN` and talk to the
 * API the session belongs to, refreshing it with the refresh token once it
 * has expired. No token is ever printed.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { decodeJwt } from 'jose';
import { CLAIMS } from '../shared/app/api/contract.js';
import { CliContext, CliError, UsageError, type Output } from './context.js';
import { LOGIN_CALLBACK_PORTS, loginCallbackUrl } from './login-redirect.js';

/** Where a deployed stack's sign-in is: from the stack outputs or flags. */
export interface LoginSettings {
  /** Base URL of the admin API, without a trailing slash. */
  readonly apiUrl: string;
  /** Base URL of the managed login, e.g. `https://lethe-x.auth.eu-west-1.amazoncognito.com`. */
  readonly domain: string;
  /** The public app client of the console and the CLI. */
  readonly clientId: string;
}

/** What `session.json` holds. */
export interface StoredSession extends LoginSettings {
  readonly version: 1;
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** When the ID token expires, ISO 8601. */
  readonly expiresAt: string;
}

/** The scopes the app client allows (infra/constructs/admin-user-pool.ts LOGIN_SCOPES). */
const SCOPES = ['openid', 'email', 'profile'];
/** An ID token this close to its expiry is refreshed first. */
const EXPIRY_MARGIN_MS = 60_000;
const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';
/** Commands that never send the API a token (or manage the session themselves). */
const WITHOUT_SESSION = new Set(['login', 'logout', 'token']);

/** The CLI's config directory: `LETHE_CONFIG_DIR`, else the platform's (`$XDG_CONFIG_HOME/lethe`, `~/.config/lethe`, …). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LETHE_CONFIG_DIR) return resolve(env.LETHE_CONFIG_DIR);
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'lethe');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'lethe');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'lethe');
}

export function sessionFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'session.json');
}

export async function readSession(file = sessionFile()): Promise<StoredSession | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const session = JSON.parse(text) as Partial<StoredSession>;
    if (session.version !== 1 || typeof session.idToken !== 'string' || typeof session.apiUrl !== 'string') throw new Error('unknown shape');
    return session as StoredSession;
  } catch {
    throw new CliError(`the stored sign-in (${file}) is unreadable: run \`lethe logout\`, then \`lethe login\``, { code: 'bad_session' });
  }
}

/** Writes the session readable by the user alone: directory 0700, file 0600, replaced whole (never half-written). */
export async function writeSession(session: StoredSession, file = sessionFile()): Promise<void> {
  const dir = file.replace(/[\\/][^\\/]+$/, '');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** `https://x/` → `https://x`. */
function withoutSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** An https URL, or http on this machine (a local test issuer). */
function checkedUrl(value: string, what: string): string {
  const trimmed = value.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  } catch {
    throw new UsageError(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new UsageError(`${what} must be an https URL, got ${JSON.stringify(value)}`);
  return withoutSlash(url.toString());
}

/** One stack's outputs out of `cdk deploy --outputs-file` (`{ "<stack>": { "<output>": "<value>" } }`). */
export function settingsFromOutputs(outputs: unknown, stack?: string): LoginSettings {
  if (typeof outputs !== 'object' || outputs === null) throw new UsageError('the outputs file is not a JSON object (write it with `cdk deploy --outputs-file`)');
  const stacks = Object.entries(outputs as Record<string, Record<string, unknown>>).filter(
    ([name, values]) => (stack === undefined || name === stack) && typeof values === 'object' && values !== null && 'AdminLoginClientId' in values,
  );
  if (stacks.length === 0) throw new UsageError(`no stack${stack === undefined ? '' : ` named ${stack}`} in the outputs file has AdminLoginClientId: deploy the stateless stack, or pass --domain, --client-id and --api-url`);
  if (stacks.length > 1) throw new UsageError(`several stacks in the outputs file have a login (${stacks.map(([n]) => n).join(', ')}): pass --stack <name>`);
  const [, values] = stacks[0]!;
  const text = (key: string): string => {
    const value = values[key];
    if (typeof value !== 'string' || value === '') throw new UsageError(`the outputs file has no ${key} for the stack`);
    return value;
  };
  return { apiUrl: text('AdminApiUrl'), domain: text('AdminLoginDomain'), clientId: text('AdminLoginClientId') };
}

interface LoginOptions {
  readonly domain?: string;
  readonly clientId?: string;
  readonly apiUrl?: string;
  readonly outputs?: string;
  readonly stack?: string;
  readonly browser: boolean;
  readonly timeout: string;
  readonly callbackPort?: string;
}

async function loginSettings(options: LoginOptions): Promise<LoginSettings> {
  let fromOutputs: Partial<LoginSettings> = {};
  const flagsComplete = options.domain !== undefined && options.clientId !== undefined && options.apiUrl !== undefined;
  const outputsFile = options.outputs ?? (!flagsComplete && existsSync(DEFAULT_OUTPUTS_FILE) ? DEFAULT_OUTPUTS_FILE : undefined);
  if (outputsFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(outputsFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read the outputs file ${outputsFile}: ${(error as Error).message}`);
    }
    fromOutputs = settingsFromOutputs(parsed, options.stack);
  }
  const domain = options.domain ?? fromOutputs.domain;
  const clientId = options.clientId ?? fromOutputs.clientId;
  const apiUrl = options.apiUrl ?? fromOutputs.apiUrl;
  if (domain === undefined || clientId === undefined || apiUrl === undefined) {
    throw new UsageError(
      `say where to sign in: --outputs <file> (npx cdk deploy --all --outputs-file ${DEFAULT_OUTPUTS_FILE}), or --domain, --client-id and --api-url (the stack outputs AdminLoginDomain, AdminLoginClientId, AdminApiUrl)`,
    );
  }
  if (!/^[\w+]+$/.test(clientId)) throw new UsageError(`--client-id is not an app client id: ${JSON.stringify(clientId)}`);
  return { domain: checkedUrl(domain, '--domain'), clientId, apiUrl: checkedUrl(apiUrl, '--api-url') };
}

const base64url = (bytes: Buffer): string => bytes.toString('base64url');

/** A PKCE verifier (43 characters of 32 random bytes) and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = base64url(randomBytes(32));
  return { verifier, challenge: base64url(createHash('sha256').update(verifier).digest()) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface TokenAnswer {
  readonly id_token?: string;
  readonly access_token?: string;
  readonly refresh_token?: string;
}

/** POSTs a form to the login's token endpoint; its error (never a token) in the message on failure. */
async function tokenRequest(domain: string, form: Record<string, string>, what: string): Promise<TokenAnswer> {
  let response: Response;
  try {
    response = await fetch(`${domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(`cannot reach the login at ${domain} to ${what}: ${(error as Error).message}`, { code: 'login_unreachable' });
  }
  const body = (await response.json().catch(() => ({}))) as TokenAnswer & { error?: string; error_description?: string };
  if (!response.ok) {
    const reason = [body.error, body.error_description].filter((s) => typeof s === 'string' && s !== '').join(': ') || `HTTP ${response.status}`;
    throw new CliError(`the login refused to ${what} (${reason})`, { code: body.error === 'invalid_grant' ? 'login_expired' : 'login_refused', details: { status: response.status } });
  }
  if (typeof body.id_token !== 'string' || typeof body.access_token !== 'string') throw new CliError(`the login did not send the tokens it should have (${what})`, { code: 'login_refused' });
  return body;
}

function expiryOf(idToken: string): string {
  const exp = decodeJwt(idToken).exp;
  if (typeof exp !== 'number') throw new CliError('the login sent an ID token without an expiry', { code: 'login_refused' });
  return new Date(exp * 1000).toISOString();
}

const PAGE_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'", 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
const page = (title: string, text: string) => `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>`;

interface Callback {
  readonly code: string;
  readonly redirectUri: string;
}

/** Listens on the first free port for the browser's return; resolves with the code once `state` matches. */
async function awaitCallback(ports: readonly number[], state: string, timeoutMs: number, onListening: (redirectUri: string) => void): Promise<Callback> {
  const { server, port } = await listenOnFirstFree(ports);
  const redirectUri = loginCallbackUrl(port);
  try {
    return await new Promise<Callback>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new CliError(`no sign-in came back within ${Math.round(timeoutMs / 1000)} s: run \`lethe login\` again`, { code: 'login_timeout' })), timeoutMs);
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        outcome();
      };
      server.on('request', (request: IncomingMessage, response: ServerResponse) => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        if (url.pathname !== '/callback') {
          response.writeHead(404, PAGE_HEADERS).end(page('Not found', 'This is lethe login’s callback.'));
          return;
        }
        const returned = url.searchParams.get('state') ?? '';
        if (!sameText(returned, state)) {
          // Not the browser this process sent: a forged or stale callback. Nothing is exchanged.
          response.writeHead(400, PAGE_HEADERS).end(page('Sign-in refused', 'The answer does not belong to this sign-in (state mismatch). Run lethe login again.'));
          finish(() => reject(new CliError('sign-in refused: the callback’s state does not match this sign-in (a forged or stale callback); nothing was exchanged', { code: 'state_mismatch' })));
          return;
        }
        const error = url.searchParams.get('error');
        const code = url.searchParams.get('code');
        if (error !== null || code === null || code === '') {
          response.writeHead(400, PAGE_HEADERS).end(page('Sign-in failed', 'The login did not sign you in. Return to the terminal.'));
          const reason = [error ?? 'no code', url.searchParams.get('error_description')].filter((s) => s !== null && s !== '').join(': ');
          finish(() => reject(new CliError(`the login did not sign you in (${reason})`, { code: 'login_refused' })));
          return;
        }
        response.writeHead(200, PAGE_HEADERS).end(page('Signed in to Lethe', 'You can close this tab and return to the terminal.'));
        finish(() => resolvePromise({ code, redirectUri }));
      });
      onListening(redirectUri);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
}

async function listenOnFirstFree(ports: readonly number[]): Promise<{ server: Server; port: number }> {
  for (const port of ports) {
    const server = createServer();
    const bound = await new Promise<boolean>((done) => {
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => done(true));
    });
    if (bound) return { server, port };
  }
  throw new CliError(`cannot listen for the sign-in on 127.0.0.1, ports ${ports.join(', ')} are all taken: free one and run lethe login again`, { code: 'login_port_taken' });
}

/** Best effort: the system's way of opening a URL; the URL is printed whatever happens. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener on this machine: the printed URL is enough.
  }
}

/** Who the ID token says signed in, for the confirmation (an admin's own identity, not a data subject's). */
function describeIdentity(idToken: string): { email?: string; tenant?: string; groups: string[] } {
  const claims = decodeJwt(idToken);
  const email = typeof claims.email === 'string' ? claims.email : undefined;
  const tenant = claims[CLAIMS.tenant];
  const groups = claims[CLAIMS.roles];
  return {
    ...(email !== undefined && { email }),
    ...(typeof tenant === 'string' && { tenant }),
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
  };
}

export function loginCommand(output: Output): Command {
  return new Command('login')
    .description('sign in to a deployed stack in the browser (managed login, authorization code + PKCE); later commands use the session')
    .option('--outputs <file>', `stack outputs written by \`cdk deploy --outputs-file\` (default: ./${DEFAULT_OUTPUTS_FILE} when present)`)
    .option('--stack <name>', 'the stack in the outputs file, when several have a login')
    .option('--domain <url>', 'managed login base URL (stack output AdminLoginDomain)')
    .option('--client-id <id>', 'app client id (stack output AdminLoginClientId)')
    .option('--api-url <url>', 'admin API URL (stack output AdminApiUrl)')
    .option('--no-browser', 'only print the sign-in URL, do not try to open a browser')
    .option('--timeout <seconds>', 'how long to wait for the browser', '300')
    // Cognito returns only to the callback URLs its app client lists: for a client that lists another port (tests).
    .addOption(new Option('--callback-port <port>', 'loopback port to listen on').hideHelp())
    .action(async (options: LoginOptions, command: Command) => {
      const ctx = CliContext.of(command, output);
      const settings = await loginSettings(options);
      const timeoutSeconds = Number(options.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${options.timeout}`);
      const ports = options.callbackPort === undefined ? LOGIN_CALLBACK_PORTS : [Number(options.callbackPort)];
      if (ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) throw new UsageError(`--callback-port must be a port number, got ${options.callbackPort}`);

      const { verifier, challenge } = pkcePair();
      const state = base64url(randomBytes(24));
      const { code, redirectUri } = await awaitCallback(ports, state, timeoutSeconds * 1000, (redirect) => {
        const authorize = new URL(`${settings.domain}/oauth2/authorize`);
        authorize.search = new URLSearchParams({
          response_type: 'code',
          client_id: settings.clientId,
          redirect_uri: redirect,
          scope: SCOPES.join(' '),
          state,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).toString();
        output.err(`Open this URL to sign in (waiting up to ${timeoutSeconds} s):\n\n  ${authorize.toString()}\n`);
        if (options.browser) openBrowser(authorize.toString());
      });
      const tokens = await tokenRequest(
        settings.domain,
        { grant_type: 'authorization_code', client_id: settings.clientId, code, redirect_uri: redirectUri, code_verifier: verifier },
        'exchange the sign-in code',
      );
      const session: StoredSession = {
        version: 1,
        ...settings,
        idToken: tokens.id_token!,
        accessToken: tokens.access_token!,
        ...(tokens.refresh_token !== undefined && { refreshToken: tokens.refresh_token }),
        expiresAt: expiryOf(tokens.id_token!),
      };
      const file = sessionFile();
      await writeSession(session, file);
      const who = describeIdentity(session.idToken);
      ctx.emit({ signedIn: true, apiUrl: settings.apiUrl, ...who, expiresAt: session.expiresAt, refreshable: session.refreshToken !== undefined, sessionFile: file }, () => {
        ctx.print(`Signed in to ${settings.apiUrl}${who.email === undefined ? '' : ` as ${who.email}`}${who.tenant === undefined ? '' : ` (tenant ${who.tenant})`}${who.groups.length === 0 ? '' : `, ${who.groups.join(', ')}`}.`);
        ctx.print(`Session kept in ${file} (readable by you only); commands without --token use it. Sign out: lethe logout`);
      });
    });
}

export function logoutCommand(output: Output): Command {
  return new Command('logout')
    .description('forget the stored sign-in (and revoke its refresh token at the login)')
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const file = sessionFile();
      const session = await readSession(file).catch(() => undefined);
      let revoked = false;
      if (session?.refreshToken !== undefined) {
        try {
          const response = await fetch(`${session.domain}/oauth2/revoke`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token: session.refreshToken, client_id: session.clientId }).toString(),
            signal: AbortSignal.timeout(10_000),
          });
          revoked = response.ok;
        } catch {
          // Offline: the file goes anyway; the refresh token expires on its own.
        }
      }
      const existed = existsSync(file);
      await rm(file, { force: true });
      ctx.emit({ signedOut: existed, revoked, ...(session !== undefined && { apiUrl: session.apiUrl }) }, () =>
        ctx.print(existed ? `Signed out${session === undefined ? '' : ` of ${session.apiUrl}`}${revoked ? ' (refresh token revoked)' : ''}.` : 'Not signed in.'),
      );
    });
}

/** The session's ID token, refreshed first (and stored) when it has expired or is about to. */
export async function freshIdToken(session: StoredSession, file = sessionFile(), now = Date.now()): Promise<string> {
  if (Date.parse(session.expiresAt) - EXPIRY_MARGIN_MS > now) return session.idToken;
  if (session.refreshToken === undefined) throw new CliError(`your sign-in to ${session.apiUrl} has expired: run \`lethe login\` again`, { code: 'login_expired' });
  let tokens: TokenAnswer;
  try {
    tokens = await tokenRequest(session.domain, { grant_type: 'refresh_token', client_id: session.clientId, refresh_token: session.refreshToken }, 'refresh your sign-in');
  } catch (error) {
    if (error instanceof CliError && error.code === 'login_expired') {
      throw new CliError(`your sign-in to ${session.apiUrl} has expired: run \`lethe login\` again`, { code: 'login_expired' });
    }
    throw error;
  }
  const refreshed: StoredSession = {
    ...session,
    idToken: tokens.id_token!,
    accessToken: tokens.access_token!,
    // Cognito sends a new refresh token only when it rotates them.
    ...(tokens.refresh_token !== undefined && { refreshToken: tokens.refresh_token }),
    expiresAt: expiryOf(tokens.id_token!),
  };
  await writeSession(refreshed, file);
  return refreshed.idToken;
}

/**
 * Before a command runs: with no `--token`/`LETHE_TOKEN`, the stored session's
 * ID token (refreshed if need be) and, unless `--endpoint` names another, its
 * API. The token is never sent to an endpoint other than the session's own.
 */
export async function useStoredSession(program: Command, action: Command): Promise<void> {
  if (WITHOUT_SESSION.has(action.name())) return;
  const options = program.opts<{ endpoint?: string; token?: string }>();
  if (options.token) return;
  const session = await readSession();
  if (session === undefined) return;
  const source = program.getOptionValueSource('endpoint');
  const chosen = source === 'cli' || source === 'env' ? withoutSlash(options.endpoint ?? '') : undefined;
  if (chosen !== undefined && chosen !== withoutSlash(session.apiUrl)) return;
  const token = await freshIdToken(session);
  program.setOptionValueWithSource('endpoint', withoutSlash(session.apiUrl), 'config');
  program.setOptionValueWithSource('token', token, 'config');
}
