/**
 * The admin API's contract between its parts: roles and claims (what the JWT
 * authorizer hands the handlers), the route table grouped by Lambda function
 * (least privilege per group), and the dependencies the API's use cases take
 * (the ports themselves live in the domain). DESIGN.md §5.
 */
import type { AccountExportStarter, AccountExportStore } from '../../domain/account-export.js';
import type { DeletionWorkStarter, HoldWorkStarter, PrivacyRequestStore, PrivacyStarter, SweepStarter } from '../../domain/ports.js';
import { DEFAULT_ACTION_ROLES, lowerRole, ROLES, SERVICE_ROLE, type Action, type Role, type ServiceRole } from '../../domain/roles.js';
import type { RunDeps } from '../../domain/runs.js';

export { ROLES, SERVICE_ROLE, type Role, type ServiceRole };

/**
 * JWT claims the handlers read (API Gateway's JWT authorizer puts the verified
 * claims in `requestContext.authorizer.jwt.claims`):
 * - roles: `cognito:groups` — an array, or API Gateway's string form `[A B]`;
 * - tenant: `custom:tenantId` — the one tenant a non-super token may act on;
 * - actor: `sub` — recorded (as a keyed HMAC) in audit events.
 */
export const CLAIMS = {
  roles: 'cognito:groups',
  tenant: 'custom:tenantId',
  subject: 'sub',
} as const;

/** Local mode's dev tokens: HS256 JWTs with the same claims, checked by the local server. */
export const DEV_TOKEN = { issuer: 'lethe-local', audience: 'lethe-api' } as const;

/** One Lambda function per group, granted only what its routes use. */
export const ROUTE_GROUPS = ['tenants', 'policy', 'holds', 'customers', 'ingest', 'runs', 'audit', 'privacy', 'openapi'] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface RouteSpec {
  readonly method: HttpMethod;
  /** API Gateway route path, e.g. `/v1/tenants/{t}/legal-holds/{holdId}`. */
  readonly path: string;
  readonly group: RouteGroup;
  /**
   * The least role allowed; 'public' needs no token; `Service`: platform
   * services only (the `/v1/service/…` routes, IAM-authorized in AWS), no admin
   * role. For a route tied to `actions`, the role under the default roles (the
   * deployment's profile decides).
   */
  readonly minRole: Role | ServiceRole | 'public';
  /**
   * The actions the route performs (roles.ts): allowed to whoever the
   * deployment's profile lets do any one of them (the customer lookup: to
   * whoever may act on a customer by id). Absent: `minRole` is fixed.
   */
  readonly actions?: readonly Action[];
}

/** A route tied to actions; its `minRole` is the lowest of their default roles. */
function byAction(...actions: readonly [Action, ...Action[]]): Pick<RouteSpec, 'actions' | 'minRole'> {
  return { actions, minRole: actions.map((a) => DEFAULT_ACTION_ROLES[a]).reduce(lowerRole) };
}

/**
 * Where the routes of platform services live: `/v1/service/tenants/{t}/…`,
 * one twin of each route in {@link SERVICE_ROUTE_KEYS}. A twin of its own,
 * because an API Gateway route has one authorizer: the admin routes keep the
 * JWT authorizer, the twins get the IAM (SigV4) one. DESIGN.md §5.
 */
export const SERVICE_PREFIX = '/v1/service';

/** The admin routes a platform service may call too (through their twins): ingest and the reads. */
export const SERVICE_ROUTE_KEYS = [
  'POST /v1/tenants/{t}/records',
  'GET /v1/tenants/{t}/customers/{id}',
  'GET /v1/tenants/{t}/customers/{id}/timeline',
  'GET /v1/tenants/{t}/conversations/{id}',
  'GET /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}',
  'GET /v1/tenants/{t}/calls/{id}',
] as const;

/** The path of a route's service twin: `/v1/tenants/…` → `/v1/service/tenants/…`. */
export function servicePathOf(path: string): string {
  if (!path.startsWith('/v1/tenants/')) throw new Error(`no service twin for ${path}`);
  return `${SERVICE_PREFIX}${path.slice('/v1'.length)}`;
}

/** The admin route a service twin mirrors: `/v1/service/tenants/…` → `/v1/tenants/…`; the path itself for any other. */
export function adminPathOf(path: string): string {
  return path.startsWith(`${SERVICE_PREFIX}/`) ? `/v1${path.slice(SERVICE_PREFIX.length)}` : path;
}

/** The admin routes of DESIGN.md §5. */
const ADMIN_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/v1/tenants', group: 'tenants', minRole: 'SuperAdministrator' },
  { method: 'PUT', path: '/v1/tenants/{t}', group: 'tenants', minRole: 'SuperAdministrator' },
  { method: 'GET', path: '/v1/tenants/{t}', group: 'tenants', minRole: 'Administrator' },
  { method: 'GET', path: '/v1/tenants/{t}/retention-policy', group: 'policy', ...byAction('readRetentionSettings') },
  { method: 'PUT', path: '/v1/tenants/{t}/retention-policy', group: 'policy', ...byAction('changeRetentionSettings') },
  { method: 'POST', path: '/v1/tenants/{t}/retention-policy/preview', group: 'policy', ...byAction('readRetentionSettings') },
  { method: 'GET', path: '/v1/tenants/{t}/retention-policy/history', group: 'policy', ...byAction('readRetentionSettings') },
  { method: 'GET', path: '/v1/tenants/{t}/retention-overview', group: 'policy', ...byAction('readRetentionSettings') },
  { method: 'GET', path: '/v1/tenants/{t}/legal-holds', group: 'holds', ...byAction('manageLegalHolds') },
  { method: 'POST', path: '/v1/tenants/{t}/legal-holds', group: 'holds', ...byAction('manageLegalHolds') },
  { method: 'DELETE', path: '/v1/tenants/{t}/legal-holds/{holdId}', group: 'holds', ...byAction('manageLegalHolds') },
  { method: 'GET', path: '/v1/tenants/{t}/customers', group: 'customers', ...byAction('exportCustomers', 'deleteCustomers', 'filePrivacyRequests', 'anonymizeRecords', 'manageLegalHolds') },
  { method: 'GET', path: '/v1/tenants/{t}/customers/{id}/export', group: 'customers', ...byAction('exportCustomers') },
  // Reads of a customer's data (decrypted), for the console and, through their twins, platform services.
  { method: 'GET', path: '/v1/tenants/{t}/customers/{id}', group: 'customers', ...byAction('exportCustomers') },
  { method: 'GET', path: '/v1/tenants/{t}/customers/{id}/timeline', group: 'customers', ...byAction('exportCustomers') },
  { method: 'GET', path: '/v1/tenants/{t}/conversations/{id}', group: 'customers', ...byAction('exportCustomers') },
  { method: 'GET', path: '/v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}', group: 'customers', ...byAction('exportCustomers') },
  { method: 'GET', path: '/v1/tenants/{t}/calls/{id}', group: 'customers', ...byAction('exportCustomers') },
  { method: 'DELETE', path: '/v1/tenants/{t}/customers/{id}', group: 'customers', ...byAction('deleteCustomers') },
  { method: 'DELETE', path: '/v1/tenants/{t}/conversations/{id}', group: 'customers', ...byAction('deleteConversations') },
  { method: 'DELETE', path: '/v1/tenants/{t}/conversations/{id}/messages/{msgId}', group: 'customers', ...byAction('deleteMessages') },
  { method: 'DELETE', path: '/v1/tenants/{t}/calls/{id}/recording', group: 'customers', ...byAction('deleteRecordings') },
  { method: 'DELETE', path: '/v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}', group: 'customers', ...byAction('deleteAttachments') },
  { method: 'POST', path: '/v1/tenants/{t}/calls/{id}/anonymize', group: 'customers', ...byAction('anonymizeRecords') },
  { method: 'POST', path: '/v1/tenants/{t}/communication-records/anonymize', group: 'customers', ...byAction('anonymizeRecords') },
  { method: 'GET', path: '/v1/tenants/{t}/admin-activity-logs', group: 'customers', ...byAction('manageAdminActivityLogs') },
  { method: 'POST', path: '/v1/tenants/{t}/admin-activity-logs/delete', group: 'customers', ...byAction('manageAdminActivityLogs') },
  { method: 'POST', path: '/v1/tenants/{t}/records', group: 'ingest', minRole: 'Administrator' },
  { method: 'GET', path: '/v1/tenants/{t}/deletion-runs', group: 'runs', minRole: 'Administrator' },
  { method: 'POST', path: '/v1/tenants/{t}/deletion-runs', group: 'runs', minRole: 'Administrator' },
  { method: 'GET', path: '/v1/tenants/{t}/deletion-runs/{id}', group: 'runs', minRole: 'Administrator' },
  { method: 'GET', path: '/v1/tenants/{t}/audit-events', group: 'audit', minRole: 'Administrator' },
  { method: 'POST', path: '/v1/tenants/{t}/privacy-requests', group: 'privacy', ...byAction('filePrivacyRequests') },
  { method: 'POST', path: '/v1/tenants/{t}/privacy-requests/preview', group: 'privacy', ...byAction('filePrivacyRequests') },
  { method: 'GET', path: '/v1/tenants/{t}/privacy-requests', group: 'privacy', ...byAction('filePrivacyRequests') },
  { method: 'GET', path: '/v1/tenants/{t}/privacy-requests/{id}', group: 'privacy', ...byAction('filePrivacyRequests') },
  // Account-level exports: the whole tenant's data, so whoever may file privacy requests.
  { method: 'POST', path: '/v1/tenants/{t}/exports', group: 'privacy', ...byAction('filePrivacyRequests') },
  { method: 'GET', path: '/v1/tenants/{t}/exports/{id}', group: 'privacy', ...byAction('filePrivacyRequests') },
  { method: 'GET', path: '/v1/openapi.json', group: 'openapi', minRole: 'public' },
  // The link is the credential (a signed, expiring token), as a pre-signed S3 link was; served by the function that reads the buckets.
  { method: 'GET', path: '/v1/downloads/{token}', group: 'customers', minRole: 'public' },
];

/** The service twins, served by the same functions as the routes they mirror. */
const SERVICE_ROUTES: readonly RouteSpec[] = SERVICE_ROUTE_KEYS.map((key) => {
  const route = ADMIN_ROUTES.find((r) => `${r.method} ${r.path}` === key);
  if (route === undefined) throw new Error(`SERVICE_ROUTE_KEYS names ${key}, which is no route`);
  return { method: route.method, path: servicePathOf(route.path), group: route.group, minRole: SERVICE_ROLE };
});

/** Every route of DESIGN.md §5: the admin routes, then the service twins. */
export const ROUTES: readonly RouteSpec[] = [...ADMIN_ROUTES, ...SERVICE_ROUTES];

/** Whether a route is a platform service's (`/v1/service/…`, IAM-authorized in AWS). */
export function isServiceRoute(route: Pick<RouteSpec, 'minRole'>): boolean {
  return route.minRole === SERVICE_ROLE;
}

/** What the API's use cases need: the sweep's dependencies plus ways to start runs and privacy requests. */
export interface ApiDeps extends RunDeps {
  readonly sweeps: SweepStarter;
  /** Privacy requests and their idempotency keys (control table). */
  readonly privacy: PrivacyRequestStore;
  readonly privacyRequests: PrivacyStarter;
  /** Applies and releases legal holds on the stored records, outside the request. */
  readonly holdWork: HoldWorkStarter;
  /** Finishes, outside the request, a manual deletion its request could not (`DeletionTask`). */
  readonly deletionWork: DeletionWorkStarter;
  /** Whether tenants may name third-party providers on loopback or private addresses (local mode). @default false */
  readonly allowPrivateProviderHosts?: boolean;
  /** Largest inline blob in an ingest body, in bytes (larger ones get an upload URL). */
  readonly maxInlineBlobBytes: number;
  /** Lifetime of the export route's blob links, in seconds. @default 900 (`DEFAULT_EXPORT_LINK_SECONDS`) */
  readonly exportLinkSeconds?: number;
  /** Account export jobs; absent: `POST /exports` answers 409 (not available in this deployment). */
  readonly exportJobs?: AccountExportStore;
  /** Runs an account export's steps outside the request (in-process locally). */
  readonly accountExports?: AccountExportStarter;
}
