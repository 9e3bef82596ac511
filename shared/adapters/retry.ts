/**
 * Backoff for the adapters' own loops, and bounded concurrency. Failed requests
 * are retried by the SDK clients alone (`clients.ts`); these loops resend only
 * what a successful answer left undone (unprocessed batch items, per-key
 * DeleteObjects errors) and a third-party provider's HTTP calls. Sleep and
 * randomness are injectable so tests run without waiting.
 */

export interface RetryOptions {
  /** Rounds in all, the first one included (default 8). */
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

/**
 * A short, PII-free reason for a failed key: the error's name, never its message
 * (which may echo keys), and how many attempts the SDK made when it retried.
 */
export function errorReason(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name, $metadata } = error as { name?: unknown; $metadata?: { attempts?: unknown } };
  const base = typeof name === 'string' ? name : 'UnknownError';
  const attempts = $metadata?.attempts;
  return typeof attempts === 'number' && attempts > 1 ? `${base} after ${attempts} attempts` : base;
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

/** A batch write that left items unwritten (unprocessed after every round, or a failed request as `cause`). */
export class IncompleteBatchWriteError extends Error {
  override readonly name = 'IncompleteBatchWriteError';
  readonly remaining: number;

  constructor(message: string, remaining: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.remaining = remaining;
  }
}

/** A batch read that left keys unread (unprocessed after every round, or a failed request as `cause`). */
export class IncompleteBatchReadError extends Error {
  override readonly name = 'IncompleteBatchReadError';
  readonly remaining: number;

  constructor(message: string, remaining: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.remaining = remaining;
  }
}
