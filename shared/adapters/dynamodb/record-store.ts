/**
 * The records table behind the `RecordStore` port. Key formats come from
 * `keys` in records.ts; this module only knows the access patterns.
 *
 * TTL is a backstop that may lag by days, so the reads that serve callers
 * (`get`, `findByPartition`, `findBySubject`, `findByIdentifier`) treat an item
 * whose `expiresAt` has passed as absent. The deletion path still sees such
 * items (`findDueForDeletion`, `getBatch`, `includeExpired`, `trackActivity`):
 * they are overdue, and it is the sweeper, not TTL, that must delete them.
 */
import { createHash } from 'node:crypto';
import { BATCH_GET_MAX, BATCH_WRITE_MAX, readChunk, writeChunk } from './batch.js';
import { RETENTION_INDEX_NAME } from '../table-definitions.js';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../domain/errors.js';
import type {
  ActivityRaise,
  BatchResult,
  Clock,
  FindDueOptions,
  FirstContactLower,
  Page,
  PartitionQueryOptions,
  PutProfilesResult,
  RecordStore,
  UpdateChanges,
  UpdateCondition,
} from '../../domain/ports.js';
import {
  MAX_RETENTION_SHARDS,
  RETENTION_PROJECTION,
  isIdentifierSk,
  keys,
  type DueRecord,
  type IdentifierKind,
  type RecordItem,
  type RecordKey,
  type RetentionPartition,
} from '../../domain/records.js';
import {
  IncompleteBatchWriteError,
  chunk,
  errorName,
  mapConcurrent,
  retryOptions,
  type RetryOptions,
  IncompleteBatchReadError,
} from '../retry.js';

const DEFAULT_PAGE_LIMIT = 500;
const RETENTION_INDEX = RETENTION_INDEX_NAME;
const IDENTIFIER_INDEX = 'byIdentifier';

/**
 * `retentionSk` starts with the clock start as `Date#toISOString()` prints it. The
 * sweep compares it as a string with the cutoff in the same format, so any other
 * spelling of the instant (no milliseconds, an offset) would sort wrongly and be
 * missed or deleted early. Writes refuse it.
 */
const CANONICAL_RETENTION_SK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#/;
/** The same spelling for a watermark, which conditions compare as a string too. */
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Optional attributes a stored profile may carry. `putProfiles` removes those
 * the new version lacks; the activity watermark is not among them, since only
 * `raiseActivity` and `trackActivity` change it.
 */
const PROFILE_REPLACEABLE: readonly string[] = [
  'subjectId',
  'parentSk',
  'conversationId',
  'callId',
  'parentClock',
  'parentCategory',
  'expiresAt',
  'retentionPk',
  'retentionSk',
  'identifierPk',
  'identifierSk',
  'blobBucket',
  'blobKey',
  'status',
  'externalRef',
  'hasAccountAccess',
  'data',
];
/** Attributes `putProfiles` neither sets nor removes (the first contact only moves earlier, through `lowerFirstContact`). */
const PROFILE_KEPT = new Set(['pk', 'sk', 'activityUntil', 'activityTracked', 'firstContactAt']);

export interface DynamoRecordStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Reads `now` for the TTL backstop. */
  readonly clock: Clock;
  /** Batch chunks, or single-item writes of a batch call, in flight at once (default 8). */
  readonly batchConcurrency?: number;
  /** Rounds and backoff of the batch loops over unprocessed items and keys (default 8 rounds, full jitter); failed requests are the client's to retry. */
  readonly retry?: Partial<RetryOptions>;
}

/**
 * Per-shard position of a paged sweep query, kept small (sweep continuations
 * carry one per tenant of a group through Step Functions): shards absent from
 * `p` are exhausted; a shard's position is the last index entry read, as
 * `[shard, retentionSk, pk, sk]` (its `retentionPk` follows from the query).
 */
interface DueCursor {
  readonly v: 2;
  /** A digest of the tenant, partition family and cutoff the cursor belongs to. */
  readonly q: string;
  readonly p: readonly (readonly [number] | readonly [number, string, string, string])[];
}

/** Digest naming one sweep query (tenant, partition family, cutoff), for its cursors. */
function queryDigest(tenantId: string, partition: string, cutoffIso: string): string {
  return createHash('sha256').update(JSON.stringify([tenantId, partition, cutoffIso])).digest('base64url').slice(0, 16);
}

export class DynamoRecordStore implements RecordStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly batchConcurrency: number;
  private readonly retry: RetryOptions;

  constructor(options: DynamoRecordStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.clock = options.clock;
    this.batchConcurrency = options.batchConcurrency ?? 8;
    this.retry = retryOptions(options.retry);
  }

  async putBatch(items: readonly RecordItem[]): Promise<void> {
    items.forEach(assertCanonicalRetentionSk);
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

  async getBatch(recordKeys: readonly RecordKey[]): Promise<RecordItem[]> {
    // BatchGetItem refuses a request that names one key twice.
    const unique = [...new Map(recordKeys.map((k) => [keyString(k), { pk: k.pk, sk: k.sk }])).values()];
    const results = await mapConcurrent(chunk(unique, BATCH_GET_MAX), this.batchConcurrency, (part) => this.readChunk(part));
    const unread = results.reduce((sum, r) => sum + r.unread, 0);
    if (unread > 0) {
      const first = results.find((r) => r.unread > 0);
      throw new IncompleteBatchReadError(
        `${unread} of ${unique.length} keys were not read (${first?.reason ?? 'unknown'})`,
        unread,
        { cause: first?.error },
      );
    }
    return results.flatMap((r) => r.items);
  }

  async findDueForDeletion(
    tenantId: string,
    partition: RetentionPartition,
    cutoff: Date,
    options: FindDueOptions,
  ): Promise<Page<DueRecord>> {
    const { shards } = options;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_RETENTION_SHARDS) {
      throw new ValidationError('shards', `shards must be an integer from 1 to ${MAX_RETENTION_SHARDS}`);
    }
    const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit', 'limit must be a positive integer');
    const cutoffIso = cutoff.toISOString();
    const query = queryDigest(tenantId, partition, cutoffIso);
    const pending = new Map<number, Record<string, unknown> | undefined>(
      options.cursor === undefined
        ? Array.from({ length: shards }, (_, shard) => [shard, undefined] as const)
        : decodeCursor(options.cursor, query, shards).p.map((entry) => {
            const [shard, retentionSk, pk, sk] = entry as readonly [number, string?, string?, string?];
            const lastKey = retentionSk === undefined ? undefined : { retentionPk: keys.retentionPk(tenantId, partition, shard), retentionSk, pk, sk };
            return [shard, lastKey] as const;
          }),
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
              ExpressionAttributeValues: { ':rpk': keys.retentionPk(tenantId, partition, shard), ':cutoff': cutoffIso },
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
    return { items, cursor: encodeCursor({ v: 2, q: query, p: [...pending.entries()].map(cursorEntry) }) };
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

  async putProfiles(profiles: readonly RecordItem[]): Promise<PutProfilesResult> {
    profiles.forEach((profile, index) => {
      if (profile.sk !== keys.profileSk()) {
        throw new ValidationError(`items[${index}].sk`, `a profile's sk must be ${keys.profileSk()}`);
      }
      assertCanonicalRetentionSk(profile, index);
    });
    // Two versions of one profile in a call: the last wins, as it would one by one.
    const unique = [...new Map(profiles.map((profile) => [keyString(profile), profile])).values()];
    const outcomes = await mapConcurrent(unique, this.batchConcurrency, (profile) => this.replaceProfile(profile));
    const of = (outcome: ProfileWrite) => unique.filter((_, i) => outcomes[i] === outcome).map((profile) => ({ pk: profile.pk, sk: profile.sk }));
    return { untracked: of('untracked'), stale: of('stale') };
  }

  async putLatest(items: readonly RecordItem[]): Promise<RecordKey[]> {
    items.forEach((item, index) => assertCanonicalRetentionSk(item, index));
    const unique = [...new Map(items.map((item) => [keyString(item), item])).values()];
    const written = await mapConcurrent(unique, this.batchConcurrency, async (item) => {
      const output = await this.sendIf(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // The clock only moves forward: an older version (delivered out of order) changes nothing.
          ConditionExpression: 'attribute_not_exists(#pk) OR attribute_not_exists(#clock) OR #clock <= :clock',
          ExpressionAttributeNames: { '#pk': 'pk', '#clock': 'clockStart' },
          ExpressionAttributeValues: { ':clock': item.clockStart },
        }),
      );
      return output !== undefined;
    });
    return unique.filter((_, i) => !written[i]).map((item) => ({ pk: item.pk, sk: item.sk }));
  }

  async raiseActivity(raises: readonly ActivityRaise[]): Promise<void> {
    raises.forEach((raise, index) => {
      if (!CANONICAL_INSTANT.test(raise.until)) {
        throw new ValidationError(`raises[${index}].until`, 'until must be an ISO-8601 UTC instant with milliseconds');
      }
    });
    const latest = new Map<string, string>();
    for (const { pk, until } of raises) {
      const current = latest.get(pk);
      if (current === undefined || until > current) latest.set(pk, until);
    }
    await mapConcurrent([...latest], this.batchConcurrency, ([pk, until]) => this.raiseWatermark(pk, until));
  }

  async lowerFirstContact(lowers: readonly FirstContactLower[]): Promise<void> {
    lowers.forEach((lower, index) => {
      if (!CANONICAL_INSTANT.test(lower.at)) {
        throw new ValidationError(`lowers[${index}].at`, 'at must be an ISO-8601 UTC instant with milliseconds');
      }
    });
    const earliest = new Map<string, string>();
    for (const { pk, at } of lowers) {
      const current = earliest.get(pk);
      if (current === undefined || at < current) earliest.set(pk, at);
    }
    await mapConcurrent([...earliest], this.batchConcurrency, ([pk, at]) =>
      // Already as early, or no profile: nothing to lower.
      this.sendIf(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.profileSk() },
          UpdateExpression: 'SET #first = :at',
          ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#first) OR #first > :at)',
          ExpressionAttributeNames: { '#pk': 'pk', '#first': 'firstContactAt' },
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  async trackActivity(pk: string): Promise<void> {
    const items = await this.queryAll<{ sk: string; clockStart?: unknown }>({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#cs': 'clockStart' },
      ExpressionAttributeValues: { ':pk': pk },
      ProjectionExpression: '#sk, #cs',
      ConsistentRead: true,
    });
    let latest: string | undefined;
    for (const { sk, clockStart } of items) {
      if (sk === keys.profileSk() || isIdentifierSk(sk) || typeof clockStart !== 'string') continue;
      if (latest === undefined || clockStart > latest) latest = clockStart;
    }
    // Raise first, then mark: a profile marked tracked under a watermark that
    // does not cover its partition yet would let a sweep delete it unread while
    // older records remain. The mark also requires the watermark it relies on,
    // so a profile deleted and re-created in between stays untracked.
    if (latest !== undefined) await this.raiseWatermark(pk, latest);
    // No profile (or not the one the raise went to): nothing to mark.
    await this.sendIf(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk, sk: keys.profileSk() },
        UpdateExpression: 'SET #tracked = :true',
        ConditionExpression: latest === undefined ? 'attribute_exists(#pk)' : 'attribute_exists(#pk) AND #until >= :latest',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#tracked': 'activityTracked',
          ...(latest !== undefined && { '#until': 'activityUntil' }),
        },
        ExpressionAttributeValues: { ':true': true, ...(latest !== undefined && { ':latest': latest }) },
      }),
    );
  }

  /** Whether nothing at all (expired items included) is stored in the partition; strongly consistent. */
  async isPartitionEmpty(pk: string): Promise<boolean> {
    const output = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: '#pk',
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return (output.Items ?? []).length === 0;
  }

  /**
   * Which of `days` (`YYYY-MM-DD`, ascending) still have an entry in the
   * retention index of a partition family, across its shards: a skip scan,
   * one single-item query per day found (or per day asked, whichever is
   * fewer) and one more per shard, whatever the number of items on a day.
   */
  async daysInIndex(tenantId: string, partition: RetentionPartition, days: readonly string[], shards: number): Promise<Set<string>> {
    const busy = new Set<string>();
    if (days.length === 0) return busy;
    const last = days[days.length - 1] as string;
    const until = new Date(Date.parse(`${last}T00:00:00.000Z`) + 86_400_000).toISOString();
    await Promise.all(
      Array.from({ length: shards }, async (_, shard) => {
        let i = 0;
        while (i < days.length) {
          const output = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: RETENTION_INDEX,
              KeyConditionExpression: '#rpk = :rpk AND #rsk BETWEEN :from AND :until',
              ExpressionAttributeNames: { '#rpk': 'retentionPk', '#rsk': 'retentionSk' },
              ExpressionAttributeValues: { ':rpk': keys.retentionPk(tenantId, partition, shard), ':from': `${days[i] as string}T00:00:00.000Z`, ':until': until },
              ProjectionExpression: '#rsk',
              Limit: 1,
            }),
          );
          const found = output.Items?.[0]?.retentionSk;
          if (typeof found !== 'string') break;
          const day = found.slice(0, 10);
          busy.add(day);
          // On to the first day asked after the one found.
          while (i < days.length && (days[i] as string) <= day) i += 1;
        }
      }),
    );
    return busy;
  }

  /**
   * Creates a profile or replaces every attribute of it but the keys and the
   * activity watermark, in one UpdateItem; resolves whether the stored profile
   * is tracked.
   */
  private async replaceProfile(profile: RecordItem): Promise<ProfileWrite> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const given = profile as unknown as Readonly<Record<string, unknown>>;
    const sets = Object.entries(given)
      .filter(([attribute, v]) => !PROFILE_KEPT.has(attribute) && v !== undefined)
      .map(([attribute, v], i) => {
        names[`#s${i}`] = attribute;
        values[`:s${i}`] = v;
        return `#s${i} = :s${i}`;
      });
    const removals = PROFILE_REPLACEABLE.filter((attribute) => given[attribute] === undefined).map((attribute, i) => {
      names[`#r${i}`] = attribute;
      return `#r${i}`;
    });
    const clauses = [
      ...(sets.length > 0 ? [`SET ${sets.join(', ')}`] : []),
      ...(removals.length > 0 ? [`REMOVE ${removals.join(', ')}`] : []),
    ];
    // The last contact only moves forward: a customer record older than the stored one
    // (delivered out of order) changes nothing, so identifiers never carry a later clock.
    names['#pk'] = 'pk';
    names['#clock'] = 'clockStart';
    values[':clock'] = profile.clockStart;
    const output = await this.sendIf(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: profile.pk, sk: profile.sk },
        UpdateExpression: clauses.join(' '),
        ConditionExpression: 'attribute_not_exists(#pk) OR attribute_not_exists(#clock) OR #clock <= :clock',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (output === undefined) return 'stale';
    return output.Attributes?.activityTracked === true ? 'tracked' : 'untracked';
  }

  /** Raises a profile's `activityUntil` to `until` if it is earlier or absent; never creates the profile. */
  private async raiseWatermark(pk: string, until: string): Promise<void> {
    // Already as late, or no profile: nothing to raise.
    await this.sendIf(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk, sk: keys.profileSk() },
        UpdateExpression: 'SET #until = :until',
        ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#until) OR #until < :until)',
        ExpressionAttributeNames: { '#pk': 'pk', '#until': 'activityUntil' },
        ExpressionAttributeValues: { ':until': until },
      }),
    );
  }

  /**
   * Sends a conditional write (the client retries throttling); resolves
   * undefined when its condition does not hold (which is an answer, not an error).
   */
  private async sendIf(command: UpdateCommand | PutCommand): Promise<{ readonly Attributes?: Record<string, unknown> } | undefined> {
    try {
      return await this.doc.send(command as UpdateCommand);
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /** Reads one chunk of keys (strongly consistent); never rejects. */
  private async readChunk(part: readonly RecordKey[]): Promise<ReadChunkResult> {
    const { items, leftover } = await readChunk<RecordItem>(this.doc, this.tableName, part.map((key) => ({ pk: key.pk, sk: key.sk })), this.retry);
    return { items, unread: leftover.pending.length, ...(leftover.reason !== undefined && { reason: leftover.reason }), error: leftover.error };
  }

  /** Sends one chunk of write requests; resolves with those still unwritten when the budget runs out, never rejects. */
  private async writeChunk(requests: WriteRequest[]): Promise<UnwrittenRequest[]> {
    const leftover = await writeChunk(this.doc, this.tableName, requests, this.retry);
    return leftover.pending.map((request) => ({ request, reason: leftover.reason ?? 'unknown', error: leftover.error }));
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

/** What one profile write did: replaced a tracked or untracked profile, or left a newer one as it was. */
type ProfileWrite = 'tracked' | 'untracked' | 'stale';

interface ReadChunkResult {
  readonly items: RecordItem[];
  readonly unread: number;
  readonly reason?: string;
  readonly error?: unknown;
}


function assertCanonicalRetentionSk(item: RecordItem, index: number): void {
  if (item.retentionSk !== undefined && !CANONICAL_RETENTION_SK.test(item.retentionSk)) {
    throw new ValidationError(
      `items[${index}].retentionSk`,
      'retentionSk must start with the clock start as an ISO-8601 UTC instant with milliseconds',
    );
  }
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

function cursorEntry([shard, lastKey]: [number, Record<string, unknown> | undefined]): DueCursor['p'][number] {
  if (lastKey === undefined) return [shard];
  return [shard, String(lastKey.retentionSk), String(lastKey.pk), String(lastKey.sk)];
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
    candidate.v === 2 &&
    Array.isArray(candidate.p) &&
    candidate.p.every(
      (entry) =>
        Array.isArray(entry) &&
        Number.isInteger(entry[0]) &&
        (entry[0] as number) >= 0 &&
        (entry[0] as number) < shardCount &&
        (entry.length === 1 || (entry.length === 4 && entry.slice(1).every((part) => typeof part === 'string'))),
    );
  if (!valid) throw new ValidationError('cursor', 'the cursor is not one this query returned');
  if (candidate.q !== query) {
    throw new ValidationError('cursor', 'the cursor belongs to another tenant, partition or cutoff');
  }
  return candidate as DueCursor;
}
