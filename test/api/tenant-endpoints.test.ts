/**
 * A tenant's third-party endpoints are checked when they are registered: a
 * deleteUrl whose host is not on the public internet, or that carries
 * credentials, is a 400 naming the field, and nothing is stored. Local mode
 * and these tests' other worlds allow private hosts; this one does not, as a
 * deployed stack.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { apiWorld, token, type ApiWorld } from '../support/api.js';

let w: ApiWorld;
beforeAll(async () => {
  w = await apiWorld({ allowPrivateProviderHosts: false });
});

const put = (t: string, deleteUrl: string) =>
  w.call({
    method: 'PUT',
    path: `/v1/tenants/${t}`,
    token: token('SuperAdministrator'),
    body: { name: t, adminEmails: ['dpo@example.test'], thirdPartyEndpoints: [{ name: 'provider', deleteUrl }] },
  });

describe('registering a third-party endpoint', () => {
  it.each([
    'http://169.254.169.254/latest/{ref}',
    'http://[fd00:ec2::254]/{ref}',
    'http://127.0.0.1:8080/calls/{ref}',
    'https://10.0.0.7/calls/{ref}',
    'https://192.168.1.20/calls/{ref}',
    'http://localhost/calls/{ref}',
  ])('refuses the non-public host of %s, naming the field, storing nothing', async (deleteUrl) => {
    const t = `t-${Math.abs(deleteUrl.length * 7919) % 100000}`;

    const answer = await put(t, deleteUrl);

    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('thirdPartyEndpoints.0.deleteUrl');
    expect(await w.stores.control.getTenant(t)).toBeUndefined();
  });

  it('refuses credentials in the URL, naming the field', async () => {
    const answer = await put('creds', 'https://user:secret@provider.example/calls/{ref}');

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('thirdPartyEndpoints.0.deleteUrl');
    expect(JSON.stringify(answer.body)).not.toContain('secret');
    expect(await w.stores.control.getTenant('creds')).toBeUndefined();
  });

  it('accepts a public provider', async () => {
    const answer = await put('public', 'https://provider.example/api/calls/{ref}/data');

    expect(answer.status).toBe(201);
    expect((await w.stores.control.getTenant('public'))?.thirdPartyEndpoints).toEqual([{ name: 'provider', deleteUrl: 'https://provider.example/api/calls/{ref}/data' }]);
  });
});
