/**
 * Key material of crypto-shredding never leaves the key store: after ingest,
 * an access export, an erasure and a sweep through the admin API, no log
 * line, API answer, receipt or audit event holds a tenant's key-encryption
 * key, a subject or epoch key, or their wrapped forms, in any of the spellings
 * a careless log call would use (base64, base64url, hex).
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyRows, type KeyRef } from '../../shared/adapters/crypto/key-store.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld } from '../support/api.js';

const T = 'keymat';
const COMPLIANCE = token('ComplianceAdministrator', T);
const ADMIN = token('Administrator', T);

let w: ApiWorld;
const answers: string[] = [];

function spellings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  // Long enough fragments that no chance match is possible, short enough to catch a truncated dump.
  return [b.toString('base64'), b.toString('base64url'), b.toString('hex')].map((s) => s.slice(0, 24));
}

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
  await ingest(w, T, [
    ...customerRecords({ id: 'km-1', name: 'Wilhelmina Ashdown', phone: '+14155558811', email: 'w.ashdown@private.example', secret: 'km-secret-1', age: 10 }),
    ...customerRecords({ id: 'km-2', name: 'Bartholomew Quince', phone: '+14155558812', email: 'b.quince@private.example', secret: 'km-secret-2', age: 3000 }),
    ...customerRecords({ id: 'km-3', name: 'Cordelia Fairweather', phone: '+14155558813', email: 'c.fairweather@private.example', secret: 'km-secret-3', age: 5 }),
  ]);
  const calls = [
    { method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { customerId: 'km-1' } }, token: COMPLIANCE },
    { method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'erasure', subject: { customerId: 'km-1' } }, token: COMPLIANCE },
    { method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, body: {}, token: ADMIN },
    { method: 'GET', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN },
    { method: 'GET', path: `/v1/tenants/${T}/privacy-requests`, token: COMPLIANCE },
    { method: 'GET', path: `/v1/tenants/${T}/audit`, token: COMPLIANCE },
  ] as const;
  for (const call of calls) answers.push((await w.call(call)).text);
}, 120_000);

describe('key material', () => {
  it('appears in no log line, API answer, receipt or audit event', async () => {
    // Key rows (a sweep's retirement markers hold no key).
    const rows = (((await w.stores.doc.send(new ScanCommand({ TableName: w.stores.tableNames.keys, ConsistentRead: true }))).Items ?? []) as { pk: string; sk: string; kid: string; wrapped: Uint8Array }[]).filter(
      (r) => r.wrapped !== undefined,
    );
    // A key is stored twice: under its name (what writers find) and under its own id (`<name>!<kid>`, what readers open by).
    expect(rows.some((r) => r.sk.startsWith('SUBJECT!'))).toBe(true);
    // Every kind of key was made: the tenant's KEK, subject keys and epoch keys.
    expect(rows.some((r) => r.sk === 'KEK')).toBe(true);
    expect(rows.some((r) => r.sk === 'SUBJECT')).toBe(true);
    expect(rows.some((r) => r.pk === keyRows.epochs(T))).toBe(true);

    // The unwrapped keys, as the store hands them to sealing.
    const refs = rows.flatMap((r): { ref: KeyRef; kid: string }[] => {
      if (r.sk.includes('!')) return [];
      if (r.sk === 'SUBJECT') return [{ ref: { kind: 'subject', tenantId: T, subjectPk: r.pk.slice(2) }, kid: r.kid }];
      if (r.pk === keyRows.epochs(T)) return [{ ref: { kind: 'epoch', tenantId: T, epoch: r.sk }, kid: r.kid }];
      return [];
    });
    const material = await (w.keyStore as NonNullable<ApiWorld['keyStore']>).forRead(refs);
    expect(material.size).toBe(refs.length);

    const secrets = [...rows.map((r) => r.wrapped), ...[...material.values()].map((m) => m.key)].flatMap(spellings);
    const receipts = JSON.stringify(await w.stores.control.listReceipts(T, { limit: 100 }));
    const audit = JSON.stringify(await w.stores.control.listAudit(T));
    const everything = [...w.logLines, ...answers, receipts, audit].join('\n');
    expect(w.logLines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
