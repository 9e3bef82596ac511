/**
 * The `ExternalDataProvider` port over HTTP: `DELETE` on the tenant's endpoint
 * template with `{ref}` filled in. Throttling (429), server errors (5xx),
 * time-outs and network failures are retried with full-jitter backoff, or after
 * the provider's `Retry-After`; anything else that is not a success or a 404/410
 * fails at once.
 *
 * Errors name the endpoint and the status, never the URL: the path and query
 * carry the call reference.
 */
import type { ExternalDataProvider } from '../../domain/ports.js';
import type { Tenant, ThirdPartyEndpoint } from '../../domain/tenant.js';
import { backoffDelayMs, retryOptions, type RetryOptions } from '../retry.js';

const REF_PLACEHOLDER = '{ref}';

export interface HttpExternalDataProviderOptions extends Partial<RetryOptions> {
  /** Time allowed for one attempt, answer included, in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Longest wait a `Retry-After` header can ask for, in milliseconds (default 30 000); longer asks wait this long. */
  readonly maxRetryAfterMs?: number;
  /** Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** Defaults for third-party calls: fewer, slower retries than for AWS storage. */
const PROVIDER_RETRY: Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'> = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
};

/** An endpoint's `deleteUrl` cannot be called (wrong scheme, no `{ref}`, credentials, malformed). */
export class InvalidEndpointError extends Error {
  override readonly name = 'InvalidEndpointError';
  readonly endpointName: string;

  constructor(endpointName: string, reason: string) {
    super(`Third-party endpoint "${endpointName}" has an unusable deleteUrl: ${reason}`);
    this.endpointName = endpointName;
  }
}

/** A provider did not confirm a deletion; `status` is its last HTTP status, absent when none answered. */
export class ExternalProviderError extends Error {
  override readonly name = 'ExternalProviderError';
  readonly endpointName: string;
  readonly tenantId: string;
  readonly status: number | undefined;
  readonly attempts: number;

  constructor(
    message: string,
    details: { readonly endpointName: string; readonly tenantId: string; readonly status?: number; readonly attempts: number },
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.endpointName = details.endpointName;
    this.tenantId = details.tenantId;
    this.status = details.status;
    this.attempts = details.attempts;
  }
}

/**
 * Checks a `deleteUrl` template the way a call would; a tenant API can run it to
 * refuse a bad endpoint up front. Throws an `InvalidEndpointError`.
 */
export function assertDeleteUrl(endpoint: ThirdPartyEndpoint): void {
  if (!endpoint.deleteUrl.includes(REF_PLACEHOLDER)) {
    throw new InvalidEndpointError(endpoint.name, `it must contain ${REF_PLACEHOLDER}`);
  }
  let url: URL;
  try {
    url = new URL(endpoint.deleteUrl.replaceAll(REF_PLACEHOLDER, 'ref'));
  } catch {
    throw new InvalidEndpointError(endpoint.name, 'it is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidEndpointError(endpoint.name, `only http and https URLs are allowed, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidEndpointError(endpoint.name, 'it must not carry credentials');
  }
}

type Attempt =
  | { readonly kind: 'answer'; readonly status: number; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'no_answer'; readonly error: unknown };

export class HttpExternalDataProvider implements ExternalDataProvider {
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: HttpExternalDataProviderOptions = {}) {
    const { timeoutMs = 10_000, maxRetryAfterMs = 30_000, fetch: fetchImpl, ...retry } = options;
    this.retry = retryOptions({ ...PROVIDER_RETRY, ...retry });
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    if (!(maxRetryAfterMs >= 0)) throw new RangeError(`maxRetryAfterMs must not be negative, got ${maxRetryAfterMs}`);
    this.timeoutMs = timeoutMs;
    this.maxRetryAfterMs = maxRetryAfterMs;
    this.fetch = fetchImpl ?? globalThis.fetch;
  }

  async deleteCallData(
    tenant: Tenant,
    endpoint: ThirdPartyEndpoint,
    ref: string,
    options: { readonly budgetMs?: number } = {},
  ): Promise<'deleted' | 'not_found'> {
    assertDeleteUrl(endpoint);
    const url = endpoint.deleteUrl.replaceAll(REF_PLACEHOLDER, encodeURIComponent(ref));
    const fail = (message: string, attempts: number, status?: number, cause?: unknown): ExternalProviderError =>
      new ExternalProviderError(
        `Third-party endpoint "${endpoint.name}" ${message}`,
        { endpointName: endpoint.name, tenantId: tenant.tenantId, attempts, ...(status !== undefined && { status }) },
        { cause },
      );

    // With a budget, no attempt runs past it and no retry starts after it.
    const deadline = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.budgetMs;
    const left = () => deadline - Date.now();
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(1, Math.min(this.timeoutMs, left()));
      const outcome = await this.attempt(url, timeoutMs);
      const last = attempt >= this.retry.maxAttempts || left() <= 0;
      if (outcome.kind === 'no_answer') {
        if (last) throw fail(`${describeNoAnswer(outcome.error, timeoutMs)} after ${attempt} attempt(s)`, attempt, undefined, outcome.error);
        await this.retry.sleep(backoffDelayMs(attempt, this.retry));
        continue;
      }
      const { status } = outcome;
      if (status >= 200 && status < 300) return 'deleted';
      if (status === 404 || status === 410) return 'not_found';
      if (!isRetryableStatus(status)) throw fail(`answered HTTP ${status}`, attempt, status);
      if (last) throw fail(`answered HTTP ${status} after ${attempt} attempt(s)`, attempt, status);
      await this.retry.sleep(
        outcome.retryAfterMs !== undefined
          ? Math.min(outcome.retryAfterMs, this.maxRetryAfterMs)
          : backoffDelayMs(attempt, this.retry),
      );
    }
  }

  private async attempt(url: string, timeoutMs: number): Promise<Attempt> {
    let response: Response;
    try {
      // Redirects are not followed: a DELETE must not wander to another host.
      response = await this.fetch(url, { method: 'DELETE', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      return { kind: 'no_answer', error };
    }
    // Drain the body so the connection can be reused; its content is not needed.
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'answer', status: response.status, retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')) };
  }
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status < 600);
}

/** `Retry-After` in delay-seconds; an HTTP-date (or anything else) counts as absent, and backoff applies. */
export function parseRetryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number.parseInt(value, 10) * 1000;
}

function describeNoAnswer(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return `did not answer within ${timeoutMs} ms`;
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, …) in `cause`.
  const code = ((error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `could not be reached (${code})` : 'could not be reached';
}
