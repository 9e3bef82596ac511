/**
 * The batched methods of the control store against dynalite. What dynalite never
 * does (leave keys or items unprocessed, throttle) is injected by a middleware on
 * the real client, so the requests that do go through still reach the emulator;
 * throttling is injected where the SDK's own retries see it.
 */
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import {
  QueryCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ATTEMPTS } from '../../shared/adapters/clients.js';
import { DynamoControlStore, controlKeys } from '../../shared/adapters/dynamodb/control-store.js';
import { IncompleteBatchReadError } from '../../shared/adapters/retry.js';
import { IncompleteBatchWriteError } from '../../shared/adapters/retry.js';
import type { PolicyRevision, TenantPolicy } from '../../shared/domain/policy.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { clearFaults, failAttempts, fastRetryClients } from './sdk-faults.js';

type Key = Record<string, unknown>;
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

const FAULT = 'injectBatchFault';
const RECORDER = 'recordBatchRequests';

let stores: Stores;
/** The SDK client under the store: its retries do not wait, and faults are injected on it. */
const sdk = fastRetryClients();
let control: DynamoControlStore;
let sleeps: number[];

beforeAll(async () => {
  sleeps = [];
  stores = await makeStores();
  control = new DynamoControlStore({
    doc: sdk.doc,
    tableName: stores.tableNames.control,
    retry: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
});

afterEach(() => {
  sdk.client.middlewareStack.remove(FAULT);
  sdk.client.middlewareStack.remove(RECORDER);
  clearFaults(sdk.client);
  sdk.retries.length = 0;
  sleeps.length = 0;
});

function tenantId(): string {
  return `t-${uniqueSuffix()}`;
}

function tenant(id: string, overrides: Partial<Tenant> = {}): Tenant {
  return {
    tenantId: id,
    name: `Tenant ${id}`,
    status: 'active',
    adminEmails: ['ops@example.com'],
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function revision(id: string, version: number, previous?: TenantPolicy): PolicyRevision {
  const policy: TenantPolicy = {
    tenantId: id,
    profile: 'conversations',
    version,
    locked: false,
    categories: { conversation: { days: 100 + version } },
    updatedAt: `2025-02-0${version}T00:00:00.000Z`,
    updatedBy: 'admin-1',
  };
  return {
    version,
    policy,
    ...(previous !== undefined && { previous }),
    changedAt: policy.updatedAt as string,
    changedBy: 'admin-1',
  };
}

async function saveVersions(id: string, count: number): Promise<void> {
  let previous: TenantPolicy | undefined;
  for (let version = 1; version <= count; version++) {
    const r = revision(id, version, previous);
    await control.savePolicy(r, version - 1);
    previous = r.policy;
  }
}

function receipt(id: string, runId: string, startedAt: string, overrides: Partial<Receipt> = {}): Receipt {
  return {
    runId,
    tenantId: id,
    kind: 'sweep',
    status: 'running',
    dryRun: false,
    policyVersion: 1,
    profile: 'conversations',
    startedAt,
    cutoffs: { conversation: '2024-09-01T00:00:00.000Z', customer_profile: null },
    categories: {},
    ...overrides,
  };
}

/** A finished receipt with every optional field set. */
function completedReceipt(id: string, runId: string, startedAt: string): Receipt {
  return receipt(id, runId, startedAt, {
    status: 'completed',
    finishedAt: '2025-03-01T00:01:00.000Z',
    durationMs: 60_000,
    categories: { conversation: { examined: 10, deleted: 8, held: 1, failed: 1, kept: 0 } },
    subjectRefs: ['hmac:ab12', 'hmac:cd34'],
    subjectRefsTruncated: true,
    failedStages: [{ stage: 2, error: 'ThrottlingException' }],
    completedStages: [0, 1],
    alertedAt: '2025-03-01T00:02:00.000Z',
    lastChunk: { key: 'chunk-7', counts: { conversation: { examined: 2, deleted: 2, held: 0, failed: 0, kept: 0 } } },
  });
}

/** Thirty receipts of a tenant, started an hour apart, in an order that is neither time nor id order. */
function thirtyReceipts(id: string): Receipt[] {
  return Array.from({ length: 30 }, (_, i) => {
    const hour = (i * 7) % 30;
    return receipt(id, `run-${String(29 - hour).padStart(2, '0')}`, new Date(Date.UTC(2025, 2, 1, hour)).toISOString());
  });
}

function byId<T extends { readonly tenantId: string; readonly runId?: string }>(items: readonly T[]): T[] {
  const id = (item: T): string => `${item.tenantId}|${item.runId ?? ''}`;
  return [...items].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

/** Receipt items of a tenant's partition as stored, with the tenant's id blanked out to compare across tenants. */
async function storedReceiptItems(id: string): Promise<Record<string, unknown>[]> {
  const output = await stores.doc.send(
    new QueryCommand({
      TableName: stores.tableNames.control,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': controlKeys.tenantPk(id) },
      ConsistentRead: true,
    }),
  );
  return (output.Items ?? []).map((item) => ({ ...item, pk: 'TENANT#?', tenantId: '?' }));
}

/** Records the input of every BatchGetItem and BatchWriteItem sent. */
function recordBatchRequests(): { gets: BatchGetCommandInput[]; writes: BatchWriteCommandInput[] } {
  const recorded = { gets: [] as BatchGetCommandInput[], writes: [] as BatchWriteCommandInput[] };
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    // At the initialize step the document client's input and output are still plain objects.
    if (context.commandName === 'BatchGetItemCommand') recorded.gets.push(args.input as unknown as BatchGetCommandInput);
    if (context.commandName === 'BatchWriteItemCommand') recorded.writes.push(args.input as unknown as BatchWriteCommandInput);
    return next(args);
  };
  sdk.client.middlewareStack.add(middleware, { step: 'initialize', name: RECORDER });
  return recorded;
}

/**
 * Makes BatchGetItem hold back part of each request, as DynamoDB does under load
 * or past 16 MB: `withhold(keys, call)` picks the keys that come back as
 * UnprocessedKeys without being sent; the rest are really read.
 */
function injectUnprocessedKeys(withhold: (keys: Key[], call: number) => Key[]): void {
  let call = 0;
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName !== 'BatchGetItemCommand') return next(args);
    const input = args.input as unknown as BatchGetCommandInput;
    const [table, request] = Object.entries(input.RequestItems ?? {})[0] as [string, { Keys: Key[] }];
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
    (result.output as unknown as BatchGetCommandOutput).UnprocessedKeys = { [table]: { Keys: [...held] } };
    return result;
  };
  sdk.client.middlewareStack.add(middleware, { step: 'initialize', name: FAULT });
}

/** Like `injectUnprocessedKeys`, for BatchWriteItem and its UnprocessedItems. */
function injectUnprocessedItems(withhold: (requests: WriteRequest[], call: number) => WriteRequest[]): void {
  let call = 0;
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName !== 'BatchWriteItemCommand') return next(args);
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

/** Makes the first `failures` attempts of a command fail whole with the named error, where the SDK's retries see them. */
function injectErrors(commandName: string, name: string, failures: number): { sends: () => number } {
  return failAttempts(sdk.client, commandName, name, { failures });
}

function expectFullJitter(delays: readonly number[]): void {
  delays.forEach((ms, i) => {
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThanOrEqual(Math.min(5_000, 50 * 2 ** i));
  });
}

describe('DynamoControlStore.getTenants', () => {
  it('reads each tenant exactly as getTenant does', async () => {
    const tenants = [
      tenant(tenantId(), { contractEndsAt: '2026-01-01T00:00:00.000Z', retentionShards: 4 }),
      tenant(tenantId(), { status: 'suspended', lastActivityAt: '2025-03-01T00:00:00.000Z' }),
      tenant(tenantId(), { thirdPartyEndpoints: [{ name: 'voice', deleteUrl: 'https://provider.example/calls/{ref}' }] }),
    ];
    await Promise.all(tenants.map((t) => control.putTenant(t)));

    const batched = await control.getTenants(tenants.map((t) => t.tenantId));

    const single = await Promise.all(tenants.map((t) => control.getTenant(t.tenantId)));
    expect(byId(batched)).toStrictEqual(byId(single as Tenant[]));
    expect(byId(batched)).toEqual(byId(tenants));
  });

  it('leaves out the tenants that do not exist', async () => {
    const stored = tenant(tenantId());
    await control.putTenant(stored);

    const found = await control.getTenants([tenantId(), stored.tenantId, tenantId()]);

    expect(found).toEqual([stored]);
  });

  it('reads 130 tenants, more than one BatchGetItem takes', async () => {
    const tenants = Array.from({ length: 130 }, () => tenant(tenantId()));
    // Written ten at a time: 130 requests at once can make the embedded emulator drop sockets on a loaded machine.
    for (let i = 0; i < tenants.length; i += 10) await Promise.all(tenants.slice(i, i + 10).map((t) => control.putTenant(t)));

    const found = await control.getTenants(tenants.map((t) => t.tenantId));

    expect(byId(found)).toEqual(byId(tenants));
  });

  it('asks for at most 100 keys per request, strongly consistent', async () => {
    const ids = Array.from({ length: 130 }, () => tenantId());
    const recorded = recordBatchRequests();

    await control.getTenants(ids);

    const requests = recorded.gets.map((input) => input.RequestItems?.[stores.tableNames.control]);
    expect(requests.map((r) => r?.Keys?.length ?? 0).sort((a, b) => a - b)).toEqual([30, 100]);
    expect(requests.every((r) => r?.ConsistentRead === true)).toBe(true);
  });

  it('reads a tenant named twice once', async () => {
    const stored = tenant(tenantId());
    await control.putTenant(stored);
    const recorded = recordBatchRequests();

    const found = await control.getTenants([stored.tenantId, stored.tenantId]);

    expect(found).toEqual([stored]);
    expect(recorded.gets[0]?.RequestItems?.[stores.tableNames.control]?.Keys).toHaveLength(1);
  });

  it('resolves to no tenants, without a request, when asked for none', async () => {
    const recorded = recordBatchRequests();

    const found = await control.getTenants([]);

    expect(found).toEqual([]);
    expect(recorded.gets).toEqual([]);
  });
});

describe('DynamoControlStore.getPolicies', () => {
  it('reads the current policy of each tenant exactly as getPolicy does', async () => {
    const ids = [tenantId(), tenantId()];
    await saveVersions(ids[0] as string, 2);
    await saveVersions(ids[1] as string, 1);

    const batched = await control.getPolicies(ids);

    const single = await Promise.all(ids.map((id) => control.getPolicy(id)));
    expect(byId(batched)).toStrictEqual(byId(single as TenantPolicy[]));
    expect(batched.find((p) => p.tenantId === ids[0])?.version).toBe(2);
  });

  it('leaves out the tenants that have no policy', async () => {
    const withPolicy = tenantId();
    await saveVersions(withPolicy, 1);

    const found = await control.getPolicies([tenantId(), withPolicy, withPolicy]);

    expect(found.map((p) => p.tenantId)).toEqual([withPolicy]);
  });
});

describe('DynamoControlStore.getReceipts', () => {
  it('reads each receipt exactly as getReceipt does', async () => {
    const id = tenantId();
    const receipts = [
      completedReceipt(id, 'run-1', '2025-03-01T00:00:00.000Z'),
      receipt(id, 'run-2', '2025-03-02T00:00:00.000Z'),
      receipt(tenantId(), 'run-1', '2025-03-01T00:00:00.000Z', { kind: 'privacy_request', dryRun: true }),
    ];
    await Promise.all(receipts.map((r) => control.putReceipt(r)));

    const batched = await control.getReceipts(receipts);

    const single = await Promise.all(receipts.map((r) => control.getReceipt(r.tenantId, r.runId)));
    expect(byId(batched)).toStrictEqual(byId(single as Receipt[]));
    expect(byId(batched)).toEqual(byId(receipts));
  });

  it('leaves out the runs that do not exist, and those of another tenant', async () => {
    const id = tenantId();
    const stored = receipt(id, 'run-1', '2025-03-01T00:00:00.000Z');
    await control.putReceipt(stored);

    const found = await control.getReceipts([
      { tenantId: id, runId: 'run-1' },
      { tenantId: id, runId: 'run-unknown' },
      { tenantId: tenantId(), runId: 'run-1' },
    ]);

    expect(found).toEqual([stored]);
  });

  it('reads a run named twice once', async () => {
    const stored = receipt(tenantId(), 'run-1', '2025-03-01T00:00:00.000Z');
    await control.putReceipt(stored);

    const found = await control.getReceipts([stored, { tenantId: stored.tenantId, runId: stored.runId }]);

    expect(found).toEqual([stored]);
  });
});

describe('DynamoControlStore.putReceipts', () => {
  it('stores the same two items per receipt as putReceipt', async () => {
    const [one, batched] = [tenantId(), tenantId()];
    const receiptsOf = (id: string): Receipt[] => [
      completedReceipt(id, 'run-1', '2025-03-01T00:00:00.000Z'),
      receipt(id, 'run-2', '2025-03-02T00:00:00.000Z'),
    ];
    for (const r of receiptsOf(one)) await control.putReceipt(r);

    await control.putReceipts(receiptsOf(batched));

    const stored = await storedReceiptItems(batched);
    expect(stored).toHaveLength(4);
    expect(stored).toStrictEqual(await storedReceiptItems(one));
  });

  it('stores each receipt under its id and under its start time', async () => {
    const id = tenantId();

    await control.putReceipts([receipt(id, 'run-1', '2025-03-01T00:00:00.000Z')]);

    const stored = await storedReceiptItems(id);
    expect(stored.map((item) => [item.sk, item.type])).toEqual([
      [controlKeys.runSk('run-1'), 'receipt'],
      [controlKeys.runByStartSk('2025-03-01T00:00:00.000Z', 'run-1'), 'receipt_by_start'],
    ]);
  });

  it('stores receipts that getReceipt reads back unchanged', async () => {
    const id = tenantId();
    const receipts = [
      completedReceipt(id, 'run-1', '2025-03-01T00:00:00.000Z'),
      receipt(id, 'run-2', '2025-03-02T00:00:00.000Z'),
    ];

    await control.putReceipts(receipts);

    expect(await control.getReceipt(id, 'run-1')).toEqual(receipts[0]);
    expect(await control.getReceipt(id, 'run-2')).toEqual(receipts[1]);
  });

  it('lists 30 batched receipts newest first, exactly as receipts written one by one', async () => {
    const [one, batched] = [tenantId(), tenantId()];
    for (const r of thirtyReceipts(one)) await control.putReceipt(r);

    await control.putReceipts(thirtyReceipts(batched));

    const listed = await control.listReceipts(batched);
    const expected = (await control.listReceipts(one)).map((r) => ({ ...r, tenantId: batched }));
    expect(listed).toStrictEqual(expected);
    expect(listed.map((r) => r.startedAt)).toEqual(thirtyReceipts(batched).map((r) => r.startedAt).sort().reverse());
  });

  it('sends both items of at most 12 receipts per BatchWriteItem', async () => {
    const recorded = recordBatchRequests();

    await control.putReceipts(thirtyReceipts(tenantId()));

    const sizes = recorded.writes.map((input) => input.RequestItems?.[stores.tableNames.control]?.length ?? 0);
    expect(sizes.sort((a, b) => a - b)).toEqual([12, 24, 24]);
  });

  it('sends nothing for no receipts', async () => {
    const recorded = recordBatchRequests();

    await control.putReceipts([]);

    expect(recorded.writes).toEqual([]);
  });

  it('writes a run named twice once, as the last of its receipts', async () => {
    const id = tenantId();
    const running = receipt(id, 'run-1', '2025-03-01T00:00:00.000Z');
    const completed = completedReceipt(id, 'run-1', '2025-03-01T00:00:00.000Z');

    await control.putReceipts([running, completed]);

    expect(await control.getReceipt(id, 'run-1')).toEqual(completed);
    expect(await control.listReceipts(id)).toEqual([completed]);
  });
});

describe('DynamoControlStore batched reads under load', () => {
  it('retries UnprocessedKeys with backoff until every tenant is read', async () => {
    const tenants = Array.from({ length: 130 }, () => tenant(tenantId()));
    await Promise.all(tenants.map((t) => control.putTenant(t)));
    // The first six calls read only half of their keys.
    injectUnprocessedKeys((keys, call) => (call <= 6 ? keys.slice(0, Math.ceil(keys.length / 2)) : []));

    const found = await control.getTenants(tenants.map((t) => t.tenantId));

    expect(byId(found)).toEqual(byId(tenants));
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('retries UnprocessedKeys of policies', async () => {
    const id = tenantId();
    await saveVersions(id, 1);
    injectUnprocessedKeys((keys, call) => (call === 1 ? keys : []));

    const policies = await control.getPolicies([id]);

    expect(policies.map((p) => p.version)).toEqual([1]);
    expect(sleeps).toHaveLength(1);
  });

  it('retries UnprocessedKeys of receipts', async () => {
    const stored = receipt(tenantId(), 'run-1', '2025-03-01T00:00:00.000Z');
    await control.putReceipt(stored);
    injectUnprocessedKeys((keys, call) => (call === 1 ? keys : []));

    const receipts = await control.getReceipts([stored]);

    expect(receipts).toEqual([stored]);
    expect(sleeps).toHaveLength(1);
  });

  it('throws an IncompleteBatchReadError when keys stay unprocessed after the retry budget', async () => {
    const tenants = [tenant(tenantId()), tenant(tenantId())];
    await Promise.all(tenants.map((t) => control.putTenant(t)));
    injectUnprocessedKeys((keys) => keys.filter((k) => k.sk === tenants[0]?.tenantId));

    const read = control.getTenants(tenants.map((t) => t.tenantId));

    await expect(read).rejects.toThrow(IncompleteBatchReadError);
    await expect(read).rejects.toMatchObject({
      name: 'IncompleteBatchReadError',
      remaining: 1,
      message: '1 of 2 keys were not read (unprocessed after 8 attempts)',
    });
    expect(sleeps).toHaveLength(7);
    expectFullJitter(sleeps);
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    'a BatchGetItem rejected with %s goes through on the SDK\'s retries, and the store sends it no more often',
    async (errorName) => {
      const stored = tenant(tenantId());
      await control.putTenant(stored);
      const injected = injectErrors('BatchGetItemCommand', errorName, 4);

      const found = await control.getTenants([stored.tenantId]);

      expect(found).toEqual([stored]);
      expect(sdk.retries).toHaveLength(4);
      expect(injected.sends()).toBe(5);
      expect(sleeps).toEqual([]);
    },
  );

  it('fails a read that stays throttled after the SDK\'s attempts, with that error as the cause', async () => {
    const injected = failAttempts(sdk.client, 'BatchGetItemCommand', 'ThrottlingException');

    const read = control.getTenants([tenantId()]);

    await expect(read).rejects.toThrow(IncompleteBatchReadError);
    await expect(read).rejects.toMatchObject({
      message: `1 of 1 keys were not read (ThrottlingException after ${DEFAULT_MAX_ATTEMPTS} attempts)`,
      cause: { name: 'ThrottlingException' },
    });
    expect(injected.sends()).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(sleeps).toEqual([]);
  });

  it('fails a read rejected with a non-retryable error at once, with that error as the cause', async () => {
    const injected = injectErrors('BatchGetItemCommand', 'ValidationException', 1);

    const read = control.getTenants([tenantId()]);

    await expect(read).rejects.toThrow(IncompleteBatchReadError);
    await expect(read).rejects.toMatchObject({ cause: { name: 'ValidationException' } });
    expect(sleeps).toEqual([]);
    expect(sdk.retries).toEqual([]);
    expect(injected.sends()).toBe(1);
  });
});

describe('DynamoControlStore batched receipt writes under load', () => {
  it('retries UnprocessedItems with backoff until every receipt is written', async () => {
    const id = tenantId();
    const receipts = thirtyReceipts(id);
    // The first six calls write only half of their requests.
    injectUnprocessedItems((requests, call) => (call <= 6 ? requests.slice(0, Math.ceil(requests.length / 2)) : []));

    await control.putReceipts(receipts);

    expect(await control.listReceipts(id)).toHaveLength(30);
    expect(byId(await control.getReceipts(receipts))).toEqual(byId(receipts));
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('throws an IncompleteBatchWriteError when items stay unwritten after the retry budget', async () => {
    const receipts = thirtyReceipts(tenantId());
    injectUnprocessedItems((requests) => requests.slice(0, 1));

    const write = control.putReceipts(receipts);

    await expect(write).rejects.toThrow(IncompleteBatchWriteError);
    await expect(write).rejects.toMatchObject({
      name: 'IncompleteBatchWriteError',
      remaining: 3,
      message: '3 of 60 receipt items were not written (unprocessed after 8 attempts)',
    });
    // Three requests of 12, 12 and 6 receipts, each retried until its budget is spent.
    expect(sleeps).toHaveLength(21);
  });

  it('a BatchWriteItem rejected with throttling goes through on the SDK\'s retries, and the store sends it no more often', async () => {
    const id = tenantId();
    const stored = receipt(id, 'run-1', '2025-03-01T00:00:00.000Z');
    const injected = injectErrors('BatchWriteItemCommand', 'ProvisionedThroughputExceededException', 3);

    await control.putReceipts([stored]);

    expect(await control.listReceipts(id)).toEqual([stored]);
    expect(sdk.retries).toHaveLength(3);
    expect(injected.sends()).toBe(4);
    expect(sleeps).toEqual([]);
  });
});
