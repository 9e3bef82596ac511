import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ExternalProviderError,
  HttpExternalDataProvider,
  InvalidEndpointError,
  InvalidReferenceError,
  isNonPublicHost,
  type HttpExternalDataProviderOptions,
} from '../../shared/adapters/http/external-provider.js';
import type { Tenant, ThirdPartyEndpoint } from '../../shared/domain/tenant.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.js';

const tenant: Tenant = {
  tenantId: 't-1',
  name: 'Tenant One',
  status: 'active',
  adminEmails: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('HttpExternalDataProvider', () => {
  let fake: FakeProvider;
  let endpoint: ThirdPartyEndpoint;
  let sleeps: number[];

  /** A provider that records its waits instead of waiting; `random` 0.5 makes backoff half its ceiling. */
  const provider = (options: HttpExternalDataProviderOptions = {}) =>
    new HttpExternalDataProvider({
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      allowPrivateNetworks: true,
      ...options,
    });

  beforeEach(async () => {
    fake = await startFakeProvider({ refs: ['call-1'] });
    endpoint = { name: 'voice-vendor', deleteUrl: fake.deleteUrl };
    sleeps = [];
  });
  afterEach(async () => {
    await fake.close();
  });

  it('reports a deletion the provider confirmed', async () => {
    expect(await provider().deleteCallData(tenant, endpoint, 'call-1')).toBe('deleted');

    expect(fake.requests).toMatchObject([{ method: 'DELETE', path: '/calls/call-1', status: 204 }]);
    expect(fake.refs.has('call-1')).toBe(false);
  });

  it('puts the ref into the URL percent-encoded', async () => {
    fake.add('a/b c?d');

    expect(await provider().deleteCallData(tenant, endpoint, 'a/b c?d')).toBe('deleted');

    expect(fake.requests[0]?.path).toBe('/calls/a%2Fb%20c%3Fd');
  });

  it('reports not_found for a ref the provider does not hold (404)', async () => {
    expect(await provider().deleteCallData(tenant, endpoint, 'unknown')).toBe('not_found');
  });

  it('reports not_found for a ref that is gone (410)', async () => {
    fake.failNext(1, 410);

    expect(await provider().deleteCallData(tenant, endpoint, 'call-1')).toBe('not_found');
  });

  it('retries a 503 with full-jitter backoff and then succeeds', async () => {
    fake.failNext(2, 503);

    expect(await provider().deleteCallData(tenant, endpoint, 'call-1')).toBe('deleted');

    expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 204]);
    expect(sleeps).toEqual([100, 200]); // 0.5 × 200 ms · 2^(retry−1)
  });

  it('gives up after the attempt budget with an ExternalProviderError carrying the last status', async () => {
    fake.failNext(10, 503);

    const error = await provider().deleteCallData(tenant, endpoint, 'call-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExternalProviderError);
    expect(error).toMatchObject({ name: 'ExternalProviderError', status: 503, attempts: 5, endpointName: 'voice-vendor', tenantId: 't-1' });
    expect(fake.requests).toHaveLength(5);
    expect(sleeps).toEqual([100, 200, 400, 800]);
  });

  it('honours a Retry-After in seconds on a 429', async () => {
    fake.failNext(1, 429, { retryAfterSeconds: 7 });

    expect(await provider().deleteCallData(tenant, endpoint, 'call-1')).toBe('deleted');

    expect(sleeps).toEqual([7_000]);
  });

  it('caps a Retry-After that asks for too long a wait', async () => {
    fake.failNext(1, 503, { retryAfterSeconds: 3_600 });

    await provider({ maxRetryAfterMs: 20_000 }).deleteCallData(tenant, endpoint, 'call-1');

    expect(sleeps).toEqual([20_000]);
  });

  it('fails at once, without retrying, on a client error other than 404/410', async () => {
    fake.failNext(3, 403);

    const error = await provider().deleteCallData(tenant, endpoint, 'call-1').catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'ExternalProviderError', status: 403, attempts: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  it('does not follow a redirect', async () => {
    fake.failNext(1, 307);

    await expect(provider().deleteCallData(tenant, endpoint, 'call-1')).rejects.toMatchObject({ status: 307 });
    expect(fake.requests).toHaveLength(1);
  });

  it('retries an attempt that times out, then reports the time-out', async () => {
    fake.delayResponses(1_000);

    const error = await provider({ timeoutMs: 50, maxAttempts: 2 })
      .deleteCallData(tenant, endpoint, 'call-1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExternalProviderError);
    expect(error).toMatchObject({ status: undefined, attempts: 2 });
    expect((error as Error).message).toContain('did not answer within 50 ms');
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a provider that cannot be reached, then reports it without a status', async () => {
    await fake.close();

    const error = await provider({ maxAttempts: 3 }).deleteCallData(tenant, endpoint, 'call-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExternalProviderError);
    expect(error).toMatchObject({ status: undefined, attempts: 3 });
    expect((error as Error).message).toMatch(/could not be reached/);
    expect((error as Error).cause).toBeDefined();
    expect(sleeps).toHaveLength(2);
    fake = await startFakeProvider(); // for afterEach
  });

  it('keeps the ref, path and query out of its error messages', async () => {
    const ref = 'ref-4711-secret';
    const secretEndpoint = { name: 'voice-vendor', deleteUrl: `${fake.url}/v2/tenants/t-1/calls/{ref}?apiKey=k3y` };
    fake.failNext(10, 500);

    const error = await provider().deleteCallData(tenant, secretEndpoint, ref).catch((e: unknown) => e);

    const text = `${String(error)}\n${(error as Error).stack ?? ''}`;
    expect(text).toContain('voice-vendor');
    expect(text).toContain('500');
    for (const leak of [ref, '/v2/', 'apiKey', 'k3y', fake.url]) expect(text).not.toContain(leak);
  });

  it.each([
    ['ftp://files.example/{ref}', /only http and https/],
    ['file:///etc/{ref}', /only http and https/],
    ['javascript:alert({ref})', /only http and https/],
    ['https://vendor.example/calls', /must contain \{ref\}/],
    ['/calls/{ref}', /not an absolute URL/],
    ['https://user:pw@vendor.example/{ref}', /credentials/],
  ])('refuses the deleteUrl %s without calling out', async (deleteUrl, reason) => {
    const error = await provider()
      .deleteCallData(tenant, { name: 'bad', deleteUrl }, 'call-1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect((error as Error).message).toMatch(reason);
    expect(fake.requests).toHaveLength(0);
  });

  it.each(['.', '..', '...', ''])('never sends a reference of %j (a path step up once the URL is parsed), and calls nobody', async (ref) => {
    const error = await provider().deleteCallData(tenant, endpoint, ref).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(fake.requests).toHaveLength(0);
  });

  it('sends a reference with dots among other characters as it is', async () => {
    fake.add('..a');
    expect(await provider().deleteCallData(tenant, endpoint, '..a')).toBe('deleted');
    expect(fake.requests[0]?.path).toBe('/calls/..a');
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/{ref}',
    'http://[fd00:ec2::254]/latest/{ref}',
    'http://127.0.0.1:8080/{ref}',
    'http://[::1]/{ref}',
    'http://[::ffff:10.0.0.1]/{ref}',
    'http://10.1.2.3/{ref}',
    'http://172.16.0.9/{ref}',
    'http://192.168.1.1/{ref}',
    'http://0.0.0.0/{ref}',
    'http://localhost:9000/{ref}',
  ])('refuses the non-public host of %s unless private networks are allowed', async (deleteUrl) => {
    const error = await provider({ allowPrivateNetworks: false })
      .deleteCallData(tenant, { name: 'inside', deleteUrl }, 'call-1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect((error as Error).message).toMatch(/loopback, private, link-local or reserved/);
  });

  it('refuses at connect time a name that resolves to a private address when they are not allowed', async () => {
    // `localhost.` (a fully qualified name) passes the literal check and resolves to 127.0.0.1: the agent refuses it after DNS.
    const port = new URL(fake.url).port;
    const error = await provider({ allowPrivateNetworks: false, maxAttempts: 1 })
      .deleteCallData(tenant, { name: 'rebinding', deleteUrl: `http://localhost.:${port}/calls/{ref}` }, 'call-1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(fake.requests).toHaveLength(0);
    expect((error as Error).message).not.toContain('127.0.0.1');
  });

  it('tells public from non-public hosts', () => {
    for (const host of ['vendor.example', '8.8.8.8', '[2606:4700::1111]']) expect(isNonPublicHost(host), host).toBe(false);
    for (const host of ['127.0.0.1', '[::1]', '169.254.169.254', '[fd00:ec2::254]', '10.0.0.1', '[::ffff:192.168.0.1]', 'LOCALHOST', 'a.localhost']) {
      expect(isNonPublicHost(host), host).toBe(true);
    }
  });
});
