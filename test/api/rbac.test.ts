/**
 * The role and tenant matrix of DESIGN.md §5: every route × {no token, a token
 * of another tenant, Administrator, ComplianceAdministrator, SuperAdministrator,
 * an unknown role, a platform service of the tenant and of another}, under two profiles that give the actions different least
 * roles (the defaults, and every action moved to another role). Allowed calls
 * succeed; refused ones answer 401/403 and change nothing in any table or bucket.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { leastRoleOf } from '../../shared/app/api/auth.js';
import { isServiceRoute, ROUTES, type Role, type RouteSpec } from '../../shared/app/api/contract.js';
import { routeKey } from '../../shared/app/api/router.js';
import { loadProfile } from '../../shared/config/profiles.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import { ACTIONS, DEFAULT_ACTION_ROLES, type Action } from '../../shared/domain/roles.js';
import { DownloadTokens } from '../../shared/app/download-links.js';
import { blobKey } from '../../shared/domain/records.js';
import { newAccountExport } from '../../shared/domain/account-export.js';
import {
  API_NOW,
  apiEvent,
  apiWorld,
  customerRecords,
  dumpStores,
  ingest,
  REF_SECRET,
  registerTenant,
  token,
  type ApiWorld,
  type Call,
  type Token,
} from '../support/api.js';

const T = 'acme';
const RANK: Record<Role, number> = { Administrator: 1, ComplianceAdministrator: 2, SuperAdministrator: 3 };

interface Principal {
  readonly name: string;
  readonly token?: Token;
  readonly role?: Role | 'Service';
  readonly ownTenant: boolean;
}

const PRINCIPALS: readonly Principal[] = [
  { name: 'no token', ownTenant: false },
  { name: 'another tenant', token: token('ComplianceAdministrator', 'globex'), role: 'ComplianceAdministrator', ownTenant: false },
  { name: 'Administrator', token: token('Administrator', T), role: 'Administrator', ownTenant: true },
  { name: 'ComplianceAdministrator', token: token('ComplianceAdministrator', T), role: 'ComplianceAdministrator', ownTenant: true },
  { name: 'SuperAdministrator', token: token('SuperAdministrator'), role: 'SuperAdministrator', ownTenant: true },
  { name: 'unknown role', token: { sub: 'someone', groups: ['Janitor', 'lethe-admins'], tenantId: T }, ownTenant: false },
  { name: 'Service', token: token('Service', T, 'platform-backend'), role: 'Service', ownTenant: true },
  { name: "another tenant's Service", token: token('Service', 'globex', 'globex-backend'), role: 'Service', ownTenant: false },
];

/** The shipped profile's bounds with no roles of its own: every action at its default role. */
function withDefaultRoles(): PlatformPolicy {
  const { roles: _roles, manualDeletionRole: _legacy, ...rest } = loadProfile('conversations');
  return rest;
}

/** Every action moved off its default role: down to Administrator, or up to SuperAdministrator. */
function withReassignedRoles(): PlatformPolicy {
  const roles = Object.fromEntries(
    ACTIONS.map((a): [Action, Role] => [a, DEFAULT_ACTION_ROLES[a] === 'Administrator' ? 'ComplianceAdministrator' : a.startsWith('delete') ? 'Administrator' : 'SuperAdministrator']),
  );
  return { ...withDefaultRoles(), roles };
}

const PROFILES: readonly (readonly [string, () => PlatformPolicy])[] = [
  ['the default roles', withDefaultRoles],
  ['every action on another role', withReassignedRoles],
];

function expected(route: RouteSpec, platform: PlatformPolicy, p: Principal): 'allowed' | 401 | 403 {
  const least = leastRoleOf(route, platform);
  if (least === 'public') return 'allowed';
  if (p.token === undefined) return 401;
  // A service calls the /v1/service/ routes of its own tenant, nothing else; nobody else calls those.
  if (isServiceRoute(route)) return p.role === 'Service' && p.ownTenant ? 'allowed' : 403;
  if (p.role === 'Service' || least === 'Service') return 403;
  if (p.role === undefined || RANK[p.role] < RANK[least]) return 403;
  if (p.role !== 'SuperAdministrator' && !p.ownTenant) return 403;
  return 'allowed';
}

let w: ApiWorld;
let n = 0;
let runId = '';
let privacyRequestId = '';

/** A fresh customer, so every allowed deletion has something of its own to delete. */
async function freshCustomer(): Promise<string> {
  n += 1;
  const id = `rbac-${n}`;
  await ingest(w, T, customerRecords({ id, name: `Rbac ${n}`, phone: `+1415555${String(3000 + n)}`, email: `rbac${n}@example.com`, secret: `s${n}`, age: 10 }));
  return id;
}

/** A valid request for each admin route (prepared afresh for every principal). */
const ADMIN_REQUESTS: Readonly<Record<string, () => Promise<Omit<Call, 'token'>>>> = {
  'GET /v1/tenants': async () => ({ method: 'GET', path: '/v1/tenants' }),
  'GET /v1/tenants/{t}': async () => ({ method: 'GET', path: `/v1/tenants/${T}` }),
  'PUT /v1/tenants/{t}': async () => ({ method: 'PUT', path: `/v1/tenants/${T}`, body: { name: 'Acme', adminEmails: ['admin@acme.example'], thirdPartyEndpoints: [{ name: 'p', deleteUrl: 'https://p.example/{ref}' }] } }),
  'GET /v1/tenants/{t}/retention-policy': async () => ({ method: 'GET', path: `/v1/tenants/${T}/retention-policy` }),
  'PUT /v1/tenants/{t}/retention-policy': async () => ({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, body: { categories: { call: { days: 300 + (n += 1) } } } }),
  'POST /v1/tenants/{t}/retention-policy/preview': async () => ({ method: 'POST', path: `/v1/tenants/${T}/retention-policy/preview`, body: { categories: { call: { days: 30 } } } }),
  'GET /v1/tenants/{t}/retention-policy/history': async () => ({ method: 'GET', path: `/v1/tenants/${T}/retention-policy/history` }),
  'GET /v1/tenants/{t}/retention-overview': async () => ({ method: 'GET', path: `/v1/tenants/${T}/retention-overview` }),
  'GET /v1/tenants/{t}/legal-holds': async () => ({ method: 'GET', path: `/v1/tenants/${T}/legal-holds` }),
  'POST /v1/tenants/{t}/legal-holds': async () => ({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { category: 'webhook_delivery' }, reason: 'rbac' } }),
  'DELETE /v1/tenants/{t}/legal-holds/{holdId}': async () => {
    n += 1;
    await w.stores.control.putHold({ tenantId: T, holdId: `h-${n}`, scope: { category: 'user' }, reason: 'rbac', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'x' });
    return { method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/h-${n}` };
  },
  'GET /v1/tenants/{t}/customers': async () => ({ method: 'GET', path: `/v1/tenants/${T}/customers`, query: { email: 'rbac1@example.com' } }),
  'GET /v1/tenants/{t}/customers/{id}/export': async () => ({ method: 'GET', path: `/v1/tenants/${T}/customers/rbac-1/export` }),
  'GET /v1/tenants/{t}/customers/{id}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/customers/rbac-1` }),
  'GET /v1/tenants/{t}/customers/{id}/timeline': async () => ({ method: 'GET', path: `/v1/tenants/${T}/customers/rbac-1/timeline` }),
  'GET /v1/tenants/{t}/conversations/{id}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/conversations/rbac-1-conv` }),
  'GET /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/conversations/rbac-1-conv/attachments/rbac-1-conv-att` }),
  'GET /v1/tenants/{t}/calls/{id}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/calls/rbac-1-call` }),
  'DELETE /v1/tenants/{t}/customers/{id}': async () => ({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${await freshCustomer()}` }),
  'DELETE /v1/tenants/{t}/conversations/{id}': async () => ({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${await freshCustomer()}-conv` }),
  'DELETE /v1/tenants/{t}/conversations/{id}/messages/{msgId}': async () => {
    const id = await freshCustomer();
    return { method: 'DELETE', path: `/v1/tenants/${T}/conversations/${id}-conv/messages/${id}-conv-m1` };
  },
  'DELETE /v1/tenants/{t}/calls/{id}/recording': async () => ({ method: 'DELETE', path: `/v1/tenants/${T}/calls/${await freshCustomer()}-call/recording` }),
  'DELETE /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}': async () => {
    const id = await freshCustomer();
    return { method: 'DELETE', path: `/v1/tenants/${T}/conversations/${id}-conv/attachments/${id}-conv-att` };
  },
  'POST /v1/tenants/{t}/calls/{id}/anonymize': async () => ({ method: 'POST', path: `/v1/tenants/${T}/calls/${await freshCustomer()}-call/anonymize` }),
  'POST /v1/tenants/{t}/communication-records/anonymize': async () => {
    const id = await freshCustomer();
    return { method: 'POST', path: `/v1/tenants/${T}/communication-records/anonymize`, body: { type: 'message', id: `${id}-conv-m1`, conversationId: `${id}-conv` } };
  },
  'GET /v1/tenants/{t}/admin-activity-logs': async () => ({ method: 'GET', path: `/v1/tenants/${T}/admin-activity-logs` }),
  'POST /v1/tenants/{t}/admin-activity-logs/delete': async () => {
    n += 1;
    await ingest(w, T, [{ type: 'admin_activity_log', id: `log-${n}`, occurredAt: '2025-05-01T00:00:00Z', actor: 'someone', action: 'x' }]);
    return { method: 'POST', path: `/v1/tenants/${T}/admin-activity-logs/delete`, body: { ids: [`log-${n}`] } };
  },
  'POST /v1/tenants/{t}/records': async () => ({
    method: 'POST',
    path: `/v1/tenants/${T}/records`,
    body: { records: [{ type: 'customer', id: `ingested-${(n += 1)}`, lastContactAt: '2025-05-01T00:00:00Z' }] },
  }),
  'GET /v1/tenants/{t}/deletion-runs': async () => ({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs` }),
  'POST /v1/tenants/{t}/deletion-runs': async () => ({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: { dryRun: true } }),
  'GET /v1/tenants/{t}/deletion-runs/{id}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/${runId}` }),
  'GET /v1/tenants/{t}/audit-events': async () => ({ method: 'GET', path: `/v1/tenants/${T}/audit-events` }),
  'POST /v1/tenants/{t}/privacy-requests': async () => ({
    method: 'POST',
    path: `/v1/tenants/${T}/privacy-requests`,
    body: { kind: 'erasure', subject: { customerId: await freshCustomer() } },
  }),
  'POST /v1/tenants/{t}/privacy-requests/preview': async () => ({
    method: 'POST',
    path: `/v1/tenants/${T}/privacy-requests/preview`,
    body: { kind: 'erasure', filter: { channel: 'email' } },
  }),
  'GET /v1/tenants/{t}/privacy-requests': async () => ({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests` }),
  'GET /v1/tenants/{t}/privacy-requests/{id}': async () => ({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${privacyRequestId}` }),
  'POST /v1/tenants/{t}/exports': async () => ({ method: 'POST', path: `/v1/tenants/${T}/exports`, body: { categories: ['webhook_delivery'] } }),
  'GET /v1/tenants/{t}/exports/{id}': async () => {
    n += 1;
    await w.deps.exportJobs?.put(newAccountExport({ tenantId: T, exportId: `rbac-export-${n}`, filter: {}, requestedBy: 'x', now: API_NOW }));
    return { method: 'GET', path: `/v1/tenants/${T}/exports/rbac-export-${n}` };
  },
  'GET /v1/openapi.json': async () => ({ method: 'GET', path: '/v1/openapi.json' }),
  // Public: the signed link is the credential, whatever token comes with it.
  'GET /v1/downloads/{token}': async () => ({
    method: 'GET',
    path: `/v1/downloads/${new DownloadTokens(REF_SECRET).issue('recordings', blobKey('recordings', T, 'rbac-1', 'rbac-1-call-rec'), new Date(API_NOW.getTime() + 3_600_000))}`,
  }),
};

/** Every request, the service twins' as their admin route's under /v1/service/. */
const REQUESTS: Readonly<Record<string, () => Promise<Omit<Call, 'token'>>>> = {
  ...ADMIN_REQUESTS,
  ...Object.fromEntries(
    ROUTES.filter(isServiceRoute).map((route) => {
      const admin = ADMIN_REQUESTS[routeKey({ method: route.method, path: route.path.replace('/v1/service/', '/v1/') })];
      if (admin === undefined) throw new Error(`no admin request for ${routeKey(route)}`);
      return [routeKey(route), async () => {
        const request = await admin();
        return { ...request, path: request.path.replace('/v1/tenants/', '/v1/service/tenants/') };
      }];
    }),
  ),
};

async function setUp(platform: PlatformPolicy): Promise<void> {
  w = await apiWorld({ platform });
  n = 0;
  await registerTenant(w, T);
  await registerTenant(w, 'globex');
  await freshCustomer();
  runId = (await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: { dryRun: true }, token: token('Administrator', T) })).body.runId;
  privacyRequestId = (
    await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { customerId: 'rbac-1' } }, token: token('SuperAdministrator') })
  ).body.requestId;
}

it('has a request for every route of the contract', () => {
  expect(Object.keys(REQUESTS).sort()).toEqual(ROUTES.map(routeKey).sort());
});

it('gives the two profiles a different least role on every route tied to an action', () => {
  for (const route of ROUTES.filter((r) => r.actions !== undefined)) {
    expect(leastRoleOf(route, withReassignedRoles()), routeKey(route)).not.toBe(leastRoleOf(route, withDefaultRoles()));
  }
});

describe.each(PROFILES)('roles and tenants under %s', (_name, platformOf) => {
  const platform = platformOf();
  beforeAll(async () => {
    await setUp(platform);
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))('%s', async (_, route) => {
    for (const principal of PRINCIPALS) {
      const request = await (REQUESTS[routeKey(route)] as () => Promise<Omit<Call, 'token'>>)();
      const outcome = expected(route, platform, principal);
      const before = outcome === 'allowed' ? undefined : await dumpStores(w.stores);

      const answer = await w.call({ ...request, ...(principal.token !== undefined && { token: principal.token }) });

      if (outcome === 'allowed') {
        expect(answer.status, `${principal.name}: ${answer.text}`).toBeGreaterThanOrEqual(200);
        expect(answer.status, `${principal.name}: ${answer.text}`).toBeLessThan(300);
      } else {
        expect(answer.status, principal.name).toBe(outcome);
        expect(answer.body.error.code).toBe(outcome === 401 ? 'unauthorized' : 'forbidden');
        expect(await dumpStores(w.stores), `${principal.name} changed the stores`).toBe(before);
      }
    }
  });
});

describe('service principals', () => {
  beforeAll(async () => {
    await setUp(withDefaultRoles());
  });

  it('lets a service ingest and read its tenant through the /v1/service/ routes alone', () => {
    expect(ROUTES.filter(isServiceRoute).map(routeKey).sort()).toEqual([
      'GET /v1/service/tenants/{t}/calls/{id}',
      'GET /v1/service/tenants/{t}/conversations/{id}',
      'GET /v1/service/tenants/{t}/conversations/{id}/attachments/{attachmentId}',
      'GET /v1/service/tenants/{t}/customers/{id}',
      'GET /v1/service/tenants/{t}/customers/{id}/timeline',
      'POST /v1/service/tenants/{t}/records',
    ]);
  });

  it('maps an IAM caller on a service route to the Service role of the path\'s tenant', async () => {
    const event = apiEvent({ method: 'GET', path: `/v1/service/tenants/${T}/customers/rbac-1` });
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/platform/i-1', accountId: '123456789012' } };

    const result = await w.handler(event);

    expect(result.statusCode, String(result.body)).toBe(200);
  });

  it('does not take an IAM caller for anyone on an admin route', async () => {
    const event = apiEvent({ method: 'GET', path: `/v1/tenants/${T}/customers/rbac-1` });
    (event.requestContext as unknown as { authorizer: unknown }).authorizer = { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/platform/i-1' } };

    const result = await w.handler(event);

    expect(result.statusCode).toBe(401);
  });

  it('takes an admin role over Service when a token carries both', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/service/tenants/${T}/customers/rbac-1`, token: { sub: 'u', groups: ['Service', 'Administrator'], tenantId: T } });

    expect(answer.status).toBe(403);
  });
});

describe('claims', () => {
  beforeAll(async () => {
    await setUp(withDefaultRoles());
  });

  it("reads API Gateway's string form of the groups claim", async () => {
    const answer = await w.call({
      method: 'GET',
      path: `/v1/tenants/${T}/legal-holds`,
      token: { sub: 'u', groups: '[Administrator ComplianceAdministrator]', tenantId: T },
    });

    expect(answer.status).toBe(200);
  });

  it('refuses a token without a subject as unauthenticated', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, token: { groups: ['SuperAdministrator'] } });

    expect(answer.status).toBe(401);
  });

  it('refuses a tenant-scoped token without a tenant claim', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/audit-events`, token: token('Administrator') });

    expect(answer.status).toBe(403);
    expect(answer.body.error.field).toBe('t');
  });
});
