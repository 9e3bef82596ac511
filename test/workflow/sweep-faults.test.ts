/**
 * Faults during a sweep, on the emulators through the real AWS SDK: DynamoDB
 * throttling and UnprocessedItems on every third batch, an S3 per-key error,
 * and a stage handler killed after its first chunk. The run completes (or the
 * next one does); nothing is wrongly deleted, no blob is orphaned, and the
 * receipts count exactly what the stores lost.
 */
import type { ServiceInputTypes as DynamoIn, ServiceOutputTypes as DynamoOut } from '@aws-sdk/client-dynamodb';
import type { ServiceInputTypes as S3In, ServiceOutputTypes as S3Out, DeleteObjectsCommandInput, DeleteObjectsCommandOutput } from '@aws-sdk/client-s3';
import type { BatchWriteCommandInput, BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { FinalizeRequestMiddleware, InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receipt } from '../../shared/domain/receipt.js';
import { startFakeProvider, type FakeProvider } from '../../shared/local/fake-provider.js';
import { runSweepLocally, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { harness, remainingKeys, spec, type Harness } from '../support/sweep-harness.js';
import { buildWorld, expectedDeletions, worldKey } from '../support/worlds.js';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider.close();
});

/** Every third BatchWriteItem writes only half its requests and hands the rest back as UnprocessedItems. */
function unprocessedEveryThirdBatch(h: Harness): () => number {
  let calls = 0;
  const middleware: InitializeMiddleware<DynamoIn, DynamoOut> = (next, context) => async (args) => {
    if (context.commandName !== 'BatchWriteItemCommand' || ++calls % 3 !== 0) return next(args);
    const input = args.input as unknown as BatchWriteCommandInput;
    const [table, requests] = Object.entries(input.RequestItems ?? {})[0] as [string, WriteRequest[]];
    const held = requests.slice(0, Math.ceil(requests.length / 2));
    const sent = requests.slice(held.length);
    const result =
      sent.length === 0
        ? { output: { $metadata: {} } as DynamoOut, response: {} }
        : await next({ ...args, input: { ...input, RequestItems: { [table]: sent } } as unknown as DynamoIn });
    (result.output as unknown as BatchWriteCommandOutput).UnprocessedItems = { [table]: held };
    return result;
  };
  h.stores.dynamo.middlewareStack.add(middleware, { step: 'initialize', name: 'unprocessedEveryThird' });
  return () => calls;
}

/** Every third request of the given commands (up to `limit` of them) is throttled, inside the SDK's own retry loop. */
function throttleEveryThird(h: Harness, commands: readonly string[], limit: number): () => number {
  let calls = 0;
  let throttled = 0;
  const middleware: FinalizeRequestMiddleware<DynamoIn, DynamoOut> = (next, context) => async (args) => {
    if (commands.includes(context.commandName as string) && ++calls % 3 === 0 && throttled < limit) {
      throttled++;
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    return next(args);
  };
  h.stores.dynamo.middlewareStack.add(middleware, { step: 'finalizeRequest', priority: 'low', name: 'throttleEveryThird' });
  return () => throttled;
}

/** DeleteObjects answers AccessDenied for one key (and really deletes the others) while `active()` says so. */
function failOneBlobKey(h: Harness, key: string, active: () => boolean): void {
  const middleware: InitializeMiddleware<S3In, S3Out> = (next, context) => async (args) => {
    if (context.commandName !== 'DeleteObjectsCommand' || !active()) return next(args);
    const input = args.input as DeleteObjectsCommandInput;
    const objects = input.Delete?.Objects ?? [];
    if (!objects.some((o) => o.Key === key)) return next(args);
    const rest = objects.filter((o) => o.Key !== key);
    const result =
      rest.length === 0
        ? { output: { $metadata: {} } as S3Out, response: {} }
        : await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: rest } } as S3In });
    const output = result.output as DeleteObjectsCommandOutput;
    output.Errors = [...(output.Errors ?? []), { Key: key, Code: 'AccessDenied', Message: 'Access Denied' }];
    return result;
  };
  h.stores.s3.middlewareStack.add(middleware, { step: 'initialize', name: 'failOneBlobKey' });
}

/** The stage handler dies once, right after its first chunk did its work. */
function killedAfterFirstChunk(handlers: SweepHandlers): { handlers: SweepHandlers; killed: () => boolean } {
  let chunks = 0;
  let killed = false;
  return {
    killed: () => killed,
    handlers: {
      ...handlers,
      stage: async (payload) => {
        const result = await handlers.stage(payload);
        if (++chunks === 1) {
          killed = true;
          throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
        }
        return result;
      },
    },
  };
}

function deletedIn(receipt: Receipt): number {
  return Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0);
}

async function assertNoOrphans(h: Harness): Promise<void> {
  const remaining = await remainingKeys(h);
  for (const blob of h.world.blobs) {
    const owner = h.world.items.find((i) => i.blobKey === blob.key)!;
    const blobThere = (await h.stores.blobs.get(blob.bucket, blob.key)) !== undefined;
    // No blob without its pointer, no pointer to a missing blob.
    expect(blobThere, `blob of ${owner.sk}`).toBe(remaining.has(worldKey(owner)));
  }
}

describe('a sweep under faults', () => {
  it('completes despite throttling, unprocessed batches, an S3 per-key error and a killed chunk; the next run finishes the rest', async () => {
    // Two tenants: one sweep group, whose deletions share requests.
    const h = await harness(buildWorld(loadProfile('voice'), [spec(), spec()]), provider);
    const expected = expectedDeletions(h.world);
    const oldRecording = h.world.items.find((i) => i.category === 'call_recording' && expected.has(worldKey(i)))!;
    const itsCall = h.world.items.find((i) => i.category === 'call' && i.callId === oldRecording.callId)!;
    let firstRun = true;
    failOneBlobKey(h, oldRecording.blobKey!, () => firstRun);
    const batches = unprocessedEveryThirdBatch(h);
    const throttled = throttleEveryThird(
      h,
      ['QueryCommand', 'GetItemCommand', 'PutItemCommand', 'UpdateItemCommand', 'BatchGetItemCommand', 'BatchWriteItemCommand'],
      40,
    );
    const kill = killedAfterFirstChunk(h.handlers);

    await runSweepLocally(h.deps, kill.handlers, {}, { executionName: 'faulty-1' });

    expect(kill.killed()).toBe(true);
    expect(batches()).toBeGreaterThanOrEqual(3);
    expect(throttled()).toBeGreaterThan(0);
    const afterFirst = await remainingKeys(h);
    // Nothing inside retention or held is gone.
    for (const item of h.world.items) if (!expected.has(worldKey(item))) expect(afterFirst.has(worldKey(item)), item.sk).toBe(true);
    // The recording whose blob could not be deleted keeps its pointer and its call.
    expect(afterFirst.has(worldKey(oldRecording))).toBe(true);
    expect(afterFirst.has(worldKey(itsCall))).toBe(true);
    await assertNoOrphans(h);
    const first = (await h.stores.control.getReceipts(['t0', 't1'].map((tenantId) => ({ tenantId, runId: 'faulty-1' })))) as Receipt[];
    expect(first.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(first.reduce((n, r) => n + (r.categories.call_recording?.failed ?? 0), 0)).toBe(1);
    expect(first.reduce((n, r) => n + deletedIn(r), 0)).toBe(h.world.items.length - afterFirst.size);

    firstRun = false;
    await runSweepLocally(h.deps, h.handlers, {}, { executionName: 'faulty-2' });

    const afterSecond = await remainingKeys(h);
    for (const item of h.world.items) expect(afterSecond.has(worldKey(item)), item.sk).toBe(!expected.has(worldKey(item)));
    await assertNoOrphans(h);
    const second = (await h.stores.control.getReceipts(['t0', 't1'].map((tenantId) => ({ tenantId, runId: 'faulty-2' })))) as Receipt[];
    expect([...first, ...second].reduce((n, r) => n + deletedIn(r), 0)).toBe(expected.size);
  });
});
