/**
 * The `ExternalDataProvider` port over HTTP: `DELETE` on the tenant's endpoint
 * template with `{ref}` filled in (percent-encoded; a reference of only dots,
 * which URL parsing would turn into a path step up, is never sent).
 *
 * Requests go out through request-filtering-agent: a host that resolves to a
 * loopback, private, link-local (the instance metadata service, IPv4 and
 * IPv6) or otherwise reserved address is refused at connect time, after DNS,
 * so a name that rebinds to such an address is refused too. Local mode and
 * tests, whose providers listen on 127.0.0.1, allow private networks
 * (`allowPrivateNetworks`). Throttling (429), server errors (5xx),
 * time-outs and network failures are retried with full-jitter backoff, or after
 * the provider's `Retry-After`; anything else that is not a success or a 404/410
 * fails at once.
 *
 * Errors name the endpoint and the status, never the URL: the path and query
 * carry the call reference.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { ExternalDataProvider } from '../../domain/ports.js';
import type { Tenant, ThirdPartyEndpoint } from '../../domain/tenant.js';
import { backoffDelayMs, retryOptions, type RetryOptions } from '../retry.js';

const REF_PLACEHOLDER = '{ref}';

export interface HttpExternalDataProviderOptions extends Partial<RetryOptions> {
  /** Time allowed for one attempt, answer included, in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Longest wait a `Retry-After` header can ask for, in milliseconds (default 30 000); longer asks wait this long. */
  readonly maxRetryAfterMs?: number;
  /**
   * Allow loopback and private addresses (local mode and tests, whose
   * providers listen on 127.0.0.1). @default false
   */
  readonly allowPrivateNetworks?: boolean;
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
export function assertDeleteUrl(endpoint: ThirdPartyEndpoint, options: { readonly allowPrivateNetworks?: boolean } = {}): void {
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
  if (options.allowPrivateNetworks !== true && isNonPublicHost(url.hostname)) {
    throw new InvalidEndpointError(endpoint.name, 'its host is a loopback, private, link-local or reserved address');
  }
}

/**
 * Whether a URL host names a machine that is not on the public internet: an
 * IP literal outside the unicast range (loopback, RFC 1918, link-local and the
 * metadata service, unique-local IPv6, …) or `localhost`. Names are checked
 * again, after DNS, when a call connects.
 */
export function isNonPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (!ipaddr.isValid(host)) return false;
  let address = ipaddr.parse(host);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  return address.range() !== 'unicast';
}

/** A provider reference that URL parsing would turn into a path step (`.`, `..`) or that is empty. */
export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError';
  constructor(endpointName: string) {
    super(`Third-party endpoint "${endpointName}": the call's reference cannot be sent (empty, or only dots)`);
  }
}

function assertSendableRef(endpoint: ThirdPartyEndpoint, ref: string): void {
  if (ref.length === 0 || /^\.+$/.test(ref)) throw new InvalidReferenceError(endpoint.name);
}

type Attempt =
  | { readonly kind: 'answer'; readonly status: number; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'no_answer'; readonly error: unknown };

export class HttpExternalDataProvider implements ExternalDataProvider {
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly allowPrivateNetworks: boolean;
  private readonly httpAgent: RequestFilteringHttpAgent;
  private readonly httpsAgent: RequestFilteringHttpsAgent;

  constructor(options: HttpExternalDataProviderOptions = {}) {
    const { timeoutMs = 10_000, maxRetryAfterMs = 30_000, allowPrivateNetworks = false, ...retry } = options;
    this.retry = retryOptions({ ...PROVIDER_RETRY, ...retry });
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    if (!(maxRetryAfterMs >= 0)) throw new RangeError(`maxRetryAfterMs must not be negative, got ${maxRetryAfterMs}`);
    this.timeoutMs = timeoutMs;
    this.maxRetryAfterMs = maxRetryAfterMs;
    this.allowPrivateNetworks = allowPrivateNetworks;
    const filter = { keepAlive: true, allowPrivateIPAddress: allowPrivateNetworks, allowMetaIPAddress: false };
    this.httpAgent = new RequestFilteringHttpAgent(filter);
    this.httpsAgent = new RequestFilteringHttpsAgent(filter);
  }

  async deleteCallData(
    tenant: Tenant,
    endpoint: ThirdPartyEndpoint,
    ref: string,
    options: { readonly budgetMs?: number } = {},
  ): Promise<'deleted' | 'not_found'> {
    assertDeleteUrl(endpoint, { allowPrivateNetworks: this.allowPrivateNetworks });
    assertSendableRef(endpoint, ref);
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

  private attempt(url: string, timeoutMs: number): Promise<Attempt> {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      const settle = (attempt: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(attempt);
      };
      // Redirects are not followed (node's http never does): a DELETE must not wander to another host.
      const request = send(target, { method: 'DELETE', agent: target.protocol === 'https:' ? this.httpsAgent : this.httpAgent }, (response) => {
        // Drain the body so the connection can be reused; its content is not needed.
        response.resume();
        const retryAfter = response.headers['retry-after'];
        settle({ kind: 'answer', status: response.statusCode ?? 0, retryAfterMs: parseRetryAfterMs(typeof retryAfter === 'string' ? retryAfter : null) });
      });
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        request.destroy(error);
        settle({ kind: 'no_answer', error });
      }, timeoutMs);
      request.on('error', (error) => settle({ kind: 'no_answer', error }));
      request.end();
    });
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
  // request-filtering-agent refuses the connection after DNS; say why without the address.
  if (error instanceof Error && /is not allowed\. Because/.test(error.message)) return 'could not be reached (its address is not public)';
  const own = (error as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return `could not be reached (${own})`;
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, …) in `cause`.
  const code = ((error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `could not be reached (${code})` : 'could not be reached';
}
