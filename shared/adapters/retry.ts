/**
 * Backoff, throttling detection and bounded concurrency shared by the storage
 * adapters. Sleep and randomness are injectable so tests run without waiting.
 */

export interface RetryOptions {
  /** Attempts in all, the first one included (default 8). */
  readonly maxAttempts: number;
  /** Cap of the first retry's delay, in milliseconds (default 50). */
  readonly baseDelayMs: number;
  /** Cap of any single delay, in milliseconds (default 5000). */
  readonly maxDelayMs: number;
  /** Waits; default a timer. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1); default Math.random. */
  readonly random: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export function retryOptions(overrides: Partial<RetryOptions> = {}): RetryOptions {
  const options = { ...DEFAULT_RETRY, ...overrides };
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${options.maxAttempts}`);
  }
  return options;
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniform delay in [0, min(cap, base · 2^(retry−1))]. `retry` counts from 1.
 */
export function backoffDelayMs(retry: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(options.random() * ceiling);
}

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
]);

/**
 * Whether a whole request failed because the service asked us to slow down, or
 * with a transient server error: worth retrying after a backoff.
 */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, Code, $metadata } = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof name === 'string' && RETRYABLE_NAMES.has(name)) return true;
  if (typeof Code === 'string' && RETRYABLE_NAMES.has(Code)) return true;
  const status = $metadata?.httpStatusCode;
  return status === 429 || status === 500 || status === 503;
}

/** A short, PII-free reason for a failed key: the error's name, never its message (which may echo keys). */
export function errorReason(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string') {
    return (error as { name: string }).name;
  }
  return 'UnknownError';
}

/** The name of an AWS SDK error, if it is one. */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** Maps `items` through `fn` with at most `concurrency` calls in flight; results keep input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** A batch write that left items unwritten (retry budget spent, or a non-retryable error as `cause`). */
export class IncompleteBatchWriteError extends Error {
  override readonly name = 'IncompleteBatchWriteError';
  readonly remaining: number;

  constructor(message: string, remaining: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.remaining = remaining;
  }
}

/** A batch read that left keys unread (retry budget spent, or a non-retryable error as `cause`). */
export class IncompleteBatchReadError extends Error {
  override readonly name = 'IncompleteBatchReadError';
  readonly remaining: number;

  constructor(message: string, remaining: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.remaining = remaining;
  }
}

/**
 * Calls `fn` until it resolves, retrying retryable errors (throttling, transient
 * server errors) with full-jitter backoff; rethrows anything else, and the last
 * error once the budget is spent.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= options.maxAttempts || !isRetryableError(error)) throw error;
      await options.sleep(backoffDelayMs(attempt, options));
    }
  }
}
