/**
 * Privacy requests executed through the `PrivacyRequest` state machine (the
 * CDK definition rendered to ASL, run by aws-local-stepfunctions) against the
 * emulator-backed stores, the e-mail outbox, and SES through a client mock.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoPrivacyRequestStore } from '../../shared/adapters/dynamodb/privacy-request-store.js';
import { OutboxMailer, readOutbox } from '../../shared/adapters/mail/outbox-mailer.js';
import { SesMailer } from '../../shared/adapters/mail/ses-mailer.js';
import { loadProfile } from '../../shared/config/profiles.js';
import type { PrivacyDeps } from '../../shared/domain/privacy/deps.js';
import { requestsAwaitingHoldRelease } from '../../shared/domain/privacy/lifecycle.js';
import type { PrivacyRequestBody } from '../../shared/domain/privacy/request.js';
import { receivePrivacyRequest } from '../../shared/domain/privacy/resolve.js';
import type { Mailer } from '../../shared/domain/ports.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import { privacyHandlers, runPrivacyRequestLocally, type PrivacyHandlers } from '../../shared/local/privacy-runner.js';
import { TestClock } from '../support/clock.js';
import { EMULATOR_BUCKET_FEATURES, makeStores, type Stores } from '../support/env.js';
import { MemoryExternalProvider } from '../support/memory.js';
import { ingest, subjectRecords, type SubjectSpec } from '../support/subjects.js';
import { keys } from '../../shared/domain/records.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const platform = loadProfile('support-desk');
const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

interface World {
  stores: Stores;
  deps: PrivacyDeps;
  handlers: PrivacyHandlers;
  outbox: string;
  clock: TestClock;
}

async function world(mailer?: Mailer): Promise<World> {
  const clock = new TestClock(NOW);
  const stores = await makeStores({ clock, bucketFeatures: EMULATOR_BUCKET_FEATURES });
  const outbox = await mkdtemp(join(tmpdir(), 'lethe-privacy-outbox-'));
  const tenant: Tenant = { tenantId: 'acme', name: 'Acme', status: 'active', adminEmails: ['admin@acme.test'], createdAt: NOW.toISOString(), updatedAt: NOW.toISOString(), thirdPartyEndpoints: [{ name: 'p', deleteUrl: 'https://provider.test/{ref}' }] };
  await stores.control.putTenant(tenant);
  const deps: PrivacyDeps = {
    records: stores.records,
    blobs: stores.blobs,
    control: stores.control,
    external: new MemoryExternalProvider(),
    privacy: new DynamoPrivacyRequestStore({ doc: stores.doc, tableName: stores.tableNames.control }),
    mailer: mailer ?? new OutboxMailer({ directory: outbox, from: 'privacy@lethe.test', clock }),
    clock,
    refSecret: 'privacy-test-secret-0123456789abcdef',
  };
  return { stores, deps, handlers: privacyHandlers(deps, { logger: quiet }), outbox, clock };
}

function person(customerId: string, extra: Partial<SubjectSpec> = {}): SubjectSpec {
  return {
    customerId,
    phone: `+1415555${customerId.replace(/\D/g, '').padStart(4, '0').slice(-4)}`,
    email: `${customerId}.unique@mail.example`,
    name: `Zebulon ${customerId} Quartermaine`,
    conversations: 3,
    messagesPerConversation: 4,
    calls: 2,
    ...extra,
  };
}

async function submit(w: World, body: PrivacyRequestBody, requestId: string) {
  await receivePrivacyRequest(w.deps, { tenantId: 'acme', requestId, requestedBy: 'h:tester', body });
  await runPrivacyRequestLocally(w.handlers, { tenantId: 'acme', requestId }, { executionName: requestId });
  return (await w.deps.privacy.get('acme', requestId))!;
}

async function scanAll(w: World, table: string, indexName?: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await w.stores.doc.send(new ScanCommand({ TableName: table, IndexName: indexName, ExclusiveStartKey: start }));
    out.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return out;
}

async function allObjects(w: World): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [logical, bucket] of Object.entries(w.stores.bucketNames)) {
    let marker: string | undefined;
    do {
      const page = await w.stores.s3.send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
      for (const o of page.Contents ?? []) {
        const body = await w.stores.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
        out.set(`${logical}/${o.Key}`, await body.Body!.transformToString());
      }
      marker = page.IsTruncated ? page.Contents?.at(-1)?.Key : undefined;
    } while (marker !== undefined);
  }
  return out;
}

const itemKey = (i: Record<string, unknown>) => JSON.stringify([i.pk, i.sk]);

describe('erasure', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });

  it('erases a subject with more than 10,000 records everywhere, and changes nothing of anyone else', async () => {
    const big = person('c9001', { conversations: 60, messagesPerConversation: 150, calls: 300 });
    const written = await ingest(w.stores, 'acme', platform, subjectRecords(big, NOW), NOW);
    for (const other of ['c1', 'c2', 'c3']) await ingest(w.stores, 'acme', platform, subjectRecords(person(other), NOW), NOW);
    expect(written).toBeGreaterThanOrEqual(10_000);
    const before = await scanAll(w, w.stores.tableNames.records);
    const blobsBefore = await allObjects(w);

    const request = await submit(w, { kind: 'erasure', subject: { phone: big.phone } }, 'erase-big');

    expect(request.status).toBe('completed');
    const after = await scanAll(w, w.stores.tableNames.records);
    const mine = (i: Record<string, unknown>) => i.subjectId === big.customerId;
    expect(after.filter(mine)).toEqual([]);
    // Her analytics events stay, unlinked from her: in the account's partition, without her id.
    const events = before.filter((i) => mine(i) && i.category === 'analytics_event');
    const unlinked = after.filter((i) => i.pk === keys.accountPk('acme') && events.some((e) => e.id === i.id));
    expect(events.length).toBeGreaterThan(0);
    expect(unlinked).toHaveLength(events.length);
    for (const u of unlinked) expect(u).not.toHaveProperty('parentSk');
    // Everything else is byte-for-byte as it was.
    expect(after.filter((i) => !unlinked.includes(i)).map((i) => JSON.stringify(i)).sort()).toEqual(before.filter((i) => !mine(i)).map((i) => JSON.stringify(i)).sort());
    for (const index of ['byRetention', 'byIdentifier']) {
      expect((await scanAll(w, w.stores.tableNames.records, index)).filter(mine)).toEqual([]);
    }
    const blobsAfter = await allObjects(w);
    for (const key of blobsBefore.keys()) expect(blobsAfter.has(key), key).toBe(!key.includes(`/${big.customerId}/`));
    expect(await w.deps.records.findByIdentifier('acme', 'PHONE', big.phone)).toEqual([]);
    expect(Object.values(request.counts).reduce((n, c) => n + c.deleted, 0)).toBe(before.filter(mine).length - events.length);
    expect(request.counts.analytics_event?.keptReasons).toEqual({ unlinked: events.length });
  }, 240_000);

  it('binds an idempotency key to one request only', async () => {
    const first = await w.deps.privacy.claimIdempotencyKey('acme', 'key-123', 'req-a');
    const second = await w.deps.privacy.claimIdempotencyKey('acme', 'key-123', 'req-b');
    expect(first).toBe('req-a');
    expect(second).toBe('req-a');
  });

  it('resumes and completes after the worker crashes mid-erasure', async () => {
    const spec = person('c4', { conversations: 10, messagesPerConversation: 10 });
    await ingest(w.stores, 'acme', platform, subjectRecords(spec, NOW), NOW);
    await receivePrivacyRequest(w.deps, { tenantId: 'acme', requestId: 'erase-crash', requestedBy: 'h:tester', body: { kind: 'erasure', subject: { customerId: 'c4' } } });
    let crashed = false;
    const realDelete = w.stores.records.deleteBatch.bind(w.stores.records);
    const crashingDeps: PrivacyDeps = {
      ...w.deps,
      records: Object.assign(Object.create(w.stores.records), {
        deleteBatch: async (keys: Parameters<typeof realDelete>[0]) => {
          const result = await realDelete(keys.slice(0, Math.ceil(keys.length / 2)));
          if (!crashed) {
            crashed = true;
            throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
          }
          const rest = await realDelete(keys.slice(Math.ceil(keys.length / 2)));
          return { succeeded: [...result.succeeded, ...rest.succeeded], failed: [...result.failed, ...rest.failed] };
        },
      }),
    };

    await runPrivacyRequestLocally(privacyHandlers(crashingDeps, { logger: quiet }), { tenantId: 'acme', requestId: 'erase-crash' }, { executionName: 'erase-crash' });

    expect(crashed).toBe(true);
    expect((await w.deps.privacy.get('acme', 'erase-crash'))!.status).toBe('completed');
    expect(await w.deps.records.findBySubject('acme', 'c4')).toEqual([]);
  });

  it('defers the held parts, reports partially_completed, and completes after the release without a new request', async () => {
    await ingest(w.stores, 'acme', platform, subjectRecords(person('c5'), NOW), NOW);
    const conversationId = 'c5-v1';
    await w.deps.control.putHold({ tenantId: 'acme', holdId: 'h1', scope: { conversationId }, reason: 'litigation', createdAt: NOW.toISOString(), createdBy: 'h:tester' });

    const deferred = await submit(w, { kind: 'erasure', subject: { customerId: 'c5' } }, 'erase-held');

    expect(deferred.status).toBe('partially_completed');
    expect(deferred.reason).toBe('legal_hold');
    const left = await w.deps.records.findBySubject('acme', 'c5');
    expect(left.every((i) => i.conversationId === conversationId || i.sk === 'PROFILE' || i.sk.startsWith('ID#'))).toBe(true);
    expect(left.some((i) => i.conversationId === conversationId)).toBe(true);

    await w.deps.control.putHold({ ...(await w.deps.control.getHold('acme', 'h1'))!, releasedAt: NOW.toISOString(), releasedBy: 'h:tester' });
    for (const requestId of await requestsAwaitingHoldRelease(w.deps, 'acme')) {
      await runPrivacyRequestLocally(w.handlers, { tenantId: 'acme', requestId }, { executionName: `${requestId}-resume-1` });
    }

    expect((await w.deps.privacy.get('acme', 'erase-held'))!.status).toBe('completed');
    expect(await w.deps.records.findBySubject('acme', 'c5')).toEqual([]);
  });

  it('rejects an erasure while a conversation is open, unless forced', async () => {
    await ingest(w.stores, 'acme', platform, subjectRecords(person('c6', { openConversation: true }), NOW), NOW);

    const rejected = await submit(w, { kind: 'erasure', subject: { customerId: 'c6' } }, 'erase-open');
    expect(rejected.status).toBe('rejected');
    expect(rejected.reason).toBe('open_conversation');
    expect((await w.deps.records.findBySubject('acme', 'c6')).length).toBeGreaterThan(0);

    const forced = await submit(w, { kind: 'erasure', subject: { customerId: 'c6' }, force: true }, 'erase-open-forced');
    expect(forced.status).toBe('completed');
    expect(await w.deps.records.findBySubject('acme', 'c6')).toEqual([]);
  });

  it('erases in bulk exactly the subjects of one bot whose first contact lies in the range', async () => {
    const subjects = [
      person('b1', { botId: 'bot-a', firstContactAt: '2026-01-10T00:00:00.000Z' }),
      person('b2', { botId: 'bot-a', firstContactAt: '2026-03-10T00:00:00.000Z' }),
      person('b3', { botId: 'bot-b', firstContactAt: '2026-01-15T00:00:00.000Z' }),
      person('b4', { botId: 'bot-a', firstContactAt: '2025-12-31T23:59:59.000Z' }),
    ];
    for (const s of subjects) await ingest(w.stores, 'acme', platform, subjectRecords(s, NOW), NOW);

    const request = await submit(w, { kind: 'erasure', filter: { botId: 'bot-a', firstContactFrom: '2026-01-01T00:00:00Z', firstContactTo: '2026-02-01T00:00:00Z' } }, 'erase-bulk');

    expect(request.status).toBe('completed');
    // A bulk request finds its customers while it runs, not when it is filed.
    expect(request.subjectIds).toEqual([]);
    expect(request.matchedSubjects).toBe(1);
    expect(await w.deps.records.findBySubject('acme', 'b1')).toEqual([]);
    for (const other of ['b2', 'b3', 'b4']) expect((await w.deps.records.findBySubject('acme', other)).length, other).toBeGreaterThan(0);
  });
});

describe('access', () => {
  it('exports every record of the subject and nothing of anyone else, with a 7-day link e-mailed to the requester', async () => {
    const w = await world();
    const me = person('a1');
    await ingest(w.stores, 'acme', platform, subjectRecords(me, NOW), NOW);
    await ingest(w.stores, 'acme', platform, subjectRecords(person('a2'), NOW), NOW);

    const request = await submit(w, { kind: 'access', subject: { email: me.email }, notify: { email: 'requester@inbox.test' } }, 'access-1');

    expect(request.status).toBe('completed');
    const exported = JSON.parse(new TextDecoder().decode(await w.deps.blobs.get('exports', request.exportKey!)));
    const direct = await w.deps.records.findBySubject('acme', 'a1');
    expect(exported.subjects).toHaveLength(1);
    expect(exported.subjects[0].recordCount).toBe(direct.length);
    const text = JSON.stringify(exported);
    for (const item of direct.filter((i) => !i.sk.startsWith('ID#'))) expect(text).toContain(`"${item.id}"`);
    const other = person('a2');
    for (const pii of [other.phone, other.email, other.name, '"a2"', 'a2-v0']) expect(text).not.toContain(pii);
    expect(text).toContain(me.phone);
    expect(request.exportUrl).toMatch(/X-Amz-Expires=604800/);
    const mails = await readOutbox(w.outbox);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['requester@inbox.test']);
    expect(mails[0]!.text).toContain('access-1');
    for (const pii of [me.phone, me.email, me.name]) expect(JSON.stringify(mails)).not.toContain(pii);
  });
});

describe('anonymisation', () => {
  it('leaves none of the subject’s PII in any table or bucket, and no lookup finds the subject', async () => {
    const w = await world();
    const me = person('n1');
    await ingest(w.stores, 'acme', platform, subjectRecords(me, NOW), NOW);
    await ingest(w.stores, 'acme', platform, subjectRecords(person('n2'), NOW), NOW);

    const request = await submit(w, { kind: 'anonymization', subject: { name: me.name } }, 'anon-1');

    expect(request.status).toBe('completed');
    const everything = JSON.stringify([
      await scanAll(w, w.stores.tableNames.records),
      await scanAll(w, w.stores.tableNames.control),
      await scanAll(w, w.stores.tableNames.keys),
      [...(await allObjects(w)).entries()],
    ]);
    for (const pii of [me.phone, me.email, me.name, `Hello, this is ${me.name}`]) expect(everything).not.toContain(pii);
    expect(everything).toContain(person('n2').phone);
    expect(await w.deps.records.findByIdentifier('acme', 'PHONE', me.phone)).toEqual([]);
    expect(await w.deps.records.findByIdentifier('acme', 'EMAIL', me.email)).toEqual([]);
    expect(await w.deps.records.findByIdentifier('acme', 'NAME', me.name.toLowerCase())).toEqual([]);
    // Non-identifying metadata stays for analytics.
    const kept = await w.deps.records.findBySubject('acme', 'n1');
    expect(kept.some((i) => i.category === 'call' && (i.data as { durationSeconds?: number }).durationSeconds !== undefined)).toBe(true);
    expect(kept.some((i) => i.category === 'conversation' || i.category === 'whatsapp_conversation')).toBe(true);
  });
});

describe('anonymisation under a hold', () => {
  it('leaves the held records as they are and reports partially_completed', async () => {
    const w = await world();
    const me = person('n3');
    await ingest(w.stores, 'acme', platform, subjectRecords(me, NOW), NOW);
    await w.deps.control.putHold({ tenantId: 'acme', holdId: 'hn', scope: { conversationId: 'n3-v0' }, reason: 'case', createdAt: NOW.toISOString(), createdBy: 'h:t' });

    const request = await submit(w, { kind: 'anonymization', subject: { customerId: 'n3' } }, 'anon-held');

    expect(request.status).toBe('partially_completed');
    const items = await w.deps.records.findBySubject('acme', 'n3');
    const heldMessages = items.filter((i) => i.conversationId === 'n3-v0' && i.category === 'message');
    expect(heldMessages.length).toBeGreaterThan(0);
    for (const m of heldMessages) expect((m.data as { text: string }).text).toContain(me.name);
    const freeMessages = items.filter((i) => i.conversationId === 'n3-v1' && i.category === 'message');
    for (const m of freeMessages) expect((m.data as { text: string }).text).toMatch(/^anon_/);
  });
});

describe('confirmation e-mails', () => {
  it('tell the requester of a failure, without personal data', async () => {
    const w = await world();
    const me = person('f1');
    await ingest(w.stores, 'acme', platform, subjectRecords(me, NOW), NOW);
    await receivePrivacyRequest(w.deps, { tenantId: 'acme', requestId: 'fail-1', requestedBy: 'h:tester', body: { kind: 'erasure', subject: { customerId: 'f1' }, notify: { email: 'requester@inbox.test' } } });
    const broken = privacyHandlers({ ...w.deps, records: Object.assign(Object.create(w.stores.records), { findBySubject: async () => { throw Object.assign(new Error(`lookup failed for ${me.phone}`), { name: 'ValidationException' }); } }) }, { logger: quiet });

    await runPrivacyRequestLocally(broken, { tenantId: 'acme', requestId: 'fail-1' }, { executionName: 'fail-1' });

    const request = (await w.deps.privacy.get('acme', 'fail-1'))!;
    expect(request.status).toBe('failed');
    expect(request.notifyEmail).toBeUndefined();
    const mails = await readOutbox(w.outbox);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toContain('failed');
    for (const pii of [me.phone, me.email, me.name]) expect(JSON.stringify(mails)).not.toContain(pii);
  });

  it('go through SES in AWS, without personal data', async () => {
    const ses = mockClient(SESv2Client);
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const w = await world(new SesMailer(new SESv2Client({ region: 'us-east-1' }), { from: 'privacy@lethe.test' }));
    const me = person('s1');
    await ingest(w.stores, 'acme', platform, subjectRecords(me, NOW), NOW);

    await submit(w, { kind: 'erasure', subject: { customerId: 's1' }, notify: { email: 'requester@inbox.test' } }, 'ses-1');

    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]!.args[0].input;
    expect(sent.Destination?.ToAddresses).toEqual(['requester@inbox.test']);
    expect(JSON.stringify(sent.Content)).toContain('ses-1');
    for (const pii of [me.phone, me.email, me.name]) expect(JSON.stringify(sent)).not.toContain(pii);
    ses.restore();
  });
});
