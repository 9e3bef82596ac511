/**
 * The console's runtime configuration, `/config.json` beside the app: where
 * the API is and how to sign in — local mode's dev sign-in, or the Cognito
 * managed login of a deployed stack (authorization code + PKCE).
 */
import { DEFAULT_ACTION_ROLES, type ActionRoles } from '../../shared/domain/roles.js';

export interface DevAuth {
  readonly mode: 'dev';
}

export interface CognitoAuth {
  readonly mode: 'cognito';
  /** The managed login's domain: `https://<prefix>.auth.<region>.amazoncognito.com` (the scheme may be left out). */
  readonly domain: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Where the managed login sends the browser after signing out. @default redirectUri */
  readonly logoutUri?: string;
}

export interface ConsoleConfig {
  readonly apiUrl: string;
  readonly auth: DevAuth | CognitoAuth;
  /** The deployment's least role per action; absent: the defaults. */
  readonly actionRoles: ActionRoles;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Checks what `/config.json` says; a deployment with a broken one gets a clear message instead of a blank page. */
export function parseConfig(raw: unknown): ConsoleConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('config.json: not a JSON object');
  const c = raw as Record<string, unknown>;
  if (!isString(c.apiUrl)) throw new ConfigError('config.json: apiUrl is missing');
  const auth = c.auth as Record<string, unknown> | undefined;
  let parsedAuth: DevAuth | CognitoAuth;
  if (auth?.mode === 'dev') parsedAuth = { mode: 'dev' };
  else if (auth?.mode === 'cognito') {
    for (const field of ['domain', 'clientId', 'redirectUri'] as const) {
      if (!isString(auth[field])) throw new ConfigError(`config.json: auth.${field} is missing`);
    }
    const scopes = Array.isArray(auth.scopes) ? auth.scopes.filter(isString) : typeof auth.scopes === 'string' ? auth.scopes.split(/\s+/).filter(isString) : ['openid'];
    parsedAuth = {
      mode: 'cognito',
      domain: auth.domain as string,
      clientId: auth.clientId as string,
      redirectUri: auth.redirectUri as string,
      scopes,
      ...(isString(auth.logoutUri) && { logoutUri: auth.logoutUri }),
    };
  } else throw new ConfigError('config.json: auth.mode must be "dev" or "cognito"');
  const actionRoles = { ...DEFAULT_ACTION_ROLES, ...(typeof c.actionRoles === 'object' && c.actionRoles !== null ? (c.actionRoles as Partial<ActionRoles>) : {}) };
  return { apiUrl: c.apiUrl.replace(/\/+$/, ''), auth: parsedAuth, actionRoles };
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ConsoleConfig> {
  // The server sends it with Cache-Control: no-store.
  const response = await fetchImpl('/config.json');
  if (!response.ok) throw new ConfigError(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}
