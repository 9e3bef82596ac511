/**
 * The control table behind the `ControlStore` port. The store persists what it
 * is given and adds nothing: callers hand it PII-free objects (hashed subject
 * references, opaque ids), and it never copies anything from the records table.
 *
 * Item layout (pk / sk), one item collection per tenant so that everything of a
 * tenant is one Query away and one tenant's traffic never touches another's:
 *
 * | pk            | sk                         | holds                                        |
 * |---------------|----------------------------|----------------------------------------------|
 * | `TENANTS`     | `<tenantId>`               | the tenant (small registry, listed by sweeps) |
 * | `TENANT#<t>`  | `POLICY`                   | current policy + the revision that made it   |
 * | `TENANT#<t>`  | `POLICY#V#<000001>`        | one history entry per version                |
 * | `TENANT#<t>`  | `HOLD#<holdId>`            | a legal hold                                 |
 * | `TENANT#<t>`  | `DELTASK#<taskId>`         | a manual deletion's continuation             |
 * | `TENANT#<t>`  | `RUN#<runId>`              | a run receipt, read by id                    |
 * | `TENANT#<t>`  | `RUNAT#<startedAt>#<runId>`| the same receipt, listed newest first        |
 * | `TENANT#<t>`  | `AUDIT#<at>#<eventId>`     | an audit event, listed newest first          |
 * | `TENANT#<t>`  | `WM#<partition>#<shard>`   | a retention watermark (sweep/watermarks.ts)  |
 *
 * Instants in sort keys are `Date#toISOString()` strings, so string order is time
 * order. Every item carries `type`; domain fields sit at the top level so
 * conditions can name them.
 *
 * The batched methods (`getTenants`, `getPolicies`, `getReceipts`,
 * `putReceipts`) read and write exactly the items of their single-item
 * counterparts, and send again what DynamoDB leaves unprocessed, with
 * full-jitter backoff (failed requests are the client's to retry).
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../../domain/audit.js';
import type { DeletionTask } from '../../domain/deletion/task.js';
import { ConcurrentModificationError, ValidationError } from '../../domain/errors.js';
import { isHoldActive, type LegalHold } from '../../domain/holds.js';
import type { PolicyRevision, TenantPolicy } from '../../domain/policy.js';
import type { AuditListOptions, ControlStore } from '../../domain/ports.js';
import type { Receipt } from '../../domain/receipt.js';
import type { RetentionWatermarks, Watermark, WatermarkKey, WatermarkLower } from '../../domain/sweep/watermarks.js';
import type { Tenant, TenantStatus } from '../../domain/tenant.js';
import {
  IncompleteBatchWriteError,
  chunk,
  errorName,
  mapConcurrent,
  retryOptions,
  type RetryOptions,
  IncompleteBatchReadError,
} from '../retry.js';
import { BATCH_GET_MAX, readChunk, writeChunk, type BatchLeftover } from './batch.js';

const TENANTS_PK = 'TENANTS';
const POLICY_SK = 'POLICY';
const POLICY_HISTORY_PREFIX = 'POLICY#V#';
const HOLD_PREFIX = 'HOLD#';
const DELETION_TASK_PREFIX = 'DELTASK#';
const RUN_PREFIX = 'RUN#';
const RUN_BY_START_PREFIX = 'RUNAT#';
const AUDIT_PREFIX = 'AUDIT#';
const WATERMARK_PREFIX = 'WM#';
/** Watermark updates in flight at once (ingest sends one per partition-shard of a batch). */
const WATERMARK_CONCURRENCY = 8;

/** BatchWriteItem takes at most 25 requests: 12 receipts of two items each. */
const RECEIPTS_PER_BATCH_WRITE = 12;
/** Batch requests in flight at once; control batches are a few hundred keys at most. */
const BATCH_CONCURRENCY = 4;

/** Key formats of the control table. */
export const controlKeys = {
  tenantPk: (tenantId: string): string => `TENANT#${tenantId}`,
  policyVersionSk: (version: number): string => `${POLICY_HISTORY_PREFIX}${String(version).padStart(6, '0')}`,
  holdSk: (holdId: string): string => `${HOLD_PREFIX}${holdId}`,
  deletionTaskSk: (taskId: string): string => `${DELETION_TASK_PREFIX}${taskId}`,
  runSk: (runId: string): string => `${RUN_PREFIX}${runId}`,
  runByStartSk: (startedAt: string, runId: string): string => `${RUN_BY_START_PREFIX}${startedAt}#${runId}`,
  auditSk: (at: string, eventId: string): string => `${AUDIT_PREFIX}${at}#${eventId}`,
  watermarkSk: (partition: string, shard: number): string => `${WATERMARK_PREFIX}${partition}#${shard}`,
} as const;

export interface DynamoControlStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Rounds and backoff of the batched methods' loops over unprocessed keys and items (default 8 rounds, full jitter). */
  readonly retry?: Partial<RetryOptions>;
}


interface PolicyItem {
  readonly version: number;
  readonly revision: PolicyRevision;
}

interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

type Item = Record<string, unknown>;

interface PutRequest {
  readonly PutRequest: { readonly Item: Item };
}

/** What one chunk of a batch left undone when the budget ran out, and why. */
type Leftover<T> = BatchLeftover<T>;

export class DynamoControlStore implements ControlStore, RetentionWatermarks {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retry: RetryOptions;

  constructor(options: DynamoControlStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.retry = retryOptions(options.retry);
  }

  async putTenant(tenant: Tenant): Promise<void> {
    await this.put({ ...tenant, pk: TENANTS_PK, sk: tenant.tenantId, type: 'tenant' });
  }

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return this.get<Tenant>(TENANTS_PK, tenantId);
  }

  async getTenants(tenantIds: readonly string[]): Promise<Tenant[]> {
    return this.batchGet<Tenant>(tenantIds.map((tenantId) => ({ pk: TENANTS_PK, sk: tenantId })));
  }

  async listTenants(options: { readonly status?: TenantStatus } = {}): Promise<Tenant[]> {
    const { status } = options;
    return this.query<Tenant>({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TENANTS_PK, ...(status !== undefined && { ':status': status }) },
      ...(status !== undefined && {
        FilterExpression: '#status = :status',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    });
  }

  async touchTenantActivity(tenantId: string, at: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: TENANTS_PK, sk: tenantId },
          UpdateExpression: 'SET #last = :at',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#last) OR #last < :at)',
          ExpressionAttributeNames: { '#last': 'lastActivityAt' },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (error) {
      // Not later than the stored instant (or no such tenant): nothing to do.
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async getPolicy(tenantId: string): Promise<TenantPolicy | undefined> {
    const item = await this.get<PolicyItem>(controlKeys.tenantPk(tenantId), POLICY_SK);
    return item?.revision.policy;
  }

  async getPolicies(tenantIds: readonly string[]): Promise<TenantPolicy[]> {
    const keys = tenantIds.map((tenantId) => ({ pk: controlKeys.tenantPk(tenantId), sk: POLICY_SK }));
    const items = await this.batchGet<PolicyItem>(keys);
    return items.map((item) => item.revision.policy);
  }

  /**
   * Without transactions (dynalite has no TransactWriteItems) the two writes of a
   * save cannot be atomic, so their order decides what a crash between them
   * leaves behind:
   *
   * 1. The current item is written first, conditional on `expectedVersion`. This
   *    is the one decision point: exactly one writer wins each version, and the
   *    current item keeps the whole revision that won.
   * 2. Then the history item of the new version, and again the one of the
   *    version it replaced (taken from the old current item, `ReturnValues:
   *    ALL_OLD`). Both are plain, idempotent puts of content fixed in step 1.
   *
   * A crash after step 1 leaves at most the newest entry missing from history;
   * `policyHistory` fills it in from the current item, and the next save writes
   * it for good. Writing history first instead (attribute_not_exists) would
   * leave, after such a crash, an entry for a version that never became current
   * and a version number no writer could ever claim again: the tenant's policy
   * would be stuck.
   */
  async savePolicy(revision: PolicyRevision, expectedVersion: number): Promise<void> {
    if (revision.version !== expectedVersion + 1 || revision.policy.version !== revision.version) {
      throw new ValidationError(
        'version',
        `a revision saved over version ${expectedVersion} must be version ${expectedVersion + 1}`,
      );
    }
    const pk = controlKeys.tenantPk(revision.policy.tenantId);
    let replaced: PolicyRevision | undefined;
    try {
      const output = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: POLICY_SK, type: 'policy', version: revision.version, revision },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :expected',
          ...(expectedVersion !== 0 && { ExpressionAttributeValues: { ':expected': expectedVersion } }),
          ReturnValues: 'ALL_OLD',
        }),
      );
      replaced = (output.Attributes as PolicyItem | undefined)?.revision;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      throw new ConcurrentModificationError(
        `the retention policy changed since version ${expectedVersion} was read; read it again and retry`,
        { cause: error },
      );
    }
    const history = replaced === undefined ? [revision] : [revision, replaced];
    await Promise.all(
      history.map((r) =>
        this.put({ pk, sk: controlKeys.policyVersionSk(r.version), type: 'policy_revision', version: r.version, revision: r }),
      ),
    );
  }

  /** Newest first. */
  async policyHistory(tenantId: string): Promise<PolicyRevision[]> {
    const pk = controlKeys.tenantPk(tenantId);
    const [entries, current] = await Promise.all([
      this.query<PolicyItem>({
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': POLICY_HISTORY_PREFIX },
        ScanIndexForward: false,
      }),
      this.get<PolicyItem>(pk, POLICY_SK),
    ]);
    const revisions = entries.map((e) => e.revision);
    if (current !== undefined && !revisions.some((r) => r.version === current.version)) {
      revisions.push(current.revision);
    }
    return revisions.sort((a, b) => b.version - a.version);
  }

  async putHold(hold: LegalHold): Promise<void> {
    await this.put({ ...hold, pk: controlKeys.tenantPk(hold.tenantId), sk: controlKeys.holdSk(hold.holdId), type: 'hold' });
  }

  async getHold(tenantId: string, holdId: string): Promise<LegalHold | undefined> {
    return this.get<LegalHold>(controlKeys.tenantPk(tenantId), controlKeys.holdSk(holdId));
  }

  async putDeletionTask(task: DeletionTask): Promise<void> {
    await this.put({ ...task, pk: controlKeys.tenantPk(task.tenantId), sk: controlKeys.deletionTaskSk(task.taskId), type: 'deletion_task' });
  }

  async getDeletionTask(tenantId: string, taskId: string): Promise<DeletionTask | undefined> {
    return this.get<DeletionTask>(controlKeys.tenantPk(tenantId), controlKeys.deletionTaskSk(taskId));
  }

  async listDeletionTasks(tenantId: string): Promise<DeletionTask[]> {
    return this.query<DeletionTask>({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': controlKeys.tenantPk(tenantId), ':prefix': DELETION_TASK_PREFIX },
    });
  }

  /** Newest first; with `activeAt`, only the holds in force at that instant. */
  async listHolds(tenantId: string, options: { readonly activeAt?: Date } = {}): Promise<LegalHold[]> {
    const holds = await this.query<LegalHold>({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': controlKeys.tenantPk(tenantId), ':prefix': HOLD_PREFIX },
    });
    const { activeAt } = options;
    return holds
      .filter((hold) => activeAt === undefined || isHoldActive(hold, activeAt))
      .sort((a, b) => compareDesc(a.createdAt, b.createdAt) || compareDesc(a.holdId, b.holdId));
  }

  /** Writes the receipt under its id and under its start time; a run's `startedAt` never changes. */
  async putReceipt(receipt: Receipt): Promise<void> {
    await Promise.all(receiptItems(receipt).map((item) => this.put(item)));
  }

  /**
   * Both items of each receipt go in the same request. A run named twice is
   * written once, as its last receipt in the list: the state that writing them
   * one by one would leave.
   */
  async putReceipts(receipts: readonly Receipt[]): Promise<void> {
    const unique = [...new Map(receipts.map((r) => [keyString(receiptKey(r)), r])).values()];
    const requests = chunk(unique, RECEIPTS_PER_BATCH_WRITE).map((part) =>
      part.flatMap(receiptItems).map((item) => ({ PutRequest: { Item: item } })),
    );
    const leftovers = await mapConcurrent(requests, BATCH_CONCURRENCY, (part) => this.writeChunk(part));
    const unwritten = leftovers.flatMap((l) => l.pending);
    if (unwritten.length > 0) {
      const first = leftovers.find((l) => l.pending.length > 0);
      throw new IncompleteBatchWriteError(
        `${unwritten.length} of ${unique.length * 2} receipt items were not written (${first?.reason ?? 'unknown'})`,
        unwritten.length,
        { cause: first?.error },
      );
    }
  }

  async getReceipt(tenantId: string, runId: string): Promise<Receipt | undefined> {
    return this.get<Receipt>(controlKeys.tenantPk(tenantId), controlKeys.runSk(runId));
  }

  async getReceipts(refs: readonly { readonly tenantId: string; readonly runId: string }[]): Promise<Receipt[]> {
    return this.batchGet<Receipt>(refs.map(receiptKey));
  }

  /** Newest first by start time. */
  async listReceipts(tenantId: string, options: { readonly limit?: number } = {}): Promise<Receipt[]> {
    return this.query<Receipt>(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': controlKeys.tenantPk(tenantId), ':prefix': RUN_BY_START_PREFIX },
        ScanIndexForward: false,
      },
      options.limit,
    );
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.put({
      ...event,
      pk: controlKeys.tenantPk(event.tenantId),
      sk: controlKeys.auditSk(event.at, event.eventId),
      type: 'audit',
    });
  }

  /** Newest first; `before` pages on from the event at that position (exclusive). */
  async listAudit(tenantId: string, options: AuditListOptions = {}): Promise<AuditEvent[]> {
    const pk = controlKeys.tenantPk(tenantId);
    const { before, limit } = options;
    if (before === undefined) {
      return this.query<AuditEvent>(
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': AUDIT_PREFIX },
          ScanIndexForward: false,
        },
        limit,
      );
    }
    // `sk < :before` would also reach the items before the audit prefix; BETWEEN keeps the
    // range inside it, and is inclusive, so the cursor's own event is dropped here.
    const beforeSk = controlKeys.auditSk(before.at, before.eventId);
    const events = await this.query<AuditEvent>(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
        ExpressionAttributeValues: { ':pk': pk, ':low': AUDIT_PREFIX, ':high': beforeSk },
        ScanIndexForward: false,
      },
      limit === undefined ? undefined : limit + 1,
    );
    const older = events.filter((e) => !(e.at === before.at && e.eventId === before.eventId));
    return limit === undefined ? older : older.slice(0, limit);
  }

  async getWatermarks(keys: readonly WatermarkKey[]): Promise<Watermark[]> {
    const items = await this.batchGet<Record<string, unknown>>(keys.map(watermarkKey));
    return items as unknown as Watermark[];
  }

  /**
   * Invalidates, per lower, a watermark whose trusted bound is after the
   * clock (or says empty), or that is flagged for a raise; a watermark that
   * does not exist is left so (it is not trusted). One conditional update each.
   */
  async lowerWatermarks(lowers: readonly WatermarkLower[]): Promise<void> {
    await mapConcurrent([...lowers], WATERMARK_CONCURRENCY, async (lower) => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: watermarkKey(lower),
            ConditionExpression: 'attribute_exists(pk) AND (attribute_exists(flaggedAt) OR (trusted = :true AND (#empty = :true OR oldest > :clock)))',
            UpdateExpression: 'SET gen = gen + :one REMOVE trusted, flaggedAt, flagGen',
            ExpressionAttributeNames: { '#empty': 'empty' },
            ExpressionAttributeValues: { ':true': true, ':clock': lower.clock, ':one': 1 },
          }),
        );
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    });
  }

  async flagWatermark(key: WatermarkKey, expectedGen: number | undefined, at: string): Promise<boolean> {
    return this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: watermarkKey(key),
        ConditionExpression: expectedGen === undefined ? 'attribute_not_exists(pk)' : 'gen = :gen',
        UpdateExpression: 'SET flaggedAt = :at, flagGen = :gen, gen = :gen, tenantId = :tenant, #partition = :partition, #shard = :shard, #type = :type',
        ExpressionAttributeNames: { '#partition': 'partition', '#shard': 'shard', '#type': 'type' },
        ExpressionAttributeValues: { ':at': at, ':gen': expectedGen ?? 0, ':tenant': key.tenantId, ':partition': key.partition, ':shard': key.shard, ':type': 'watermark' },
      }),
    );
  }

  async raiseWatermark(key: WatermarkKey, flag: { readonly gen: number; readonly flaggedAt: string }, oldest: string | undefined): Promise<boolean> {
    return this.conditionally(
      new UpdateCommand({
        TableName: this.tableName,
        Key: watermarkKey(key),
        ConditionExpression: 'gen = :gen AND flaggedAt = :flaggedAt',
        UpdateExpression:
          oldest === undefined
            ? 'SET trusted = :true, #empty = :true, gen = :next REMOVE oldest, flaggedAt, flagGen'
            : 'SET trusted = :true, oldest = :oldest, gen = :next REMOVE #empty, flaggedAt, flagGen',
        ExpressionAttributeNames: { '#empty': 'empty' },
        ExpressionAttributeValues: {
          ':gen': flag.gen,
          ':flaggedAt': flag.flaggedAt,
          ':next': flag.gen + 1,
          ':true': true,
          ...(oldest !== undefined && { ':oldest': oldest }),
        },
      }),
    );
  }

  /** Sends a conditional update: false when its condition did not hold. */
  private async conditionally(command: UpdateCommand): Promise<boolean> {
    try {
      await this.doc.send(command);
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  private async get<T>(pk: string, sk: string): Promise<T | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }));
    return Item === undefined ? undefined : (withoutKeys(Item) as T);
  }

  /**
   * The items that exist among `keys` (strongly consistent, in no particular
   * order), without the table's own attributes. Duplicate keys are read once.
   */
  private async batchGet<T>(keys: readonly ItemKey[]): Promise<T[]> {
    const unique = [...new Map(keys.map((key) => [keyString(key), { pk: key.pk, sk: key.sk }])).values()];
    const results = await mapConcurrent(chunk(unique, BATCH_GET_MAX), BATCH_CONCURRENCY, (part) => this.readChunk(part));
    const unread = results.flatMap((r) => r.leftover.pending);
    if (unread.length > 0) {
      const first = results.find((r) => r.leftover.pending.length > 0)?.leftover;
      throw new IncompleteBatchReadError(
        `${unread.length} of ${unique.length} keys were not read (${first?.reason ?? 'unknown'})`,
        unread.length,
        { cause: first?.error },
      );
    }
    return results.flatMap((r) => r.items.map((item) => withoutKeys(item) as T));
  }

  /** One chunk of at most 100 keys (strongly consistent); never rejects. */
  private readChunk(keys: readonly ItemKey[]): Promise<{ readonly items: Item[]; readonly leftover: Leftover<Item> }> {
    return readChunk<Item>(this.doc, this.tableName, keys.map((k) => ({ pk: k.pk, sk: k.sk })), this.retry);
  }

  /** Like `readChunk`, for at most 25 write requests and their `UnprocessedItems`. */
  private writeChunk(requests: PutRequest[]): Promise<Leftover<PutRequest>> {
    return writeChunk(this.doc, this.tableName, requests, this.retry);
  }

  /** Every item of the query (or the first `limit`), without the table's own attributes. */
  private async query<T>(input: Omit<QueryCommandInput, 'TableName'>, limit?: number): Promise<T[]> {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new ValidationError('limit', 'limit must be a positive integer');
    }
    const items: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.doc.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ...(limit !== undefined && input.FilterExpression === undefined && { Limit: limit - items.length }),
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) items.push(withoutKeys(item) as T);
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && (limit === undefined || items.length < limit));
    return limit === undefined ? items : items.slice(0, limit);
  }
}

/** The two items of a receipt: under its id, and under its start time for listing. */
function receiptItems(receipt: Receipt): Item[] {
  const pk = controlKeys.tenantPk(receipt.tenantId);
  return [
    { ...receipt, pk, sk: controlKeys.runSk(receipt.runId), type: 'receipt' },
    { ...receipt, pk, sk: controlKeys.runByStartSk(receipt.startedAt, receipt.runId), type: 'receipt_by_start' },
  ];
}

function watermarkKey(key: WatermarkKey): ItemKey {
  return { pk: controlKeys.tenantPk(key.tenantId), sk: controlKeys.watermarkSk(key.partition, key.shard) };
}

function receiptKey(ref: { readonly tenantId: string; readonly runId: string }): ItemKey {
  return { pk: controlKeys.tenantPk(ref.tenantId), sk: controlKeys.runSk(ref.runId) };
}

function keyString(key: ItemKey): string {
  return JSON.stringify([key.pk, key.sk]);
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, type: _type, ...rest } = item;
  return rest;
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}
