/**
 * Ingest of governed data (DESIGN.md §5, `POST /v1/tenants/{t}/records`): the
 * schemas of every record type and the pure writer that turns a validated body
 * into records-table items and blobs. A body is accepted whole or not at all;
 * a rejected one comes back as a list of `{ index, field, message }` issues.
 */
import { z } from 'zod';
import { CATALOG, type BucketName, type Category } from './catalog.js';
import { ValidationError } from './errors.js';
import { holdMatcher, type HoldTarget, type LegalHold } from './holds.js';
import {
  normaliseEmail,
  normaliseExternalId,
  normaliseName,
  normalisePhone,
  type CountryCode,
  type NormaliseResult,
} from './identifiers.js';
import { backstopExpiresAt, type PlatformPolicy } from './policy.js';
import {
  blobKey,
  DEFAULT_RETENTION_SHARDS,
  isIdentifierSk,
  keys,
  MAX_RETENTION_SHARDS,
  retentionKeysOf,
  type IdentifierKind,
  type RecordItem,
} from './records.js';
import type { ActivityRaise } from './ports.js';

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

export const MAX_RECORDS_PER_BODY = 500;
/** Largest blob sent inline as base64 (decoded); larger ones go through an upload URL. */
export const MAX_INLINE_BLOB_BYTES = 5 * 1024 * 1024;
/** How far in the future a record's date may lie (clock skew); later dates would postpone deletion. */
export const MAX_FUTURE_SKEW_MS = 24 * 3_600_000;
/** Ids go into keys and blob paths: letters, digits and `._:-`, but never only dots (`.`/`..` are path segments). */
export const ID_PATTERN = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;

const MAX_BASE64_CHARS = Math.ceil(MAX_INLINE_BLOB_BYTES / 3) * 4;
const MAX_TEXT_CHARS = 100_000;
const MAX_IDENTIFIERS_PER_KIND = 20;

// ---------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------

/** A schema-level message that leaves a missing field to the parse-level "is required". */
function unlessMissing(message: string): (issue: { readonly input?: unknown }) => string | undefined {
  return (issue) => (issue.input === undefined ? undefined : message);
}

const recordId = z.string().regex(ID_PATTERN, 'must be 1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-", and not only dots');

/**
 * ISO-8601 UTC instant, re-written in the one canonical form (`toISOString`).
 * Clock starts are compared as strings in `byRetention` (`sk < cutoff`), where
 * `…00Z` would sort after `…00.500Z`; one spelling keeps that comparison honest.
 */
const instant = z.iso
  .datetime({ error: unlessMissing('must be an ISO-8601 UTC date-time ending in Z, e.g. 2025-01-31T09:30:00Z') })
  .transform((value) => new Date(value).toISOString());

const boundedText = (max: number) => z.string().max(max, `must have at most ${max} characters`);
const label = z.string().min(1, 'must not be empty').max(256, 'must have at most 256 characters');

const contentType = z
  .string()
  .max(255, 'must have at most 255 characters')
  .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;\s*[^;\s][^;]*)*$/, 'must be a media type, e.g. audio/wav');

// Checked in two simple steps: one alphabet-and-padding scan and a length rule. A single
// regex with a repeated group overflows the regex engine's stack on megabytes of input.
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_ALPHABET.test(s);

/** Decoded size of a padded base64 string, without decoding it. */
function decodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

const content = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_BASE64_CHARS, { message: 'must decode to at most 5 MB; send larger blobs through an upload URL', abort: true })
  .refine(isBase64, { message: 'must be standard base64 with padding', abort: true })
  .refine((s) => decodedBytes(s) <= MAX_INLINE_BLOB_BYTES, 'must decode to at most 5 MB; send larger blobs through an upload URL');

const direction = z.enum(['inbound', 'outbound']);

// ---------------------------------------------------------------------------
// Record schemas (DESIGN.md §5)
// ---------------------------------------------------------------------------

export const customerRecordSchema = z.strictObject({
  type: z.literal('customer'),
  id: recordId,
  name: boundedText(256).optional(),
  phones: z.array(boundedText(64)).max(MAX_IDENTIFIERS_PER_KIND).optional(),
  emails: z.array(boundedText(254)).max(MAX_IDENTIFIERS_PER_KIND).optional(),
  externalId: boundedText(256).optional(),
  lastContactAt: instant,
  /** First contact; defaults to `lastContactAt`. Chatbot bulk erasure filters on it. */
  firstContactAt: instant.optional(),
  /** The bot that brought the customer in (chatbot bulk erasure filters on it). */
  botId: recordId.optional(),
});

export const conversationRecordSchema = z.strictObject({
  type: z.literal('conversation'),
  id: recordId,
  customerId: recordId,
  channel: z.enum(['chat', 'sms', 'whatsapp', 'email', 'voice']),
  botId: recordId.optional(),
  startedAt: instant,
  status: z.enum(['open', 'closed']),
  notes: boundedText(MAX_TEXT_CHARS).optional(),
});

export const messageRecordSchema = z.strictObject({
  type: z.literal('message'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  sentAt: instant,
  direction,
  text: boundedText(MAX_TEXT_CHARS),
});

export const callRecordSchema = z.strictObject({
  type: z.literal('call'),
  id: recordId,
  customerId: recordId,
  startedAt: instant,
  durationSeconds: z.number().nonnegative('must not be negative').max(7 * 86_400, 'must be at most 7 days'),
  /** The external provider's reference of the call; yields a `third_party_call_data` marker. */
  thirdPartyRef: z.string().min(1, 'must not be empty').max(512, 'must have at most 512 characters').optional(),
});

/** Without `contentBase64` the blob is expected through an upload URL (see `IngestWrite.uploads`). */
export const recordingRecordSchema = z.strictObject({
  type: z.literal('recording'),
  id: recordId,
  callId: recordId,
  customerId: recordId,
  contentType,
  contentBase64: content.optional(),
});

export const mediaRecordSchema = z.strictObject({
  type: z.literal('media'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  direction,
  contentType,
  contentBase64: content.optional(),
  /** When the media was sent; inbound media without it take their conversation's start. */
  sentAt: instant.optional(),
  /** The message the media belongs to, so deleting the message takes it along. */
  messageId: recordId.optional(),
});

export const emailAttachmentRecordSchema = z.strictObject({
  type: z.literal('email_attachment'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  sentAt: instant,
  contentType,
  contentBase64: content.optional(),
  messageId: recordId.optional(),
});

export const webhookDeliveryRecordSchema = z.strictObject({
  type: z.literal('webhook_delivery'),
  id: recordId,
  deliveredAt: instant,
  url: z.url({ error: unlessMissing('must be an absolute URL') }).max(2048, 'must have at most 2048 characters'),
  statusCode: z.number().int('must be an integer').min(100, 'must be an HTTP status code').max(599, 'must be an HTTP status code'),
});

export const communicationLogRecordSchema = z.strictObject({
  type: z.literal('communication_log'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  loggedAt: instant,
  text: boundedText(MAX_TEXT_CHARS),
});

export const analyticsEventRecordSchema = z.strictObject({
  type: z.literal('analytics_event'),
  id: recordId,
  occurredAt: instant,
  name: label,
  customerId: recordId.optional(),
});

export const userRecordSchema = z.strictObject({
  type: z.literal('user'),
  id: recordId,
  email: boundedText(254),
  lastSignInAt: instant,
  hasAccountAccess: z.boolean(),
});

export const adminActivityLogRecordSchema = z.strictObject({
  type: z.literal('admin_activity_log'),
  id: recordId,
  occurredAt: instant,
  actor: label,
  action: label,
});

export const accountConfigRecordSchema = z.strictObject({
  type: z.literal('account_config'),
  id: recordId,
  kind: z.enum(['queue', 'routing', 'workflow', 'form', 'setting']),
  updatedAt: instant,
});

export const ingestRecordSchema = z.discriminatedUnion('type', [
  customerRecordSchema,
  conversationRecordSchema,
  messageRecordSchema,
  callRecordSchema,
  recordingRecordSchema,
  mediaRecordSchema,
  emailAttachmentRecordSchema,
  webhookDeliveryRecordSchema,
  communicationLogRecordSchema,
  analyticsEventRecordSchema,
  userRecordSchema,
  adminActivityLogRecordSchema,
  accountConfigRecordSchema,
]);

export const INGEST_RECORD_TYPES = ingestRecordSchema.options.map((o) => o.shape.type.value);

/** The body of `POST /v1/tenants/{t}/records`. */
export const ingestBodySchema = z.strictObject({
  records: z
    .array(ingestRecordSchema)
    .min(1, 'must hold at least one record')
    .max(MAX_RECORDS_PER_BODY, `must hold at most ${MAX_RECORDS_PER_BODY} records`),
});

/** A record as sent (before defaults and canonical dates). */
export type IngestRecordInput = z.input<typeof ingestRecordSchema>;
/** A record after validation: dates in canonical ISO form. */
export type IngestRecord = z.output<typeof ingestRecordSchema>;
export type IngestRecordType = IngestRecord['type'];
export type IngestBodyInput = z.input<typeof ingestBodySchema>;
export type IngestBody = z.output<typeof ingestBodySchema>;

// ---------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------

/** One problem with a body: the record's index (null for the body itself) and a dotted field path. */
export interface IngestIssue {
  readonly index: number | null;
  readonly field: string;
  readonly message: string;
}

/** A body was rejected; `issues` lists every problem, `field` names the first. */
export class IngestValidationError extends ValidationError {
  override readonly name: string = 'IngestValidationError';
  readonly issues: readonly IngestIssue[];

  constructor(issues: readonly IngestIssue[]) {
    const first = issues[0] ?? { field: 'records', message: 'is invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(first.field, `${first.field} ${first.message}${more}`);
    this.issues = issues;
  }
}

function issueAt(path: readonly PropertyKey[], message: string): IngestIssue {
  const index = path[0] === 'records' && typeof path[1] === 'number' ? path[1] : null;
  const field = path.length === 0 ? 'body' : path.map(String).join('.');
  return { index, field, message };
}

function zodIssues(error: z.ZodError): IngestIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => issueAt([...issue.path, key], 'is not a field of this record type'));
    }
    if (issue.code === 'invalid_union' && issue.path.at(-1) === 'type') {
      return [issueAt(issue.path, `must be one of ${INGEST_RECORD_TYPES.join(', ')}`)];
    }
    return [issueAt(issue.path, issue.message)];
  });
}

const requiredFieldMessages: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

const bodyEnvelopeSchema = z.strictObject({
  records: z
    .array(z.unknown())
    .min(1, 'must hold at least one record')
    .max(MAX_RECORDS_PER_BODY, `must hold at most ${MAX_RECORDS_PER_BODY} records`),
});

interface ParsedRecords {
  /** Per index: the parsed record, or undefined where it is invalid. */
  readonly records: readonly (IngestRecord | undefined)[];
  /** Ids of conversations and calls among the invalid records, so their children are not blamed too. */
  readonly invalidParents: ReadonlySet<string>;
  readonly issues: IngestIssue[];
}

/** Parses record by record, so every invalid record is reported, and valid ones can still be cross-checked. */
function parseRecords(body: unknown): ParsedRecords {
  const envelope = bodyEnvelopeSchema.safeParse(body, { error: requiredFieldMessages });
  if (!envelope.success) return { records: [], invalidParents: new Set(), issues: zodIssues(envelope.error) };
  const issues: IngestIssue[] = [];
  const invalidParents = new Set<string>();
  const records = envelope.data.records.map((raw, index) => {
    const parsed = ingestRecordSchema.safeParse(raw, { error: requiredFieldMessages });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) issue.path.unshift('records', index);
    issues.push(...zodIssues(parsed.error));
    const { type, id } = (typeof raw === 'object' && raw !== null ? raw : {}) as { type?: unknown; id?: unknown };
    if ((type === 'conversation' || type === 'call') && typeof id === 'string') invalidParents.add(`${type}:${id}`);
    return undefined;
  });
  return { records, invalidParents, issues };
}

/** Validates the shape of a body (every field of every record); no cross-record checks. */
export function parseIngestBody(
  body: unknown,
): { readonly ok: true; readonly body: IngestBody } | { readonly ok: false; readonly issues: IngestIssue[] } {
  const { records, issues } = parseRecords(body);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, body: { records: records as IngestRecord[] } };
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

export interface IngestContext {
  readonly tenantId: string;
  readonly platform: PlatformPolicy;
  /** The tenant's legal holds (inactive ones are ignored); held records get no TTL backstop. */
  readonly holds: readonly LegalHold[];
  readonly now: Date;
  /**
   * A conversation stored earlier, or undefined when unknown: for records under
   * one the body does not carry, and to refuse a stored one's start or channel
   * changing. The customer is passed too, since conversations live under it.
   */
  readonly conversation: (conversationId: string, customerId: string) => StoredParent | undefined;
  /** A call stored earlier, or undefined when unknown. */
  readonly call: (callId: string, customerId: string) => StoredParent | undefined;
  /** Write shards of the tenant's `byRetention` partitions (its `retentionShards`; default 1). */
  readonly shardCount?: number;
  /** Region for phone numbers written without a country code, e.g. 'US'. */
  readonly defaultPhoneRegion?: CountryCode;
}

/** What a record needs of a stored conversation or call: when its clock started and its category. */
export interface StoredParent {
  readonly startedAt: string;
  readonly category: Category;
  /**
   * Past its TTL backstop (DynamoDB has not removed it yet): gone for records
   * that would go under it, but its start and channel still cannot change.
   */
  readonly expired?: boolean;
}

/** A blob to store before its item is written (so no item points to nothing for long). */
export interface BlobWrite {
  readonly bucket: BucketName;
  readonly key: string;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** A blob sent without inline content: the caller hands out a pre-signed PUT URL for it. */
export interface BlobUpload {
  /** Index of the record in the body. */
  readonly index: number;
  readonly recordId: string;
  readonly bucket: BucketName;
  readonly key: string;
  readonly contentType: string;
}

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

/** Drops undefined-valued properties: DynamoDB marshalling rejects them, and absent reads better than undefined. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function canonicalInstant(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
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
]);

interface Parent {
  readonly index: number;
  readonly customerId: string;
  readonly startedAt: string;
  readonly category: Category;
}

type RecordOf<T extends IngestRecordType> = Extract<IngestRecord, { readonly type: T }>;

/** What an item needs besides what every governed item gets (tenant, retention keys, TTL backstop). */
interface Governed {
  readonly pk: string;
  readonly sk: string;
  readonly category: Category;
  readonly id: string;
  readonly clockStart: string;
  readonly subjectId?: string;
  readonly conversationId?: string;
  readonly callId?: string;
  readonly parentSk?: string;
  /** The conversation or call the record sits under (its clock can make the record due). */
  readonly parent?: StoredParent;
  readonly status?: RecordItem['status'];
  readonly externalRef?: string;
  readonly hasAccountAccess?: boolean;
  readonly identifierPk?: string;
  readonly identifierSk?: string;
  readonly blob?: { readonly bucket: BucketName; readonly key: string };
  readonly data?: Record<string, unknown>;
}

/** A blob record as far as placing its content goes. */
interface BlobRecord {
  readonly id: string;
  readonly customerId: string;
  readonly contentType: string;
  readonly contentBase64?: string | undefined;
}

/**
 * The state of writing one body: what is written so far, the issues found, and
 * the facts records look up in each other (conversation and call starts).
 */
class Batch {
  readonly items: RecordItem[] = [];
  readonly blobs: BlobWrite[] = [];
  readonly uploads: BlobUpload[] = [];
  private readonly itemOwners = new Map<string, number>();
  private readonly blobOwners = new Map<string, number>();
  private readonly conversations = new Map<string, Parent>();
  private readonly calls = new Map<string, Parent>();
  private readonly isHeld: (target: HoldTarget) => boolean;
  readonly shardCount: number;

  constructor(
    readonly ctx: IngestContext,
    private readonly parsed: ParsedRecords,
    readonly issues: IngestIssue[],
  ) {
    this.isHeld = holdMatcher(ctx.holds, ctx.now);
    this.shardCount = ctx.shardCount ?? DEFAULT_RETENTION_SHARDS;
    // Children may come before their conversation or call in the body.
    parsed.records.forEach((r, index) => {
      if (r === undefined || (r.type !== 'conversation' && r.type !== 'call')) return;
      const parents = r.type === 'conversation' ? this.conversations : this.calls;
      const earlier = parents.get(r.id);
      if (earlier !== undefined) this.report(index, 'id', `repeats the ${r.type} id of record ${earlier.index}`);
      else {
        const category: Category = r.type === 'call' ? 'call' : r.channel === 'whatsapp' ? 'whatsapp_conversation' : 'conversation';
        parents.set(r.id, { index, customerId: r.customerId, startedAt: r.startedAt, category });
      }
    });
  }

  get tenantId(): string {
    return this.ctx.tenantId;
  }

  report(index: number, field: string, message: string): void {
    this.issues.push({ index, field: `records.${index}.${field}`, message });
  }

  /** The normalised identifier, or undefined after reporting why it is invalid. */
  identifier(index: number, field: string, result: NormaliseResult): string | undefined {
    if (result.ok) return result.value;
    this.issues.push({ index, field: result.error.field ?? `records.${index}.${field}`, message: result.error.message });
    return undefined;
  }

  /**
   * A conversation or call, from this body or from the store: its start and category.
   * Reports a parent owned by another customer, and an unknown one when `required`.
   */
  parent(kind: 'conversation' | 'call', index: number, parentId: string, customerId: string, required: boolean): StoredParent | undefined {
    const inBody = (kind === 'conversation' ? this.conversations : this.calls).get(parentId);
    if (inBody !== undefined) {
      if (inBody.customerId === customerId) return { startedAt: inBody.startedAt, category: inBody.category };
      this.report(index, 'customerId', `does not match the customer of ${kind} ${parentId} (record ${inBody.index})`);
      return undefined;
    }
    if (this.parsed.invalidParents.has(`${kind}:${parentId}`)) return undefined; // reported on the parent already
    const found = kind === 'conversation' ? this.ctx.conversation(parentId, customerId) : this.ctx.call(parentId, customerId);
    const stored = found?.expired === true ? undefined : found;
    const startedAt = canonicalInstant(stored?.startedAt);
    if ((stored === undefined || startedAt === undefined) && required) {
      const field = kind === 'conversation' ? 'conversationId' : 'callId';
      this.report(index, field, `names ${kind} ${parentId}, which is neither in this body nor stored for customer ${customerId}`);
    }
    return stored === undefined || startedAt === undefined ? undefined : { startedAt, category: stored.category };
  }

  /**
   * Reports a conversation or call that is stored already with another start or
   * channel: the records under it carry its clock and category (the sweep finds
   * them due through it), so those facts cannot change once written.
   */
  keepsStoredParent(kind: 'conversation' | 'call', index: number, id: string, customerId: string, written: StoredParent): void {
    const stored = kind === 'conversation' ? this.ctx.conversation(id, customerId) : this.ctx.call(id, customerId);
    if (stored === undefined) return;
    if (canonicalInstant(stored.startedAt) !== written.startedAt) {
      this.report(index, 'startedAt', `cannot change for a stored ${kind} (it is ${canonicalInstant(stored.startedAt)}): the records under it are kept by it`);
    }
    if (stored.category !== written.category) {
      this.report(index, 'channel', `cannot move a stored ${kind} between WhatsApp and the other channels: the records under it are kept by its category`);
    }
  }

  /** An item with its retention keys and, unless held or uncapped, its TTL backstop. */
  governed(g: Governed): RecordItem {
    const held = this.isHeld(
      compact({
        tenantId: this.tenantId,
        category: g.category,
        subjectId: g.subjectId,
        conversationId: g.conversationId,
        callId: g.callId,
      }),
    );
    const placed = { tenantId: this.tenantId, pk: g.pk, sk: g.sk, id: g.id, category: g.category, clockStart: g.clockStart, parentClock: g.parent?.startedAt };
    const { retentionPk, retentionSk } = retentionKeysOf(placed, this.shardCount);
    return compact({
      pk: g.pk,
      sk: g.sk,
      tenantId: this.tenantId,
      category: g.category,
      id: g.id,
      subjectId: g.subjectId,
      parentSk: g.parentSk,
      conversationId: g.conversationId,
      callId: g.callId,
      clockStart: g.clockStart,
      parentClock: g.parent?.startedAt,
      parentCategory: g.parent?.category,
      expiresAt: held ? undefined : backstopExpiresAt(this.ctx.platform, g.category, new Date(g.clockStart)),
      retentionPk,
      retentionSk,
      blobBucket: g.blob?.bucket,
      blobKey: g.blob?.key,
      status: g.status,
      externalRef: g.externalRef,
      hasAccountAccess: g.hasAccountAccess,
      identifierPk: g.identifierPk,
      identifierSk: g.identifierSk,
      data: g.data === undefined ? undefined : compact(g.data),
    });
  }

  /** Adds an item unless another record of the body already writes the same key. */
  add(index: number, item: RecordItem): boolean {
    const key = JSON.stringify([item.pk, item.sk]);
    const owner = this.itemOwners.get(key);
    if (owner !== undefined) {
      this.report(index, 'id', `writes the same item as record ${owner}`);
      return false;
    }
    this.itemOwners.set(key, index);
    this.items.push(item);
    return true;
  }

  /** Places a blob under `<prefix>/<tenant>/<subject>/<id>` of its category's store; inline content becomes a blob write, absent content an upload. */
  placeBlob(index: number, category: Category, record: BlobRecord): { bucket: BucketName; key: string; size?: number } | undefined {
    const store = CATALOG[category].store;
    if (store.kind !== 'blob') throw new Error(`category ${category} is not stored as a blob`);
    const key = blobKey(store.prefix, this.tenantId, record.customerId, record.id);
    const owner = this.blobOwners.get(key);
    if (owner !== undefined) {
      this.report(index, 'id', `would store its content under the same key as record ${owner}`);
      return undefined;
    }
    this.blobOwners.set(key, index);
    if (record.contentBase64 === undefined) {
      this.uploads.push({ index, recordId: record.id, bucket: store.bucket, key, contentType: record.contentType });
      return { bucket: store.bucket, key };
    }
    const decoded = Buffer.from(record.contentBase64, 'base64');
    const body = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
    this.blobs.push({ bucket: store.bucket, key, contentType: record.contentType, body });
    return { bucket: store.bucket, key, size: body.byteLength };
  }
}

// One writer per record type. Each reports its own issues and adds its items.

function writeCustomer(b: Batch, r: RecordOf<'customer'>, index: number): void {
  const at = (field: string) => ({ field: `records.${index}.${field}` });
  const phones = (r.phones ?? []).map((p, j) =>
    b.identifier(index, `phones.${j}`, normalisePhone(p, { ...at(`phones.${j}`), defaultRegion: b.ctx.defaultPhoneRegion })),
  );
  const emails = (r.emails ?? []).map((e, j) => b.identifier(index, `emails.${j}`, normaliseEmail(e, at(`emails.${j}`))));
  const name = r.name === undefined ? undefined : b.identifier(index, 'name', normaliseName(r.name, at('name')));
  const externalId =
    r.externalId === undefined ? undefined : b.identifier(index, 'externalId', normaliseExternalId(r.externalId, at('externalId')));
  const firstContactAt = r.firstContactAt ?? r.lastContactAt;
  if (firstContactAt > r.lastContactAt) b.report(index, 'firstContactAt', 'must not be after lastContactAt');

  const pk = keys.subjectPk(b.tenantId, r.id);
  const profile = b.governed({
    pk,
    sk: keys.profileSk(),
    category: 'customer_profile',
    id: r.id,
    subjectId: r.id,
    clockStart: r.lastContactAt,
    data: {
      name: r.name?.trim(),
      phones: phones.length > 0 ? unique(phones) : undefined,
      emails: emails.length > 0 ? unique(emails) : undefined,
      externalId,
      firstContactAt,
      lastContactAt: r.lastContactAt,
      botId: r.botId,
    },
  });
  if (!b.add(index, profile)) return;

  const identifiers: [IdentifierKind, string | undefined][] = [
    ...unique(phones).map((v): [IdentifierKind, string] => ['PHONE', v]),
    ...unique(emails).map((v): [IdentifierKind, string] => ['EMAIL', v]),
    ['NAME', name],
    ['EXTERNAL', externalId],
  ];
  for (const [kind, normalised] of identifiers) {
    if (normalised === undefined) continue;
    // Identifier items go with their profile: indexed at its clock, on its shard, in the
    // identifiers' own partitions (swept once the profiles are done, and only where the
    // profile is gone), with its TTL backstop, since the identifier itself (in the key) is personal data.
    const identifier = {
      pk,
      sk: keys.identifierSk(kind, normalised),
      tenantId: b.tenantId,
      category: 'customer_profile' as const,
      id: r.id,
      subjectId: r.id,
      parentSk: keys.profileSk(),
      clockStart: profile.clockStart,
    };
    b.add(
      index,
      compact({
        ...identifier,
        expiresAt: profile.expiresAt,
        ...retentionKeysOf(identifier, b.shardCount),
        identifierPk: keys.identifierPk(b.tenantId, kind, normalised),
        identifierSk: r.id,
      }),
    );
  }
}

function writeConversation(b: Batch, r: RecordOf<'conversation'>, index: number): void {
  const category: Category = r.channel === 'whatsapp' ? 'whatsapp_conversation' : 'conversation';
  b.keepsStoredParent('conversation', index, r.id, r.customerId, { startedAt: r.startedAt, category });
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.conversationSk(r.id),
      category,
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.id,
      parentSk: keys.profileSk(),
      clockStart: r.startedAt,
      status: r.status,
      // Locator: finds the conversation's partition from its id alone (admin API, holds).
      identifierPk: keys.identifierPk(b.tenantId, 'CONVERSATION', r.id),
      identifierSk: r.customerId,
      data: { channel: r.channel, botId: r.botId, startedAt: r.startedAt, notes: r.notes },
    }),
  );
}

function writeMessage(b: Batch, r: RecordOf<'message'>, index: number): void {
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.messageSk(r.conversationId, r.sentAt, r.id),
      category: 'message',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: parent.startedAt,
      data: { direction: r.direction, sentAt: r.sentAt, text: r.text },
    }),
  );
}

function writeCommunicationLog(b: Batch, r: RecordOf<'communication_log'>, index: number): void {
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.communicationLogSk(r.conversationId, r.id),
      category: 'communication_log',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: parent.startedAt,
      data: { loggedAt: r.loggedAt, text: r.text },
    }),
  );
}

function writeMedia(b: Batch, r: RecordOf<'media'>, index: number): void {
  const category: Category = r.direction === 'inbound' ? 'inbound_media' : 'outbound_media';
  // Inbound media count from their own date where they have one; outbound media go with their conversation.
  const ownDate = category === 'inbound_media' ? r.sentAt : undefined;
  // Its conversation must be known (in the body or stored), whatever its own date: the sweep
  // finds media due with their conversation through the conversation's clock they carry.
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  const clockStart = ownDate ?? parent.startedAt;
  const blob = b.placeBlob(index, category, r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.mediaSk(r.conversationId, r.id),
      category,
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart,
      blob,
      data: { direction: r.direction, contentType: r.contentType, size: blob.size, sentAt: r.sentAt, messageId: r.messageId },
    }),
  );
}

function writeEmailAttachment(b: Batch, r: RecordOf<'email_attachment'>, index: number): void {
  // The clock starts at the attachment's own date; the conversation's (which must be known) can make it due earlier.
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  const blob = b.placeBlob(index, 'email_attachment', r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.attachmentSk(r.conversationId, r.id),
      category: 'email_attachment',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: r.sentAt,
      blob,
      data: { contentType: r.contentType, size: blob.size, sentAt: r.sentAt, messageId: r.messageId },
    }),
  );
}

function writeCall(b: Batch, r: RecordOf<'call'>, index: number): void {
  b.keepsStoredParent('call', index, r.id, r.customerId, { startedAt: r.startedAt, category: 'call' });
  const pk = keys.subjectPk(b.tenantId, r.customerId);
  const sk = keys.callSk(r.id);
  const call = b.governed({
    pk,
    sk,
    category: 'call',
    id: r.id,
    subjectId: r.customerId,
    callId: r.id,
    parentSk: keys.profileSk(),
    clockStart: r.startedAt,
    // Locator: finds the call's partition from its id alone (admin API, holds).
    identifierPk: keys.identifierPk(b.tenantId, 'CALL', r.id),
    identifierSk: r.customerId,
    data: { startedAt: r.startedAt, durationSeconds: r.durationSeconds },
  });
  if (!b.add(index, call) || r.thirdPartyRef === undefined) return;
  b.add(
    index,
    b.governed({
      pk,
      sk: keys.thirdPartyCallDataSk(r.id),
      category: 'third_party_call_data',
      id: r.id,
      subjectId: r.customerId,
      callId: r.id,
      parentSk: sk,
      parent: { startedAt: r.startedAt, category: 'call' },
      clockStart: r.startedAt,
      // Top level too: the sweep reads it from byRetention to call the provider.
      externalRef: r.thirdPartyRef,
      data: { ref: r.thirdPartyRef },
    }),
  );
}

function writeRecording(b: Batch, r: RecordOf<'recording'>, index: number): void {
  const parent = b.parent('call', index, r.callId, r.customerId, true);
  if (parent === undefined) return;
  const blob = b.placeBlob(index, 'call_recording', r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.recordingSk(r.callId, r.id),
      category: 'call_recording',
      id: r.id,
      subjectId: r.customerId,
      callId: r.callId,
      parentSk: keys.callSk(r.callId),
      parent,
      clockStart: parent.startedAt,
      blob,
      data: { contentType: r.contentType, size: blob.size },
    }),
  );
}

function writeWebhookDelivery(b: Batch, r: RecordOf<'webhook_delivery'>, index: number): void {
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.webhookDeliverySk(r.id),
      category: 'webhook_delivery',
      id: r.id,
      clockStart: r.deliveredAt,
      data: { deliveredAt: r.deliveredAt, url: r.url, statusCode: r.statusCode },
    }),
  );
}

function writeAnalyticsEvent(b: Batch, r: RecordOf<'analytics_event'>, index: number): void {
  const customer = r.customerId;
  b.add(
    index,
    b.governed({
      pk: customer === undefined ? keys.accountPk(b.tenantId) : keys.subjectPk(b.tenantId, customer),
      sk: keys.analyticsEventSk(r.id),
      category: 'analytics_event',
      id: r.id,
      subjectId: customer,
      parentSk: customer === undefined ? undefined : keys.profileSk(),
      clockStart: r.occurredAt,
      data: { name: r.name, occurredAt: r.occurredAt },
    }),
  );
}

function writeUser(b: Batch, r: RecordOf<'user'>, index: number): void {
  const email = b.identifier(index, 'email', normaliseEmail(r.email, { field: `records.${index}.email` }));
  b.add(
    index,
    b.governed({
      pk: keys.userPk(b.tenantId, r.id),
      sk: keys.userSk(),
      category: 'user',
      id: r.id,
      clockStart: r.lastSignInAt,
      // Top level too: the sweep keeps users with account access without reading the item.
      hasAccountAccess: r.hasAccountAccess,
      data: { email, lastSignInAt: r.lastSignInAt, hasAccountAccess: r.hasAccountAccess },
    }),
  );
}

function writeAdminActivityLog(b: Batch, r: RecordOf<'admin_activity_log'>, index: number): void {
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.adminActivitySk(r.occurredAt, r.id),
      category: 'admin_activity_log',
      id: r.id,
      clockStart: r.occurredAt,
      data: { occurredAt: r.occurredAt, actor: r.actor, action: r.action },
    }),
  );
}

function writeAccountConfig(b: Batch, r: RecordOf<'account_config'>, index: number): void {
  // The catalog's clock (contract end or account inactivity) is tenant data the sweep
  // applies; the item's own clock is its last change.
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.accountConfigSk(r.kind, r.id),
      category: 'account_config',
      id: r.id,
      clockStart: r.updatedAt,
      data: { kind: r.kind, updatedAt: r.updatedAt },
    }),
  );
}

const WRITERS: { readonly [T in IngestRecordType]: (b: Batch, r: RecordOf<T>, index: number) => void } = {
  customer: writeCustomer,
  conversation: writeConversation,
  message: writeMessage,
  call: writeCall,
  recording: writeRecording,
  media: writeMedia,
  email_attachment: writeEmailAttachment,
  webhook_delivery: writeWebhookDelivery,
  communication_log: writeCommunicationLog,
  analytics_event: writeAnalyticsEvent,
  user: writeUser,
  admin_activity_log: writeAdminActivityLog,
  account_config: writeAccountConfig,
};

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
  });
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

function unique(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}

function sortIssues(issues: IngestIssue[]): IngestIssue[] {
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => (a.issue.index ?? -1) - (b.issue.index ?? -1) || a.order - b.order)
    .map(({ issue }) => issue);
}
