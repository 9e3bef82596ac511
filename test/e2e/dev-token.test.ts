/**
 * Dev tokens: what the local server accepts and refuses, as API Gateway's JWT
 * authorizer would for Cognito tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { CLAIMS, DEV_TOKEN } from '../../shared/app/api/contract.js';
import { DevTokenError, peekClaims, signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import { loadOrCreateLocalSecrets, readLocalSecrets, secretsPath } from '../../shared/local/secrets.js';

const key = randomBytes(32);
const NOW = new Date('2026-03-01T12:00:00Z');

describe('dev tokens', () => {
  it('verify when signed with the key, carrying roles, tenant and subject', async () => {
    const token = await signDevToken(key, { tenantId: 'demo', roles: ['ComplianceAdministrator'], subject: 'alice', now: NOW });

    const payload = await verifyDevToken(key, token, { now: NOW });

    expect(payload[CLAIMS.roles]).toEqual(['ComplianceAdministrator']);
    expect(payload[CLAIMS.tenant]).toBe('demo');
    expect(payload.sub).toBe('alice');
    expect(payload.iss).toBe(DEV_TOKEN.issuer);
    expect(payload.aud).toBe(DEV_TOKEN.audience);
  });

  it('are rejected once expired', async () => {
    const token = await signDevToken(key, { tenantId: 'demo', roles: ['Administrator'], expiresInSeconds: 60, now: NOW });

    await expect(verifyDevToken(key, token, { now: new Date(NOW.getTime() + 61_000) })).rejects.toThrow(/expired/);
  });

  it('are rejected when signed with another key', async () => {
    const token = await signDevToken(randomBytes(32), { tenantId: 'demo', roles: ['Administrator'], now: NOW });

    await expect(verifyDevToken(key, token, { now: NOW })).rejects.toThrow(/signature/);
  });

  it('are rejected when meant for another audience', async () => {
    const token = await new SignJWT({ [CLAIMS.roles]: ['Administrator'], [CLAIMS.tenant]: 'demo' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(DEV_TOKEN.issuer)
      .setAudience('some-other-api')
      .setSubject('mallory')
      .setIssuedAt(NOW)
      .setExpirationTime(new Date(NOW.getTime() + 3_600_000))
      .sign(key);

    await expect(verifyDevToken(key, token, { now: NOW })).rejects.toThrow(/aud/);
  });

  it('are rejected when from another issuer', async () => {
    const token = await new SignJWT({ [CLAIMS.roles]: ['Administrator'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('someone-else')
      .setAudience(DEV_TOKEN.audience)
      .setSubject('mallory')
      .setExpirationTime(new Date(NOW.getTime() + 3_600_000))
      .sign(key);

    await expect(verifyDevToken(key, token, { now: NOW })).rejects.toThrow(/iss/);
  });

  it('are rejected when unsigned (alg none) or malformed', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ iss: DEV_TOKEN.issuer, aud: DEV_TOKEN.audience, sub: 'x', exp: NOW.getTime() / 1000 + 60, [CLAIMS.roles]: ['SuperAdministrator'] }),
    ).toString('base64url');

    await expect(verifyDevToken(key, `${header}.${body}.`, { now: NOW })).rejects.toBeInstanceOf(DevTokenError);
    await expect(verifyDevToken(key, 'not-a-token', { now: NOW })).rejects.toThrow(/malformed/);
  });

  it('need a tenant unless they are for a SuperAdministrator', async () => {
    await expect(signDevToken(key, { roles: ['Administrator'] })).rejects.toThrow(/tenant/);

    const token = await signDevToken(key, { roles: ['SuperAdministrator'], now: NOW });
    expect((await verifyDevToken(key, token, { now: NOW }))[CLAIMS.tenant]).toBeUndefined();
  });

  it('carry the Service role of one tenant for a platform service, and need that tenant', async () => {
    await expect(signDevToken(key, { roles: ['Service'] })).rejects.toThrow(/tenant/);

    const token = await signDevToken(key, { tenantId: 'demo', roles: ['Service'], now: NOW });
    const claims = toAuthorizerClaims(await verifyDevToken(key, token, { now: NOW }));

    expect(claims[CLAIMS.roles]).toBe('[Service]');
    expect(claims[CLAIMS.tenant]).toBe('demo');
    expect(claims.sub).toBe('dev-Service');
  });

  it("reach the handler in API Gateway's claim form: strings, arrays bracketed", async () => {
    const token = await signDevToken(key, { tenantId: 'demo', roles: ['Administrator', 'ComplianceAdministrator'], now: NOW });

    const claims = toAuthorizerClaims(await verifyDevToken(key, token, { now: NOW }));

    expect(claims[CLAIMS.roles]).toBe('[Administrator ComplianceAdministrator]');
    expect(claims[CLAIMS.tenant]).toBe('demo');
    expect(claims.exp).toMatch(/^\d+$/);
    expect(peekClaims(token)?.[CLAIMS.tenant]).toBe('demo');
  });
});

describe('local secrets', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('are generated once, readable by the owner only, and the same on every later load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-secrets-'));
    dirs.push(dir);

    const first = await loadOrCreateLocalSecrets(dir);
    const again = await loadOrCreateLocalSecrets(dir);

    expect((await stat(secretsPath(dir))).mode & 0o777).toBe(0o600);
    expect(Buffer.from(again.devTokenKey)).toEqual(Buffer.from(first.devTokenKey));
    expect(again.refSecret).toBe(first.refSecret);
    expect(first.masterKey).toHaveLength(32);
    expect((await readLocalSecrets(dir)).refSecret).toBe(first.refSecret);
  });

  it('are reported missing with a hint when the data directory was never started', async () => {
    await expect(readLocalSecrets(join(tmpdir(), 'lethe-no-such-dir'))).rejects.toThrow(/npm start/);
  });
});
