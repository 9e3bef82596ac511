/**
 * The stored shape of governed records and the key formats of the records table
 * (DESIGN.md §3). The entity owns its keys: nothing else builds `pk`/`sk` strings.
 */
import type { BucketName, Category } from './catalog.js';

/**
 * Write shards of a tenant's `byRetention` partitions when the tenant names none.
 * One index partition takes about 1,000 writes a second; a sweep queries every
 * shard of every category, so shards cost reads on every run. A tenant that
 * ingests more than that into one category raises its `retentionShards`.
 */
export const DEFAULT_RETENTION_SHARDS = 1;
/** The most write shards a tenant may have. */
export const MAX_RETENTION_SHARDS = 16;

/** Primary key of one item in the records table. */
export interface RecordKey {
  readonly pk: string;
  readonly sk: string;
}

export type RecordStatus = 'open' | 'closed' | 'deleted';

/**
 * One item of the records table. Everything a sweep needs sits at the top level
 * (and is projected into `byRetention`); the personal data lives in `data` only.
 */
export interface RecordItem extends RecordKey {
  readonly tenantId: string;
  readonly category: Category;
  readonly id: string;
  /** The customer (data subject) the record belongs to, if any. */
  readonly subjectId?: string;
  /** `sk` of the parent record in the same partition, if any. */
  readonly parentSk?: string;
  readonly conversationId?: string;
  readonly callId?: string;
  /** ISO-8601 UTC instant at which the retention clock started. */
  readonly clockStart: string;
  /**
   * Clock start and category of the parent conversation or call, on the records
   * under one (messages, logs, media, attachments, recordings, third-party data):
   * such a record is due by its own clock or by its parent's, and is indexed
   * under the earlier of the two so that one index query finds it either way.
   */
  readonly parentClock?: string;
  readonly parentCategory?: Category;
  /**
   * Profiles only: an upper bound of the clock start of every record ever written
   * under the customer, kept by ingest (`raiseActivity`), and whether it is
   * known to cover the records written before the profile (`trackActivity`).
   * A sweep deletes a due profile without reading its partition only when the
   * bound proves that everything under it was due, and gone, earlier in the run.
   */
  readonly activityUntil?: string;
  readonly activityTracked?: boolean;
  /**
   * Profiles only: the earliest contact known of the customer, the earliest of
   * what customer records said (`firstContactAt`, else `lastContactAt`) and the
   * starts of the conversations and calls stored under her. Kept by ingest
   * (`lowerFirstContact`), which only ever moves it earlier; read it through
   * `firstContactOf`.
   */
  readonly firstContactAt?: string;
  /** Backstop for DynamoDB TTL, epoch seconds. Absent when held or indefinite. */
  readonly expiresAt?: number;
  /** `byRetention` GSI keys; absent on items that only go with their parent (identifiers). */
  readonly retentionPk?: string;
  readonly retentionSk?: string;
  /** `byIdentifier` GSI keys; only on identifier items. */
  readonly identifierPk?: string;
  readonly identifierSk?: string;
  readonly blobBucket?: BucketName;
  readonly blobKey?: string;
  readonly status?: RecordStatus;
  /** Provider reference of third-party call data (not personal data). */
  readonly externalRef?: string;
  /** Users only: whether the user still has access to the account. */
  readonly hasAccountAccess?: boolean;
  /** The record's payload. The only place personal data may live. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** What `byRetention` projects: enough to decide and perform a deletion. */
export type DueRecord = Pick<
  RecordItem,
  | 'pk'
  | 'sk'
  | 'tenantId'
  | 'category'
  | 'id'
  | 'subjectId'
  | 'parentSk'
  | 'conversationId'
  | 'callId'
  | 'clockStart'
  | 'parentClock'
  | 'parentCategory'
  | 'activityUntil'
  | 'activityTracked'
  | 'blobBucket'
  | 'blobKey'
  | 'status'
  | 'externalRef'
  | 'hasAccountAccess'
>;

/** Attributes projected into the `byRetention` index besides its keys and the table keys. */
export const RETENTION_PROJECTION: readonly string[] = [
  'tenantId',
  'category',
  'id',
  'subjectId',
  'parentSk',
  'conversationId',
  'callId',
  'clockStart',
  'parentClock',
  'parentCategory',
  'activityUntil',
  'activityTracked',
  'blobBucket',
  'blobKey',
  'status',
  'externalRef',
  'hasAccountAccess',
];

/**
 * Kinds of `byIdentifier` entries: a customer's identifiers (on `ID#…` items),
 * and locators that find a conversation's or call's partition from its id.
 */
export type IdentifierKind = 'PHONE' | 'EMAIL' | 'NAME' | 'EXTERNAL' | 'CONVERSATION' | 'CALL';

/**
 * A `byRetention` partition family: one per category, plus one for customers'
 * identifier items (category `customer_profile`, swept after the profiles).
 */
export type RetentionPartition = Category | 'customer_identifier';

/** The partition family of the identifier items. */
export const IDENTIFIER_PARTITION = 'customer_identifier' satisfies RetentionPartition;

/** Key formats of the records table. */
export const keys = {
  subjectPk: (tenantId: string, subjectId: string): string => `T#${tenantId}#S#${subjectId}`,
  accountPk: (tenantId: string): string => `T#${tenantId}#ACCOUNT`,
  userPk: (tenantId: string, userId: string): string => `T#${tenantId}#U#${userId}`,

  profileSk: (): string => 'PROFILE',
  identifierSk: (kind: IdentifierKind, normalised: string): string => `ID#${kind}#${normalised}`,
  conversationSk: (conversationId: string): string => `CONV#${conversationId}`,
  messageSk: (conversationId: string, sentAt: string, messageId: string): string =>
    `CONV#${conversationId}#MSG#${sentAt}#${messageId}`,
  mediaSk: (conversationId: string, mediaId: string): string => `CONV#${conversationId}#MEDIA#${mediaId}`,
  attachmentSk: (conversationId: string, attachmentId: string): string => `CONV#${conversationId}#ATT#${attachmentId}`,
  communicationLogSk: (conversationId: string, logId: string): string => `CONV#${conversationId}#LOG#${logId}`,
  callSk: (callId: string): string => `CALL#${callId}`,
  recordingSk: (callId: string, recordingId: string): string => `CALL#${callId}#REC#${recordingId}`,
  thirdPartyCallDataSk: (callId: string): string => `CALL#${callId}#TPD`,
  analyticsEventSk: (eventId: string): string => `EVT#${eventId}`,
  formSubmissionSk: (submissionId: string): string => `FORM#${submissionId}`,
  webSessionSk: (sessionId: string): string => `WEB#${sessionId}`,
  webhookDeliverySk: (deliveryId: string): string => `WEBHOOK#${deliveryId}`,
  adminActivitySk: (occurredAt: string, logId: string): string => `ADMINLOG#${occurredAt}#${logId}`,
  accountConfigSk: (kind: string, configId: string): string => `CONFIG#${kind}#${configId}`,
  userSk: (): string => 'USER',

  retentionPk: (tenantId: string, partition: RetentionPartition, shard: number): string => `T#${tenantId}#${partition}#${shard}`,
  retentionSk: (clockStart: string, id: string): string => `${clockStart}#${id}`,
  identifierPk: (tenantId: string, kind: IdentifierKind, normalised: string): string =>
    `T#${tenantId}#${kind}#${normalised}`,

  /** Prefix of every child `sk` of the record with this `sk`. */
  childPrefix: (sk: string): string => `${sk}#`,
} as const;

/**
 * Deterministic write shard of a record: FNV-1a over pk and sk, so the same record
 * always lands on the same shard and one busy tenant spreads over all of them.
 * Raising a tenant's shard count moves no existing record: a sweep queries
 * shards 0…n−1, which include every shard a smaller count ever wrote to.
 */
export function retentionShard(pk: string, sk: string, shardCount: number = DEFAULT_RETENTION_SHARDS): number {
  let hash = 0x811c9dc5;
  const text = `${pk}|${sk}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}

/** A record's key as one string (for maps and sets of keys). */
export function recordKeyString(key: RecordKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

/** Whether the item is one of a customer's identifier items (`ID#…`, beside the profile). */
export function isIdentifierSk(sk: string): boolean {
  return sk.startsWith('ID#');
}

/** The kind and normalised value an identifier item's `sk` names; undefined for any other `sk`. */
export function parseIdentifierSk(sk: string): { readonly kind: IdentifierKind; readonly value: string } | undefined {
  if (!isIdentifierSk(sk)) return undefined;
  const [, kind, ...value] = sk.split('#');
  // The normalised value may itself contain `#` (a name): it is everything after the kind.
  return { kind: kind as IdentifierKind, value: value.join('#') };
}

/**
 * The `sk`s of every possible ancestor of a record in its partition: the
 * records whose key prefixes its own (a conversation above its messages), and
 * the profile above everything of a customer.
 */
export function ancestorSks(sk: string): string[] {
  if (sk === keys.profileSk()) return [];
  const parts = sk.split('#');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('#'));
  out.push(keys.profileSk());
  return out;
}

/** The instant a record is indexed at: the earlier of its own clock start and its parent's. */
export function indexClock(item: Pick<RecordItem, 'clockStart' | 'parentClock'>): string {
  return item.parentClock !== undefined && item.parentClock < item.clockStart ? item.parentClock : item.clockStart;
}

/**
 * The `byRetention` keys of an item: identifiers in their own partition family,
 * on the shard of their profile and at its clock; every other item under its
 * category at its index clock.
 */
export function retentionKeysOf(
  item: Pick<RecordItem, 'tenantId' | 'pk' | 'sk' | 'id' | 'category' | 'clockStart' | 'parentClock'>,
  shardCount: number,
): { readonly retentionPk: string; readonly retentionSk: string } {
  if (isIdentifierSk(item.sk)) {
    return {
      retentionPk: keys.retentionPk(item.tenantId, IDENTIFIER_PARTITION, retentionShard(item.pk, keys.profileSk(), shardCount)),
      retentionSk: keys.retentionSk(item.clockStart, item.id),
    };
  }
  return {
    retentionPk: keys.retentionPk(item.tenantId, item.category, retentionShard(item.pk, item.sk, shardCount)),
    retentionSk: keys.retentionSk(indexClock(item), item.id),
  };
}

/** Categories whose start is a contact of the customer: her first contact is the earliest of them when her records do not say. */
export const CONTACT_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation', 'call']);

/** The earliest start of a conversation or call among `items` (top-level records of a customer's partition). */
export function earliestContact(items: readonly Pick<RecordItem, 'sk' | 'category' | 'clockStart' | 'conversationId' | 'callId'>[]): string | undefined {
  let earliest: string | undefined;
  for (const item of items) {
    if (!CONTACT_CATEGORIES.has(item.category)) continue;
    // The conversation or call itself, not a record under it.
    const own = item.category === 'call' ? item.callId !== undefined && item.sk === keys.callSk(item.callId) : item.conversationId !== undefined && item.sk === keys.conversationSk(item.conversationId);
    if (own && (earliest === undefined || item.clockStart < earliest)) earliest = item.clockStart;
  }
  return earliest;
}

/**
 * A customer's first contact: the profile's kept `firstContactAt` (see
 * `RecordItem`), or what its record said where that is earlier or the profile
 * predates the kept value; else its last contact.
 */
export function firstContactOf(profile: Pick<RecordItem, 'firstContactAt' | 'clockStart' | 'data'>): string {
  const data = (profile.data ?? {}) as { readonly firstContactAt?: unknown; readonly lastContactAt?: unknown };
  const said = typeof data.firstContactAt === 'string' ? data.firstContactAt : undefined;
  const kept = profile.firstContactAt;
  if (kept !== undefined && said !== undefined) return kept < said ? kept : said;
  return kept ?? said ?? (typeof data.lastContactAt === 'string' ? data.lastContactAt : profile.clockStart);
}

/**
 * An analytics event of a customer as it stays once unlinked from her: in the
 * account's partition, under its own id, without her id, her profile as
 * parent, or anything else of hers; with its own category, clock and TTL
 * backstop, so a sweep still deletes it when its own period ends. The key
 * depends on the event alone (an event id names one event of the tenant), so
 * moving it twice writes one item.
 */
export function unlinkedAnalyticsEvent(event: RecordItem, shardCount: number): RecordItem {
  const placed = {
    pk: keys.accountPk(event.tenantId),
    sk: keys.analyticsEventSk(event.id),
    tenantId: event.tenantId,
    category: event.category,
    id: event.id,
    clockStart: event.clockStart,
  };
  return {
    ...placed,
    ...retentionKeysOf(placed, shardCount),
    ...(event.expiresAt !== undefined && { expiresAt: event.expiresAt }),
    ...(event.data !== undefined && { data: event.data }),
  };
}

/** Write shards of a tenant's `byRetention` partitions. */
export function retentionShardsOf(tenant: { readonly retentionShards?: number }): number {
  return tenant.retentionShards ?? DEFAULT_RETENTION_SHARDS;
}

/** Object key of a blob: `<prefix>/<tenant>/<subject>/<id>` (DESIGN.md §3). */
export function blobKey(prefix: string, tenantId: string, subjectId: string, id: string): string {
  return `${prefix}/${tenantId}/${subjectId}/${id}`;
}

/** The parts of a blob's object key, or undefined when the key is not `<prefix>/<tenant>/<subject>/<id>`. */
export function parseBlobKey(key: string): { readonly prefix: string; readonly tenantId: string; readonly subjectId: string; readonly id: string } | undefined {
  const parts = key.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const [prefix, tenantId, subjectId, id] = parts as [string, string, string, string];
  return { prefix, tenantId, subjectId, id };
}
