/**
 * Ports: the small interfaces, in the domain's words, that use cases depend on.
 * Adapters in `shared/adapters/` implement them against DynamoDB, S3, SES, HTTP
 * and Step Functions (the local runtime has in-process ones), and import only
 * the domain. The entities they carry live in their own modules (`tenant.ts`,
 * `receipt.ts`, `audit.ts`, `policy.ts`, `holds.ts`, `records.ts`,
 * `privacy/request.ts`).
 */
import type { AuditEvent } from './audit.js';
import type { BucketName } from './catalog.js';
import type { DeletionTask } from './deletion/task.js';
import type { LegalHold } from './holds.js';
import type { PolicyRevision, TenantPolicy } from './policy.js';
import type { PrivacyRequest } from './privacy/request.js';
import type { Receipt } from './receipt.js';
import type { DueRecord, IdentifierKind, RecordItem, RecordKey, RetentionPartition } from './records.js';
import type { Tenant, TenantStatus, ThirdPartyEndpoint } from './tenant.js';

export interface Clock {
  now(): Date;
}

/** A page of results with an opaque continuation cursor (absent on the last page). */
export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

export interface FindDueOptions {
  /** Write shards of the tenant's partitions (`retentionShardsOf(tenant)`); every one is queried. */
  readonly shards: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  /** Upper bound on items per page (default 500). */
  readonly limit?: number;
}

/** What `putProfiles` did. */
export interface PutProfilesResult {
  /** Profiles written whose watermark is not tracked yet (new ones among them), for `trackActivity` once the body is written. */
  readonly untracked: RecordKey[];
  /** Profiles left as they were, the stored one having a later last contact. */
  readonly stale: RecordKey[];
}

/** A raise of a customer's activity watermark: its profile's `activityUntil` becomes at least `until`. */
export interface ActivityRaise {
  /** The customer's partition. */
  readonly pk: string;
  readonly until: string;
}

/** A lowering of a customer's first contact: its profile's `firstContactAt` becomes at most `at`. */
export interface FirstContactLower {
  /** The customer's partition. */
  readonly pk: string;
  readonly at: string;
}

export interface BatchResult<K> {
  readonly succeeded: K[];
  readonly failed: { readonly key: K; readonly reason: string }[];
}

export interface UpdateChanges {
  /** Top-level attributes to set. */
  readonly set?: Readonly<Record<string, unknown>>;
  /** Top-level attributes to remove. */
  readonly remove?: readonly string[];
}

export interface UpdateCondition {
  /** The item must exist (default true). */
  readonly exists?: boolean;
  /** Top-level attributes that must currently equal these values. */
  readonly equals?: Readonly<Record<string, unknown>>;
}

export interface PartitionQueryOptions {
  readonly skPrefix?: string;
  /**
   * Also items past their TTL backstop that DynamoDB has not removed yet. Reads
   * hide them; the deletion path must see them, or an erasure would leave them.
   */
  readonly includeExpired?: boolean;
}

/** The governed records (records table). */
export interface RecordStore {
  /** Writes items (overwriting same keys); retries unprocessed items until all are written. */
  putBatch(items: readonly RecordItem[]): Promise<void>;
  /** Every item of a partition, optionally only those whose `sk` starts with `skPrefix`. */
  findByPartition(pk: string, options?: PartitionQueryOptions): Promise<RecordItem[]>;
  /** Every item of one data subject (customer). */
  findBySubject(tenantId: string, subjectId: string, options?: Pick<PartitionQueryOptions, 'includeExpired'>): Promise<RecordItem[]>;
  /** One item, or undefined. Honours the TTL backstop: an item past `expiresAt` reads as absent. */
  get(key: RecordKey): Promise<RecordItem | undefined>;
  /**
   * The items that exist among `keys` (strongly consistent, in no particular
   * order). Items past their TTL backstop are included: the deletion path must
   * see what DynamoDB has not removed yet.
   */
  getBatch(keys: readonly RecordKey[]): Promise<RecordItem[]>;
  /**
   * Index entries of a partition family (a category, or the identifiers) whose
   * index clock is strictly before `cutoff`, over every shard, paged. The index
   * clock is the record's clock start, or its parent's where that is earlier
   * (`indexClock`), so the callers re-check which of the two is past its cutoff.
   */
  findDueForDeletion(
    tenantId: string,
    partition: RetentionPartition,
    cutoff: Date,
    options: FindDueOptions,
  ): Promise<Page<DueRecord>>;
  /** Subjects (customer ids) carrying an identifier; `normalised` as produced by the identifier normalisers. */
  findByIdentifier(tenantId: string, kind: IdentifierKind, normalised: string): Promise<string[]>;
  /**
   * Deletes items in batches of 25, retrying `UnprocessedItems` with backoff and
   * jitter; keys still unprocessed after the retry budget come back as failed.
   */
  deleteBatch(keys: readonly RecordKey[]): Promise<BatchResult<RecordKey>>;
  /** Conditional update; resolves false when the condition does not hold. */
  update(key: RecordKey, changes: UpdateChanges, condition?: UpdateCondition): Promise<boolean>;
  /**
   * Writes customer profiles (`sk` PROFILE), creating them or replacing every
   * attribute but the activity watermark (`activityUntil`, `activityTracked`),
   * which only `raiseActivity` and `trackActivity` change. A profile whose
   * stored clock (last contact) is later than the one given is left as it is:
   * the last contact only moves forward.
   */
  putProfiles(profiles: readonly RecordItem[]): Promise<PutProfilesResult>;
  /**
   * Writes items whose clock only moves forward (users: the last sign-in), each
   * unless the stored one's clock is later. Resolves to the keys left as they were.
   */
  putLatest(items: readonly RecordItem[]): Promise<RecordKey[]>;
  /** Raises the watermark of each existing profile to at least `until`; creates nothing. */
  raiseActivity(raises: readonly ActivityRaise[]): Promise<void>;
  /**
   * Lowers the first contact (`firstContactAt`) of each existing profile to
   * `at` where it is later or absent, in one conditional write each; creates
   * nothing, and `putProfiles` leaves it as it is, so it only moves earlier.
   */
  lowerFirstContact(lowers: readonly FirstContactLower[]): Promise<void>;
  /**
   * Makes a profile's watermark cover every record already in its partition:
   * reads the partition, raises `activityUntil` to the latest clock start in it,
   * then marks the profile tracked. Writes after the read raise it themselves.
   */
  trackActivity(pk: string): Promise<void>;
}

/**
 * Crypto-shredding (DESIGN.md §3): destroys the keys that keep stored copies
 * of deleted data readable — in backups, in old object versions.
 */
export interface KeyShredder {
  /**
   * Destroys the subject key of a customer's or user's partition once nothing
   * of it is left in the records table; resolves whether a key was destroyed.
   */
  shredSubject(pk: string): Promise<boolean>;
  /**
   * Destroys the tenant's epoch keys whose day ended before its partition
   * family's cutoff and of which no record is left (a held or failed one keeps
   * its key); resolves how many.
   */
  shredEpochs(tenantId: string, cutoffs: ReadonlyMap<RetentionPartition, Date>, shards: number): Promise<number>;
}

export interface BlobObject {
  readonly key: string;
  readonly size: number;
}

/**
 * Whose data a blob is, for crypto-shredding (DESIGN.md §3): the record that
 * points to it (sealed under that record's subject and epoch keys, so erasure
 * and the sweep's shredding cover it), or the subjects of an access export
 * (sealed under their subject keys alone: no sweep deletes an export by age).
 */
export type BlobOwner =
  | Pick<RecordItem, 'tenantId' | 'pk' | 'sk' | 'category' | 'clockStart' | 'retentionPk' | 'retentionSk'>
  | { readonly tenantId: string; readonly subjectPks: readonly string[] };

/** A stored blob's content and the content type it was stored with. */
export interface StoredBlob {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** Blob storage (S3 buckets `recordings`, `media`, `exports`). */
export interface BlobStore {
  /** Stores a blob; with `owner`, a store that seals blobs seals it under the owner's keys (others ignore it). */
  put(bucket: BucketName, key: string, body: Uint8Array | string, contentType: string, owner?: BlobOwner): Promise<void>;
  /** The content; undefined when there is none, or it can no longer be opened (its keys were shredded). */
  get(bucket: BucketName, key: string): Promise<Uint8Array | undefined>;
  /** The content and its content type, as `get`. */
  read(bucket: BucketName, key: string): Promise<StoredBlob | undefined>;
  list(bucket: BucketName, prefix: string): Promise<BlobObject[]>;
  /**
   * Deletes objects (every version where the bucket is versioned), at most 1000
   * keys per request; per-key errors come back as failed, never thrown.
   */
  deleteBatch(bucket: BucketName, keys: readonly string[]): Promise<BatchResult<string>>;
  /** Sets or clears an Object Lock legal hold; 'unsupported' where the bucket has no Object Lock. */
  setLegalHold(bucket: BucketName, key: string, on: boolean): Promise<'applied' | 'unsupported'>;
  /**
   * A link that serves the content for `expiresInSeconds`: a pre-signed GET
   * URL, or (sealed blobs, whose stored bytes are ciphertext) a download link
   * of the API, which opens them.
   */
  presignGet(bucket: BucketName, key: string, expiresInSeconds: number): Promise<string>;
  /**
   * A pre-signed PUT URL for the content of `key`; a sealing store has it land
   * in quarantine (`quarantine/<key>`), whence the blob guard seals it into place.
   */
  presignPut(bucket: BucketName, key: string, contentType: string, expiresInSeconds: number): Promise<string>;
}

export interface AuditListOptions {
  readonly limit?: number;
  /** The position of the last event of the previous page. */
  readonly before?: Pick<AuditEvent, 'at' | 'eventId'>;
}

/** Control data: tenants, policies, holds, receipts, audit. Holds no raw PII. */
export interface ControlStore {
  putTenant(tenant: Tenant): Promise<void>;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  /** The tenants that exist among `tenantIds` (one batched read), in no particular order. */
  getTenants(tenantIds: readonly string[]): Promise<Tenant[]>;
  listTenants(options?: { readonly status?: TenantStatus }): Promise<Tenant[]>;
  /** Sets `lastActivityAt` if later than the stored one. */
  touchTenantActivity(tenantId: string, at: string): Promise<void>;

  getPolicy(tenantId: string): Promise<TenantPolicy | undefined>;
  /** The current policies of those tenants that have one (one batched read). */
  getPolicies(tenantIds: readonly string[]): Promise<TenantPolicy[]>;
  /**
   * Saves a new policy version; fails with a `ConcurrentModificationError` when the
   * stored version is not `expectedVersion` (0 = none yet). Appends to history.
   */
  savePolicy(revision: PolicyRevision, expectedVersion: number): Promise<void>;
  policyHistory(tenantId: string): Promise<PolicyRevision[]>;

  putHold(hold: LegalHold): Promise<void>;
  getHold(tenantId: string, holdId: string): Promise<LegalHold | undefined>;
  listHolds(tenantId: string, options?: { readonly activeAt?: Date }): Promise<LegalHold[]>;

  putReceipt(receipt: Receipt): Promise<void>;
  /** Writes several receipts in batched requests (a run over a group of tenants). */
  putReceipts(receipts: readonly Receipt[]): Promise<void>;
  getReceipt(tenantId: string, runId: string): Promise<Receipt | undefined>;
  /** The receipts that exist among `refs` (one batched read), in no particular order. */
  getReceipts(refs: readonly { readonly tenantId: string; readonly runId: string }[]): Promise<Receipt[]>;
  listReceipts(tenantId: string, options?: { readonly limit?: number }): Promise<Receipt[]>;

  /** A manual deletion's continuation (see `deletion/task.ts`): written whole, read by id. */
  putDeletionTask(task: DeletionTask): Promise<void>;
  getDeletionTask(tenantId: string, taskId: string): Promise<DeletionTask | undefined>;
  /** The tenant's deletion tasks, in no particular order (few: one per manual deletion that outlived its request). */
  listDeletionTasks(tenantId: string): Promise<DeletionTask[]>;

  appendAudit(event: AuditEvent): Promise<void>;
  /** Newest first; with `before`, only the events listed after that one (for paging). */
  listAudit(tenantId: string, options?: AuditListOptions): Promise<AuditEvent[]>;
}

export interface MailMessage {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** Third-party call data held by an external provider. */
export interface ExternalDataProvider {
  /**
   * Deletes the provider's data for a call reference; a missing one counts as
   * deleted. Answers or fails within its own time-out per attempt, and, when
   * given a budget, neither runs an attempt nor retries past it.
   */
  deleteCallData(
    tenant: Tenant,
    endpoint: ThirdPartyEndpoint,
    ref: string,
    options?: { readonly budgetMs?: number },
  ): Promise<'deleted' | 'not_found'>;
}

/** Starts a deletion run: a `Sweep` execution for one tenant, named by the run id. */
export interface SweepStarter {
  start(input: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }): Promise<void>;
}

export interface PrivacyRequestStore {
  put(request: PrivacyRequest): Promise<void>;
  get(tenantId: string, requestId: string): Promise<PrivacyRequest | undefined>;
  list(tenantId: string, options?: { readonly limit?: number }): Promise<PrivacyRequest[]>;
  /**
   * Claims an idempotency key for a request id: returns the id already bound to
   * the key, or binds `requestId` and returns it.
   */
  claimIdempotencyKey(tenantId: string, key: string, requestId: string): Promise<string>;
}

/**
 * Starts a `PrivacyRequest` execution. The execution name is the request id (or
 * `<requestId>-resume-<n>` when a hold release resumes it), so a repeated start
 * under one name runs nothing twice: starting a name already started is no error.
 */
export interface PrivacyStarter {
  start(input: { readonly tenantId: string; readonly requestId: string; readonly executionName: string }): Promise<void>;
}

/**
 * Starts a `Hold` execution, which applies or releases a legal hold on the
 * stored records in chunks (`holdStep`). Named per hold and action, so a
 * repeated start under one name runs nothing twice.
 */
export interface HoldWorkStarter {
  start(input: { readonly tenantId: string; readonly holdId: string; readonly executionName: string }): Promise<void>;
}

/**
 * Starts a `Deletion` execution, which finishes a manual deletion its request
 * could not (`DeletionTask`). Named by the task id, so a repeated start runs
 * nothing twice.
 */
export interface DeletionWorkStarter {
  start(input: { readonly tenantId: string; readonly taskId: string; readonly executionName: string }): Promise<void>;
}
