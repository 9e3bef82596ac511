import { ScanCommand, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import type { BatchWriteCommandInput, BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ATTEMPTS } from '../../shared/adapters/clients.js';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { IncompleteBatchWriteError } from '../../shared/adapters/retry.js';
import type { RecordItem, RecordKey } from '../../shared/domain/records.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';
import { clearFaults, failAttempts, fastRetryClients } from './sdk-faults.js';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

const FAULT = 'injectBatchWriteFault';

let stores: Stores;
/** The SDK client under the store: its retries do not wait, and faults are injected on it. */
const sdk = fastRetryClients();
let records: DynamoRecordStore;
let sleeps: number[];

beforeAll(async () => {
  sleeps = [];
  stores = await makeStores();
  records = new DynamoRecordStore({
    doc: sdk.doc,
    tableName: stores.tableNames.records,
    clock: stores.clock,
    retry: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
});

afterEach(() => {
  sdk.client.middlewareStack.remove(FAULT);
  clearFaults(sdk.client);
  sdk.retries.length = 0;
  sleeps.length = 0;
});

/**
 * Makes BatchWriteItem hold back part of each request, as DynamoDB does under
 * load: `withhold(requests, call)` picks the requests that come back as
 * UnprocessedItems without being sent; the rest are really written.
 */
function injectUnprocessedItems(withhold: (requests: WriteRequest[], call: number) => WriteRequest[]): void {
  let call = 0;
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName !== 'BatchWriteItemCommand') return next(args);
    // At the initialize step the document client's input and output are still plain objects.
    const input = args.input as unknown as BatchWriteCommandInput;
    const [table, requests] = Object.entries(input.RequestItems ?? {})[0] as [string, WriteRequest[]];
    const held = new Set(withhold(requests, ++call));
    if (held.size === 0) return next(args);
    const sent = requests.filter((r) => !held.has(r));
    const result =
      sent.length === 0
        ? { output: { $metadata: {} } as ServiceOutputTypes, response: {} }
        : await next({ ...args, input: { ...input, RequestItems: { [table]: sent } } as unknown as ServiceInputTypes });
    (result.output as unknown as BatchWriteCommandOutput).UnprocessedItems = { [table]: [...held] };
    return result;
  };
  sdk.client.middlewareStack.add(middleware, { step: 'initialize', name: FAULT });
}

/** Makes the first `failures` BatchWriteItem attempts fail whole with the named error, where the SDK's retries see them. */
function injectErrors(name: string, failures: number): { sends: () => number } {
  return failAttempts(sdk.client, 'BatchWriteItemCommand', name, { failures });
}

function customerRecords(tenantId: string, count: number, subjects = 100): RecordItem[] {
  return Array.from({ length: count }, (_, i) =>
    recordItem({ tenantId, subjectId: `c${i % subjects}`, id: `r${i}` }),
  );
}

function keyOf(item: RecordKey): RecordKey {
  return { pk: item.pk, sk: item.sk };
}

async function countTenantItems(tenantId: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, never> | undefined;
  do {
    const output = await stores.dynamo.send(
      new ScanCommand({
        TableName: stores.tableNames.records,
        Select: 'COUNT',
        FilterExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': { S: tenantId } },
        ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
      }),
    );
    count += output.Count ?? 0;
    startKey = output.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey !== undefined);
  return count;
}

describe('DynamoRecordStore.deleteBatch', () => {
  it('deletes 10,000 records although DynamoDB leaves half of each early batch unprocessed', async () => {
    const tenantId = `bulk-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 10_000);
    await records.putBatch(items);
    // Every one of the first 1,000 calls writes only half its requests.
    injectUnprocessedItems((requests, call) => (call <= 1_000 ? requests.slice(0, Math.floor(requests.length / 2)) : []));

    const result = await records.deleteBatch(items.map(keyOf));

    expect(result.failed).toEqual([]);
    expect(result.succeeded).toHaveLength(10_000);
    expect(await countTenantItems(tenantId)).toBe(0);
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('returns the keys that stay unprocessed as failed, without throwing, and deletes the rest', async () => {
    const tenantId = `stuck-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 120, 10);
    await records.putBatch(items);
    const stuck = items.filter((item) => item.subjectId === 'c3').map(keyOf);
    injectUnprocessedItems((requests) => requests.filter((r) => r.DeleteRequest?.Key?.pk === stuck[0]?.pk));

    const result = await records.deleteBatch(items.map(keyOf));

    expect(result.failed.map((f) => f.key)).toEqual(expect.arrayContaining(stuck));
    expect(result.failed).toHaveLength(stuck.length);
    expect(result.failed[0]?.reason).toBe('unprocessed after 8 attempts');
    expect(result.succeeded).toHaveLength(items.length - stuck.length);
    expect(await countTenantItems(tenantId)).toBe(stuck.length);
  });

  it('backs off with full jitter inside an exponentially growing cap', async () => {
    const tenantId = `jitter-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 5);
    await records.putBatch(items);
    injectUnprocessedItems((requests) => requests);

    await records.deleteBatch(items.map(keyOf));

    expect(sleeps).toHaveLength(7);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(5_000, 50 * 2 ** i));
    });
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    'a batch rejected with %s goes through on the SDK\'s retries, and the store sends it no more often',
    async (errorName) => {
      const tenantId = `throttle-${uniqueSuffix()}`;
      const items = customerRecords(tenantId, 60);
      await records.putBatch(items);
      const injected = injectErrors(errorName, 4);

      const result = await records.deleteBatch(items.map(keyOf));

      expect(result.failed).toEqual([]);
      expect(await countTenantItems(tenantId)).toBe(0);
      // Three chunks went through once each: every other send was one of the SDK's four retries.
      expect(injected.sends()).toBe(3 + 4);
      expect(sdk.retries).toHaveLength(4);
      expect(sleeps).toEqual([]);
    },
  );

  it('reports the keys of a batch that stays throttled as failed after the SDK\'s attempts, without throwing', async () => {
    const tenantId = `throttled-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 30);
    await records.putBatch(items);
    const injected = failAttempts(sdk.client, 'BatchWriteItemCommand', 'ProvisionedThroughputExceededException');

    const result = await records.deleteBatch(items.map(keyOf));

    expect(result.failed).toHaveLength(30);
    expect(result.failed.every((f) => f.reason === `ProvisionedThroughputExceededException after ${DEFAULT_MAX_ATTEMPTS} attempts`)).toBe(true);
    expect(injected.sends()).toBe(2 * DEFAULT_MAX_ATTEMPTS);
    expect(sleeps).toEqual([]);
    expect(await countTenantItems(tenantId)).toBe(30);
  });

  it('reports every key of a batch that fails with a non-retryable error as failed, without retrying', async () => {
    const tenantId = `invalid-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 30);
    await records.putBatch(items);
    const injected = injectErrors('ValidationException', 1);

    const result = await records.deleteBatch(items.map(keyOf));

    expect(result.failed).toHaveLength(25);
    expect(result.failed.every((f) => f.reason === 'ValidationException')).toBe(true);
    expect(result.succeeded).toHaveLength(5);
    expect(sleeps).toEqual([]);
    expect(sdk.retries).toEqual([]);
    expect(injected.sends()).toBe(2);
  });

  it('deletes a key named twice once, and counts it once', async () => {
    const tenantId = `dup-${uniqueSuffix()}`;
    const [item] = customerRecords(tenantId, 1) as [RecordItem];
    await records.putBatch([item]);

    const result = await records.deleteBatch([keyOf(item), keyOf(item)]);

    expect(result).toEqual({ succeeded: [keyOf(item)], failed: [] });
  });
});

describe('DynamoRecordStore.putBatch', () => {
  it('writes every record although DynamoDB leaves part of each early batch unprocessed', async () => {
    const tenantId = `put-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 500);
    injectUnprocessedItems((requests, call) => (call <= 40 ? requests.slice(0, Math.floor(requests.length / 2)) : []));

    await records.putBatch(items);

    expect(await countTenantItems(tenantId)).toBe(500);
  });

  it('throws when records stay unwritten after the retry budget', async () => {
    const tenantId = `put-stuck-${uniqueSuffix()}`;
    const items = customerRecords(tenantId, 30);
    injectUnprocessedItems((requests) => requests.slice(0, 1));

    const write = records.putBatch(items);

    await expect(write).rejects.toThrow(IncompleteBatchWriteError);
    await expect(write).rejects.toMatchObject({ remaining: 2 });
  });
});
