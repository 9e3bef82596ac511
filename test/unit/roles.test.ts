import { describe, expect, it } from 'vitest';
import { leastRoleOf } from '../../shared/app/api/auth.js';
import { ROUTES } from '../../shared/app/api/contract.js';
import { routeKey } from '../../shared/app/api/router.js';
import { loadProfile, parsePlatformPolicy, PROFILE_NAMES } from '../../shared/config/profiles.js';
import {
  ACTIONS,
  actionRolesOf,
  DEFAULT_ACTION_ROLES,
  hasRole,
  leastRoleFor,
  MANUAL_DELETION_ACTIONS,
  rolesSchema,
} from '../../shared/domain/roles.js';

const route = (key: string) => {
  const found = ROUTES.find((r) => routeKey(r) === key);
  if (found === undefined) throw new Error(`no route ${key}`);
  return found;
};

describe('roles per action', () => {
  it('gives every action its default role when the profile names none', () => {
    expect(actionRolesOf({})).toEqual(DEFAULT_ACTION_ROLES);
  });

  it('reads the legacy manualDeletionRole as the role of every manual deletion and of nothing else', () => {
    const roles = actionRolesOf({ manualDeletionRole: 'Administrator' });

    for (const a of ACTIONS) {
      expect(roles[a], a).toBe(MANUAL_DELETION_ACTIONS.includes(a) ? 'Administrator' : DEFAULT_ACTION_ROLES[a]);
    }
  });

  it('lets the roles block win over the legacy field, action by action', () => {
    const roles = actionRolesOf({ manualDeletionRole: 'Administrator', roles: { deleteCustomers: 'SuperAdministrator', changeRetentionSettings: 'ComplianceAdministrator' } });

    expect(roles.deleteCustomers).toBe('SuperAdministrator');
    expect(roles.deleteMessages).toBe('Administrator');
    expect(roles.changeRetentionSettings).toBe('ComplianceAdministrator');
    expect(leastRoleFor({ roles: { manageLegalHolds: 'SuperAdministrator' } }, 'manageLegalHolds')).toBe('SuperAdministrator');
  });

  it('refuses an unknown action or role in a profile, naming it', () => {
    const unknownAction = rolesSchema.safeParse({ deleteEverything: 'Administrator' });
    const unknownRole = rolesSchema.safeParse({ deleteCustomers: 'Janitor' });

    expect(unknownAction.success).toBe(false);
    expect(JSON.stringify(unknownAction.error?.issues)).toContain('deleteEverything');
    expect(unknownRole.success).toBe(false);
    expect(unknownRole.error?.issues[0]?.path).toEqual(['deleteCustomers']);
  });

  it('refuses a profile whose roles block names an unknown action', () => {
    const json = JSON.stringify({ ...loadProfile('chatbot'), roles: { deleteBots: 'Administrator' } });

    expect(() => parsePlatformPolicy(json)).toThrow(/deleteBots|roles/);
  });

  it.each(PROFILE_NAMES)('resolves a role for every action of the %s profile', (name) => {
    const roles = actionRolesOf(loadProfile(name));

    expect(Object.keys(roles).sort()).toEqual([...ACTIONS].sort());
  });

  it('ranks roles: a SuperAdministrator may do what a ComplianceAdministrator may, not the other way round', () => {
    expect(hasRole('SuperAdministrator', 'ComplianceAdministrator')).toBe(true);
    expect(hasRole('ComplianceAdministrator', 'SuperAdministrator')).toBe(false);
    expect(hasRole(undefined, 'Administrator')).toBe(false);
  });
});

describe('the least role of a route', () => {
  it('is the default role of its action under the default roles, as the route table says', () => {
    for (const r of ROUTES) expect(leastRoleOf(r, {}), routeKey(r)).toBe(r.minRole);
  });

  it("follows the profile's role for the route's action", () => {
    const platform = { roles: { changeRetentionSettings: 'ComplianceAdministrator', deleteMessages: 'Administrator' } } as const;

    expect(leastRoleOf(route('PUT /v1/tenants/{t}/retention-policy'), platform)).toBe('ComplianceAdministrator');
    expect(leastRoleOf(route('GET /v1/tenants/{t}/retention-policy'), platform)).toBe('Administrator');
    expect(leastRoleOf(route('DELETE /v1/tenants/{t}/conversations/{id}/messages/{msgId}'), platform)).toBe('Administrator');
  });

  it('lets whoever may export, delete, anonymise, hold or file requests about customers find them', () => {
    expect(leastRoleOf(route('GET /v1/tenants/{t}/customers'), { roles: { deleteCustomers: 'Administrator' } })).toBe('Administrator');
    expect(leastRoleOf(route('GET /v1/tenants/{t}/customers'), { roles: { anonymizeRecords: 'Administrator' } })).toBe('Administrator');
    expect(leastRoleOf(route('GET /v1/tenants/{t}/customers'), {})).toBe('ComplianceAdministrator');
  });

  it('keeps the fixed role of routes tied to no action whatever the profile says', () => {
    const platform = { roles: Object.fromEntries(ACTIONS.map((a) => [a, 'SuperAdministrator'])) };

    expect(leastRoleOf(route('POST /v1/tenants/{t}/records'), platform)).toBe('Administrator');
    expect(leastRoleOf(route('GET /v1/openapi.json'), platform)).toBe('public');
  });
});
