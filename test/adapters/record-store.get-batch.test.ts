import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import type { BatchGetCommandInput, BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IncompleteBatchReadError } from '../../shared/adapters/retry.js';
import type { RecordItem, RecordKey } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';

type Key = NonNullable<NonNullable<BatchGetCommandInput['RequestItems']>[string]['Keys']>[number];

const NOW = new Date('2025-03-01T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const FAULT = 'injectBatchGetFault';

let stores: Stores;
let sleeps: number[];

beforeAll(async () => {
  sleeps = [];
  stores = await makeStores({
    clock: new TestClock(NOW),
    retry: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
});

afterEach(() => {
  stores.dynamo.middlewareStack.remove(FAULT);
  sleeps.length = 0;
});

/** The BatchGetItem requests the client sends from now on, as the document client built them. */
function recordBatchGets(): NonNullable<BatchGetCommandInput['RequestItems']>[string][] {
  const seen: NonNullable<BatchGetCommandInput['RequestItems']>[string][] = [];
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName === 'BatchGetItemCommand') {
      const input = args.input as unknown as BatchGetCommandInput;
      seen.push(...Object.values(input.RequestItems ?? {}));
    }
    return next(args);
  };
  stores.dynamo.middlewareStack.add(middleware, { step: 'initialize', name: FAULT });
  return seen;
}

/**
 * Makes BatchGetItem hold back part of each request, as DynamoDB does under load
 * or past 16 MB: `withhold(keys, call)` picks the keys that come back as
 * UnprocessedKeys without being read; the rest are really read.
 */
function injectUnprocessedKeys(withhold: (keys: Key[], call: number) => Key[]): void {
  let call = 0;
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName !== 'BatchGetItemCommand') return next(args);
    // At the initialize step the document client's input and output are still plain objects.
    const input = args.input as unknown as BatchGetCommandInput;
    const [table, request] = Object.entries(input.RequestItems ?? {})[0] as [string, { Keys: Key[]; ConsistentRead?: boolean }];
    const held = new Set(withhold(request.Keys, ++call));
    if (held.size === 0) return next(args);
    const sent = request.Keys.filter((k) => !held.has(k));
    const result =
      sent.length === 0
        ? { output: { $metadata: {} } as ServiceOutputTypes, response: {} }
        : await next({
            ...args,
            input: { ...input, RequestItems: { [table]: { ...request, Keys: sent } } } as unknown as ServiceInputTypes,
          });
    (result.output as unknown as BatchGetCommandOutput).UnprocessedKeys = {
      [table]: { ...request, Keys: [...held] },
    };
    return result;
  };
  stores.dynamo.middlewareStack.add(middleware, { step: 'initialize', name: FAULT });
}

function customerRecords(tenantId: string, count: number): RecordItem[] {
  return Array.from({ length: count }, (_, i) => recordItem({ tenantId, subjectId: `c${i % 20}`, id: `r${i}` }));
}

function keyOf(item: RecordKey): RecordKey {
  return { pk: item.pk, sk: item.sk };
}

function byKey(a: RecordKey, b: RecordKey): number {
  return a.pk === b.pk ? a.sk.localeCompare(b.sk) : a.pk.localeCompare(b.pk);
}

describe('DynamoRecordStore.getBatch', () => {
  it('returns exactly the items that exist among 250 keys, some absent and some named twice', async () => {
    const tenantId = `get-${uniqueSuffix()}`;
    const stored = customerRecords(tenantId, 200);
    await stores.records.putBatch(stored);
    const absent = customerRecords(`${tenantId}-absent`, 30).map(keyOf);
    const duplicates = stored.slice(0, 20).map(keyOf);
    const requested = [...stored.map(keyOf), ...absent, ...duplicates];

    const items = await stores.records.getBatch(requested);

    expect(requested).toHaveLength(250);
    expect([...items].sort(byKey)).toEqual([...stored].sort(byKey));
  });

  it('includes an item whose expiresAt has passed, which get hides', async () => {
    const tenantId = `get-expired-${uniqueSuffix()}`;
    const expired = recordItem({ tenantId, subjectId: 'c1', id: 'old', expiresAt: NOW_SECONDS - 3600 });
    await stores.records.putBatch([expired]);

    const items = await stores.records.getBatch([keyOf(expired)]);

    expect(items).toEqual([expired]);
    expect(await stores.records.get(expired)).toBeUndefined();
  });

  it('asks for at most 100 distinct keys per request, with strongly consistent reads', async () => {
    const tenantId = `get-chunks-${uniqueSuffix()}`;
    const stored = customerRecords(tenantId, 230);
    await stores.records.putBatch(stored);
    const requests = recordBatchGets();

    await stores.records.getBatch([...stored, ...stored].map(keyOf));

    expect(requests.map((r) => r.Keys?.length).sort()).toEqual([100, 100, 30]);
    expect(requests.every((r) => r.ConsistentRead === true)).toBe(true);
  });

  it('sends no request for no keys', async () => {
    const requests = recordBatchGets();

    const items = await stores.records.getBatch([]);

    expect(items).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('reads every item although DynamoDB leaves part of each early request unprocessed', async () => {
    const tenantId = `get-unprocessed-${uniqueSuffix()}`;
    const stored = customerRecords(tenantId, 250);
    await stores.records.putBatch(stored);
    injectUnprocessedKeys((keys, call) => (call <= 6 ? keys.slice(0, Math.ceil(keys.length / 2)) : []));

    const items = await stores.records.getBatch(stored.map(keyOf));

    expect([...items].sort(byKey)).toEqual([...stored].sort(byKey));
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('backs off with full jitter inside an exponentially growing cap', async () => {
    const tenantId = `get-jitter-${uniqueSuffix()}`;
    const stored = customerRecords(tenantId, 5);
    await stores.records.putBatch(stored);
    injectUnprocessedKeys((keys, call) => (call <= 7 ? keys : []));

    await stores.records.getBatch(stored.map(keyOf));

    expect(sleeps).toHaveLength(7);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(5_000, 50 * 2 ** i));
    });
  });

  it('throws when keys stay unprocessed after the retry budget', async () => {
    const tenantId = `get-stuck-${uniqueSuffix()}`;
    const stored = customerRecords(tenantId, 150);
    await stores.records.putBatch(stored);
    injectUnprocessedKeys((keys) => keys.slice(0, 3));

    const read = stores.records.getBatch(stored.map(keyOf));

    await expect(read).rejects.toThrow(IncompleteBatchReadError);
    await expect(read).rejects.toMatchObject({ name: 'IncompleteBatchReadError', remaining: 6 });
  });
});
