/**
 * The state of writing one ingest body: what the writer is given (the tenant's
 * context, stored parents), what it produces (items, blobs, uploads) and the
 * checks shared by every record type (parents, identifiers, keys, TTL backstop).
 */
import { CATALOG, type BucketName, type Category } from '../catalog.js';
import { holdMatcher, type HoldTarget, type LegalHold } from '../holds.js';
import type { CountryCode, NormaliseResult } from '../identifiers.js';
import { backstopExpiresAt, holdLiftsBackstop, type PlatformPolicy } from '../policy.js';
import { blobKey, DEFAULT_RETENTION_SHARDS, retentionKeysOf, type RecordItem } from '../records.js';
import type { IngestIssue, ParsedRecords } from './parse.js';

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
/** Drops undefined-valued properties: DynamoDB marshalling rejects them, and absent reads better than undefined. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function canonicalInstant(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
interface Parent {
  readonly index: number;
  readonly customerId: string;
  readonly startedAt: string;
  readonly category: Category;
}
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
export class Batch {
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
      expiresAt: held && holdLiftsBackstop(this.ctx.platform, g.category) ? undefined : backstopExpiresAt(this.ctx.platform, g.category, new Date(g.clockStart)),
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
