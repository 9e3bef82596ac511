/**
 * Signing in: local mode's dev sign-in (a tenant and a role, a dev token from
 * the local server), or the Cognito managed login with the authorization code
 * flow and PKCE (RFC 7636): the browser keeps the verifier, sends only its
 * SHA-256 challenge to `/oauth2/authorize`, and trades the code with the
 * verifier at `/oauth2/token`. Tokens live in sessionStorage (this tab only,
 * gone with it); an expired ID token is refreshed with the refresh token.
 */
import { ROLES, type Role } from '../../shared/domain/roles.js';
import type { CognitoAuth } from './config.js';

/** What the API reads from the bearer token (`cognito:groups`, `custom:tenantId`, `sub`). */
export interface Claims {
  readonly role?: Role;
  readonly roles: readonly string[];
  readonly tenantId?: string;
  readonly subject?: string;
  /** Who is signed in, for the header: e-mail, username or subject. */
  readonly displayName?: string;
  /** Seconds since the epoch. */
  readonly expiresAt?: number;
}

export interface Session {
  readonly mode: 'dev' | 'cognito';
  /** The bearer token for the API: the dev token, or Cognito's ID token (it carries the groups and the tenant). */
  readonly token: string;
  readonly refreshToken?: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** sessionStorage, or anything with its three methods. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const SESSION_KEY = 'lethe.session';
const PENDING_KEY = 'lethe.pkce';
/** Refresh this long before the token expires. */
const EXPIRY_MARGIN_MS = 60_000;

export class SignInError extends Error {
  override readonly name = 'SignInError';
}

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64UrlDecode(text: string): string {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** A random URL-safe string (`bytes` of entropy): PKCE verifiers and states. */
export function randomString(bytes = 32): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 code challenge of a verifier. */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64UrlEncode(new Uint8Array(digest));
}

/** `https://` plus the configured domain, whichever way it was written. */
export function cognitoBase(auth: CognitoAuth): string {
  const domain = auth.domain.replace(/\/+$/, '');
  return /^https?:\/\//.test(domain) ? domain : `https://${domain}`;
}

export function authorizeUrl(auth: CognitoAuth, state: string, challenge: string): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: auth.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${cognitoBase(auth)}/oauth2/authorize?${params.toString()}`;
}

export function logoutUrl(auth: CognitoAuth): string {
  const params = new URLSearchParams({ client_id: auth.clientId, logout_uri: auth.logoutUri ?? auth.redirectUri });
  return `${cognitoBase(auth)}/logout?${params.toString()}`;
}

/** Starts the managed login: keeps verifier and state for the way back, returns where to send the browser. */
export async function beginCognitoSignIn(auth: CognitoAuth, store: KeyValueStore): Promise<string> {
  const verifier = randomString(48);
  const state = randomString(16);
  store.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  return authorizeUrl(auth, state, await pkceChallenge(verifier));
}

interface TokenAnswer {
  readonly id_token?: string;
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly expires_in?: number;
  readonly error?: string;
}

async function tokenRequest(auth: CognitoAuth, form: Record<string, string>, fetchImpl: typeof fetch): Promise<TokenAnswer> {
  const response = await fetchImpl(`${cognitoBase(auth)}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: auth.clientId, ...form }).toString(),
  });
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || answer.id_token === undefined) {
    throw new SignInError(`the sign-in was refused (${answer.error ?? `HTTP ${response.status}`})`);
  }
  return answer;
}

function sessionFrom(answer: TokenAnswer, previousRefresh?: string): Session {
  const idToken = answer.id_token as string;
  const exp = decodeClaims(idToken).expiresAt;
  const expiresAt = exp !== undefined ? exp * 1000 : Date.now() + (answer.expires_in ?? 3600) * 1000;
  const refreshToken = answer.refresh_token ?? previousRefresh;
  return { mode: 'cognito', token: idToken, expiresAt, ...(refreshToken !== undefined && { refreshToken }) };
}

/**
 * Back from the managed login with `?code&state`: checks the state against the
 * one kept, trades the code and the verifier for tokens, stores the session.
 */
export async function completeCognitoSignIn(
  auth: CognitoAuth,
  params: URLSearchParams,
  store: KeyValueStore,
  fetchImpl: typeof fetch = fetch,
): Promise<Session> {
  const error = params.get('error');
  if (error !== null) throw new SignInError(`the sign-in was refused (${error})`);
  const pendingText = store.getItem(PENDING_KEY);
  store.removeItem(PENDING_KEY);
  const pending = pendingText === null ? undefined : (JSON.parse(pendingText) as { verifier: string; state: string });
  const code = params.get('code');
  if (pending === undefined || code === null || params.get('state') !== pending.state) {
    throw new SignInError('the sign-in answer does not match a sign-in started here; sign in again');
  }
  const answer = await tokenRequest(auth, { grant_type: 'authorization_code', code, redirect_uri: auth.redirectUri, code_verifier: pending.verifier }, fetchImpl);
  const session = sessionFrom(answer);
  saveSession(store, session);
  return session;
}

/** A fresh ID token from the refresh token (Cognito keeps the refresh token; it does not rotate it). */
export async function refreshCognitoSession(auth: CognitoAuth, session: Session, store: KeyValueStore, fetchImpl: typeof fetch = fetch): Promise<Session> {
  if (session.refreshToken === undefined) throw new SignInError('the session has expired; sign in again');
  const answer = await tokenRequest(auth, { grant_type: 'refresh_token', refresh_token: session.refreshToken }, fetchImpl);
  const next = sessionFrom(answer, session.refreshToken);
  saveSession(store, next);
  return next;
}

export function saveSession(store: KeyValueStore, session: Session): void {
  store.setItem(SESSION_KEY, JSON.stringify(session));
}

export function loadSession(store: KeyValueStore): Session | undefined {
  const text = store.getItem(SESSION_KEY);
  if (text === null) return undefined;
  try {
    const session = JSON.parse(text) as Session;
    return typeof session.token === 'string' && typeof session.expiresAt === 'number' ? session : undefined;
  } catch {
    return undefined;
  }
}

export function clearSession(store: KeyValueStore): void {
  store.removeItem(SESSION_KEY);
  store.removeItem(PENDING_KEY);
}

export function needsRefresh(session: Session, now = Date.now()): boolean {
  return session.expiresAt - EXPIRY_MARGIN_MS <= now;
}

/** The claims the console shows and decides by; the API verifies the token itself. */
export function decodeClaims(token: string): Claims {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(base64UrlDecode(token.split('.')[1] ?? '')) as Record<string, unknown>;
  } catch {
    return { roles: [] };
  }
  const groups = payload['cognito:groups'];
  const roles = Array.isArray(groups) ? groups.map(String) : typeof groups === 'string' ? groups.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter((g) => g !== '') : [];
  // The highest admin role the token carries (ROLES is in rank order).
  const role = [...ROLES].reverse().find((r) => roles.includes(r));
  const str = (name: string) => (typeof payload[name] === 'string' ? (payload[name] as string) : undefined);
  const displayName = str('email') ?? str('cognito:username') ?? str('sub');
  return {
    roles,
    ...(role !== undefined && { role }),
    ...(str('custom:tenantId') !== undefined && { tenantId: str('custom:tenantId') }),
    ...(str('sub') !== undefined && { subject: str('sub') }),
    ...(displayName !== undefined && { displayName }),
    ...(typeof payload.exp === 'number' && { expiresAt: payload.exp }),
  };
}

/** Local mode: the tenants and roles to pick from. */
export async function devSignInChoices(apiUrl: string, fetchImpl: typeof fetch = fetch): Promise<{ tenants: { tenantId: string; name?: string }[]; roles: Role[] }> {
  const response = await fetchImpl(`${apiUrl}/_local/dev-sign-in`);
  if (!response.ok) throw new SignInError(`the dev sign-in is not available (HTTP ${response.status})`);
  return (await response.json()) as { tenants: { tenantId: string; name?: string }[]; roles: Role[] };
}

/** Local mode: a dev token for the tenant and role. */
export async function devSignIn(apiUrl: string, tenantId: string | undefined, role: Role, store: KeyValueStore, fetchImpl: typeof fetch = fetch): Promise<Session> {
  const response = await fetchImpl(`${apiUrl}/_local/dev-sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role, ...(tenantId !== undefined && tenantId !== '' && { tenantId }) }),
  });
  const answer = (await response.json().catch(() => ({}))) as { token?: string; expiresAt?: string; error?: { message?: string } };
  if (!response.ok || answer.token === undefined) throw new SignInError(answer.error?.message ?? `the dev sign-in failed (HTTP ${response.status})`);
  const session: Session = { mode: 'dev', token: answer.token, expiresAt: Date.parse(answer.expiresAt ?? '') || Date.now() + 3600_000 };
  saveSession(store, session);
  return session;
}
