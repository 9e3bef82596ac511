/**
 * Retries of `lethe/client` (and the CLI's client): 429 always, 5xx and network
 * errors where the request may be repeated, with exponential backoff and full
 * jitter; `Retry-After` honoured. No AWS imports, so the CLI bundle stays small.
 */

export interface RetryOptions {
  /** Attempts after the first. @default 4 */
  readonly retries?: number;
  /** First backoff, doubled on each retry, with full jitter. @default 200 */
  readonly baseDelayMs?: number;
  /** @default 10000 */
  readonly maxDelayMs?: number;
}

/** Statuses worth another attempt: throttled, or the server (or API Gateway) failed. */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Whether a failed attempt (5xx, network error) may be sent again: it may have
 * done its work before failing, so only where doing it twice does nothing more —
 * idempotent methods, ingest (all or nothing, same keys overwritten) and a
 * request with an `Idempotency-Key` (privacy requests). A 429 was refused
 * before any work and is always tried again.
 */
function repeatable(request: Request): boolean {
  return IDEMPOTENT_METHODS.has(request.method.toUpperCase()) || request.headers.has('idempotency-key') || /\/records$/u.test(new URL(request.url).pathname);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The wait a `Retry-After` header asks for (seconds or an HTTP date), in ms. */
function retryAfterMs(response: Response, now: number): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A fetch that tries again on 429, and on 5xx and network errors where the
 * request is repeatable (see `repeatable`): up to `retries` more times,
 * waiting a random time up to `baseDelayMs × 2^attempt` (at most
 * `maxDelayMs`), or what `Retry-After` asks when longer.
 */
export function retryingFetch(
  fetchFn: (request: Request) => Promise<Response>,
  options: RetryOptions,
  wait: (ms: number) => Promise<void> = sleep,
): (request: Request) => Promise<Response> {
  const retries = options.retries ?? 4;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  return async (request) => {
    const mayRepeat = repeatable(request);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      let response: Response;
      try {
        response = await fetchFn(last ? request : request.clone());
      } catch (error) {
        if (last || !mayRepeat) throw error;
        await wait(Math.random() * Math.min(max, base * 2 ** attempt));
        continue;
      }
      if (last || !RETRIED_STATUSES.has(response.status) || (response.status !== 429 && !mayRepeat)) return response;
      const asked = retryAfterMs(response, Date.now());
      const backoff = Math.random() * Math.min(max, base * 2 ** attempt);
      await response.body?.cancel();
      await wait(Math.min(max, Math.max(backoff, asked ?? 0)));
    }
  };
}
