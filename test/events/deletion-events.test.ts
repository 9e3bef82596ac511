/**
 * Deletion events end to end through the admin API on the emulators, with
 * crypto-shredding and local mode's NDJSON event log: a policy change, a hold
 * placed and released, a manual delete, an erasure, an anonymisation and a
 * sweep each publish their documented events, with ids a consumer can
 * de-duplicate on; and no event carries any of the personal data ingested.
 * A publisher that fails leaves the deletions in place, counts the events on
 * the receipt and makes the run critical (alert e-mail).
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalEventLog } from '../../shared/adapters/events/local-event-log.js';
import { EventsNotPublishedError, letheEventSchema, type LetheEvent } from '../../shared/domain/events.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';
import type { MemoryMailer } from '../support/memory.js';

const T = 'ev-tenant';
const ADMIN = token('Administrator', T);
const COMPLIANCE = token('ComplianceAdministrator', T);
const path = `/v1/tenants/${T}`;

const person = (id: string, first: string, age: number, n: number): CustomerFixture => ({
  id,
  name: `${first} Vandersloot-Okonkwo`,
  phone: `+4420794600${n}`,
  email: `${first.toLowerCase()}.private${n}@mailbox.example`,
  secret: `passport ZX-${n}44-${first.toUpperCase()}`,
  age,
});
const OLD = person('ev-old', 'Ottoline', 400, 11);
const ERASED = person('ev-erased', 'Evangeline', 10, 22);
const ANON = person('ev-anon', 'Anselma', 10, 33);
const HELD = person('ev-held', 'Hildegard', 10, 44);
const PEOPLE = [OLD, ERASED, ANON, HELD];
const NEEDLES = PEOPLE.flatMap((p) => [p.name, p.name.split(' ')[0] as string, 'Vandersloot', p.phone, p.phone.slice(3), p.email, p.email.split('@')[0] as string, p.secret, p.secret.split(' ')[1] as string]);

let w: ApiWorld;
let dir: string;
let events: LetheEvent[];
let runId: string;
let erasureId: string;

async function readEvents(): Promise<LetheEvent[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson'));
  const text = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('');
  return text.trim().split('\n').map((l) => letheEventSchema.parse(JSON.parse(l)));
}

const ofType = <T extends LetheEvent['type']>(type: T) => events.filter((e): e is Extract<LetheEvent, { type: T }> => e.type === type);

beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'lethe-ev-')), 'events');
  w = await apiWorld({ shredding: true, events: new LocalEventLog({ directory: dir }) });
  await registerTenant(w, T);
  await ingest(w, T, PEOPLE.flatMap(customerRecords));

  const policy = await w.call({ method: 'PUT', path: `${path}/retention-policy`, body: { categories: { conversation: { days: 300 } }, acknowledgeDataLoss: true }, token: ADMIN });
  expect(policy.status).toBe(200);
  const hold = await w.call({ method: 'POST', path: `${path}/legal-holds`, body: { scope: { customerId: HELD.id }, reason: `litigation about ${HELD.name}` }, token: COMPLIANCE });
  expect(hold.status).toBe(201);
  await w.call({ method: 'DELETE', path: `${path}/legal-holds/${hold.body.holdId}`, token: COMPLIANCE });
  const msg = await w.call({ method: 'DELETE', path: `${path}/conversations/${HELD.id}-conv/messages/${HELD.id}-conv-m1`, token: COMPLIANCE });
  expect(msg.status).toBe(200);
  const erasure = await w.call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'erasure', subject: { email: ERASED.email } }, token: COMPLIANCE });
  erasureId = erasure.body.requestId;
  await w.call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'anonymization', subject: { phone: ANON.phone } }, token: COMPLIANCE });
  const run = await w.call({ method: 'POST', path: `${path}/deletion-runs`, body: {}, token: ADMIN });
  runId = run.body.runId;
  events = await readEvents();
});

describe('deletion events in local mode', () => {
  it('are valid events of source lethe, each id once', () => {
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.source === 'lethe' && e.tenantId === T)).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('report the policy change, the hold placed and released', () => {
    expect(ofType('PolicyChanged').map((e) => e.detail)).toEqual([{ version: 1, previousVersion: 0 }]);
    expect(ofType('HoldPlaced').map((e) => e.detail.scope)).toEqual([{ customerId: HELD.id }]);
    expect(ofType('HoldReleased').map((e) => e.detail.reason)).toEqual(['released']);
  });

  it('report a manual delete by the message id', () => {
    const manual = ofType('RecordsDeleted').filter((e) => e.detail.origin.kind === 'manual');

    expect(manual.flatMap((e) => e.detail.recordIds)).toContain(`${HELD.id}-conv-m1`);
  });

  it('report the erasure: every record of hers deleted, her subject erased, her keys shredded', () => {
    const byErasure = ofType('RecordsDeleted').filter((e) => e.detail.origin.requestId === erasureId);
    const ids = byErasure.flatMap((e) => e.detail.recordIds);

    expect(ofType('SubjectErased').map((e) => [e.detail.customerId, e.detail.origin.requestId])).toEqual([[ERASED.id, erasureId]]);
    expect(ids).toEqual(expect.arrayContaining([ERASED.id, `${ERASED.id}-conv`, `${ERASED.id}-conv-m2`, `${ERASED.id}-call-rec`, `${ERASED.id}-conv-att`]));
    expect(ids).not.toContain(`${ERASED.id}-evt`);
    expect(ofType('KeysShredded').some((e) => e.detail.origin.requestId === erasureId && e.detail.subjectKeys === 1)).toBe(true);
  });

  it('report the anonymisation', () => {
    expect(ofType('SubjectAnonymised').map((e) => e.detail.customerId)).toEqual([ANON.id]);
  });

  it('report the sweep: the old customer\'s records by category, and the run completed with its totals', async () => {
    const swept = ofType('RecordsDeleted').filter((e) => e.detail.origin.kind === 'sweep' && e.detail.origin.runId === runId);
    const receipt = await w.stores.control.getReceipt(T, runId);
    const deleted = Object.values(receipt?.categories ?? {}).reduce((n, c) => n + c.deleted, 0);

    expect(swept.flatMap((e) => e.detail.recordIds)).toEqual(expect.arrayContaining([`${OLD.id}-conv`, `${OLD.id}-conv-m1`, `${OLD.id}-call`, `${OLD.id}-call-rec`]));
    expect(swept.map((e) => e.detail.count).reduce((a, b) => a + b, 0)).toBe(deleted);
    expect(ofType('RunCompleted').map((e) => e.detail)).toEqual([expect.objectContaining({ runId, kind: 'sweep', status: 'completed', dryRun: false, deleted })]);
    expect(receipt?.eventsUnpublished).toBeUndefined();
  });

  it('carry none of the names, phones, e-mails or texts ingested', async () => {
    const text = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')))).join('\n');

    expect(NEEDLES.filter((needle) => text.toLowerCase().includes(needle.toLowerCase()))).toEqual([]);
  });
});

describe('when events cannot be published', () => {
  it('the sweep still deletes, counts them on its receipt, and alerts as a critical run', async () => {
    const down = { publish: async (e: readonly LetheEvent[]) => Promise.reject(new EventsNotPublishedError(e.length, 'ServiceUnavailable')) };
    const broken = await apiWorld({ events: down });
    await registerTenant(broken, T);
    await ingest(broken, T, customerRecords(OLD));

    const run = await broken.call({ method: 'POST', path: `${path}/deletion-runs`, body: {}, token: ADMIN });
    const receipt = await broken.stores.control.getReceipt(T, run.body.runId);

    expect((await broken.stores.records.findBySubject(T, OLD.id)).filter((r) => r.category === 'conversation' || r.category === 'message')).toEqual([]);
    expect(receipt?.eventsUnpublished).toBeGreaterThan(1);
    expect(receipt?.status).toBe('completed');
    expect(receipt?.alertedAt).toBeDefined();
    expect((await broken.call({ method: 'GET', path: `${path}/deletion-runs/${run.body.runId}`, token: ADMIN })).body.eventsUnpublished).toBe(receipt?.eventsUnpublished);
    expect((broken.runDeps.mailer as MemoryMailer).sent.map((m) => m.to)).toEqual([[`admin@${T}.example`, 'ops@example.test']]);
  });
});
