/**
 * A third-party endpoint that accepts connections and never answers, called
 * through the real HTTP provider (small per-attempt time-out, its default 5
 * attempts), on the emulators. It must stop neither a manual delete (through
 * the API handler), an erasure (through the PrivacyRequest state machine) nor
 * a sweep (through the Sweep state machine): each returns in bounded time,
 * deletes everything that does not depend on the provider, keeps every call
 * whose third-party data could not be deleted (counted failed / kept), and
 * leaves nothing orphaned. Once the endpoint answers again, a retry finishes
 * the work.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpExternalDataProvider } from '../../shared/adapters/http/external-provider.js';
import { DynamoPrivacyRequestStore } from '../../shared/adapters/dynamodb/privacy-request-store.js';
import { createApiHandler } from '../../shared/app/api/handler.js';
import { deletionTaskHandler } from '../../shared/app/deletion-tasks.js';
import { privacyTaskHandler } from '../../shared/app/privacy-tasks.js';
import { loadProfile } from '../../shared/config/profiles.js';
import type { Category } from '../../shared/domain/catalog.js';
import { EXTERNAL_BREAKER_FAILURES, EXTERNAL_CONCURRENCY, executeDeletion } from '../../shared/domain/deletion/executor.js';
import type { PrivacyDeps } from '../../shared/domain/privacy/deps.js';
import { receivePrivacyRequest } from '../../shared/domain/privacy/resolve.js';
import type { CategoryCounts, Receipt } from '../../shared/domain/receipt.js';
import type { RecordItem } from '../../shared/domain/records.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { DELETION_TASK_MAX_ATTEMPTS } from '../../shared/domain/deletion/task.js';
import { runDeletionWorkLocally, type DeletionStart } from '../../shared/local/deletion-runner.js';
import { runPrivacyRequestLocally } from '../../shared/local/privacy-runner.js';
import { runSweepLocally, sweepHandlers, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { apiEvent, apiWorld, customerRecords, daysAgo, ingest as ingestThroughApi, registerTenant, token, type CustomerFixture } from '../support/api.js';
import { TestClock } from '../support/clock.js';
import { expectNoOrphanedRecords, expectReconciled, keyOf, lessWhatStays } from '../support/deletion-oracle.js';
import { EMULATOR_BUCKET_FEATURES, makeStores } from '../support/env.js';
import { MemoryBlobStore, MemoryMailer, MemoryRecordStore } from '../support/memory.js';
import { startSilentProvider, type SilentProvider } from '../support/silent-provider.js';
import { ingest, subjectRecords, type SubjectSpec } from '../support/subjects.js';
import { harness, quietLogger, spec } from '../support/sweep-harness.js';
import { buildWorld, expectedDeletions, worldKey } from '../support/worlds.js';

/** Per attempt; the provider's default 5 attempts make a dead endpoint cost 750 ms a call. */
const ATTEMPT_TIMEOUT_MS = 150;
const ATTEMPTS = 5;
/**
 * Bounded time for one request or chunk: a couple of waves of calls (750 ms each) and the storage work, with
 * room for a loaded machine; far below what one call to a dead endpoint costs with the provider's defaults
 * (5 attempts of 10 s), let alone a call that waits for an answer.
 */
const BOUND_MS = 10_000;

const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });
const http = () => new HttpExternalDataProvider({ timeoutMs: ATTEMPT_TIMEOUT_MS, maxAttempts: ATTEMPTS, sleep: async () => {}, allowPrivateNetworks: true });

let provider: SilentProvider;
beforeEach(async () => {
  provider = await startSilentProvider();
});
afterEach(async () => {
  await provider.close();
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const sum = (counts: Partial<Record<Category, CategoryCounts>>, field: 'deleted' | 'failed' | 'kept' | 'examined') =>
  Object.values(counts).reduce((n, c) => n + (c[field] ?? 0), 0);

describe('a manual delete with a dead third-party endpoint', () => {
  const T = 'acme';
  const COMPLIANCE = token('ComplianceAdministrator', T);
  /** More calls with third-party data than the executor calls at once, so the breaker has work to stop. */
  const EXTRA_CALLS = 29;

  function callsOf(c: CustomerFixture): IngestRecordInput[] {
    return Array.from({ length: EXTRA_CALLS }, (_, k) => ({
      type: 'call' as const,
      id: `${c.id}-call${k}`,
      customerId: c.id,
      startedAt: daysAgo(c.age, k),
      durationSeconds: 30,
      thirdPartyRef: `tp-${c.id}-call${k}`,
    }));
  }

  it('answers 202 in bounded time, deletes what does not depend on the provider, keeps the calls; its Deletion workflow retries and finishes once the provider answers', async () => {
    const w = await apiWorld();
    await registerTenant(w, T, { thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }] });
    const me: CustomerFixture = { id: 'cust-1', name: 'Ada Quill', phone: '+14155550101', email: 'ada@example.test', secret: 's1', age: 10 };
    const other: CustomerFixture = { id: 'cust-2', name: 'Bo Reed', phone: '+14155550102', email: 'bo@example.test', secret: 's2', age: 10 };
    await ingestThroughApi(w, T, [...customerRecords(me), ...callsOf(me), ...customerRecords(other)]);
    const mine = await w.stores.records.findBySubject(T, me.id);
    const others = await w.stores.records.findBySubject(T, other.id);
    const refs = mine.flatMap((i) => (i.externalRef === undefined ? [] : [i.externalRef]));
    expect(refs).toHaveLength(EXTRA_CALLS + 1);
    provider.add(...refs, ...others.flatMap((i) => (i.externalRef === undefined ? [] : [i.externalRef])));
    // The production handler, with the real HTTP provider in place of the in-memory one; the Deletion
    // workflow's starts are recorded here and the test runs the execution itself, attempt by attempt.
    const starts: DeletionStart[] = [];
    const handler = createApiHandler({ ...w.deps, external: http(), deletionWork: { start: async (input) => void starts.push(input) } }, { logger: quiet });
    const del = async () => {
      const result = await handler(apiEvent({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${me.id}`, token: COMPLIANCE }));
      return { status: result.statusCode, body: JSON.parse(result.body as string) };
    };

    const { value: first, ms } = await timed(del);

    expect(ms).toBeLessThan(BOUND_MS);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'continuing', failed: EXTRA_CALLS + 1, held: 0 });
    expect(starts).toEqual([{ tenantId: T, taskId: first.body.receiptId, executionName: first.body.receiptId }]);
    // The breaker: once calls failed in a row, the rest are not even tried (those in flight then still finish).
    const tried = new Set(provider.requests.map((r) => r.ref)).size;
    expect(tried).toBeLessThan(EXTRA_CALLS + 1);
    expect(tried).toBeLessThanOrEqual(EXTERNAL_CONCURRENCY + EXTERNAL_BREAKER_FAILURES);
    expect(provider.requests.length).toBeLessThanOrEqual(tried * ATTEMPTS);
    expect(provider.requests.every((r) => !r.answered)).toBe(true);
    const after = await w.stores.records.findBySubject(T, me.id);
    // What stays: the third-party data, its calls, and the profile above them with its identifiers.
    const stays = (i: RecordItem) => ['third_party_call_data', 'call', 'customer_profile'].includes(i.category);
    expect(after.map(keyOf).sort()).toEqual(mine.filter(stays).map(keyOf).sort());
    expectNoOrphanedRecords(mine, after);
    for (const prefix of [`inbound/${T}/${me.id}/`, `outbound/${T}/${me.id}/`, `email/${T}/${me.id}/`]) expect(await w.stores.blobs.list('media', prefix)).toEqual([]);
    expect(await w.stores.blobs.list('recordings', `recordings/${T}/${me.id}/`)).toEqual([]);
    expect([...provider.refs].filter((r) => r.includes(me.id)).sort()).toEqual([...refs].sort());
    expect((await w.stores.records.findBySubject(T, other.id)).map(keyOf).sort()).toEqual(others.map(keyOf).sort());
    const receipt = (await w.stores.control.getReceipt(T, first.body.receiptId)) as Receipt;
    expect(receipt).toMatchObject({ status: 'running', continuedBy: [] });
    expectReconciled(receipt.categories, 'manual receipt');
    expect(receipt.categories.third_party_call_data).toMatchObject({ examined: EXTRA_CALLS + 1, failed: EXTRA_CALLS + 1 });
    expect(receipt.categories.call).toMatchObject({ examined: EXTRA_CALLS + 1, kept: EXTRA_CALLS + 1, keptReasons: { child_failed: EXTRA_CALLS + 1 } });
    expect(sum(receipt.categories, 'examined')).toBe(mine.length);
    // Her analytics events leave her partition unlinked from her, not deleted.
    const events = mine.filter((i) => i.category === 'analytics_event').length;
    expect(receipt.categories.analytics_event).toMatchObject({ examined: events, kept: events, keptReasons: { unlinked: events } });
    expect(sum(receipt.categories, 'deleted')).toBe(mine.length - after.length - events);

    // The workflow: attempts while the provider is still silent, each in bounded time; it answers again after the second.
    const worker = deletionTaskHandler({ ...w.runDeps, external: http() }, { logger: quiet, chunkMs: 0, callsMs: 2_000 });
    const attempts: { status: string; ms: number }[] = [];
    const handlers = {
      worker: async (payload: unknown) => {
        const { value, ms: took } = await timed(() => worker(payload));
        attempts.push({ status: value.status, ms: took });
        if (attempts.length === 2) provider.setSilent(false);
        return value;
      },
    };
    await runDeletionWorkLocally(handlers, { tenantId: T, taskId: first.body.receiptId }, { executionName: first.body.receiptId, waitMs: 0 });

    expect(attempts.map((a) => a.status)).toEqual(['continuing', 'continuing', 'completed']);
    for (const a of attempts) expect(a.ms).toBeLessThan(BOUND_MS);
    expect(await w.stores.records.findBySubject(T, me.id)).toEqual([]);
    expect([...provider.refs].filter((r) => r.includes(me.id))).toEqual([]);
    expect((await w.stores.records.findBySubject(T, other.id)).map(keyOf).sort()).toEqual(others.map(keyOf).sort());
    const done = (await w.stores.control.getReceipt(T, first.body.receiptId)) as Receipt;
    expect(done.status).toBe('completed');
    expect(done.continuedBy).toEqual([1, 2, 3].map((n) => `${first.body.receiptId}-a${n}`));
    const lastAttempt = (await w.stores.control.getReceipt(T, done.continuedBy![2]!)) as Receipt;
    expect(lastAttempt).toMatchObject({ status: 'completed', continuationOf: first.body.receiptId });
    expectReconciled(lastAttempt.categories, 'last attempt');
    expect(sum(lastAttempt.categories, 'deleted')).toBe(after.length);
    expect(sum(lastAttempt.categories, 'failed')).toBe(0);
    const task = await w.stores.control.getDeletionTask(T, first.body.receiptId);
    expect(task).toMatchObject({ status: 'completed', attempts: 3 });
    // A retried start of the same execution, or a repeated step, finds the task done and does nothing.
    expect(await worker({ action: 'step', tenantId: T, taskId: first.body.receiptId })).toEqual({ done: true, waitSeconds: 0, status: 'completed' });
  });

  it('ends failed after its attempts when the provider never answers: the records stay, the receipt says failed, the admins are e-mailed', async () => {
    const w = await apiWorld();
    await registerTenant(w, T, { thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }] });
    const me: CustomerFixture = { id: 'cust-3', name: 'Cy Dorn', phone: '+14155550103', email: 'cy@example.test', secret: 's3', age: 10 };
    await ingestThroughApi(w, T, customerRecords(me));
    const mine = await w.stores.records.findBySubject(T, me.id);
    provider.add(...mine.flatMap((i) => (i.externalRef === undefined ? [] : [i.externalRef])));
    const handler = createApiHandler({ ...w.deps, external: http(), deletionWork: { start: async () => undefined } }, { logger: quiet });
    const first = await handler(apiEvent({ method: 'DELETE', path: `/v1/tenants/${T}/customers/${me.id}`, token: COMPLIANCE }));
    expect(first.statusCode).toBe(202);
    const { receiptId } = JSON.parse(first.body as string) as { receiptId: string };
    const mailer = w.runDeps.mailer as MemoryMailer;
    const mailsBefore = mailer.sent.length;
    const worker = deletionTaskHandler({ ...w.runDeps, external: http() }, { logger: quiet, chunkMs: 0, callsMs: 500 });

    await expect(runDeletionWorkLocally({ worker }, { tenantId: T, taskId: receiptId }, { executionName: receiptId, waitMs: 0 })).rejects.toThrow();

    const task = await w.stores.control.getDeletionTask(T, receiptId);
    expect(task).toMatchObject({ status: 'failed', attempts: DELETION_TASK_MAX_ATTEMPTS });
    expect((await w.stores.control.getReceipt(T, receiptId))?.status).toBe('failed');
    const stays = (i: RecordItem) => ['third_party_call_data', 'call', 'customer_profile'].includes(i.category);
    expect((await w.stores.records.findBySubject(T, me.id)).map(keyOf).sort()).toEqual(mine.filter(stays).map(keyOf).sort());
    const alerts = mailer.sent.slice(mailsBefore);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toContain('could not be finished');
    for (const pii of [me.name, me.phone, me.email, me.id]) expect(JSON.stringify(alerts[0])).not.toContain(pii);
  });
});

describe('an erasure with a dead third-party endpoint', () => {
  const NOW = new Date('2026-11-22T10:00:00.000Z');
  const platform = loadProfile('support-desk');
  /** Customers sharing one phone number: more than one erasure batch (25 subjects), so the request runs in several chunks. */
  const HOUSEHOLD = 27;
  const SHARED_PHONE = '+14155550199';

  const member = (i: number): SubjectSpec => ({
    customerId: `hh${i}`,
    phone: SHARED_PHONE,
    email: `hh${i}@mail.example`,
    name: `Member ${i} Household`,
    conversations: 1,
    messagesPerConversation: 2,
    calls: 1,
  });

  it('runs chunk by chunk in bounded time, erases what does not depend on the provider, keeps the calls; a retry once it answers completes it', async () => {
    const clock = new TestClock(NOW);
    const stores = await makeStores({ clock, bucketFeatures: EMULATOR_BUCKET_FEATURES });
    const tenant: Tenant = {
      tenantId: 'acme',
      name: 'Acme',
      status: 'active',
      adminEmails: ['admin@acme.test'],
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }],
    };
    await stores.control.putTenant(tenant);
    const deps: PrivacyDeps = {
      records: stores.records,
      blobs: stores.blobs,
      control: stores.control,
      external: http(),
      privacy: new DynamoPrivacyRequestStore({ doc: stores.doc, tableName: stores.tableNames.control }),
      mailer: new MemoryMailer(),
      clock,
      refSecret: 'dead-provider-secret-0123456789abcdef',
    };
    for (let i = 0; i < HOUSEHOLD; i++) await ingest(stores, 'acme', platform, subjectRecords(member(i), NOW), NOW);
    await ingest(stores, 'acme', platform, subjectRecords({ ...member(99), customerId: 'bystander', phone: '+14155550100' }, NOW), NOW);
    const before = new Map<string, RecordItem[]>();
    for (let i = 0; i < HOUSEHOLD; i++) before.set(`hh${i}`, await stores.records.findBySubject('acme', `hh${i}`));
    const bystander = await stores.records.findBySubject('acme', 'bystander');
    const all = [...before.values()].flat();
    const refs = all.flatMap((i) => (i.externalRef === undefined ? [] : [i.externalRef]));
    expect(refs).toHaveLength(HOUSEHOLD);
    provider.add(...refs, ...bystander.flatMap((i) => (i.externalRef === undefined ? [] : [i.externalRef])));

    // Every chunk stops at once after its first batch (a zero chunk time): the workflow loops.
    const worker = privacyTaskHandler(deps, { logger: quiet, chunkMs: 0 });
    const chunks: { done: boolean; ms: number }[] = [];
    const handlers = {
      worker: async (payload: unknown) => {
        if ((payload as { action?: string }).action !== 'execute') return worker(payload);
        const { value, ms } = await timed(() => worker(payload));
        chunks.push({ done: (value as { done: boolean }).done, ms });
        return value;
      },
    };
    await receivePrivacyRequest(deps, { tenantId: 'acme', requestId: 'erase-household', requestedBy: 'h:tester', body: { kind: 'erasure', subject: { phone: SHARED_PHONE } } });

    await runPrivacyRequestLocally(handlers, { tenantId: 'acme', requestId: 'erase-household' }, { executionName: 'erase-household' });

    expect(chunks.map((c) => c.done)).toEqual([false, true]);
    for (const c of chunks) expect(c.ms).toBeLessThan(BOUND_MS);
    expect(provider.requests.every((r) => !r.answered)).toBe(true);
    const failed = (await deps.privacy.get('acme', 'erase-household'))!;
    expect(failed).toMatchObject({ status: 'failed', reason: 'deletion_failed' });
    expect(failed.subjectIds).toHaveLength(HOUSEHOLD);
    const stays = (i: RecordItem) => ['third_party_call_data', 'call', 'customer_profile'].includes(i.category);
    for (const [subjectId, items] of before) {
      const after = await stores.records.findBySubject('acme', subjectId);
      expect(after.map(keyOf).sort(), subjectId).toEqual(items.filter(stays).map(keyOf).sort());
      expectNoOrphanedRecords(items, after);
      for (const i of items) if (i.blobKey !== undefined) expect(await stores.blobs.get(i.blobBucket!, i.blobKey), i.sk).toBeUndefined();
    }
    expect([...provider.refs].filter((r) => refs.includes(r)).sort()).toEqual([...refs].sort());
    expect((await stores.records.findBySubject('acme', 'bystander')).map(keyOf).sort()).toEqual(bystander.map(keyOf).sort());
    expectReconciled(failed.counts, 'request');
    expect(failed.counts.third_party_call_data).toMatchObject({ examined: HOUSEHOLD, failed: HOUSEHOLD });
    expect(failed.counts.call).toMatchObject({ examined: HOUSEHOLD, kept: HOUSEHOLD, keptReasons: { child_failed: HOUSEHOLD } });
    expect(sum(failed.counts, 'examined')).toBe(all.length);
    const firstReceipt = (await stores.control.getReceipt('acme', failed.runIds![0]!))!;
    expect(firstReceipt.status).toBe('failed');
    expect(firstReceipt.categories).toEqual(failed.counts);

    provider.setSilent(false);
    chunks.length = 0;
    // The request's execution again (a redrive, or a start under a new name): it goes on from what is left.
    await runPrivacyRequestLocally(handlers, { tenantId: 'acme', requestId: 'erase-household' }, { executionName: 'erase-household-retry' });

    const done = (await deps.privacy.get('acme', 'erase-household'))!;
    expect(done.status).toBe('completed');
    expect(chunks.at(-1)?.done).toBe(true);
    for (const subjectId of before.keys()) expect(await stores.records.findBySubject('acme', subjectId), subjectId).toEqual([]);
    expect([...provider.refs].filter((r) => refs.includes(r))).toEqual([]);
    expect((await stores.records.findBySubject('acme', 'bystander')).map(keyOf).sort()).toEqual(bystander.map(keyOf).sort());
    expectReconciled(done.counts, 'request after the retry');
    const secondReceipt = (await stores.control.getReceipt('acme', done.runIds![1]!))!;
    expect(secondReceipt.status).toBe('completed');
    expectReconciled(secondReceipt.categories, 'second receipt');
    expect(sum(secondReceipt.categories, 'deleted')).toBe(all.filter(stays).length);
  });
});

describe('a sweep with a dead third-party endpoint', () => {
  it('runs every chunk in bounded time, deletes what is due and does not depend on the provider, keeps the calls; the next run finishes', async () => {
    const h = await harness(buildWorld(loadProfile('voice'), [spec(), spec()]), provider);
    const deps = { ...h.deps, external: http() };
    const base: SweepHandlers = sweepHandlers(deps, { stageBudgetMs: 0, logger: quietLogger });
    const chunks: number[] = [];
    const handlers: SweepHandlers = {
      ...base,
      stage: async (payload) => {
        const { value, ms } = await timed(() => base.stage(payload));
        chunks.push(ms);
        return value;
      },
    };
    const { world } = h;
    const expected = expectedDeletions(world);
    const isTpd = (i: RecordItem) => i.category === 'third_party_call_data';
    const dueTpd = world.items.filter((i) => isTpd(i) && expected.has(worldKey(i)));
    expect(dueTpd.length).toBeGreaterThan(0);
    const withoutProvider = lessWhatStays(world.items, expected, isTpd);
    const keptCalls = world.items.filter((i) => i.category === 'call' && expected.has(worldKey(i)) && !withoutProvider.has(worldKey(i)));
    expect(keptCalls.length).toBe(dueTpd.length);
    const stored = async () => (await Promise.all(world.items.map((i) => h.stores.records.get(i)))).filter((i): i is RecordItem => i !== undefined);

    await runSweepLocally(deps, handlers, {}, { executionName: 'dead-1' });

    expect(chunks.length).toBeGreaterThan(4);
    for (const ms of chunks) expect(ms).toBeLessThan(BOUND_MS);
    expect(provider.requests.every((r) => !r.answered)).toBe(true);
    const afterFirst = await stored();
    const remaining = new Set(afterFirst.map(keyOf));
    for (const item of world.items) expect(remaining.has(worldKey(item)), `${item.pk} ${item.sk}`).toBe(!withoutProvider.has(worldKey(item)));
    expectNoOrphanedRecords(world.items, afterFirst);
    for (const b of world.blobs) {
      const owner = world.items.find((i) => i.blobKey === b.key)!;
      expect((await h.stores.blobs.get(b.bucket, b.key)) !== undefined, `blob of ${owner.sk}`).toBe(remaining.has(worldKey(owner)));
    }
    const first = (await h.stores.control.getReceipts(['t0', 't1'].map((tenantId) => ({ tenantId, runId: 'dead-1' })))) as Receipt[];
    for (const r of first) expectReconciled(r.categories, `receipt of ${r.tenantId}`);
    const total = (category: Category, field: 'failed' | 'deleted') => first.reduce((n, r) => n + (r.categories[category]?.[field] ?? 0), 0);
    expect(total('third_party_call_data', 'failed')).toBe(dueTpd.length);
    expect(first.reduce((n, r) => n + (r.categories.call?.keptReasons?.child_failed ?? 0), 0)).toBe(keptCalls.length);
    expect(first.reduce((n, r) => n + sum(r.categories, 'deleted'), 0)).toBe(withoutProvider.size);

    provider.setSilent(false);
    await runSweepLocally(deps, handlers, {}, { executionName: 'dead-2' });

    const afterSecond = new Set((await stored()).map(keyOf));
    for (const item of world.items) expect(afterSecond.has(worldKey(item)), `${item.pk} ${item.sk}`).toBe(!expected.has(worldKey(item)));
    const heldRefs = world.items.filter((i) => isTpd(i) && !expected.has(worldKey(i))).map((i) => i.externalRef);
    expect([...provider.refs].sort()).toEqual(heldRefs.sort());
    const second = (await h.stores.control.getReceipts(['t0', 't1'].map((tenantId) => ({ tenantId, runId: 'dead-2' })))) as Receipt[];
    for (const r of second) expectReconciled(r.categories, `second receipt of ${r.tenantId}`);
    expect([...first, ...second].reduce((n, r) => n + sum(r.categories, 'deleted'), 0)).toBe(expected.size);
  });
});

describe('the executor with a dead third-party endpoint', () => {
  it('holds the provider to its call budget: a provider whose own time-out is 30 s gives up when no call may run any more', async () => {
    const clock = new TestClock('2026-01-01T00:00:00.000Z');
    const records = new MemoryRecordStore();
    const tenant: Tenant = {
      tenantId: 't0',
      name: 'T0',
      status: 'active',
      adminEmails: ['a@example.test'],
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }],
    };
    const items: RecordItem[] = [0, 1, 2].map((n) => ({
      tenantId: 't0',
      pk: 'T#t0#S#c0',
      sk: `CALL#k${n}#TPD`,
      category: 'third_party_call_data',
      id: `k${n}tpd`,
      subjectId: 'c0',
      callId: `k${n}`,
      clockStart: '2025-01-01T00:00:00.000Z',
      externalRef: `ref-${n}`,
    }));
    await records.putBatch(items);
    provider.add(...items.map((i) => i.externalRef!));
    const patient = new HttpExternalDataProvider({ timeoutMs: 30_000, sleep: async () => {}, allowPrivateNetworks: true });

    const { value: result, ms } = await timed(() =>
      executeDeletion(
        { records, blobs: new MemoryBlobStore(), external: patient, clock },
        {
          roots: items.map((record) => ({ tenant, record, expand: false })),
          rules: () => ({ isHeld: () => false }),
          dryRun: false,
          deadline: clock.now(),
          callsUntil: new Date(clock.now().getTime() + 300),
        },
      ),
    );

    expect(ms).toBeLessThan(2_000);
    expect([...result.items.values()].map((i) => i.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(records.items.size).toBe(3);
    expect(provider.requests.length).toBe(3);
  });
});
