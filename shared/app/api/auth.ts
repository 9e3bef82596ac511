/**
 * Who is calling: the principal read from the JWT authorizer's verified claims,
 * and the rules of DESIGN.md §5 — a role at least the route's (for a route tied
 * to actions, the least role the deployment's profile gives one of them), and a
 * token that acts only on its own tenant unless it is a SuperAdministrator's.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { ID_PATTERN } from '../../domain/ingest/schemas.js';
import { actionRolesOf, hasRole, lowerRole, type RolesSource } from '../../domain/roles.js';
import { CLAIMS, ROLES, type Role, type RouteSpec } from './contract.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';

export interface Principal {
  /** The token's `sub`; recorded only as a keyed HMAC. */
  readonly subject: string;
  /** The highest Lethe role among the token's groups; undefined when it carries none. */
  readonly role: Role | undefined;
  /** The tenant the token is scoped to, if it names a valid one. */
  readonly tenantId: string | undefined;
}

export { hasRole };

/**
 * The least role a route needs under a profile: for a route tied to actions,
 * the lowest role the profile gives any of them; otherwise its fixed `minRole`.
 */
export function leastRoleOf(route: RouteSpec, platform: RolesSource): Role | 'public' {
  if (route.minRole === 'public' || route.actions === undefined || route.actions.length === 0) return route.minRole;
  const roles = actionRolesOf(platform);
  return route.actions.map((a) => roles[a]).reduce(lowerRole);
}

/**
 * Group names from the roles claim: a JSON array as Cognito issues it, or the
 * string API Gateway's JWT authorizer makes of an array (`[A B]`), or one name.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  const trimmed = claim.trim();
  const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return inner.split(/[\s,]+/u).filter((g) => g.length > 0);
}

/** The highest known role among the groups; unknown groups give nothing. */
export function roleOf(groups: readonly string[]): Role | undefined {
  let best: Role | undefined;
  for (const g of groups) {
    if (!(ROLES as readonly string[]).includes(g)) continue;
    const role = g as Role;
    if (best === undefined || !hasRole(best, role)) best = role;
  }
  return best;
}

type Claims = Readonly<Record<string, unknown>>;

function claimsOf(event: APIGatewayProxyEventV2WithJWTAuthorizer): Claims | undefined {
  // Public routes have no authorizer at all; be defensive about every level.
  const requestContext = event.requestContext as Partial<APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']> | undefined;
  const claims: unknown = requestContext?.authorizer?.jwt?.claims;
  return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Claims) : undefined;
}

/** The caller, or undefined when the request carries no verified claims. */
export function principalOf(event: APIGatewayProxyEventV2WithJWTAuthorizer): Principal | undefined {
  const claims = claimsOf(event);
  if (claims === undefined) return undefined;
  const subject = claims[CLAIMS.subject];
  if (typeof subject !== 'string' || subject.trim() === '') return undefined;
  const tenant = claims[CLAIMS.tenant];
  return {
    subject,
    role: roleOf(groupsOf(claims[CLAIMS.roles])),
    tenantId: typeof tenant === 'string' && ID_PATTERN.test(tenant) ? tenant : undefined,
  };
}

/** Throws 401 without a principal; nothing else is checked for public routes. */
export function authenticate(route: RouteSpec, event: APIGatewayProxyEventV2WithJWTAuthorizer): Principal | undefined {
  if (route.minRole === 'public') return principalOf(event);
  const principal = principalOf(event);
  if (principal === undefined) throw new UnauthorizedError('authorization: a valid bearer token is required');
  return principal;
}

/**
 * Throws 403 when the principal's role is below the one the route needs under
 * the deployment's profile (read only for routes that need a token), or the
 * tenant is not the token's.
 */
export function authorize(
  route: RouteSpec,
  principal: Principal | undefined,
  tenantId: string | undefined,
  platform: () => RolesSource,
): void {
  if (route.minRole === 'public') return;
  if (principal === undefined) throw new UnauthorizedError('authorization: a valid bearer token is required');
  const least = leastRoleOf(route, platform());
  if (least !== 'public' && !hasRole(principal.role, least)) {
    throw new ForbiddenError(`authorization: this route needs the ${least} role`);
  }
  if (tenantId !== undefined && principal.role !== 'SuperAdministrator' && principal.tenantId !== tenantId) {
    throw new ForbiddenError('t: this token may not act on that tenant', { field: 't' });
  }
}
