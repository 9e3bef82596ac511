/** What the signed-in role may do under the deployment's profile; the console offers nothing else (the API enforces it anyway). */
import { hasRole, type Action, type ActionRoles, type Role } from '../../shared/domain/roles.js';

export interface Access {
  readonly role?: Role;
  can(action: Action): boolean;
  atLeast(role: Role): boolean;
  /** May look customers up: whoever may act on a customer by id (as the lookup route allows). */
  readonly lookUpCustomers: boolean;
}

export function accessFor(role: Role | undefined, actionRoles: ActionRoles): Access {
  const can = (action: Action) => hasRole(role, actionRoles[action]);
  return {
    ...(role !== undefined && { role }),
    can,
    atLeast: (least) => hasRole(role, least),
    lookUpCustomers: (['exportCustomers', 'deleteCustomers', 'filePrivacyRequests', 'anonymizeRecords', 'manageLegalHolds'] as const).some(can),
  };
}
