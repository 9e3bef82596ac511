/**
 * Who may do what: the admin roles, the actions a profile assigns a least role
 * to, and the defaults (the roles the routes had before profiles named them).
 * A profile's `roles` block names only what its platform says differs; every
 * action it leaves out keeps its default. Beside the admin roles, the
 * `Service` role of platform backends: outside the admin ranks, it may only
 * ingest and read (the `/v1/service/…` routes). DESIGN.md §5.
 */
import { z } from 'zod';

/** The admin roles, lowest first (the Cognito groups of the same names). */
export const ROLES = ['Administrator', 'ComplianceAdministrator', 'SuperAdministrator'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The role of a platform service (an IAM principal in AWS, a `lethe token
 * --role Service` token in local mode): ingest and the read routes of its one
 * tenant, nothing else; no profile can give it an action.
 */
export const SERVICE_ROLE = 'Service';
export type ServiceRole = typeof SERVICE_ROLE;
/** Any role a caller can carry. */
export type CallerRole = Role | ServiceRole;
/** Every role a caller can carry, admin roles first. */
export const CALLER_ROLES: readonly CallerRole[] = [...ROLES, SERVICE_ROLE];

// The service role ranks below every admin role: it is never "at least" one of them.
const RANK: Readonly<Record<CallerRole, number>> = { Service: 0, Administrator: 1, ComplianceAdministrator: 2, SuperAdministrator: 3 };

/** Whether `role` is at least the admin role `least` (a service never is). */
export function hasRole(role: CallerRole | undefined, least: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[least];
}

/** The lower of two roles. */
export function lowerRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * The actions a profile gives a least role. Routes tied to one (contract.ts)
 * take their role from the deployment's profile; the others keep a fixed role.
 */
export const ACTIONS = [
  /** Read the retention settings, their history, and preview a change. */
  'readRetentionSettings',
  /** Change the retention settings. */
  'changeRetentionSettings',
  /** Delete a customer with everything under it. */
  'deleteCustomers',
  /** Delete a conversation or e-mail thread. */
  'deleteConversations',
  /** Delete one message (a tombstone stays). */
  'deleteMessages',
  /** Delete one e-mail attachment or media item. */
  'deleteAttachments',
  /** Delete a call's recordings. */
  'deleteRecordings',
  /** Select and delete admin activity logs. */
  'manageAdminActivityLogs',
  /** Anonymise one communication record (a call, message, form submission or web session). */
  'anonymizeRecords',
  /** File privacy requests, read them, and preview a bulk filter. */
  'filePrivacyRequests',
  /** Export everything kept about a customer. */
  'exportCustomers',
  /** Create, list and release legal holds. */
  'manageLegalHolds',
] as const;
export type Action = (typeof ACTIONS)[number];

export type ActionRoles = Readonly<Record<Action, Role>>;

/** Every action's role when the profile does not name it: the routes' roles before profiles set them. */
export const DEFAULT_ACTION_ROLES: ActionRoles = {
  readRetentionSettings: 'Administrator',
  changeRetentionSettings: 'Administrator',
  deleteCustomers: 'ComplianceAdministrator',
  deleteConversations: 'ComplianceAdministrator',
  deleteMessages: 'ComplianceAdministrator',
  deleteAttachments: 'ComplianceAdministrator',
  deleteRecordings: 'ComplianceAdministrator',
  manageAdminActivityLogs: 'ComplianceAdministrator',
  anonymizeRecords: 'ComplianceAdministrator',
  filePrivacyRequests: 'ComplianceAdministrator',
  exportCustomers: 'ComplianceAdministrator',
  manageLegalHolds: 'ComplianceAdministrator',
};

/** The deletions the legacy `manualDeletionRole` field of a profile stood for. */
export const MANUAL_DELETION_ACTIONS: readonly Action[] = [
  'deleteCustomers',
  'deleteConversations',
  'deleteMessages',
  'deleteAttachments',
  'deleteRecordings',
];

const roleSchema = z.enum(ROLES);

/** A profile's `roles` block: action → least role; actions left out keep their default. */
export const rolesSchema = z
  .object(Object.fromEntries(ACTIONS.map((a) => [a, roleSchema.optional()])) as Record<Action, z.ZodOptional<typeof roleSchema>>)
  .strict();

export type RolesBlock = z.infer<typeof rolesSchema>;

/** What of a platform policy the roles depend on (kept structural so policy.ts can import this module). */
export interface RolesSource {
  readonly roles?: RolesBlock | undefined;
  /** Legacy: the least role of every manual deletion; `roles` wins where it names one. */
  readonly manualDeletionRole?: Role | undefined;
}

/**
 * Every action's least role under a profile: its `roles` block, else (for the
 * manual deletions) its legacy `manualDeletionRole`, else the default.
 */
export function actionRolesOf(platform: RolesSource): ActionRoles {
  const out: Record<Action, Role> = { ...DEFAULT_ACTION_ROLES };
  if (platform.manualDeletionRole !== undefined) {
    for (const a of MANUAL_DELETION_ACTIONS) out[a] = platform.manualDeletionRole;
  }
  for (const a of ACTIONS) {
    const named = platform.roles?.[a];
    if (named !== undefined) out[a] = named;
  }
  return out;
}

/** The least role the profile allows for one action. */
export function leastRoleFor(platform: RolesSource, action: Action): Role {
  return actionRolesOf(platform)[action];
}
