/**
 * The API client: openapi-fetch over the types `openapi-typescript` generates
 * from the repo's openapi.json (`npm run console:types`), the bearer token on
 * every request, and the API's error shape turned into one message.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './api-schema.js';

export type Api = Client<paths>;

/** The API's error body: `{"error": {"code", "message", "field"?}}`. */
export interface ApiErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string; readonly field?: string };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  readonly baseUrl: string;
  /** The current bearer token (refreshed as needed). */
  readonly token: () => Promise<string>;
  /** Called on a 401: the session is over. */
  readonly onUnauthorized: () => void;
}

export function createApi(options: ApiOptions): Api {
  const client = createClient<paths>({ baseUrl: options.baseUrl });
  client.use({
    async onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${await options.token()}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) options.onUnauthorized();
      return response;
    },
  });
  return client;
}

/** The data of a successful answer, or an ApiError carrying the API's message and field. */
export async function call<T>(promise: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await promise;
  if (response.ok && data !== undefined) return data;
  throw toApiError(response.status, error);
}

export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as ApiErrorBody | undefined)?.error;
  return new ApiError(status, e?.code, e?.message ?? `the API answered HTTP ${status}`, e?.field);
}

/** The JSON body of a route's answer, e.g. `Answer<'/v1/tenants/{t}', 'get'>`. */
export type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer R } } };
}
  ? R
  : never;
