/**
 * `lethe/client` (client/index.ts) against a real local server in front of the
 * API handler on the emulators, sealed as deployed: a platform service ingests
 * a customer with conversations, messages and a recording, reads the timeline,
 * the conversation page by page and the recording through its link, sees a
 * deleted message's tombstone, and reads 404s once the customer is erased.
 * SigV4 signing is checked against AWS's published known answer; retries and
 * backoff with a fetch that answers 429 and 503.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLetheClient, pages, retryingFetch, sigV4Signer, signRequest, unwrap, type LetheClient } from '../../client/index.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import { createLocalServer, listen } from '../../shared/local/server.js';
import { apiWorld, CapturingLogger, daysAgo, registerTenant, type ApiWorld } from '../support/api.js';

const T = 'acme';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let w: ApiWorld;
let server: Server;
let service: LetheClient;
let compliance: LetheClient;

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  const key = randomBytes(32);
  server = createLocalServer({ handler: w.handler, verifyToken: async (token) => toAuthorizerClaims(await verifyDevToken(key, token)), logger: new CapturingLogger() });
  const baseUrl = await listen(server, 0);
  service = createLetheClient({ baseUrl, auth: { bearer: await signDevToken(key, { roles: ['Service'], tenantId: T, subject: 'platform-backend' }) } });
  compliance = createLetheClient({ baseUrl, auth: { bearer: await signDevToken(key, { roles: ['ComplianceAdministrator'], tenantId: T }) } });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('a platform service through the client, in local mode', () => {
  const t = T;

  it('ingests, reads page by page, follows a recording link, sees a tombstone, and reads 404s after erasure', async () => {
    // Ingest a customer with two conversations (five messages in one), a call and its recording.
    const ingested = await service.api.POST('/v1/service/tenants/{t}/records', {
      params: { path: { t } },
      body: {
        records: [
          { type: 'customer', id: 'dora', name: 'Dora Fenn', phones: ['+14155550199'], lastContactAt: daysAgo(1) },
          { type: 'conversation', id: 'dora-chat', customerId: 'dora', channel: 'chat', startedAt: daysAgo(2), status: 'closed' },
          ...[0, 1, 2, 3, 4].map((i) => ({
            type: 'message' as const,
            id: `dora-m${i}`,
            conversationId: 'dora-chat',
            customerId: 'dora',
            sentAt: daysAgo(2, i + 1),
            direction: 'inbound' as const,
            text: `hello ${i}`,
          })),
          { type: 'conversation', id: 'dora-sms', customerId: 'dora', channel: 'sms', startedAt: daysAgo(3), status: 'closed' },
          { type: 'call', id: 'dora-call', customerId: 'dora', startedAt: daysAgo(1), durationSeconds: 30 },
          { type: 'recording', id: 'dora-rec', callId: 'dora-call', customerId: 'dora', contentType: 'audio/wav', contentBase64: b64('dora voice') },
        ],
      },
    });
    expect(ingested.response.status, JSON.stringify(ingested.error)).toBe(200);

    // The timeline, newest first, one item a page.
    const timeline: string[] = [];
    for await (const page of pages((cursor) =>
      service.api.GET('/v1/service/tenants/{t}/customers/{id}/timeline', { params: { path: { t, id: 'dora' }, query: { limit: '1', ...(cursor !== undefined && { cursor }) } } }),
    )) {
      timeline.push(...page.items.map((i) => `${i.type}:${i.id}`));
    }
    expect(timeline).toEqual(['call:dora-call', 'conversation:dora-chat', 'conversation:dora-sms']);

    // The conversation, two messages a page.
    const texts: string[] = [];
    let pageCount = 0;
    for await (const page of pages((cursor) =>
      service.api.GET('/v1/service/tenants/{t}/conversations/{id}', { params: { path: { t, id: 'dora-chat' }, query: { limit: '2', ...(cursor !== undefined && { cursor }) } } }),
    )) {
      pageCount += 1;
      texts.push(...page.messages.map((m) => String(m.text)));
    }
    expect(pageCount).toBe(3);
    expect(texts).toEqual(['hello 4', 'hello 3', 'hello 2', 'hello 1', 'hello 0']);

    // The recording, through its link.
    const call = unwrap(await service.api.GET('/v1/service/tenants/{t}/calls/{id}', { params: { path: { t, id: 'dora-call' } } }));
    const recording = call.recordings[0];
    expect(recording?.url).toBeDefined();
    expect(await (await fetch(recording!.url!)).text()).toBe('dora voice');

    // An admin deletes a message; the service reads its tombstone.
    const deleted = await compliance.api.DELETE('/v1/tenants/{t}/conversations/{id}/messages/{msgId}', { params: { path: { t, id: 'dora-chat', msgId: 'dora-m2' } } });
    expect(deleted.response.status).toBe(200);
    const conversation = unwrap(await service.api.GET('/v1/service/tenants/{t}/conversations/{id}', { params: { path: { t, id: 'dora-chat' } } }));
    expect(conversation.messages.find((m) => m.id === 'dora-m2')).toMatchObject({ deleted: true, text: 'This item has been deleted' });

    // The customer is erased; every read answers 404.
    const erasure = await compliance.api.POST('/v1/tenants/{t}/privacy-requests', { params: { path: { t } }, body: { kind: 'erasure', subject: { customerId: 'dora' } } });
    expect(erasure.response.status, JSON.stringify(erasure.error)).toBe(202);
    const after = await Promise.all([
      service.api.GET('/v1/service/tenants/{t}/customers/{id}', { params: { path: { t, id: 'dora' } } }),
      service.api.GET('/v1/service/tenants/{t}/conversations/{id}', { params: { path: { t, id: 'dora-chat' } } }),
      service.api.GET('/v1/service/tenants/{t}/calls/{id}', { params: { path: { t, id: 'dora-call' } } }),
    ]);
    expect(after.map((a) => a.response.status)).toEqual([404, 404, 404]);
    expect((await fetch(recording!.url!)).status).toBe(404);
  });

  it('is refused admin routes with a service token (403)', async () => {
    const answer = await service.api.GET('/v1/tenants/{t}/legal-holds', { params: { path: { t } } });

    expect(answer.response.status).toBe(403);
    expect(answer.error).toMatchObject({ error: { code: 'forbidden' } });
  });
});

describe('the types', () => {
  it("are openapi.json's, as npm run client:types writes them (run it after npm run openapi)", async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'lethe-client-')), 'schema.d.ts');

    await promisify(execFile)(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', 'openapi.json', '-o', out]);

    expect(await readFile('client/schema.d.ts', 'utf8')).toBe(await readFile(out, 'utf8'));
  });
});

describe('SigV4 signing', () => {
  // AWS's SigV4 test suite, "get-vanilla": GET / on example.amazonaws.com, service "service", us-east-1.
  const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const AT = new Date('2015-08-30T12:36:00Z');

  it("gives AWS's published signature for the vanilla GET", async () => {
    const signer = sigV4Signer({ region: 'us-east-1', service: 'service', credentials: EXAMPLE });

    const signed = await signRequest(new Request('https://example.amazonaws.com/'), signer, AT);

    expect(signed.headers.get('x-amz-date')).toBe('20150830T123600Z');
    expect(signed.headers.get('authorization')).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs for execute-api with the session token, and over the body', async () => {
    const signer = sigV4Signer({ region: 'eu-west-1', credentials: { ...EXAMPLE, sessionToken: 'session-token' } });
    const post = (body: string) => new Request('https://abc.execute-api.eu-west-1.amazonaws.com/v1/service/tenants/acme/records', { method: 'POST', body, headers: { 'content-type': 'application/json' } });

    const one = await signRequest(post('{"records":[]}'), signer, AT);
    const other = await signRequest(post('{"records":[1]}'), signer, AT);

    expect(one.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/u);
    expect(one.headers.get('x-amz-security-token')).toBe('session-token');
    expect(other.headers.get('authorization')).not.toBe(one.headers.get('authorization'));
    expect(await one.text()).toBe('{"records":[]}');
  });

  it('signs every request the client sends when given IAM credentials', async () => {
    const seen: Request[] = [];
    const client = createLetheClient({
      baseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      auth: { sigv4: { region: 'eu-west-1', credentials: EXAMPLE } },
      fetch: async (request) => {
        seen.push(request);
        return Response.json({ customerId: 'x', firstContactAt: '2025-01-01T00:00:00Z', conversations: 0, calls: 0 });
      },
    });

    await client.api.GET('/v1/service/tenants/{t}/customers/{id}', { params: { path: { t: 'acme', id: 'x' } } });

    expect(seen[0]?.headers.get('authorization')).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/u);
  });
});

describe('retries', () => {
  const answering = (statuses: number[]) => {
    let calls = 0;
    const fetchFn = async () => {
      const status = statuses[Math.min(calls, statuses.length - 1)] as number;
      calls += 1;
      return new Response(JSON.stringify(status === 200 ? { ok: true } : { error: { code: 'x', message: 'x' } }), { status, headers: status === 429 ? { 'retry-after': '1' } : {} });
    };
    return { fetchFn, calls: () => calls };
  };

  it('tries again after a 429, waiting at least what Retry-After asks', async () => {
    const server = answering([429, 429, 200]);
    const waits: number[] = [];

    const response = await retryingFetch(server.fetchFn, { baseDelayMs: 10 }, async (ms) => void waits.push(ms))(new Request('http://127.0.0.1/x'));

    expect(response.status).toBe(200);
    expect(server.calls()).toBe(3);
    expect(waits).toHaveLength(2);
    for (const ms of waits) expect(ms).toBeGreaterThanOrEqual(1000);
  });

  it('backs off exponentially on 5xx and gives the last answer once the retries are spent', async () => {
    const server = answering([503]);
    const waits: number[] = [];
    const random = Math.random;
    Math.random = () => 1;
    try {
      const response = await retryingFetch(server.fetchFn, { retries: 3, baseDelayMs: 100, maxDelayMs: 10_000 }, async (ms) => void waits.push(ms))(new Request('http://127.0.0.1/x'));

      expect(response.status).toBe(503);
    } finally {
      Math.random = random;
    }
    expect(server.calls()).toBe(4);
    expect(waits).toEqual([100, 200, 400]);
  });

  it('does not try again after a 4xx other than 429', async () => {
    const server = answering([400, 200]);

    const response = await retryingFetch(server.fetchFn, {}, async () => undefined)(new Request('http://127.0.0.1/x'));

    expect(response.status).toBe(400);
    expect(server.calls()).toBe(1);
  });

  it('sends an ingest body again on a retry after a 502', async () => {
    const bodies: string[] = [];
    let calls = 0;
    const fetchFn = async (request: Request) => {
      bodies.push(await request.text());
      calls += 1;
      return new Response('{}', { status: calls === 1 ? 502 : 200 });
    };

    await retryingFetch(fetchFn, {}, async () => undefined)(new Request('http://127.0.0.1/v1/service/tenants/acme/records', { method: 'POST', body: '{"a":1}' }));

    expect(bodies).toEqual(['{"a":1}', '{"a":1}']);
  });

  it('does not repeat a POST that may have done its work (a 503 on a new legal hold), but does after a 429', async () => {
    const failed = answering([503, 200]);
    const throttled = answering([429, 200]);
    const hold = () => new Request('http://127.0.0.1/v1/tenants/acme/legal-holds', { method: 'POST', body: '{}' });

    const once = await retryingFetch(failed.fetchFn, {}, async () => undefined)(hold());
    const again = await retryingFetch(throttled.fetchFn, {}, async () => undefined)(hold());

    expect([once.status, failed.calls()]).toEqual([503, 1]);
    expect([again.status, throttled.calls()]).toEqual([200, 2]);
  });
});
