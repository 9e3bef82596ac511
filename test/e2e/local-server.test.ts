/**
 * The local server as API Gateway: route matching, the payload-2.0 event the
 * handler receives, 401 without a valid token, 404 for no route, and the
 * handler's answer passed back unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMS, ROUTES } from '../../shared/app/api/contract.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import {
  closeServer,
  createLocalServer,
  fromApiGatewayResult,
  listen,
  matchRoute,
  toApiGatewayEvent,
  type IncomingRequest,
} from '../../shared/local/server.js';

const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

describe('route matching', () => {
  it('fills path parameters, decoded', () => {
    const match = matchRoute(ROUTES, 'DELETE', '/v1/tenants/acme/legal-holds/h%3A1');

    expect(match?.route.path).toBe('/v1/tenants/{t}/legal-holds/{holdId}');
    expect(match?.pathParameters).toEqual({ t: 'acme', holdId: 'h:1' });
  });

  it('prefers literal segments over parameters', () => {
    const routes = [
      { method: 'GET' as const, path: '/v1/tenants/{t}/things/{id}', group: 'runs' as const, minRole: 'Administrator' as const },
      { method: 'GET' as const, path: '/v1/tenants/{t}/things/latest', group: 'runs' as const, minRole: 'Administrator' as const },
    ];

    expect(matchRoute(routes, 'GET', '/v1/tenants/a/things/latest')?.route.path).toBe('/v1/tenants/{t}/things/latest');
    expect(matchRoute(routes, 'GET', '/v1/tenants/a/things/x')?.route.path).toBe('/v1/tenants/{t}/things/{id}');
  });

  it('finds nothing for another method, a trailing slash or an empty parameter', () => {
    expect(matchRoute(ROUTES, 'PATCH', '/v1/tenants/acme')).toBeUndefined();
    expect(matchRoute(ROUTES, 'GET', '/v1/tenants/acme/retention-policy/')).toBeUndefined();
    expect(matchRoute(ROUTES, 'GET', '/v1/tenants//retention-policy')).toBeUndefined();
  });
});

describe('event translation', () => {
  const request: IncomingRequest = {
    method: 'POST',
    rawPath: '/v1/tenants/acme/retention-policy/preview',
    rawQueryString: 'a=1&a=2&b=x%20y',
    headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'user-agent': 'test', host: '127.0.0.1:4400', cookie: 'c1=1; c2=2' },
    body: Buffer.from('{"categories":{}}'),
    sourceIp: '127.0.0.1',
  };

  it('builds the payload-2.0 event with claims where the JWT authorizer puts them', () => {
    const match = matchRoute(ROUTES, request.method, request.rawPath)!;
    const claims = { [CLAIMS.roles]: '[Administrator]', [CLAIMS.tenant]: 'acme', sub: 'alice' };

    const event = toApiGatewayEvent(request, match, claims, { requestId: 'r1', now: new Date('2026-03-01T00:00:00Z') });

    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /v1/tenants/{t}/retention-policy/preview');
    expect(event.rawPath).toBe('/v1/tenants/acme/retention-policy/preview');
    expect(event.pathParameters).toEqual({ t: 'acme' });
    expect(event.queryStringParameters).toEqual({ a: '1,2', b: 'x y' });
    expect(event.rawQueryString).toBe('a=1&a=2&b=x%20y');
    expect(event.cookies).toEqual(['c1=1', 'c2=2']);
    expect(event.body).toBe('{"categories":{}}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.authorizer.jwt.claims).toEqual(claims);
    expect(event.requestContext.http).toMatchObject({ method: 'POST', path: request.rawPath, sourceIp: '127.0.0.1', userAgent: 'test' });
    expect(event.requestContext.routeKey).toBe(event.routeKey);
    expect(event.requestContext.stage).toBe('$default');
    expect(event.requestContext.timeEpoch).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(event.headers['content-type']).toBe('application/json');
  });

  it('base64-encodes a binary body and leaves out the authorizer on a public route', () => {
    const match = matchRoute(ROUTES, 'GET', '/v1/openapi.json')!;
    const binary = { ...request, method: 'GET', rawPath: '/v1/openapi.json', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2]) };

    const event = toApiGatewayEvent(binary, match, undefined, { requestId: 'r2', now: new Date() });

    expect(event.isBase64Encoded).toBe(true);
    expect(event.body).toBe('AAEC');
    expect('authorizer' in event.requestContext).toBe(false);
  });

  it("maps the handler's answer the way API Gateway does", () => {
    expect(fromApiGatewayResult({ statusCode: 201, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' })).toMatchObject({
      status: 201,
      headers: { 'content-type': 'application/json' },
    });
    expect(fromApiGatewayResult({ statusCode: 200, body: 'AAEC', isBase64Encoded: true }).body).toEqual(Buffer.from([0, 1, 2]));
    const bare = fromApiGatewayResult({ hello: 'world' } as never);
    expect(bare.status).toBe(200);
    expect(JSON.parse(bare.body.toString())).toEqual({ hello: 'world' });
  });
});

describe('the local server', () => {
  const key = randomBytes(32);
  const seen: { event: APIGatewayProxyEventV2WithJWTAuthorizer; context: Context }[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createLocalServer({
      handler: async (event, context) => {
        seen.push({ event, context });
        if (event.rawPath.endsWith('/boom')) throw new Error('secret details');
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ routeKey: event.routeKey }) };
      },
      verifyToken: async (token) => toAuthorizerClaims(await verifyDevToken(key, token)),
      logger: quiet,
      routes: [...ROUTES, { method: 'GET', path: '/v1/tenants/{t}/boom', group: 'runs', minRole: 'Administrator' }],
      maxBodyBytes: 1024,
    });
    url = await listen(server, 0);
  });
  afterAll(async () => {
    await closeServer(server);
  });

  const bearer = async () => ({ authorization: `Bearer ${await signDevToken(key, { tenantId: 'acme', roles: ['Administrator'] })}` });

  it('invokes the handler with the verified claims and the route group’s function context', async () => {
    const response = await fetch(`${url}/v1/tenants/acme/retention-policy`, { headers: await bearer() });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ routeKey: 'GET /v1/tenants/{t}/retention-policy' });
    const last = seen.at(-1)!;
    expect(last.event.requestContext.authorizer.jwt.claims[CLAIMS.roles]).toBe('[Administrator]');
    expect(last.event.requestContext.authorizer.jwt.claims[CLAIMS.tenant]).toBe('acme');
    expect(last.context.functionName).toBe('lethe-api-policy');
    expect(last.context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  it('answers 401 in the API error shape without a token, or with one it cannot verify', async () => {
    const before = seen.length;
    const missing = await fetch(`${url}/v1/tenants/acme/retention-policy`);
    const forged = await fetch(`${url}/v1/tenants/acme/retention-policy`, {
      headers: { authorization: `Bearer ${await signDevToken(randomBytes(32), { tenantId: 'acme', roles: ['Administrator'] })}` },
    });

    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(/signature/);
    expect(seen.length).toBe(before);
  });

  it('serves a public route without a token', async () => {
    const response = await fetch(`${url}/v1/openapi.json`);

    expect(response.status).toBe(200);
  });

  it('answers 404 for a path or method no route has', async () => {
    const unknown = await fetch(`${url}/v2/nothing`, { headers: await bearer() });
    const wrongMethod = await fetch(`${url}/v1/tenants/acme/retention-policy`, { method: 'PATCH', headers: await bearer() });

    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    expect(wrongMethod.status).toBe(404);
  });

  it('turns a handler crash into a bare 500, and an oversized body into 413', async () => {
    const crash = await fetch(`${url}/v1/tenants/acme/boom`, { headers: await bearer() });
    const big = await fetch(`${url}/v1/tenants/acme/records`, { method: 'POST', headers: await bearer(), body: 'x'.repeat(2048) });

    expect(crash.status).toBe(500);
    expect(await crash.text()).not.toContain('secret details');
    expect(big.status).toBe(413);
  });
});
