/**
 * Local mode's API Gateway: a node HTTP server on 127.0.0.1 that does what the
 * HTTP API does in AWS — match the request to a route of the contract, verify
 * the bearer token for every non-public route (401 otherwise), and invoke the
 * same Lambda handler with a payload-2.0 event whose
 * `requestContext.authorizer.jwt.claims` holds the verified claims.
 * Role and tenant checks stay in the handler, as in AWS.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ROUTES, type RouteSpec } from '../app/api/contract.js';

/** API Gateway's payload limit for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration time-out for HTTP APIs. */
const INTEGRATION_TIMEOUT_MS = 30_000;
const LOCAL_ACCOUNT = '000000000000';
const LOCAL_API_ID = 'local';

export type ApiHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | undefined | void>;

/** Verifies a bearer token; resolves to the claims in API Gateway's string form, rejects when invalid. */
export type TokenVerifier = (token: string) => Promise<Record<string, string>>;

/** A request as read off the socket. */
export interface IncomingRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
}

/** A local-only endpoint outside the API (e.g. the fake third-party provider), by path prefix. */
export interface LocalRoute {
  readonly prefix: string;
  /** Whether a valid token is required. */
  readonly auth: 'none' | 'token';
  handle(request: IncomingRequest): Promise<HttpReply>;
}

export interface LocalServerOptions {
  readonly handler: ApiHandler;
  readonly verifyToken: TokenVerifier;
  readonly logger: Logger;
  /** @default every route of the contract */
  readonly routes?: readonly RouteSpec[];
  readonly localRoutes?: readonly LocalRoute[];
  /** Serves what is not the API (a path outside `/v1/` that no local route takes): the web console. @default a 404 */
  readonly site?: LocalRoute;
  /** @default 10 MiB */
  readonly maxBodyBytes?: number;
}

export interface RouteMatch {
  readonly route: RouteSpec;
  readonly pathParameters: Record<string, string>;
}

/**
 * The route a request goes to, as API Gateway picks it: exact segments beat
 * `{parameters}`, the method must match, and anything else is no route.
 */
export function matchRoute(routes: readonly RouteSpec[], method: string, rawPath: string): RouteMatch | undefined {
  const segments = rawPath.split('/');
  let best: { match: RouteMatch; literals: number } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let literals = 0;
    let matches = true;
    for (let i = 0; i < template.length && matches; i++) {
      const part = template[i] as string;
      const actual = segments[i] as string;
      if (part.startsWith('{') && part.endsWith('}')) {
        const value = safeDecode(actual);
        if (value === undefined || value === '') matches = false;
        else pathParameters[part.slice(1, -1)] = value;
      } else if (part === actual) {
        literals++;
      } else {
        matches = false;
      }
    }
    if (matches && (best === undefined || literals > best.literals)) best = { match: { route, pathParameters }, literals };
  }
  return best?.match;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const TEXTUAL = /^(text\/|application\/(json|[\w.+-]+\+json|xml|x-www-form-urlencoded|javascript))/i;

export interface EventMeta {
  readonly requestId: string;
  readonly now: Date;
}

/** The payload-2.0 event API Gateway would send for this request and route. `claims` undefined: a public route. */
export function toApiGatewayEvent(
  request: IncomingRequest,
  match: RouteMatch,
  claims: Record<string, string> | undefined,
  meta: EventMeta,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query = new URLSearchParams(request.rawQueryString);
  const queryStringParameters: Record<string, string> = {};
  for (const name of new Set(query.keys())) queryStringParameters[name] = query.getAll(name).join(',');
  const cookies = headers.cookie?.split(/;\s*/).filter((c) => c !== '');
  const textual = TEXTUAL.test(headers['content-type'] ?? 'application/json');
  const hasBody = request.body.length > 0;
  const routeKey = `${match.route.method} ${match.route.path}`;
  const host = headers.host ?? '127.0.0.1';

  const event = {
    version: '2.0',
    routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies !== undefined && cookies.length > 0 && { cookies }),
    headers,
    ...(query.size > 0 && { queryStringParameters }),
    ...(Object.keys(match.pathParameters).length > 0 && { pathParameters: match.pathParameters }),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: LOCAL_API_ID,
      ...(claims !== undefined && { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: null } } }),
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method,
        path: request.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: meta.requestId,
      routeKey,
      stage: '$default',
      time: meta.now.toUTCString(),
      timeEpoch: meta.now.getTime(),
    },
    ...(hasBody && { body: textual ? request.body.toString('utf8') : request.body.toString('base64') }),
    isBase64Encoded: hasBody && !textual,
  };
  // A public route has no authorizer, which the JWT-authorizer event type cannot express.
  return event as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** What API Gateway makes of a Lambda's payload-2.0 answer. */
export function fromApiGatewayResult(result: APIGatewayProxyResultV2 | undefined | void): HttpReply {
  if (result === undefined || result === null) return { status: 200, headers: {}, body: Buffer.alloc(0) };
  if (typeof result === 'string') return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result) };
  if (typeof result !== 'object' || !('statusCode' in result)) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result)) };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const raw = result.body ?? '';
  return {
    status: result.statusCode ?? 200,
    headers,
    body: result.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
  };
}

/** A Lambda context for one invocation of a route group's function. */
export function lambdaContext(functionName: string, requestId: string, timeoutMs = INTEGRATION_TIMEOUT_MS): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A JSON error reply in the API's error shape. */
export function errorReply(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpReply {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(JSON.stringify({ error: { code, message } })),
  };
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads the whole body; past the limit it drains the rest (so the 413 reaches the client) and rejects. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.once('error', reject);
    request.once('end', () => (size > limit ? reject(new BodyTooLargeError()) : resolve(Buffer.concat(chunks))));
  });
}

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

const unauthorized = (message: string): HttpReply =>
  errorReply(401, 'unauthorized', message, { 'www-authenticate': 'Bearer realm="lethe", error="invalid_token"' });

/** The local API server (not yet listening). */
export function createLocalServer(options: LocalServerOptions): Server {
  const routes = options.routes ?? ROUTES;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const { logger } = options;

  const authorize = async (request: IncomingRequest): Promise<{ claims: Record<string, string> } | { reply: HttpReply }> => {
    const token = bearerToken(request.headers);
    if (token === undefined) return { reply: unauthorized('a bearer token is required (Authorization: Bearer <token>)') };
    try {
      return { claims: await options.verifyToken(token) };
    } catch (error) {
      return { reply: unauthorized(`the bearer token was rejected: ${error instanceof Error ? error.message : 'invalid'}`) };
    }
  };

  const dispatch = async (request: IncomingRequest): Promise<{ reply: HttpReply; routeKey: string }> => {
    const local = options.localRoutes?.find((r) => request.rawPath.startsWith(r.prefix));
    if (local !== undefined) {
      if (local.auth === 'token') {
        const auth = await authorize(request);
        if ('reply' in auth) return { reply: auth.reply, routeKey: local.prefix };
      }
      return { reply: await local.handle(request), routeKey: local.prefix };
    }
    if (options.site !== undefined && !request.rawPath.startsWith('/v1/')) {
      return { reply: await options.site.handle(request), routeKey: options.site.prefix };
    }
    const match = matchRoute(routes, request.method, request.rawPath);
    if (match === undefined) {
      return { reply: errorReply(404, 'route_not_found', `no route for ${request.method} ${request.rawPath}`), routeKey: '-' };
    }
    const routeKey = `${match.route.method} ${match.route.path}`;
    let claims: Record<string, string> | undefined;
    if (match.route.minRole !== 'public') {
      const auth = await authorize(request);
      if ('reply' in auth) return { reply: auth.reply, routeKey };
      claims = auth.claims;
    }
    const requestId = randomUUID();
    const event = toApiGatewayEvent(request, match, claims, { requestId, now: new Date() });
    try {
      const result = await options.handler(event, lambdaContext(`lethe-api-${match.route.group}`, requestId));
      return { reply: fromApiGatewayResult(result), routeKey };
    } catch (error) {
      // As API Gateway does for a failed invocation: a generic 500, details only in the log.
      logger.error('api handler failed', { routeKey, requestId, error: error instanceof Error ? error.name : 'unknown' });
      return { reply: errorReply(500, 'internal_error', 'Internal Server Error'), routeKey };
    }
  };

  const inFlight = new Set<Promise<unknown>>();
  const server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const started = Date.now();
    const url = incoming.url ?? '/';
    const q = url.indexOf('?');
    const send = (reply: HttpReply, routeKey: string) => {
      if (!response.headersSent) {
        response.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.length) });
        response.end(reply.body);
      }
      // The handler logs its own requests; this line adds what it never sees (401s, 404s, local routes).
      logger.debug('local server request', { routeKey, status: reply.status, durationMs: Date.now() - started });
    };
    const handled = readBody(incoming, maxBodyBytes)
      .then((body) =>
        dispatch({
          method: (incoming.method ?? 'GET').toUpperCase(),
          rawPath: q < 0 ? url : url.slice(0, q),
          rawQueryString: q < 0 ? '' : url.slice(q + 1),
          headers: incoming.headers,
          body,
          sourceIp: incoming.socket.remoteAddress ?? '127.0.0.1',
        }),
      )
      .then(({ reply, routeKey }) => send(reply, routeKey))
      .catch((error: unknown) => {
        if (error instanceof BodyTooLargeError) {
          send(errorReply(413, 'payload_too_large', `the request body exceeds ${maxBodyBytes} bytes`), '-');
          return;
        }
        logger.error('local server failed', { error: error instanceof Error ? error.name : 'unknown' });
        send(errorReply(500, 'internal_error', 'Internal Server Error'), '-');
      });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  requestsInFlight.set(server, inFlight);
  return server;
}

const requestsInFlight = new WeakMap<Server, Set<Promise<unknown>>>();

/**
 * Resolves once every request the server took has been answered (or after
 * `graceMs`): a handler whose connection a stop dropped still runs against
 * the stores, which must stay open until it is done.
 */
export async function settleRequests(server: Server, graceMs: number): Promise<void> {
  const inFlight = requestsInFlight.get(server);
  if (inFlight === undefined || inFlight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...inFlight]),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Listens on 127.0.0.1 and resolves to the base URL. */
export async function listen(server: Server, port: number, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

/** Stops accepting, drops idle and in-flight keep-alive connections, resolves when closed. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}
