/**
 * The console's sign-in logic outside the browser (Node has the same Web
 * Crypto, fetch and base64 globals): the Cognito managed login with the
 * authorization code flow and PKCE against a stand-in token endpoint that
 * checks the verifier against the challenge as Cognito does, the refresh,
 * the state check, the claims the console decides by, and config.json.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  beginCognitoSignIn,
  completeCognitoSignIn,
  decodeClaims,
  loadSession,
  logoutUrl,
  needsRefresh,
  pkceChallenge,
  refreshCognitoSession,
  type KeyValueStore,
} from '../../console/src/auth.js';
import { parseConfig, type CognitoAuth } from '../../console/src/config.js';
import { DEFAULT_ACTION_ROLES } from '../../shared/domain/roles.js';

const auth: CognitoAuth = {
  mode: 'cognito',
  domain: 'lethe-test.auth.eu-west-1.amazoncognito.com',
  clientId: 'client-123',
  redirectUri: 'https://console.example/',
  scopes: ['openid', 'email'],
};

class MemoryStore implements KeyValueStore {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');
function idToken(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'RS256' }))}.${b64url(JSON.stringify(claims))}.signature`;
}

/** Cognito's /oauth2/token as far as PKCE goes: the code it issued, and SHA-256(verifier) equal to the challenge it was given. */
function tokenEndpoint(issued: { code: string; challenge: string }, calls: URLSearchParams[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    expect(String(input)).toBe(`https://${auth.domain}/oauth2/token`);
    const form = new URLSearchParams(String(init?.body));
    calls.push(form);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = idToken({ sub: 'u-1', email: 'dpo@acme.example', 'cognito:groups': ['ComplianceAdministrator'], 'custom:tenantId': 'acme', exp });
    if (form.get('grant_type') === 'refresh_token') {
      return Response.json(form.get('refresh_token') === 'refresh-1' ? { id_token: token, access_token: 'a2', expires_in: 3600 } : { error: 'invalid_grant' }, {
        status: form.get('refresh_token') === 'refresh-1' ? 200 : 400,
      });
    }
    const verifier = form.get('code_verifier') ?? '';
    const ok = form.get('code') === issued.code && createHash('sha256').update(verifier).digest('base64url') === issued.challenge;
    return ok ? Response.json({ id_token: token, access_token: 'a1', refresh_token: 'refresh-1', expires_in: 3600 }) : Response.json({ error: 'invalid_grant' }, { status: 400 });
  }) as typeof fetch;
}

describe('Cognito managed login with PKCE', () => {
  it('sends the browser to /oauth2/authorize with an S256 challenge, never the verifier', async () => {
    const store = new MemoryStore();

    const url = new URL(await beginCognitoSignIn(auth, store));

    expect(url.origin + url.pathname).toBe(`https://${auth.domain}/oauth2/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: 'https://console.example/',
      scope: 'openid email',
      code_challenge_method: 'S256',
    });
    const pending = JSON.parse(store.getItem('lethe.pkce') as string) as { verifier: string; state: string };
    expect(url.searchParams.get('state')).toBe(pending.state);
    expect(url.searchParams.get('code_challenge')).toBe(createHash('sha256').update(pending.verifier).digest('base64url'));
    expect(url.toString()).not.toContain(pending.verifier);
    expect(pending.verifier.length).toBeGreaterThanOrEqual(43);
  });

  it('trades the code and the verifier for tokens and keeps the session in the store', async () => {
    const store = new MemoryStore();
    const url = new URL(await beginCognitoSignIn(auth, store));
    const calls: URLSearchParams[] = [];
    const back = new URLSearchParams({ code: 'code-1', state: url.searchParams.get('state') as string });

    const session = await completeCognitoSignIn(auth, back, store, tokenEndpoint({ code: 'code-1', challenge: url.searchParams.get('code_challenge') as string }, calls));

    expect(calls[0]?.get('grant_type')).toBe('authorization_code');
    expect(calls[0]?.get('redirect_uri')).toBe(auth.redirectUri);
    expect(session).toMatchObject({ mode: 'cognito', refreshToken: 'refresh-1' });
    expect(decodeClaims(session.token)).toMatchObject({ role: 'ComplianceAdministrator', tenantId: 'acme', displayName: 'dpo@acme.example' });
    expect(loadSession(store)).toEqual(session);
    expect(store.getItem('lethe.pkce')).toBeNull();
  });

  it('refuses an answer whose state is not the one it sent, without calling the token endpoint', async () => {
    const store = new MemoryStore();
    await beginCognitoSignIn(auth, store);
    const calls: URLSearchParams[] = [];

    const completing = completeCognitoSignIn(auth, new URLSearchParams({ code: 'code-1', state: 'forged' }), store, tokenEndpoint({ code: 'code-1', challenge: '' }, calls));

    await expect(completing).rejects.toThrow(/does not match a sign-in started here/);
    expect(calls).toEqual([]);
    expect(loadSession(store)).toBeUndefined();
  });

  it('says why when the managed login refused', async () => {
    await expect(completeCognitoSignIn(auth, new URLSearchParams({ error: 'access_denied' }), new MemoryStore())).rejects.toThrow('the sign-in was refused (access_denied)');
  });

  it('refreshes an expiring ID token with the refresh token and keeps that token', async () => {
    const store = new MemoryStore();
    const calls: URLSearchParams[] = [];
    const expiring = { mode: 'cognito' as const, token: idToken({ exp: 1 }), refreshToken: 'refresh-1', expiresAt: Date.now() + 10_000 };
    expect(needsRefresh(expiring)).toBe(true);

    const next = await refreshCognitoSession(auth, expiring, store, tokenEndpoint({ code: '', challenge: '' }, calls));

    expect(calls[0]?.get('grant_type')).toBe('refresh_token');
    expect(next.refreshToken).toBe('refresh-1');
    expect(needsRefresh(next)).toBe(false);
    expect(loadSession(store)).toEqual(next);
  });

  it('signs out through the managed login', () => {
    expect(logoutUrl(auth)).toBe(`https://${auth.domain}/logout?client_id=client-123&logout_uri=https%3A%2F%2Fconsole.example%2F`);
    expect(authorizeUrl({ ...auth, domain: 'https://x.example/' }, 's', 'c')).toMatch(/^https:\/\/x\.example\/oauth2\/authorize\?/);
  });

  it('computes the RFC 7636 example challenge', async () => {
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });
});

describe('claims and config', () => {
  it('takes the highest admin role of the groups, in either form API Gateway or Cognito gives them', () => {
    expect(decodeClaims(idToken({ 'cognito:groups': ['Administrator', 'SuperAdministrator'] })).role).toBe('SuperAdministrator');
    expect(decodeClaims(idToken({ 'cognito:groups': '[Administrator]' })).role).toBe('Administrator');
    expect(decodeClaims(idToken({ 'cognito:groups': ['Service'] })).role).toBeUndefined();
    expect(decodeClaims('not a token')).toEqual({ roles: [] });
  });

  it('reads both sign-in modes from config.json, and names what is missing', () => {
    expect(parseConfig({ apiUrl: 'http://127.0.0.1:4400/', auth: { mode: 'dev' } })).toEqual({
      apiUrl: 'http://127.0.0.1:4400',
      auth: { mode: 'dev' },
      actionRoles: DEFAULT_ACTION_ROLES,
    });
    expect(parseConfig({ apiUrl: 'https://api.example', auth: { ...auth, scopes: 'openid email' } }).auth).toEqual(auth);
    expect(() => parseConfig({ apiUrl: 'https://api.example', auth: { mode: 'cognito', domain: 'd', redirectUri: 'r' } })).toThrow('auth.clientId is missing');
    expect(() => parseConfig({ auth: { mode: 'dev' } })).toThrow('apiUrl is missing');
  });
});
