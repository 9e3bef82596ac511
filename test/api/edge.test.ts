/**
 * The HTTP edge: routing by group, 404/405, body limits and parsing, the
 * generic 500, the public OpenAPI route, and the one log line per request.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler, createPublicApiHandler } from '../../shared/app/api/handler.js';
import { buildOpenApiDocument } from '../../shared/app/api/routes.js';
import type { ControlStore } from '../../shared/domain/ports.js';
import { apiEvent, apiWorld, CapturingLogger, registerTenant, SUPER, token, type ApiWorld, type Call } from '../support/api.js';

const T = 'acme';
const ADMIN = token('Administrator', T);

let w: ApiWorld;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
});

async function callWith(handler: ReturnType<typeof createApiHandler>, call: Call) {
  const result = await handler(apiEvent(call));
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body as string) };
}

describe('routing', () => {
  it('serves only the routes of its groups', async () => {
    const handler = createApiHandler(w.deps, { logger: new CapturingLogger(), groups: ['audit'] });

    const audit = await callWith(handler, { method: 'GET', path: `/v1/tenants/${T}/audit-events`, token: ADMIN });
    const policy = await callWith(handler, { method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });

    expect(audit.status).toBe(200);
    expect(policy.status).toBe(404);
    expect(policy.body.error).toMatchObject({ code: 'not_found', field: 'path' });
  });

  it('answers 404 for an unknown path and 405 for a known path with another method', async () => {
    const unknown = await w.call({ method: 'GET', path: `/v1/tenants/${T}/nothing-here`, token: ADMIN });
    const method = await callWith(w.handler, { method: 'PATCH', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });

    expect(unknown.status).toBe(404);
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('GET, PUT');
    expect(method.body.error.field).toBe('method');
  });

  it('names the path parameter of a malformed id', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/has%20space`, token: ADMIN });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'validation_error', field: 'id' });
  });
});

describe('bodies', () => {
  it('refuses a body above the limit with 413 naming the body', async () => {
    const handler = createApiHandler(w.deps, { logger: new CapturingLogger(), maxBodyBytes: 1024 });

    const answer = await callWith(handler, { method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, raw: JSON.stringify({ categories: { call: { days: 1 } }, pad: 'x'.repeat(2000) }), token: ADMIN });

    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'payload_too_large', field: 'body' });
  });

  it('refuses malformed JSON, a missing body, and a body on a route that takes none, naming the body', async () => {
    const malformed = await w.call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, raw: '{"categories":', token: ADMIN });
    const missing = await w.call({ method: 'PUT', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });
    const unexpected = await w.call({ method: 'GET', path: `/v1/tenants/${T}/retention-policy`, body: { a: 1 }, token: ADMIN });

    for (const answer of [malformed, missing, unexpected]) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.field).toBe('body');
    }
  });

  it('reads a base64-encoded body', async () => {
    const event = apiEvent({ method: 'POST', path: `/v1/tenants/${T}/retention-policy/preview`, token: ADMIN });
    const result = await w.handler({ ...event, body: Buffer.from(JSON.stringify({ categories: { call: { days: 30 } } })).toString('base64'), isBase64Encoded: true });

    expect(result.statusCode).toBe(200);
  });
});

describe('failures', () => {
  it('answers an unexpected error with a bare 500 and logs only its name', async () => {
    const failing = Object.assign(Object.create(w.stores.control) as ControlStore, {
      getTenant: async () => {
        throw Object.assign(new Error('connection to +14155550123 refused'), { name: 'SocketExploded' });
      },
    });
    const lines: string[] = [];
    const handler = createApiHandler({ ...w.deps, control: failing }, { logger: new CapturingLogger(lines) });

    const answer = await callWith(handler, { method: 'GET', path: `/v1/tenants/${T}/retention-policy`, token: ADMIN });

    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: { code: 'internal_error', message: 'Internal Server Error' } });
    const logged = lines.join('\n');
    expect(logged).toContain('SocketExploded');
    expect(logged).not.toContain('+14155550123');
    expect(logged).not.toContain('at ');
  });
});

describe('errors of the runs routes', () => {
  const GENERIC_500 = { error: { code: 'internal_error', message: 'Internal Server Error' } };

  it('answers an unexpected error while reading a run with a bare 500, without its message', async () => {
    const failing = Object.assign(Object.create(w.stores.control) as ControlStore, {
      getReceipt: async () => {
        throw Object.assign(new Error('run run-1 of +14155550123 is unreadable'), { name: 'ReadExploded' });
      },
    });
    const lines: string[] = [];
    const handler = createApiHandler({ ...w.deps, control: failing }, { logger: new CapturingLogger(lines) });

    const answer = await callWith(handler, { method: 'GET', path: `/v1/tenants/${T}/deletion-runs/run-1`, token: ADMIN });

    expect(answer.status).toBe(500);
    expect(answer.body).toEqual(GENERIC_500);
    expect(lines.join('\n')).toContain('ReadExploded');
    expect(lines.join('\n')).not.toContain('+14155550123');
  });

  it('answers a workflow that fails to start with a bare 500, not a missing run', async () => {
    const sweeps = {
      start: async () => {
        throw Object.assign(new Error('state machine arn:aws:states:x refused'), { name: 'StartExploded' });
      },
    };
    const handler = createApiHandler({ ...w.deps, sweeps }, { logger: new CapturingLogger() });

    const answer = await callWith(handler, { method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN });

    expect(answer.status).toBe(500);
    expect(answer.body).toEqual(GENERIC_500);
  });

  it('answers a run that does not exist with a 404 naming the run id', async () => {
    const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/deletion-runs/no-such-run`, token: ADMIN });

    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'not_found', message: 'id: no such deletion run', field: 'id' } });
  });

  it('answers a tenant that vanishes while its run starts with a 404 naming the tenant', async () => {
    // The tenant is found for the request, then gone when the run reads it to open its receipt.
    const vanishing = Object.assign(Object.create(w.stores.control) as ControlStore, { getTenants: async () => [] });
    const handler = createApiHandler({ ...w.deps, control: vanishing }, { logger: new CapturingLogger() });

    const answer = await callWith(handler, { method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN });

    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'not_found', message: 't: no such tenant', field: 't' } });
  });
});

describe('logging', () => {
  it('logs one line per request with the route template, status, duration and tenant, and nothing of the request', async () => {
    const lines: string[] = [];
    const handler = createApiHandler(w.deps, { logger: new CapturingLogger(lines) });

    // Refused whatever roles the profile gives: the token is another tenant's.
    await callWith(handler, { method: 'GET', path: `/v1/tenants/${T}/customers`, query: { email: 'someone.private@example.com' }, token: token('ComplianceAdministrator', 'elsewhere') });

    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ message: 'api request', route: 'GET /v1/tenants/{t}/customers', status: 403, tenantId: T, code: 'forbidden' });
    expect(typeof line.durationMs).toBe('number');
    expect(lines[0]).not.toContain('someone.private');
  });
});

describe('the OpenAPI document', () => {
  it('is public and is the generated document', async () => {
    const answer = await w.call({ method: 'GET', path: '/v1/openapi.json' });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('is served by a handler that needs no store and no secret', async () => {
    const handler = createPublicApiHandler({ logger: new CapturingLogger() });

    const doc = await callWith(handler, { method: 'GET', path: '/v1/openapi.json' });
    const other = await callWith(handler, { method: 'GET', path: '/v1/tenants', token: SUPER });

    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(other.status).toBe(404);
  });
});
