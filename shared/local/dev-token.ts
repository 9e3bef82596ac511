/**
 * Dev tokens for the local API: HS256 JWTs carrying the claims a Cognito token
 * carries in AWS (`cognito:groups`, `custom:tenantId`, `sub`), signed with the
 * data directory's key. The local server verifies them the way API Gateway's
 * JWT authorizer verifies Cognito's (signature, issuer, audience, expiry) and
 * hands the claims on in API Gateway's form.
 */
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { CALLER_ROLES, type CallerRole } from '../domain/roles.js';
import { CLAIMS, DEV_TOKEN } from '../app/api/contract.js';

const ALGORITHM = 'HS256';
/** A dev token lives half a day unless asked otherwise. */
export const DEFAULT_DEV_TOKEN_TTL_SECONDS = 12 * 3600;

export interface DevTokenRequest {
  /** Required for every role but SuperAdministrator (a `Service` token acts on that tenant's /v1/service/ routes). */
  readonly tenantId?: string;
  readonly roles: readonly CallerRole[];
  /** Token subject (the actor in audit events). @default `dev-<first role>` */
  readonly subject?: string;
  /** @default 12 hours */
  readonly expiresInSeconds?: number;
  /** @default the wall clock */
  readonly now?: Date;
}

/** A token was missing, malformed, expired, signed with another key or meant for another audience. */
export class DevTokenError extends Error {
  override readonly name = 'DevTokenError';
}

export function isRole(value: string): value is CallerRole {
  return (CALLER_ROLES as readonly string[]).includes(value);
}

export async function signDevToken(key: Uint8Array, request: DevTokenRequest): Promise<string> {
  const [first] = request.roles;
  if (first === undefined) throw new DevTokenError('a dev token needs at least one role');
  const superAdmin = request.roles.includes('SuperAdministrator');
  if (request.tenantId === undefined && !superAdmin) throw new DevTokenError(`a ${first} token needs a tenant`);
  const ttl = request.expiresInSeconds ?? DEFAULT_DEV_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new DevTokenError('the token lifetime must be a positive number of seconds');
  const issuedAt = Math.floor((request.now ?? new Date()).getTime() / 1000);
  return new SignJWT({
    [CLAIMS.roles]: [...request.roles],
    ...(request.tenantId !== undefined && { [CLAIMS.tenant]: request.tenantId }),
    token_use: 'access',
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(DEV_TOKEN.issuer)
    .setAudience(DEV_TOKEN.audience)
    .setSubject(request.subject ?? `dev-${first}`)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttl)
    .sign(key);
}

/** Verifies signature, algorithm, issuer, audience and expiry; returns the payload. */
export async function verifyDevToken(key: Uint8Array, token: string, options: { readonly now?: Date } = {}): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: DEV_TOKEN.issuer,
      audience: DEV_TOKEN.audience,
      requiredClaims: ['exp', 'sub'],
      ...(options.now !== undefined && { currentDate: options.now }),
    });
    return payload;
  } catch (error) {
    throw new DevTokenError(describe(error), { cause: error });
  }
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted here`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is not signed with HS256';
  return 'the token is malformed';
}

/**
 * Claims as API Gateway's JWT authorizer hands them to a Lambda: every value a
 * string, arrays in the bracketed form `[A B]`, numbers in decimal.
 */
export function toAuthorizerClaims(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) out[name] = `[${value.map(String).join(' ')}]`;
    else if (typeof value === 'object') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}

/** The claims of a token without verifying it (the CLI reads its own token's tenant). */
export function peekClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
