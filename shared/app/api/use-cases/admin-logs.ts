/**
 * Admin activity logs (the records of what the account's admins did, ingested
 * as `admin_activity_log`): select them by actor and/or time range, and delete
 * the selected ones through the shared deletion path. Held logs stay. Neither
 * the listing nor the receipt and audit event carry the actor or the action:
 * a log is shown by its id and time only.
 */
import { ValidationError, NotFoundError } from '../../../domain/errors.js';
import { holdMatcher } from '../../../domain/holds.js';
import { keys, type RecordItem } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import type { ApiApp, Caller } from '../app.js';
import { deleteSelected, type DeletionOutcome } from './deletions.js';

/** Which logs: every criterion given must hold (AND). */
export interface AdminLogSelection {
  /** The actor exactly as ingested. */
  readonly actor?: string;
  /** Logs at or after this instant (canonical ISO-8601). */
  readonly from?: string;
  /** Logs before this instant. */
  readonly to?: string;
  /** Only these log ids. */
  readonly ids?: readonly string[];
}

export interface AdminLogView {
  readonly id: string;
  readonly occurredAt: string;
  /** Whether a legal hold keeps it (a delete leaves it). */
  readonly held: boolean;
}

export interface AdminLogPage {
  readonly logs: AdminLogView[];
  readonly nextCursor?: string;
}

/** The most logs one delete request takes; the answer says when more matched (`more`), and a repeat takes the next ones. */
export const MAX_LOGS_PER_DELETE = 1000;

const ADMIN_LOG_PREFIX = keys.adminActivitySk('', '').slice(0, -2);

/**
 * The `sk` prefix every log in the range shares: the common beginning of the
 * two bounds' spellings, so a narrow range reads one day's or month's logs
 * rather than the account's all.
 */
function skPrefixOf(selection: AdminLogSelection): string {
  const { from, to } = selection;
  if (from === undefined || to === undefined) return `${ADMIN_LOG_PREFIX}#`;
  let i = 0;
  while (i < from.length && i < to.length && from[i] === to[i]) i++;
  return `${ADMIN_LOG_PREFIX}#${from.slice(0, i)}`;
}

function occurredAtOf(item: RecordItem): string {
  const at = (item.data as { occurredAt?: unknown } | undefined)?.occurredAt;
  return typeof at === 'string' ? at : item.clockStart;
}

function matches(item: RecordItem, selection: AdminLogSelection, ids: ReadonlySet<string> | undefined): boolean {
  if (item.category !== 'admin_activity_log') return false;
  const at = occurredAtOf(item);
  if (selection.from !== undefined && at < selection.from) return false;
  if (selection.to !== undefined && at >= selection.to) return false;
  if (ids !== undefined && !ids.has(item.id)) return false;
  if (selection.actor !== undefined && (item.data as { actor?: unknown } | undefined)?.actor !== selection.actor) return false;
  return true;
}

/** The tenant's logs the selection names, oldest first. */
async function select(app: ApiApp, tenant: Tenant, selection: AdminLogSelection, includeExpired: boolean): Promise<RecordItem[]> {
  const items = await app.deps.records.findByPartition(keys.accountPk(tenant.tenantId), {
    skPrefix: skPrefixOf(selection),
    ...(includeExpired && { includeExpired: true }),
  });
  const ids = selection.ids === undefined ? undefined : new Set(selection.ids);
  return items.filter((i) => matches(i, selection, ids)).sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
}

function encodeCursor(item: RecordItem): string {
  return Buffer.from(item.sk, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sk.startsWith(`${ADMIN_LOG_PREFIX}#`) || sk.length > 300) throw new ValidationError('cursor', 'cursor: is not one this API returned');
  return sk;
}

/** One page of the selected logs, oldest first: ids, times and whether a hold keeps them. */
export async function listAdminActivityLogs(
  app: ApiApp,
  tenant: Tenant,
  selection: AdminLogSelection,
  options: { readonly limit: number; readonly cursor?: string },
): Promise<AdminLogPage> {
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const isHeld = holdMatcher(await app.deps.control.listHolds(tenant.tenantId), app.deps.clock.now());
  const selected = (await select(app, tenant, selection, false)).filter((i) => after === undefined || i.sk > after);
  const page = selected.slice(0, options.limit);
  const last = page.at(-1);
  return {
    logs: page.map((i) => ({ id: i.id, occurredAt: occurredAtOf(i), held: isHeld(i) })),
    ...(selected.length > options.limit && last !== undefined && { nextCursor: encodeCursor(last) }),
  };
}

export interface AdminLogDeletion extends DeletionOutcome {
  /** Logs the selection matched and this request took (at most `MAX_LOGS_PER_DELETE`). */
  readonly selected: number;
  /** Whether more logs matched than one request takes; a repeat of the request takes the next ones. */
  readonly more: boolean;
}

/**
 * Deletes the selected logs (the oldest `MAX_LOGS_PER_DELETE` of them) through
 * the shared path: held ones stay, a selection wholly held is refused (409),
 * one that matches nothing is a 404.
 */
export async function deleteAdminActivityLogs(
  app: ApiApp,
  caller: Caller,
  tenant: Tenant,
  selection: AdminLogSelection,
): Promise<AdminLogDeletion> {
  const selected = await select(app, tenant, selection, true);
  if (selected.length === 0) throw new NotFoundError('body: no admin activity log matches the selection', { field: 'body' });
  const taken = selected.slice(0, MAX_LOGS_PER_DELETE);
  const outcome = await deleteSelected(app, caller, tenant, {
    records: taken,
    field: 'body',
    action: 'admin_activity_log.deleted',
    refs: {
      selection: [
        selection.actor !== undefined ? 'actor' : undefined,
        selection.from !== undefined || selection.to !== undefined ? 'range' : undefined,
        selection.ids !== undefined ? 'ids' : undefined,
      ]
        .filter((s) => s !== undefined)
        .join('+'),
      ...(selection.actor !== undefined && { actor: app.refs.actor(selection.actor) }),
    },
  });
  return { ...outcome, selected: taken.length, more: selected.length > taken.length };
}
