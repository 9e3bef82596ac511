/**
 * The admin API's HTTP edge: one factory that turns the use cases into an API
 * Gateway (HTTP API, payload v2) handler with middy. Per request: route (among
 * the groups this function serves) → authenticate (401) → validate path, query
 * and the headers a route reads (400) → authorize role and tenant (403) → body size (413) and JSON
 * (400) → the route's body schema (400) → the use case. One middleware maps
 * every error to `{"error": {"code", "message", "field"?}}`: domain errors to
 * 4xx with their message, anything else to a bare 500. One logs each request:
 * the route template, status, duration and tenant id — never a path value, a
 * query, a body or a claim.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import middy, { type MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { z } from 'zod';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { IngestValidationError } from '../../domain/ingest/parse.js';
import type { Clock } from '../../domain/ports.js';
import { createApiApp, requireTenant, type ApiApp, type Caller } from './app.js';
import { authenticate, authorize, type Principal } from './auth.js';
import type { ApiDeps, RouteGroup, RouteSpec } from './contract.js';
import {
  ForbiddenError,
  HeldError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestValidationError,
  UnauthorizedError,
} from './errors.js';
import type { RolesSource } from '../../domain/roles.js';
import { Router, routeKey } from './router.js';
import { definitionOf, type HeaderSchema, type RouteDefinition } from './routes.js';
import { fieldIssues, safeField, type RequestPart } from './schemas.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: ApiEvent, context?: Context) => Promise<ApiResult>;

/** API Gateway accepts 10 MB; a synchronous Lambda invocation 6 MB. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface ApiHandlerOptions {
  readonly logger: Logger;
  /** The route groups this function serves; other routes answer 404. Default: all. */
  readonly groups?: readonly RouteGroup[];
  /** Largest body accepted, in bytes (default 6 MB). */
  readonly maxBodyBytes?: number;
}

/** What the edge middlewares learn about a request, for the handler. */
interface RequestState {
  route?: RouteSpec;
  definition?: RouteDefinition;
  principal?: Principal;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  startedAt: number;
}

type MiddyRequest = middy.Request<ApiEvent, ApiResult, Error, Context>;

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

function respond(status: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { statusCode: status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

function parse<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new RequestValidationError(fieldIssues(result.error, part));
  return result.data;
}

function bodyBytes(event: ApiEvent): number {
  if (event.body === undefined || event.body === null) return 0;
  return Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

function hasBody(event: ApiEvent): boolean {
  return bodyBytes(event) > 0;
}

/** HTTP status of a domain error, by `instanceof`; anything else (undefined) is a 500. */
function statusOf(error: unknown): number | undefined {
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof MethodNotAllowedError) return 405;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof ValidationError) return 400;
  if (error instanceof DomainError) return 400;
  return undefined;
}

function errorBody(error: DomainError): { error: Record<string, unknown> } {
  if (error instanceof IngestValidationError) {
    // The domain names fields after the body's own keys; keep only the parts fit to echo.
    const issues = error.issues.map((i) => ({ ...i, field: safeField(i.field, i.index === null ? 'body' : `records.${i.index}`) }));
    const first = issues[0] ?? { field: 'records', message: 'is invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    return { error: { code: error.code, message: `${first.field} ${first.message}${more}`, field: first.field, issues } };
  }
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field !== undefined && { field: error.field }),
      ...(error instanceof RequestValidationError && { issues: error.issues }),
      ...(error instanceof HeldError && { holdIds: error.holdIds }),
    },
  };
}

/**
 * Maps every error to the API's error shape; only 4xx messages reach the caller.
 * Our own rather than middy's http-error-handler: that one answers with the
 * error's message as the body and a status the error must carry itself, where
 * the domain's classes carry neither and are mapped here by `instanceof`.
 */
function errorMapping(logger: Logger, states: WeakMap<object, RequestState>): MiddlewareObj<ApiEvent, ApiResult, Error, Context> {
  return {
    onError: (request: MiddyRequest) => {
      const error = request.error;
      const status = statusOf(error);
      if (status !== undefined && error instanceof DomainError) {
        const headers: Record<string, string> =
          error instanceof MethodNotAllowedError
            ? { allow: error.allowed.join(', ') }
            : error instanceof UnauthorizedError
              ? { 'www-authenticate': 'Bearer' }
              : {};
        request.response = respond(status, errorBody(error), headers);
        return;
      }
      // Name only: messages of SDK errors can quote keys and values.
      const route = states.get(request.event)?.route;
      logger.error('request failed', {
        route: route === undefined ? undefined : routeKey(route),
        error: error instanceof Error ? error.name : typeof error,
      });
      request.response = respond(500, { error: { code: 'internal_error', message: 'Internal Server Error' } });
    },
  };
}

/** One log line per request: route template, status, duration, tenant id. */
function requestLog(logger: Logger, states: WeakMap<object, RequestState>): MiddlewareObj<ApiEvent, ApiResult, Error, Context> {
  const log = (request: MiddyRequest) => {
    const state = states.get(request.event);
    const status = request.response?.statusCode ?? 500;
    const attributes = {
      route: state?.route === undefined ? 'unmatched' : routeKey(state.route),
      status,
      durationMs: state === undefined ? undefined : Math.round(performance.now() - state.startedAt),
      tenantId: typeof state?.params?.t === 'string' ? state.params.t : undefined,
      requestId: request.event.requestContext?.requestId,
      ...(status >= 400 && request.error instanceof DomainError && { code: request.error.code }),
    };
    if (status >= 500) logger.error('api request', attributes);
    else logger.info('api request', attributes);
  };
  return {
    before: (request: MiddyRequest) => {
      states.set(request.event, { startedAt: performance.now() });
    },
    after: log,
    onError: log,
  };
}

/**
 * The headers a schema names, by its spelling (`Idempotency-Key`), found
 * case-insensitively: API Gateway hands them over lower-cased.
 */
function namedHeaders(schema: HeaderSchema, headers: ApiEvent['headers'] | undefined): Record<string, string> {
  const byLowerName = new Map(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const out: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = byLowerName.get(name.toLowerCase());
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Finds the route, checks the token, validates path and query (and headers it reads), checks role (the profile's, for routes tied to actions) and tenant. */
function routingAndAuth(
  router: Router,
  states: WeakMap<object, RequestState>,
  platform: () => RolesSource,
): MiddlewareObj<ApiEvent, ApiResult, Error, Context> {
  return {
    before: (request: MiddyRequest) => {
      const event = request.event;
      const state = states.get(event) as RequestState;
      const method = event.requestContext?.http?.method ?? 'GET';
      const match = router.match(method.toUpperCase(), event.rawPath ?? event.requestContext?.http?.path ?? '/');
      state.route = match.route;
      state.definition = definitionOf(match.route);
      const principal = authenticate(match.route, event);
      if (principal !== undefined) state.principal = principal;
      state.params = parse(state.definition.params, match.params, 'path') as Record<string, unknown>;
      state.query = parse(state.definition.query, event.queryStringParameters ?? {}, 'query') as Record<string, unknown>;
      if (state.definition.headers !== undefined) {
        state.headers = parse(state.definition.headers, namedHeaders(state.definition.headers, event.headers), 'header') as Record<string, unknown>;
      }
      authorize(match.route, principal, typeof state.params.t === 'string' ? state.params.t : undefined, platform);
    },
  };
}

/** Refuses oversized bodies and bodies on routes that take none, then parses JSON (any content type). */
function bodyGuard(maxBodyBytes: number, states: WeakMap<object, RequestState>): MiddlewareObj<ApiEvent, ApiResult, Error, Context> {
  const json = httpJsonBodyParser({ disableContentTypeCheck: true });
  return {
    before: async (request: MiddyRequest) => {
      const event = request.event;
      const definition = states.get(event)?.definition as RouteDefinition;
      if (bodyBytes(event) > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
      if (!hasBody(event)) {
        event.body = undefined;
        return;
      }
      if (definition.body === undefined) throw new ValidationError('body', 'body: this route takes no body');
      try {
        await json.before?.(request as never);
      } catch {
        throw new ValidationError('body', 'body: is not valid JSON');
      }
    },
  };
}

/**
 * The API handler for the given groups' routes. Adapters come in `deps`
 * (composition root: `functions/api-runtime.ts`, local mode, tests).
 */
export function createApiHandler(deps: ApiDeps, options: ApiHandlerOptions): ApiHandler {
  const app: ApiApp = createApiApp(deps);
  const router = new Router(options.groups);
  const states = new WeakMap<object, RequestState>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const dispatch = async (event: ApiEvent): Promise<ApiResult> => {
    const state = states.get(event) as RequestState;
    const route = state.route as RouteSpec;
    const definition = state.definition as RouteDefinition;
    const params = state.params ?? {};
    const raw: unknown = event.body;
    let body: unknown;
    if (definition.body !== undefined) {
      if (raw === undefined) {
        if (definition.bodyRequired ?? true) throw new ValidationError('body', 'body: is required');
        body = undefined;
      } else {
        body = definition.validateBody === false ? raw : parse(definition.body, raw, 'body');
      }
    }
    const caller: Caller = {
      actor: state.principal === undefined ? 'anonymous' : app.refs.actor(state.principal.subject),
      now: deps.clock.now(),
    };
    const loadTenant = definition.loadTenant ?? route.path.includes('{t}');
    const tenant = loadTenant && typeof params.t === 'string' ? await requireTenant(app, params.t) : undefined;
    const result = await definition.handle(app, {
      params,
      query: state.query ?? {},
      headers: state.headers ?? {},
      body,
      caller,
      tenant: tenant as never,
    });
    if (result.binary !== undefined) {
      // API Gateway decodes a base64 answer back to the bytes; the 6 MB Lambda limit applies to the encoded form.
      return {
        statusCode: result.status,
        // Served as a file, never rendered on the API's origin (the content type is the ingesting tenant's word).
        headers: { 'content-type': result.binary.contentType, 'content-disposition': 'attachment', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
        body: Buffer.from(result.binary.bytes).toString('base64'),
        isBase64Encoded: true,
      };
    }
    return respond(result.status, result.body);
  };

  const handler = middy<ApiEvent, ApiResult, Error, Context>(dispatch as never)
    .use(requestLog(options.logger, states))
    .use(errorMapping(options.logger, states))
    // The profile is read lazily: the public handler's dependencies have none.
    .use(routingAndAuth(router, states, () => deps.platform))
    .use(bodyGuard(maxBodyBytes, states));

  return (event, context) => handler(event, context ?? ({} as Context));
}

/** Groups whose every route is public. */
const PUBLIC_GROUPS: readonly RouteGroup[] = ['openapi'];

/**
 * A handler for the public routes only (the OpenAPI document). It needs no
 * store and no secret, so its function is granted nothing; any use of a
 * dependency other than the clock is a programming error.
 */
export function createPublicApiHandler(options: { readonly logger: Logger; readonly clock?: Clock }): ApiHandler {
  const clock = options.clock ?? { now: () => new Date() };
  const deps = new Proxy({} as ApiDeps, {
    get: (_target, property) => {
      if (property === 'clock') return clock;
      throw new Error(`the public API handler has no ${String(property)}`);
    },
  });
  return createApiHandler(deps, { logger: options.logger, groups: PUBLIC_GROUPS });
}


