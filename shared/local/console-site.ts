/**
 * The web console as local mode serves it: the built single-page app
 * (`console/dist`, `npm run build:console`) at `/`, its runtime configuration
 * at `/config.json`, the API docs page at `/docs` and the OpenAPI document at
 * `/openapi.json`, every answer with strict security headers; and the dev
 * sign-in (`/_local/dev-sign-in`), which mints a dev token for a tenant and
 * role as `lethe token` does — loopback only, as the rest of local mode.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { idSchema } from '../app/api/schemas.js';
import { ROLES, type Role } from '../domain/roles.js';
import type { ActionRoles } from '../domain/roles.js';
import type { DevTokenRequest } from './dev-token.js';
import { errorReply, type HttpReply, type IncomingRequest, type LocalRoute } from './server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where `npm run build:console` writes the app. */
export const CONSOLE_DIST_DIR = join(ROOT, 'console', 'dist');
/** What `npm run openapi` writes. */
export const OPENAPI_FILE = join(ROOT, 'openapi.json');
export const DEV_SIGN_IN_PATH = '/_local/dev-sign-in';
/** A console sign-in lasts a working day. */
const DEV_SIGN_IN_TTL_SECONDS = 8 * 3600;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Scripts only from this origin (no inline script, no eval), no framing, no
 * plugins, nothing fetched from elsewhere. Styles: the app's stylesheet; the
 * docs page's Swagger UI also sets a few inline styles of its own.
 */
function contentSecurityPolicy(inlineStyles: boolean): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${inlineStyles ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The headers every console, docs and sign-in answer carries. */
export function securityHeaders(options: { readonly inlineStyles?: boolean } = {}): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(options.inlineStyles === true),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}

export interface ConsoleSiteOptions {
  /** The API's base URL the console calls (local mode's own, once listening). */
  readonly apiUrl: () => string;
  /** Every action's least role under the running profile, so the console offers only what the role may do. */
  readonly actionRoles: ActionRoles;
  readonly issueToken: (request: DevTokenRequest) => Promise<string>;
  readonly listTenants: () => Promise<readonly { readonly tenantId: string; readonly name?: string }[]>;
  /** @default `console/dist` of this checkout */
  readonly distDir?: string;
  /** @default `openapi.json` of this checkout */
  readonly openapiFile?: string;
}

export interface ConsoleSite {
  /** For `LocalServerOptions.site`. */
  readonly site: LocalRoute;
  /** For `LocalServerOptions.localRoutes`. */
  readonly routes: readonly LocalRoute[];
}

const withHeaders = (reply: HttpReply, headers: Record<string, string>): HttpReply => ({ ...reply, headers: { ...reply.headers, ...headers } });

/** The console site and its dev sign-in. */
export function consoleSite(options: ConsoleSiteOptions): ConsoleSite {
  const distDir = options.distDir ?? CONSOLE_DIST_DIR;
  const openapiFile = options.openapiFile ?? OPENAPI_FILE;

  const file = async (path: string, headers: Record<string, string>, cache = 'no-cache'): Promise<HttpReply> => {
    try {
      const body = await readFile(path);
      const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
      return { status: 200, headers: { 'content-type': type, 'cache-control': cache, ...headers }, body };
    } catch {
      return errorReply(404, 'not_found', 'no such file', headers);
    }
  };

  const site: LocalRoute = {
    prefix: '/',
    auth: 'none',
    handle: async (request) => {
      const docs = request.rawPath === '/docs' || request.rawPath.startsWith('/docs/');
      const headers = securityHeaders({ inlineStyles: docs });
      if (request.method !== 'GET' && request.method !== 'HEAD') return errorReply(405, 'method_not_allowed', 'use GET', { ...headers, allow: 'GET, HEAD' });
      const path = request.rawPath;
      if (path === '/config.json') {
        const config = { apiUrl: options.apiUrl(), auth: { mode: 'dev' }, actionRoles: options.actionRoles };
        return { status: 200, headers: { 'content-type': CONTENT_TYPES['.json'] as string, 'cache-control': 'no-store', ...headers }, body: Buffer.from(JSON.stringify(config)) };
      }
      if (path === '/openapi.json') return file(openapiFile, headers);
      if (!(await isDirectory(distDir))) {
        return errorReply(503, 'console_not_built', 'the web console is not built: run `npm run build:console`', headers);
      }
      if (path === '/' || path === '/index.html') return file(join(distDir, 'index.html'), headers, 'no-store');
      if (path === '/docs' || path === '/docs/') return file(join(distDir, 'docs', 'index.html'), headers, 'no-store');
      const target = insideDir(distDir, path);
      if (target === undefined) return errorReply(404, 'not_found', 'no such file', headers);
      return file(target, headers);
    },
  };

  const signIn: LocalRoute = {
    prefix: DEV_SIGN_IN_PATH,
    auth: 'none',
    handle: async (request) => withHeaders(await devSignIn(options, request), { ...securityHeaders(), 'cache-control': 'no-store' }),
  };

  return { site, routes: [signIn] };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The file a URL path names inside `dir`, or undefined for one that would leave it. */
function insideDir(dir: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const target = normalize(join(dir, decoded));
  return target.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`) ? target : undefined;
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

const signInBody = z.strictObject({
  tenantId: idSchema.optional(),
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
});

/**
 * GET: the tenants and roles to choose from. POST `{tenantId, role}`: a dev
 * token. Only for a page of this server: the Host must be a loopback name (no
 * DNS rebinding) and an Origin, when sent, this server's; a POST must be JSON
 * (a cross-site form cannot send it without a preflight this server refuses).
 */
async function devSignIn(options: ConsoleSiteOptions, request: IncomingRequest): Promise<HttpReply> {
  if (request.rawPath !== DEV_SIGN_IN_PATH) return errorReply(404, 'route_not_found', `no route for ${request.method} ${request.rawPath}`);
  const host = request.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) return errorReply(403, 'forbidden', 'the dev sign-in answers only on a loopback address');
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return errorReply(403, 'forbidden', 'the dev sign-in answers only pages of this server');

  if (request.method === 'GET') {
    const tenants = (await options.listTenants()).map((t) => ({ tenantId: t.tenantId, ...(t.name !== undefined && { name: t.name }) }));
    return json(200, { tenants, roles: ROLES });
  }
  if (request.method !== 'POST') return errorReply(405, 'method_not_allowed', 'use GET or POST', { allow: 'GET, POST' });
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    return validationError('body', 'must be JSON (Content-Type: application/json)', 415);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(request.body.toString('utf8'));
  } catch {
    return validationError('body', 'must be valid JSON');
  }
  const parsed = signInBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return validationError(issue?.path.join('.') || 'body', issue?.message ?? 'is not valid');
  }
  const { tenantId, role } = parsed.data;
  if (tenantId === undefined && role !== 'SuperAdministrator') return validationError('tenantId', `a ${role} signs in to one tenant: name it`);
  if (tenantId !== undefined && !(await options.listTenants()).some((t) => t.tenantId === tenantId)) {
    return validationError('tenantId', `no tenant "${tenantId}"`, 404);
  }
  const roles: Role[] = [role];
  const expiresAt = new Date(Date.now() + DEV_SIGN_IN_TTL_SECONDS * 1000);
  const token = await options.issueToken({
    roles,
    subject: `console-${role}`,
    expiresInSeconds: DEV_SIGN_IN_TTL_SECONDS,
    ...(tenantId !== undefined && { tenantId }),
  });
  return json(200, { token, expiresAt: expiresAt.toISOString() });
}

const json = (status: number, body: unknown): HttpReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(body)),
});

/** The API's error shape, naming the field. */
function validationError(field: string, message: string, status = 400): HttpReply {
  const code = status === 404 ? 'not_found' : status === 415 ? 'unsupported_media_type' : 'validation_error';
  return json(status, { error: { code, message: `${field}: ${message}`, field } });
}
