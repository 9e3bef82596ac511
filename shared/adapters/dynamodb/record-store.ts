/**
 * The records table behind the `RecordStore` port. Key formats come from
 * `keys` in records.ts; this module only knows the access patterns.
 *
 * TTL is a backstop that may lag by days, so every read except the sweep's
 * treats an item whose `expiresAt` has passed as absent. The sweep
 * (`findDueForDeletion`) still returns such items: they are overdue, and it is
 * the sweeper, not TTL, that must delete them.
 */
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Category } from '../../domain/catalog.js';
import { ValidationError } from '../../domain/errors.js';
import type {
  BatchResult,
  Clock,
  FindDueOptions,
  Page,
  PartitionQueryOptions,
  RecordStore,
  UpdateChanges,
  UpdateCondition,
} from '../../domain/ports.js';
import {
  DEFAULT_RETENTION_SHARDS,
  RETENTION_PROJECTION,
  keys,
  type DueRecord,
  type IdentifierKind,
  type RecordItem,
  type RecordKey,
} from '../../domain/records.js';
import {
  IncompleteBatchWriteError,
  backoffDelayMs,
  chunk,
  errorName,
  errorReason,
  isRetryableError,
  mapConcurrent,
  retryOptions,
  type RetryOptions,
} from '../retry.js';

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_MAX = 25;
const DEFAULT_PAGE_LIMIT = 500;
const RETENTION_INDEX = 'byRetention';
const IDENTIFIER_INDEX = 'byIdentifier';

/**
 * `retentionSk` starts with the clock start as `Date#toISOString()` prints it. The
 * sweep compares it as a string with the cutoff in the same format, so any other
 * spelling of the instant (no milliseconds, an offset) would sort wrongly and be
 * missed or deleted early. Writes refuse it.
 */
const CANONICAL_RETENTION_SK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#/;

export interface DynamoRecordStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Reads `now` for the TTL backstop. */
  readonly clock: Clock;
  /** Write shards of `byRetention`; must match the writers' (default 16). */
  readonly shardCount?: number;
  /** Batch chunks in flight at once (default 8). */
  readonly batchConcurrency?: number;
  /** Backoff for unprocessed items and throttling (default 8 attempts, full jitter). */
  readonly retry?: Partial<RetryOptions>;
}

/** Per-shard position of a paged sweep query: shards absent from `pending` are exhausted. */
interface DueCursor {
  readonly v: 1;
  /** Tenant, category and cutoff the cursor belongs to. */
  readonly q: string;
  /** [shard, LastEvaluatedKey?] of every shard that may still hold due records. */
  readonly pending: readonly (readonly [number, Record<string, unknown>?])[];
}

export class DynamoRecordStore implements RecordStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly shardCount: number;
  private readonly batchConcurrency: number;
  private readonly retry: RetryOptions;

  constructor(options: DynamoRecordStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.clock = options.clock;
    this.shardCount = options.shardCount ?? DEFAULT_RETENTION_SHARDS;
    this.batchConcurrency = options.batchConcurrency ?? 8;
    this.retry = retryOptions(options.retry);
    if (!Number.isInteger(this.shardCount) || this.shardCount < 1) {
      throw new RangeError(`shardCount must be a positive integer, got ${this.shardCount}`);
    }
  }

  async putBatch(items: readonly RecordItem[]): Promise<void> {
    items.forEach((item, index) => {
      if (item.retentionSk !== undefined && !CANONICAL_RETENTION_SK.test(item.retentionSk)) {
        throw new ValidationError(
          `items[${index}].retentionSk`,
          'retentionSk must start with the clock start as an ISO-8601 UTC instant with milliseconds',
        );
      }
    });
    // A batch may not name one key twice; the last write of a key wins, as it would one by one.
    const unique = [...new Map(items.map((item) => [keyString(item), item])).values()];
    const results = await mapConcurrent(chunk(unique, BATCH_WRITE_MAX), this.batchConcurrency, (part) =>
      this.writeChunk(part.map((item) => ({ PutRequest: { Item: item } }))),
    );
    const unwritten = results.flat();
    if (unwritten.length > 0) {
      const first = unwritten[0];
      throw new IncompleteBatchWriteError(
        `${unwritten.length} of ${unique.length} records were not written (${first?.reason ?? 'unknown'})`,
        unwritten.length,
        { cause: first?.error },
      );
    }
  }

  findByPartition(pk: string, options: PartitionQueryOptions = {}): Promise<RecordItem[]> {
    const { skPrefix, includeExpired = false } = options;
    return this.queryAll<RecordItem>({
      TableName: this.tableName,
      KeyConditionExpression: skPrefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :skPrefix)',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        ...(!includeExpired && { '#exp': 'expiresAt' }),
        ...(skPrefix !== undefined && { '#sk': 'sk' }),
      },
      ExpressionAttributeValues: {
        ':pk': pk,
        ...(!includeExpired && { ':now': this.nowEpochSeconds() }),
        ...(skPrefix !== undefined && { ':skPrefix': skPrefix }),
      },
      ...(!includeExpired && { FilterExpression: 'attribute_not_exists(#exp) OR #exp > :now' }),
      ConsistentRead: true,
    });
  }

  findBySubject(tenantId: string, subjectId: string, options: Pick<PartitionQueryOptions, 'includeExpired'> = {}): Promise<RecordItem[]> {
    return this.findByPartition(keys.subjectPk(tenantId, subjectId), options);
  }

  async get(key: RecordKey): Promise<RecordItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    );
    if (Item === undefined || this.isExpired(Item)) return undefined;
    return Item as RecordItem;
  }

  async findDueForDeletion(
    tenantId: string,
    category: Category,
    cutoff: Date,
    options: FindDueOptions = {},
  ): Promise<Page<DueRecord>> {
    const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit', 'limit must be a positive integer');
    const cutoffIso = cutoff.toISOString();
    const query = `${tenantId}|${category}|${cutoffIso}`;
    const pending = new Map<number, Record<string, unknown> | undefined>(
      options.cursor === undefined
        ? Array.from({ length: this.shardCount }, (_, shard) => [shard, undefined] as const)
        : decodeCursor(options.cursor, query, this.shardCount).pending.map(([shard, lastKey]) => [shard, lastKey] as const),
    );

    const items: DueRecord[] = [];
    // Each round shares what is left of the page between the shards still open
    // and queries them concurrently. A shard that answers without a
    // LastEvaluatedKey is exhausted; the next round gives its share to the others.
    while (items.length < limit && pending.size > 0) {
      const budget = limit - items.length;
      const open = [...pending.keys()].slice(0, budget);
      const share = Math.floor(budget / open.length);
      const extra = budget % open.length;
      const answers = await Promise.all(
        open.map(async (shard, i) => {
          const output = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: RETENTION_INDEX,
              KeyConditionExpression: '#rpk = :rpk AND #rsk < :cutoff',
              ExpressionAttributeNames: { '#rpk': 'retentionPk', '#rsk': 'retentionSk' },
              ExpressionAttributeValues: { ':rpk': keys.retentionPk(tenantId, category, shard), ':cutoff': cutoffIso },
              Limit: share + (i < extra ? 1 : 0),
              ...(pending.get(shard) !== undefined && { ExclusiveStartKey: pending.get(shard) }),
            }),
          );
          return { shard, output };
        }),
      );
      for (const { shard, output } of answers) {
        for (const item of output.Items ?? []) items.push(toDueRecord(item));
        if (output.LastEvaluatedKey === undefined) pending.delete(shard);
        else pending.set(shard, output.LastEvaluatedKey);
      }
    }

    if (pending.size === 0) return { items };
    return { items, cursor: encodeCursor({ v: 1, q: query, pending: [...pending.entries()].map(cursorEntry) }) };
  }

  async findByIdentifier(tenantId: string, kind: IdentifierKind, normalised: string): Promise<string[]> {
    const items = await this.queryAll<{ subjectId?: unknown }>({
      TableName: this.tableName,
      IndexName: IDENTIFIER_INDEX,
      KeyConditionExpression: '#ipk = :ipk',
      ExpressionAttributeNames: { '#ipk': 'identifierPk', '#exp': 'expiresAt' },
      ExpressionAttributeValues: { ':ipk': keys.identifierPk(tenantId, kind, normalised), ':now': this.nowEpochSeconds() },
      FilterExpression: 'attribute_not_exists(#exp) OR #exp > :now',
    });
    const subjects = new Set<string>();
    for (const item of items) {
      if (typeof item.subjectId === 'string') subjects.add(item.subjectId);
    }
    return [...subjects];
  }

  async deleteBatch(recordKeys: readonly RecordKey[]): Promise<BatchResult<RecordKey>> {
    const unique = [...new Map(recordKeys.map((k) => [keyString(k), { pk: k.pk, sk: k.sk }])).values()];
    const results = await mapConcurrent(chunk(unique, BATCH_WRITE_MAX), this.batchConcurrency, (part) =>
      this.writeChunk(part.map((key) => ({ DeleteRequest: { Key: key } }))),
    );
    const failed = results.flat().map(({ request, reason }) => ({ key: requestKey(request), reason }));
    const failedKeys = new Set(failed.map((f) => keyString(f.key)));
    return { succeeded: unique.filter((k) => !failedKeys.has(keyString(k))), failed };
  }

  async update(key: RecordKey, changes: UpdateChanges, condition: UpdateCondition = {}): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const name = (attribute: string, prefix: string, i: number): string => {
      const placeholder = `#${prefix}${i}`;
      names[placeholder] = attribute;
      return placeholder;
    };
    const value = (v: unknown, prefix: string, i: number): string => {
      const placeholder = `:${prefix}${i}`;
      values[placeholder] = v;
      return placeholder;
    };

    const setEntries = Object.entries(changes.set ?? {}).filter(([, v]) => v !== undefined);
    const removals = changes.remove ?? [];
    if (setEntries.length === 0 && removals.length === 0) {
      throw new ValidationError('changes', 'an update must set or remove at least one attribute');
    }
    const clauses: string[] = [];
    if (setEntries.length > 0) {
      clauses.push(`SET ${setEntries.map(([a, v], i) => `${name(a, 's', i)} = ${value(v, 's', i)}`).join(', ')}`);
    }
    if (removals.length > 0) clauses.push(`REMOVE ${removals.map((a, i) => name(a, 'r', i)).join(', ')}`);

    const conditions: string[] = [
      condition.exists === false ? 'attribute_not_exists(#pk)' : 'attribute_exists(#pk)',
    ];
    names['#pk'] = 'pk';
    Object.entries(condition.equals ?? {}).forEach(([a, v], i) => {
      // The document client drops undefined values, so "equals undefined" means "is absent".
      conditions.push(v === undefined ? `attribute_not_exists(${name(a, 'c', i)})` : `${name(a, 'c', i)} = ${value(v, 'c', i)}`);
    });

    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: clauses.join(' '),
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Sends one chunk of write requests, retrying `UnprocessedItems` and throttled
   * or transiently failed requests with full-jitter backoff. Resolves with the
   * requests still unwritten when the budget runs out; never rejects.
   */
  private async writeChunk(requests: WriteRequest[]): Promise<UnwrittenRequest[]> {
    let pending = requests;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      if (attempt > 1) await this.retry.sleep(backoffDelayMs(attempt - 1, this.retry));
      try {
        const output = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (output.UnprocessedItems?.[this.tableName] ?? []) as WriteRequest[];
        lastError = undefined;
        if (pending.length === 0) return [];
      } catch (error) {
        if (!isRetryableError(error)) {
          return pending.map((request) => ({ request, reason: errorReason(error), error }));
        }
        lastError = error;
      }
    }
    const reason =
      lastError === undefined
        ? `unprocessed after ${this.retry.maxAttempts} attempts`
        : `${errorReason(lastError)} after ${this.retry.maxAttempts} attempts`;
    return pending.map((request) => ({ request, reason, error: lastError }));
  }

  private async queryAll<T>(input: QueryCommandInput): Promise<T[]> {
    const items: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.doc.send(
        new QueryCommand({ ...input, ...(startKey !== undefined && { ExclusiveStartKey: startKey }) }),
      );
      items.push(...((output.Items ?? []) as T[]));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /** Whole seconds: `expiresAt > floor(now)` holds exactly when the instant `expiresAt` is still ahead. */
  private nowEpochSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  private isExpired(item: Record<string, unknown>): boolean {
    return typeof item.expiresAt === 'number' && item.expiresAt <= this.nowEpochSeconds();
  }
}

type WriteRequest =
  | { readonly PutRequest: { readonly Item: RecordItem } }
  | { readonly DeleteRequest: { readonly Key: RecordKey } };

interface UnwrittenRequest {
  readonly request: WriteRequest;
  readonly reason: string;
  readonly error?: unknown;
}

function requestKey(request: WriteRequest): RecordKey {
  const source = 'PutRequest' in request ? request.PutRequest.Item : request.DeleteRequest.Key;
  return { pk: source.pk, sk: source.sk };
}

function keyString(key: RecordKey): string {
  return JSON.stringify([key.pk, key.sk]);
}

function toDueRecord(item: Record<string, unknown>): DueRecord {
  const due: Record<string, unknown> = { pk: item.pk, sk: item.sk };
  for (const attribute of RETENTION_PROJECTION) {
    if (item[attribute] !== undefined) due[attribute] = item[attribute];
  }
  return due as unknown as DueRecord;
}

function cursorEntry([shard, lastKey]: [number, Record<string, unknown> | undefined]): readonly [
  number,
  Record<string, unknown>?,
] {
  return lastKey === undefined ? [shard] : [shard, lastKey];
}

function encodeCursor(cursor: DueCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, query: string, shardCount: number): DueCursor {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new ValidationError('cursor', 'the cursor is not one this query returned', { cause: error });
  }
  const candidate = decoded as Partial<DueCursor> | null;
  const valid =
    candidate !== null &&
    typeof candidate === 'object' &&
    candidate.v === 1 &&
    Array.isArray(candidate.pending) &&
    candidate.pending.every(
      (entry) =>
        Array.isArray(entry) &&
        Number.isInteger(entry[0]) &&
        (entry[0] as number) >= 0 &&
        (entry[0] as number) < shardCount &&
        (entry[1] === undefined || (typeof entry[1] === 'object' && entry[1] !== null)),
    );
  if (!valid) throw new ValidationError('cursor', 'the cursor is not one this query returned');
  if (candidate.q !== query) {
    throw new ValidationError('cursor', 'the cursor belongs to another tenant, category or cutoff');
  }
  return candidate as DueCursor;
}
