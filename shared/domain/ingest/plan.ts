/**
 * Ingest of governed data (DESIGN.md §5, `POST /v1/tenants/{t}/records`): the
 * plan of one body. What the caller reads beforehand (stored parents), the pure
 * write that turns the body into records-table items and blobs, and the activity
 * watermarks it raises. A body is accepted whole or not at all; a rejected one
 * comes back as a list of `{ index, field, message }` issues.
 */
import { ValidationError } from '../errors.js';
import type { ActivityRaise, FirstContactLower } from '../ports.js';
import { DEFAULT_RETENTION_SHARDS, earliestContact, isIdentifierSk, keys, MAX_RETENTION_SHARDS, type RecordItem } from '../records.js';
import { Batch, compact, type BlobUpload, type BlobWrite, type IngestContext } from './batch.js';
import { IngestValidationError, parseRecords, type IngestIssue } from './parse.js';
import {
  ID_PATTERN,
  MAX_FUTURE_SKEW_MS,
  type IngestBody,
  type IngestBodyInput,
  type IngestRecord,
  type IngestRecordInput,
  type IngestRecordType,
} from './schemas.js';
import { WRITERS } from './writers.js';

export interface IngestWrite {
  readonly items: RecordItem[];
  readonly blobs: BlobWrite[];
  readonly uploads: BlobUpload[];
  /** Number of records accepted. */
  readonly accepted: number;
  /** Latest customer-facing activity in the body (never after `now`), to keep the tenant's `lastActivityAt` current. */
  readonly lastActivityAt?: string;
  /**
   * Per customer with records under it in the body, the latest clock start among
   * them: its profile's activity watermark must be raised to it (`raiseActivity`).
   */
  readonly activity: ActivityRaise[];
  /**
   * Per customer the body speaks of, the earliest contact it shows (a customer
   * record's first contact, else its last; a conversation's or call's start):
   * her profile's first contact must be lowered to it (`lowerFirstContact`).
   */
  readonly firstContacts: FirstContactLower[];
}

/** Conversations and calls outside the body that records in it depend on, for the caller to look up beforehand. */
export interface ExternalParents {
  readonly conversations: { readonly customerId: string; readonly conversationId: string }[];
  readonly calls: { readonly customerId: string; readonly callId: string }[];
}

/** Which conversations and calls a (validated) body refers to without carrying them. */
export function externalParents(body: IngestBody): ExternalParents {
  const conversationsInBody = new Set(body.records.flatMap((r) => (r.type === 'conversation' ? [r.id] : [])));
  const callsInBody = new Set(body.records.flatMap((r) => (r.type === 'call' ? [r.id] : [])));
  const conversations = new Map<string, { customerId: string; conversationId: string }>();
  const calls = new Map<string, { customerId: string; callId: string }>();
  for (const r of body.records) {
    if ('conversationId' in r && !conversationsInBody.has(r.conversationId)) {
      conversations.set(JSON.stringify([r.customerId, r.conversationId]), { customerId: r.customerId, conversationId: r.conversationId });
    }
    if (r.type === 'recording' && !callsInBody.has(r.callId)) {
      calls.set(JSON.stringify([r.customerId, r.callId]), { customerId: r.customerId, callId: r.callId });
    }
  }
  return { conversations: [...conversations.values()], calls: [...calls.values()] };
}

/**
 * Every conversation and call a (validated) body needs read from the store: the
 * ones it refers to without carrying them, and the ones it writes (a stored one
 * may not change its start or channel).
 */
export function storedParentsToRead(body: IngestBody): ExternalParents {
  const external = externalParents(body);
  const conversations = new Map(external.conversations.map((c) => [JSON.stringify([c.customerId, c.conversationId]), c]));
  const calls = new Map(external.calls.map((c) => [JSON.stringify([c.customerId, c.callId]), c]));
  for (const r of body.records) {
    if (r.type === 'conversation') conversations.set(JSON.stringify([r.customerId, r.id]), { customerId: r.customerId, conversationId: r.id });
    if (r.type === 'call') calls.set(JSON.stringify([r.customerId, r.id]), { customerId: r.customerId, callId: r.id });
  }
  return { conversations: [...conversations.values()], calls: [...calls.values()] };
}
const INSTANT_FIELDS = [
  'lastContactAt',
  'firstContactAt',
  'startedAt',
  'sentAt',
  'deliveredAt',
  'loggedAt',
  'occurredAt',
  'lastSignInAt',
  'updatedAt',
  'submittedAt',
  'endedAt',
] as const;

/** Record types whose dates are customer-facing activity of the tenant's account. */
const ACTIVITY_TYPES: ReadonlySet<IngestRecordType> = new Set<IngestRecordType>([
  'customer',
  'conversation',
  'message',
  'call',
  'media',
  'email_attachment',
  'communication_log',
  'form_submission',
  'web_session',
]);
/**
 * Turns an ingest body into records-table items and blobs. Validates the whole
 * body (shape, identifiers, references between records, dates) and throws an
 * `IngestValidationError` listing every issue; on success every record was
 * written. Pure: the caller stores the blobs, then the items.
 */
export function toRecordItems(input: IngestBodyInput | readonly IngestRecordInput[], ctx: IngestContext): IngestWrite {
  return writeBody(isRecordArray(input) ? { records: input } : input, ctx);
}

function writeBody(body: unknown, ctx: IngestContext): IngestWrite {
  if (!ID_PATTERN.test(ctx.tenantId)) throw new ValidationError('tenantId', 'is not a valid tenant id');
  const shardCount = ctx.shardCount ?? DEFAULT_RETENTION_SHARDS;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_RETENTION_SHARDS) {
    throw new RangeError(`shardCount must be an integer from 1 to ${MAX_RETENTION_SHARDS}, got ${shardCount}`);
  }

  const parsed = parseRecords(body);
  if (parsed.records.length === 0) throw new IngestValidationError(parsed.issues);
  const batch = new Batch(ctx, parsed, [...parsed.issues]);

  const latestAllowed = ctx.now.getTime() + MAX_FUTURE_SKEW_MS;
  let lastActivityMs = Number.NEGATIVE_INFINITY;
  parsed.records.forEach((r, index) => {
    if (r === undefined) return;
    for (const field of INSTANT_FIELDS) {
      const value: unknown = (r as Record<string, unknown>)[field];
      if (typeof value !== 'string') continue;
      const ms = Date.parse(value);
      if (ms > latestAllowed) batch.report(index, field, 'lies more than 24 hours in the future; a future date would postpone deletion');
      if (ACTIVITY_TYPES.has(r.type)) lastActivityMs = Math.max(lastActivityMs, ms);
    }
    (WRITERS[r.type] as (b: Batch, r: IngestRecord, index: number) => void)(batch, r, index);
  });

  if (batch.issues.length > 0) throw new IngestValidationError(sortIssues(batch.issues));
  const lastActivityAt = Number.isFinite(lastActivityMs) ? new Date(Math.min(lastActivityMs, ctx.now.getTime())).toISOString() : undefined;
  return compact({
    items: batch.items,
    blobs: batch.blobs,
    uploads: batch.uploads,
    accepted: parsed.records.length,
    lastActivityAt,
    activity: activityRaises(ctx.tenantId, batch.items),
    firstContacts: firstContactLowers(batch.items),
  });
}

/** Per customer partition, the earliest contact the body's items show (see `IngestWrite.firstContacts`). */
export function firstContactLowers(items: readonly RecordItem[]): FirstContactLower[] {
  const earliest = new Map<string, string>();
  const lower = (pk: string, at: string | undefined) => {
    if (at === undefined) return;
    const seen = earliest.get(pk);
    if (seen === undefined || at < seen) earliest.set(pk, at);
  };
  for (const item of items) {
    if (item.sk === keys.profileSk()) {
      const data = (item.data ?? {}) as { readonly firstContactAt?: string; readonly lastContactAt?: string };
      lower(item.pk, data.firstContactAt ?? data.lastContactAt);
    } else {
      lower(item.pk, earliestContact([item]));
    }
  }
  return [...earliest].map(([pk, at]) => ({ pk, at }));
}

/** Per customer partition, the latest clock start among the body's records under the profile. */
export function activityRaises(tenantId: string, items: readonly RecordItem[]): ActivityRaise[] {
  const latest = new Map<string, string>();
  const subjects = keys.subjectPk(tenantId, '');
  for (const item of items) {
    if (!item.pk.startsWith(subjects) || item.sk === keys.profileSk() || isIdentifierSk(item.sk)) continue;
    const seen = latest.get(item.pk);
    if (seen === undefined || item.clockStart > seen) latest.set(item.pk, item.clockStart);
  }
  return [...latest].map(([pk, until]) => ({ pk, until }));
}

export type IngestOutcome =
  | { readonly ok: true; readonly write: IngestWrite }
  | { readonly ok: false; readonly issues: readonly IngestIssue[] };

/**
 * Validates a whole body, all or nothing: either every record becomes items and
 * blobs, or the answer lists every issue (`{ index, field, message }`, field as
 * a dotted path like `records.3.phones.0`) and nothing is to be written.
 */
export function validateIngest(body: unknown, ctx: IngestContext): IngestOutcome {
  try {
    return { ok: true, write: writeBody(body, ctx) };
  } catch (error) {
    if (error instanceof IngestValidationError) return { ok: false, issues: error.issues };
    throw error;
  }
}

function isRecordArray(input: unknown): input is readonly IngestRecordInput[] {
  return Array.isArray(input);
}
function sortIssues(issues: IngestIssue[]): IngestIssue[] {
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => (a.issue.index ?? -1) - (b.issue.index ?? -1) || a.order - b.order)
    .map(({ issue }) => issue);
}
