/**
 * Who is calling: the principal read from the JWT authorizer's verified claims
 * (or, on a service route in AWS, from the IAM authorizer's caller), and the
 * rules of DESIGN.md §5 — a role at least the route's (for a route tied to
 * actions, the least role the deployment's profile gives one of them), and a
 * token that acts only on its own tenant unless it is a SuperAdministrator's.
 * A service (role `Service`) calls only the `/v1/service/…` routes, and only
 * a service calls them.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { ID_PATTERN } from '../../domain/ingest/schemas.js';
import { actionRolesOf, hasRole, lowerRole, SERVICE_ROLE, type CallerRole, type RolesSource, type ServiceRole } from '../../domain/roles.js';
import { CLAIMS, isServiceRoute, ROLES, type Role, type RouteSpec } from './contract.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';

export interface Principal {
  /** The token's `sub`, or the IAM caller's ARN; recorded only as a keyed HMAC. */
  readonly subject: string;
  /** The highest Lethe role among the token's groups (an admin role before `Service`); undefined when it carries none. */
  readonly role: CallerRole | undefined;
  /** The tenant the token is scoped to, if it names a valid one (an IAM caller: none, its policy scopes it). */
  readonly tenantId: string | undefined;
  /**
   * How the caller was authenticated: a JWT (Cognito, or a dev token locally),
   * or SigV4 through API Gateway's IAM authorizer, which let the request in
   * only if the caller's IAM policy allows `execute-api:Invoke` on this very
   * path, tenant segment included.
   */
  readonly via: 'jwt' | 'iam';
}

export { hasRole };

/**
 * The least role a route needs under a profile: for a route tied to actions,
 * the lowest role the profile gives any of them; otherwise its fixed `minRole`.
 */
export function leastRoleOf(route: RouteSpec, platform: RolesSource): Role | ServiceRole | 'public' {
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

/** The highest admin role among the groups, else `Service` if one is; unknown groups give nothing. */
export function roleOf(groups: readonly string[]): CallerRole | undefined {
  let best: Role | undefined;
  for (const g of groups) {
    if (!(ROLES as readonly string[]).includes(g)) continue;
    const role = g as Role;
    if (best === undefined || !hasRole(best, role)) best = role;
  }
  return best ?? (groups.includes(SERVICE_ROLE) ? SERVICE_ROLE : undefined);
}

type Claims = Readonly<Record<string, unknown>>;

function claimsOf(event: APIGatewayProxyEventV2WithJWTAuthorizer): Claims | undefined {
  // Public routes have no authorizer at all; be defensive about every level.
  const requestContext = event.requestContext as Partial<APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']> | undefined;
  const claims: unknown = requestContext?.authorizer?.jwt?.claims;
  return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Claims) : undefined;
}

/** The ARN of the caller API Gateway's IAM authorizer verified (payload v2: `requestContext.authorizer.iam.userArn`). */
function iamCallerOf(event: APIGatewayProxyEventV2WithJWTAuthorizer): string | undefined {
  const requestContext = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined;
  const arn = requestContext?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

/**
 * The caller, or undefined when the request carries no verified claims. On a
 * service route an IAM caller is a `Service` principal (only the IAM
 * authorizer, on those routes alone, puts one in the event).
 */
export function principalOf(event: APIGatewayProxyEventV2WithJWTAuthorizer, route?: RouteSpec): Principal | undefined {
  if (route !== undefined && isServiceRoute(route)) {
    const arn = iamCallerOf(event);
    if (arn !== undefined) return { subject: arn, role: SERVICE_ROLE, tenantId: undefined, via: 'iam' };
  }
  const claims = claimsOf(event);
  if (claims === undefined) return undefined;
  const subject = claims[CLAIMS.subject];
  if (typeof subject !== 'string' || subject.trim() === '') return undefined;
  const tenant = claims[CLAIMS.tenant];
  return {
    subject,
    role: roleOf(groupsOf(claims[CLAIMS.roles])),
    tenantId: typeof tenant === 'string' && ID_PATTERN.test(tenant) ? tenant : undefined,
    via: 'jwt',
  };
}

/** Throws 401 without a principal; nothing else is checked for public routes. */
export function authenticate(route: RouteSpec, event: APIGatewayProxyEventV2WithJWTAuthorizer): Principal | undefined {
  if (route.minRole === 'public') return principalOf(event);
  const principal = principalOf(event, route);
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
  if (isServiceRoute(route)) {
    if (principal.role !== SERVICE_ROLE) {
      throw new ForbiddenError('authorization: the /v1/service/ routes are for platform services (SigV4, or a Service token locally); admins use /v1/tenants/');
    }
    // API Gateway checked the IAM caller's policy against this path, its tenant segment included.
    if (principal.via === 'iam') return;
    if (tenantId !== undefined && principal.tenantId !== tenantId) throw new ForbiddenError('t: this token may not act on that tenant', { field: 't' });
    return;
  }
  if (principal.role === SERVICE_ROLE) {
    throw new ForbiddenError('authorization: a service may call only the /v1/service/ routes (ingest and reads)');
  }
  const least = leastRoleOf(route, platform());
  if (least !== 'public' && least !== SERVICE_ROLE && !hasRole(principal.role, least)) {
    throw new ForbiddenError(`authorization: this route needs the ${least} role`);
  }
  if (tenantId !== undefined && principal.role !== 'SuperAdministrator' && principal.tenantId !== tenantId) {
    throw new ForbiddenError('t: this token may not act on that tenant', { field: 't' });
  }
}
