/**
 * One chunk of a DynamoDB batch read or write against one table, with the
 * retry loop both stores need: `UnprocessedKeys` / `UnprocessedItems` and
 * throttled or transiently failed requests are sent again with full-jitter
 * backoff until the budget runs out. Never rejects: what is left is handed back
 * with a PII-free reason, for the caller to count or to throw about.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoffDelayMs, errorReason, isRetryableError, type RetryOptions } from '../retry.js';

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

function spent<T>(pending: T[], lastError: unknown, retry: RetryOptions): BatchLeftover<T> {
  const reason =
    lastError === undefined
      ? `unprocessed after ${retry.maxAttempts} attempts`
      : `${errorReason(lastError)} after ${retry.maxAttempts} attempts`;
  return { pending, reason, error: lastError };
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
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (attempt > 1) await retry.sleep(backoffDelayMs(attempt - 1, retry));
    try {
      const output = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...((output.Responses?.[tableName] ?? []) as T[]));
      pending = (output.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
      lastError = undefined;
      if (pending.length === 0) return { items, leftover: { pending: [] } };
    } catch (error) {
      if (!isRetryableError(error)) return { items, leftover: { pending, reason: errorReason(error), error } };
      lastError = error;
    }
  }
  return { items, leftover: spent(pending, lastError, retry) };
}

/** Sends one chunk of at most 25 put or delete requests. */
export async function writeChunk<R>(doc: DynamoDBDocumentClient, tableName: string, requests: readonly R[], retry: RetryOptions): Promise<BatchLeftover<R>> {
  let pending: R[] = [...requests];
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (attempt > 1) await retry.sleep(backoffDelayMs(attempt - 1, retry));
    try {
      const output = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = (output.UnprocessedItems?.[tableName] ?? []) as R[];
      lastError = undefined;
      if (pending.length === 0) return { pending: [] };
    } catch (error) {
      if (!isRetryableError(error)) return { pending, reason: errorReason(error), error };
      lastError = error;
    }
  }
  return spent(pending, lastError, retry);
}
