/**
 * One chunk of a DynamoDB batch read or write against one table, with the loop
 * both stores need: the `UnprocessedKeys` / `UnprocessedItems` of a successful
 * answer are sent again with full-jitter backoff until the rounds run out. A
 * request that fails outright has already been retried by the client (standard
 * retry mode, `clients.ts`), so it ends the chunk. Never rejects: what is left
 * is handed back with a PII-free reason, for the caller to count or to throw
 * about.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoffDelayMs, errorReason, type RetryOptions } from '../retry.js';

/** BatchGetItem takes at most 100 keys. */
export const BATCH_GET_MAX = 100;
/** BatchWriteItem takes at most 25 requests. */
export const BATCH_WRITE_MAX = 25;

/** What a chunk could not get done, and why. */
export interface BatchLeftover<T> {
  readonly pending: T[];
  readonly reason?: string;
  readonly error?: unknown;
}

type Key = Record<string, unknown>;

function failed<T>(pending: T[], error: unknown): BatchLeftover<T> {
  return { pending, reason: errorReason(error), error };
}

function unprocessed<T>(pending: T[], retry: RetryOptions): BatchLeftover<T> {
  return { pending, reason: `unprocessed after ${retry.maxAttempts} attempts` };
}

/** Reads one chunk of at most 100 keys, strongly consistent. */
export async function readChunk<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  retry: RetryOptions,
): Promise<{ readonly items: T[]; readonly leftover: BatchLeftover<Key> }> {
  const items: T[] = [];
  let pending: Key[] = [...keys];
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (attempt > 1) await retry.sleep(backoffDelayMs(attempt - 1, retry));
    try {
      const output = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...((output.Responses?.[tableName] ?? []) as T[]));
      pending = (output.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
    } catch (error) {
      return { items, leftover: failed(pending, error) };
    }
    if (pending.length === 0) return { items, leftover: { pending: [] } };
  }
  return { items, leftover: unprocessed(pending, retry) };
}

/** Sends one chunk of at most 25 put or delete requests. */
export async function writeChunk<R>(doc: DynamoDBDocumentClient, tableName: string, requests: readonly R[], retry: RetryOptions): Promise<BatchLeftover<R>> {
  let pending: R[] = [...requests];
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (attempt > 1) await retry.sleep(backoffDelayMs(attempt - 1, retry));
    try {
      const output = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = (output.UnprocessedItems?.[tableName] ?? []) as R[];
    } catch (error) {
      return failed(pending, error);
    }
    if (pending.length === 0) return { pending: [] };
  }
  return unprocessed(pending, retry);
}
