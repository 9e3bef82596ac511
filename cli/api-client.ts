/**
 * A small client for the admin API (local or deployed): JSON in and out, the
 * bearer token on every request, and the API's error bodies
 * (`{"error": {code, message, field?}}`) turned into `ApiError`s. Requests go
 * through `lethe/client`'s retries (429 always; 5xx where the request may be
 * repeated), unless a fetch of its own is given.
 */
import { retryingFetch, type RetryOptions } from '../client/retry.js';

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** What else the API said about the error (e.g. `issues`, `holdIds`). */
  readonly [more: string]: unknown;
}

/** The API answered with an error status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly method: string,
    readonly path: string,
  ) {
    super(body.message);
  }

  get code(): string {
    return this.body.code;
  }

  get field(): string | undefined {
    return this.body.field;
  }

  /** The API's field issues (`[{field, message}]`), when it listed them. */
  get issues(): readonly { readonly field: string; readonly message: string }[] {
    const issues = this.body.issues;
    return Array.isArray(issues) ? (issues as { field: string; message: string }[]) : [];
  }

  /** No such route (as opposed to no such resource): the API does not serve this yet. */
  get isMissingRoute(): boolean {
    return this.status === 404 && (this.body.code === 'route_not_found' || this.body.code === 'api_gateway_not_found');
  }
}

/** The API could not be reached at all. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:4400`. */
  readonly endpoint: string;
  readonly token?: string;
  /** Per-request time-out in ms. @default 120000 */
  readonly timeoutMs?: number;
  /** @default fetch, through `lethe/client`'s retries */
  readonly fetch?: typeof fetch;
  /** Retries of the default fetch. @default 2 retries from 200 ms */
  readonly retry?: RetryOptions;
}

export class ApiClient {
  readonly endpoint: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    if (options.fetch !== undefined) {
      this.fetchFn = options.fetch;
    } else {
      const retrying = retryingFetch((request) => fetch(request), options.retry ?? { retries: 2 });
      this.fetchFn = (input, init) => retrying(new Request(input, init));
    }
  }

  get<T>(path: string, query?: Readonly<Record<string, string | number | undefined>>): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(name, String(value));
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    return this.request<T>('GET', `${path}${qs}`);
  }

  post<T>(path: string, body: unknown, headers?: Readonly<Record<string, string>>): Promise<T> {
    return this.request<T>('POST', path, body, headers);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchFn(`${this.endpoint}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(this.token !== undefined && { authorization: `Bearer ${this.token}` }),
          ...headers,
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new NetworkError(`cannot reach ${this.endpoint}: ${reason(error)}`, { cause: error });
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw new ApiError(response.status, errorBody(response.status, parsed, text), method, path.split('?')[0] ?? path);
    return parsed as T;
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The API's error shape, or API Gateway's own (`{"message": "Not Found"}`), or whatever came back. */
function errorBody(status: number, parsed: unknown, text: string): ApiErrorBody {
  const object = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const error = object.error as Partial<ApiErrorBody> | undefined;
  if (error !== undefined && typeof error.message === 'string') {
    const { code, message, field, ...more } = error;
    return { ...more, code: String(code ?? status), message, ...(typeof field === 'string' && { field }) };
  }
  if (typeof object.message === 'string') {
    // API Gateway answers a request that matches no route with {"message":"Not Found"}.
    const code = status === 404 && object.message === 'Not Found' ? 'api_gateway_not_found' : String(status);
    return { code, message: object.message };
  }
  const snippet = text.trim().slice(0, 200);
  return { code: String(status), message: snippet === '' ? `HTTP ${status}` : `HTTP ${status}: ${snippet}` };
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is `npm start` running?)';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  if (error instanceof Error && error.name === 'TimeoutError') return 'the request timed out';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
