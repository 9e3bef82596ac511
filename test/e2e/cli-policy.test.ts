/**
 * `lethe policy` against the real API under the voice profile (the production
 * handler on the emulators behind the local server, dev tokens): `get` shows
 * the one setting and what decides for each category; `set --setting` changes
 * it, merged with the tenant's other choices; a category the setting governs
 * exits 1 with the API's error naming the field and the setting; `preview`
 * shows the setting's counts.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../cli/context.js';
import { parseSettingAssignment } from '../../cli/policy.js';
import { main } from '../../cli/program.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken } from '../../shared/local/dev-token.js';
import { closeServer, createLocalServer, listen } from '../../shared/local/server.js';
import { apiWorld, customerRecords, ingest, registerTenant, type ApiWorld } from '../support/api.js';

const T = 'vox';
const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

let w: ApiWorld;
let server: Server;
let endpoint: string;
let token: string;

async function lethe(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: Output = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), interactive: false };
  const code = await main(['node', 'lethe', '--endpoint', endpoint, '--token', token, ...args], output);
  const text = stdout.join('\n');
  return { code, stdout: text, stderr: stderr.join('\n'), json: args.includes('--json') && code === 0 ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  w = await apiWorld({ profile: 'voice' });
  await registerTenant(w, T);
  await ingest(w, T, customerRecords({ id: 'v-1', name: 'Vox One', phone: '+14155558201', email: 'v1@vox.example', secret: 's1', age: 200 }));
  const key = randomBytes(32);
  token = await signDevToken(key, { tenantId: T, roles: ['Administrator'] });
  server = createLocalServer({ handler: (event) => w.handler(event), verifyToken: async (t) => toAuthorizerClaims(await verifyDevToken(key, t)), logger: quiet });
  endpoint = await listen(server, 0);
});

afterAll(async () => {
  await closeServer(server);
});

describe('lethe policy under settings', () => {
  it('get shows the setting, its clock and what decides for each category', async () => {
    const result = await lethe('policy', 'get');

    expect(result.code, result.stderr).toBe(0);
    // Cells of the tables, in order, whatever the borders.
    const row = (...cells: string[]) => new RegExp(cells.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s│]+'), 'u');
    expect(result.stdout).toMatch(row('retention', '90', 'default', '90', '0', '1095', 'yes', 'item', 'shorten', 'call_recording third_party_call_data call webhook_delivery whatsapp_conversation'));
    expect(result.stdout).toMatch(row('call_recording', '90', 'default', '90', '0', '1095', 'yes', 'setting retention'));
    expect(result.stdout).toMatch(row('message', '90', 'default', '90', '0', '1095', 'yes', 'own period; retention under whatsapp_conversation'));
  });

  it('set --setting changes the setting and keeps the other choices; a governed category exits 1 naming field and setting', async () => {
    expect((await lethe('policy', 'set', '--category', 'message=120')).code).toBe(0);

    const saved = await lethe('--json', 'policy', 'set', '--setting', 'retention=365');
    const refused = await lethe('policy', 'set', '--category', 'call=30', '--acknowledge-data-loss');

    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.json.settings.retention).toMatchObject({ days: 365, source: 'tenant' });
    expect(saved.json.categories.message).toMatchObject({ days: 120, source: 'tenant' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: categories.call.days: call is governed by the setting retention: set settings.retention.days instead (field: categories.call.days)');
  });

  it('preview shows per-setting counts of what a sweep would delete', async () => {
    const preview = await lethe('--json', 'policy', 'preview', '--setting', 'retention=100', '--acknowledge-data-loss');

    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.json.settings.retention.wouldDelete).toBeGreaterThan(0);
    expect(preview.json.categories.call.wouldDelete).toBe(1);
  });

  it('refuses a malformed --setting before calling the API', async () => {
    expect(() => parseSettingAssignment('retention')).toThrow(/--setting takes <name>=<days>/);
    expect(() => parseSettingAssignment('Retention=3')).toThrow(/not a setting name/);
    expect(parseSettingAssignment('retention=indefinite')).toEqual(['retention', null]);
    expect(parseSettingAssignment('retention=default')).toEqual(['retention', undefined]);
    expect((await lethe('policy', 'set', '--setting', 'retention=ten')).code).toBe(2);
  });
});
