/**
 * `lethe/client`: a typed client of Lethe's API for platform services and
 * tools. The types are generated from `openapi.json` (`npm run client:types`
 * → `client/schema.d.ts`); requests go through openapi-fetch. Authentication:
 * SigV4 with IAM credentials (the `/v1/service/…` routes of a deployed stack;
 * credentials from the AWS SDK's default provider chain unless given), or a
 * bearer token (local mode's `lethe token`, or an admin's ID token). Answers of
 * 429 are retried with exponential backoff and jitter (`Retry-After`
 * honoured), and so are 5xx and network failures of requests that may be
 * repeated; `pages` walks a paged route's cursors.
 *
 *   const lethe = createLetheClient({ baseUrl, auth: { bearer: token } });
 *   const { data, error } = await lethe.api.GET('/v1/service/tenants/{t}/calls/{id}', { params: { path: { t, id } } });
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { retryingFetch, sleep, type RetryOptions } from './retry.js';
import type { paths } from './schema.js';

export { retryingFetch, type RetryOptions } from './retry.js';
export type { components, operations, paths } from './schema.js';

/** SigV4 signing of requests to API Gateway (`execute-api`). */
export interface SigV4Auth {
  /** The API's AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /** @default the AWS SDK's default provider chain (environment, SSO, profile, container, instance) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default 'execute-api' */
  readonly service?: string;
}

export type LetheAuth =
  /** A bearer token, or a function giving one per request (a token that is refreshed). */
  | { readonly bearer: string | (() => string | Promise<string>) }
  | { readonly sigv4: SigV4Auth };


export interface LetheClientOptions {
  /** The API's base URL: the stack's `AdminApiUrl`, or `http://127.0.0.1:4400` in local mode. */
  readonly baseUrl: string;
  readonly auth?: LetheAuth;
  readonly retry?: RetryOptions;
  /** @default globalThis.fetch */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** Waits between retries (tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface LetheClient {
  /** The openapi-fetch client: `GET`, `POST`, `PUT`, `DELETE` on the paths of `openapi.json`, typed. */
  readonly api: Client<paths>;
}

/** A client of Lethe's API. */
export function createLetheClient(options: LetheClientOptions): LetheClient {
  const retrying = retryingFetch(options.fetch ?? ((request) => globalThis.fetch(request)), options.retry ?? {}, options.sleep ?? sleep);
  const api = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/u, ''), fetch: retrying });
  if (options.auth !== undefined) api.use('bearer' in options.auth ? bearerMiddleware(options.auth.bearer) : sigV4Middleware(options.auth.sigv4));
  return { api };
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

/** Sets `Authorization: Bearer <token>` on every request. */
export function bearerMiddleware(token: string | (() => string | Promise<string>)): Middleware {
  if (typeof token !== 'function' && (typeof token !== 'string' || token.trim() === '')) throw new TypeError('auth.bearer: a token (or a function giving one) is required');
  return {
    onRequest: async ({ request }) => {
      request.headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`);
      return request;
    },
  };
}

/** Signs every request with SigV4 (after every other header is set: it must be the last middleware that changes the request). */
export function sigV4Middleware(auth: SigV4Auth): Middleware {
  const signer = sigV4Signer(auth);
  return { onRequest: async ({ request }) => signRequest(request, signer) };
}

/** A SigV4 signer for `auth` (credentials resolved per signing, so refreshed ones are used). */
export function sigV4Signer(auth: SigV4Auth): SignatureV4 {
  return new SignatureV4({
    service: auth.service ?? 'execute-api',
    region: auth.region,
    credentials: auth.credentials ?? defaultProvider(),
    sha256: Sha256,
    // execute-api signs the body's hash without an x-amz-content-sha256 header (that one is S3's).
    applyChecksum: false,
  });
}

/**
 * A copy of the request signed with SigV4: `host`, `x-amz-date`, the session
 * token where the credentials have one, and `authorization`, over the method,
 * path, query, the request's headers and the SHA-256 of its body.
 */
export async function signRequest(request: Request, signer: SignatureV4, signingDate?: Date): Promise<Request> {
  const url = new URL(request.url);
  const body = request.body === null ? undefined : await request.clone().text();
  const headers: Record<string, string> = { host: url.host };
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...[seen].flat(), value];
  }
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== '' && { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers,
      ...(body !== undefined && { body }),
    }),
    signingDate === undefined ? {} : { signingDate },
  );
  const out = new Headers();
  // fetch sets Host itself, from the URL it was signed over.
  for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') out.set(name, value);
  return new Request(request.url, { method: request.method, headers: out, ...(body !== undefined && { body }) });
}

// ---------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------

/** What a paged route answers: its items under some key, and the cursor of the next page. */
export interface PagedAnswer {
  readonly nextCursor?: string;
}

/** The API refused or failed a request (its `{"error": {code, message, field?}}`). */
export class LetheApiError extends Error {
  override readonly name = 'LetheApiError';

  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    super(typeof error?.message === 'string' ? error.message : `HTTP ${status}`);
  }

  /** The error's code (e.g. `not_found`, `validation_error`). */
  get code(): string | undefined {
    const code = (this.body as { error?: { code?: unknown } } | undefined)?.error?.code;
    return typeof code === 'string' ? code : undefined;
  }

  /** The field the API named. */
  get field(): string | undefined {
    const field = (this.body as { error?: { field?: unknown } } | undefined)?.error?.field;
    return typeof field === 'string' ? field : undefined;
  }
}

/**
 * Every page of a paged route, in order: `fetchPage(cursor)` makes one
 * request (an openapi-fetch call with `query.cursor`); iteration stops after
 * the page without `nextCursor`. An error answer throws {@link LetheApiError}.
 *
 *   for await (const page of pages((cursor) => lethe.api.GET('/v1/service/tenants/{t}/conversations/{id}',
 *     { params: { path: { t, id }, query: { cursor } } }))) { … page.messages … }
 */
export async function* pages<T extends PagedAnswer>(
  fetchPage: (cursor: string | undefined) => Promise<{ data?: T; error?: unknown; response: Response }>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const { data, error, response } = await fetchPage(cursor);
    if (data === undefined) throw new LetheApiError(response.status, error);
    yield data;
    cursor = data.nextCursor;
  } while (cursor !== undefined);
}

/** The data of an answer, or its error thrown as a {@link LetheApiError}. */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.data === undefined || !answer.response.ok) throw new LetheApiError(answer.response.status, answer.error);
  return answer.data;
}
