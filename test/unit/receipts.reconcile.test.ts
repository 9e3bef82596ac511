/**
 * Receipts and request counts reconcile: for every category, examined =
 * deleted + held + failed + kept, on a world where one third-party delete
 * fails. The call whose third-party data failed is kept (reason child_failed),
 * so are the profile above it and its identifiers (profile_kept), and every
 * record the path reached is counted exactly once — for a sweep receipt, a
 * manual-deletion receipt, and an erasure's receipt and request counts.
 */
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../shared/config/profiles.js';
import { deleteCustomer } from '../../shared/app/api/use-cases/deletions.js';
import { STAGES, type Category } from '../../shared/domain/catalog.js';
import { executeErasure } from '../../shared/domain/privacy/erasure.js';
import { receivePrivacyRequest } from '../../shared/domain/privacy/resolve.js';
import type { CategoryCounts, Receipt } from '../../shared/domain/receipt.js';
import { keys, type RecordItem } from '../../shared/domain/records.js';
import { completeRun, runStage, startRun } from '../../shared/domain/runs.js';
import { expectReconciled, keyOf, lessWhatStays } from '../support/deletion-oracle.js';
import { memoryApp } from '../support/memory-app.js';
import { memoryWorld, type MemoryWorldDeps } from '../support/memory-world.js';
import { buildWorld, expectedDeletions, type TenantSpec, type World } from '../support/worlds.js';

const DAY = 86_400_000;

/** One long-gone customer (everything due) with two calls with third-party data, one recent customer, account data. */
function tenantSpec(holdPicks: TenantSpec['holdPicks'] = []): TenantSpec {
  const conversation = { whatsapp: false, open: false, messages: 2, inboundMediaAges: [], outboundMedia: 1, attachmentAges: [], logs: 1 };
  return {
    customers: [
      {
        lastContactAge: 900 * DAY,
        conversations: [{ ...conversation, age: 950 * DAY, inboundMediaAges: [950 * DAY] }],
        calls: [
          { age: 940 * DAY, recordings: 2, thirdParty: true },
          { age: 930 * DAY, recordings: 1, thirdParty: true },
        ],
        analyticsAges: [920 * DAY],
      },
      {
        lastContactAge: 2 * DAY,
        conversations: [{ ...conversation, age: 3 * DAY }],
        calls: [{ age: 2 * DAY, recordings: 1, thirdParty: true }],
        analyticsAges: [],
      },
    ],
    webhookAges: [800 * DAY, 1 * DAY],
    adminLogAges: [800 * DAY],
    users: [],
    configAges: [],
    contractEndAge: undefined,
    lastActivityAge: 0,
    overrides: {},
    holdPicks,
  };
}

/** The third-party reference of the gone customer's first call: its delete fails. */
const FAILING_REF = 'ref-t0-c0k0';

async function failingWorld(world: World): Promise<MemoryWorldDeps> {
  const deps = await memoryWorld(world);
  deps.external.fails = (ref) => ref === FAILING_REF;
  return deps;
}

function total(categories: Partial<Record<Category, CategoryCounts>>, field: keyof Omit<CategoryCounts, 'keptReasons' | 'deletedReasons'>): number {
  return Object.values(categories).reduce((n, c) => n + (c[field] ?? 0), 0);
}

/** Whether a customer's analytics event left her partition for the account's, unlinked from her (not lost). */
const unlinked = (i: RecordItem, deps: MemoryWorldDeps) =>
  i.category === 'analytics_event' && deps.records.items.has(keyOf({ pk: keys.accountPk(i.tenantId), sk: keys.analyticsEventSk(i.id) }));

function lostPerCategory(before: readonly RecordItem[], deps: MemoryWorldDeps): Partial<Record<Category, number>> {
  const out: Partial<Record<Category, number>> = {};
  for (const i of before) if (!deps.records.items.has(keyOf(i)) && !unlinked(i, deps)) out[i.category] = (out[i.category] ?? 0) + 1;
  return out;
}

function deletedPerCategory(categories: Partial<Record<Category, CategoryCounts>>): Partial<Record<Category, number>> {
  return Object.fromEntries(Object.entries(categories).flatMap(([c, n]) => (n.deleted > 0 ? [[c, n.deleted]] : [])));
}

/** The gone customer's partition, as stored before anything ran. */
const partitionOf = (world: World, subjectId: string) => world.items.filter((i) => i.pk === keys.subjectPk('t0', subjectId));

async function sweepTenant(deps: MemoryWorldDeps, runId: string): Promise<Receipt> {
  await startRun(deps, { tenantId: 't0', runId, dryRun: false });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      const chunk = await runStage(deps, { tenantId: 't0', runId, stage, continuation }, { budgetMs: 0, pageSize: 2 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRun(deps, { tenantId: 't0', runId });
  return (await deps.control.getReceipt('t0', runId))!;
}

describe('a sweep receipt with a failed third-party delete', () => {
  it('counts every due record once: the failed data as failed, its call, profile and identifiers as kept, the rest deleted', async () => {
    const world = buildWorld(loadProfile('voice'), [tenantSpec()]);
    const deps = await failingWorld(world);
    const expected = expectedDeletions(world);
    const goes = lessWhatStays(world.items, expected, (i) => i.externalRef === FAILING_REF);

    const receipt = await sweepTenant(deps, 'sweep-1');

    expectReconciled(receipt.categories, 'sweep receipt');
    for (const item of world.items) expect(deps.records.items.has(keyOf(item)), item.sk).toBe(!goes.has(keyOf(item)));
    expect(deletedPerCategory(receipt.categories)).toEqual(lostPerCategory(world.items, deps));
    expect(receipt.categories.third_party_call_data).toMatchObject({ failed: 1 });
    expect(receipt.categories.call).toMatchObject({ kept: 1, keptReasons: { child_failed: 1 } });
    expect(receipt.categories.customer_profile?.keptReasons).toEqual({ child_failed: 1, profile_kept: 1 });
    // Due, but staying because of the failure: each one counted once, as failed or kept (there is no hold).
    expect(total(receipt.categories, 'failed') + total(receipt.categories, 'kept')).toBe(expected.size - goes.size);
    expect(total(receipt.categories, 'held')).toBe(0);
  });

  it('still reconciles with holds in the world', async () => {
    const world = buildWorld(loadProfile('voice'), [
      tenantSpec([
        { kind: 'conversation', pick: 0, category: 'message', released: false, expiredAgo: undefined },
        { kind: 'category', pick: 0, category: 'webhook_delivery', released: false, expiredAgo: undefined },
      ]),
    ]);
    const deps = await failingWorld(world);

    const receipt = await sweepTenant(deps, 'sweep-held');

    expectReconciled(receipt.categories, 'sweep receipt');
    expect(total(receipt.categories, 'held')).toBeGreaterThan(0);
    expect(receipt.categories.call).toMatchObject({ kept: 1, keptReasons: { child_failed: 1 } });
    expect(deletedPerCategory(receipt.categories)).toEqual(lostPerCategory(world.items, deps));
  });
});

describe('a manual-deletion receipt with a failed third-party delete', () => {
  it('counts every record of the customer once, the call of the failed data as kept (child_failed)', async () => {
    const world = buildWorld(loadProfile('voice'), [tenantSpec()]);
    const deps = await failingWorld(world);
    const { app, caller, deletionStarts } = memoryApp(deps);
    const mine = partitionOf(world, 'c0');

    const outcome = await deleteCustomer(app, caller(), (await deps.control.getTenant('t0'))!, 'c0');

    // What failed goes on in a Deletion workflow; the request's own pass reconciles on its own.
    expect(outcome.status).toBe('continuing');
    expect(deletionStarts).toEqual([{ tenantId: 't0', taskId: outcome.receiptId, executionName: outcome.receiptId }]);
    const receipt = (await deps.control.getReceipt('t0', outcome.receiptId))!;
    expect(receipt).toMatchObject({ kind: 'manual', status: 'running', continuedBy: [] });
    expectReconciled(receipt.categories, 'manual receipt');
    expect(total(receipt.categories, 'examined')).toBe(mine.length);
    expect(deletedPerCategory(receipt.categories)).toEqual(lostPerCategory(mine, deps));
    expect(receipt.categories.third_party_call_data).toEqual({ examined: 2, deleted: 1, held: 0, failed: 1, kept: 0 });
    expect(receipt.categories.call).toEqual({ examined: 2, deleted: 1, held: 0, failed: 0, kept: 1, keptReasons: { child_failed: 1 } });
    expect(receipt.categories.customer_profile).toEqual({ examined: 2, deleted: 0, held: 0, failed: 0, kept: 2, keptReasons: { child_failed: 1, profile_kept: 1 } });
    // Her analytics event stays, unlinked from her.
    expect(receipt.categories.analytics_event).toEqual({ examined: 1, deleted: 0, held: 0, failed: 0, kept: 1, keptReasons: { unlinked: 1 } });
    expect(outcome).toMatchObject({ failed: 1, held: 0, deleted: total(receipt.categories, 'deleted') });
    // The other customer and the account data are not touched.
    for (const item of world.items.filter((i) => !mine.includes(i))) expect(deps.records.items.has(keyOf(item)), item.sk).toBe(true);
  });
});

describe('an erasure with a failed third-party delete', () => {
  it('counts every record of the subject once in its receipt and in the request, the call of the failed data as kept (child_failed)', async () => {
    const world = buildWorld(loadProfile('voice'), [tenantSpec()]);
    const deps = await failingWorld(world);
    const { privacyDeps } = memoryApp(deps);
    const mine = partitionOf(world, 'c0');
    await receivePrivacyRequest(privacyDeps, { tenantId: 't0', requestId: 'erase-1', requestedBy: 'h:tester', body: { kind: 'erasure', subject: { customerId: 'c0' } } });

    let chunk;
    do chunk = await executeErasure(privacyDeps, 't0', 'erase-1', { deadline: deps.clock.now() });
    while (!chunk.done);

    const request = (await privacyDeps.privacy.get('t0', 'erase-1'))!;
    expect(request).toMatchObject({ status: 'failed', reason: 'deletion_failed' });
    const receipt = (await deps.control.getReceipt('t0', request.runIds![0]!))!;
    expect(receipt.categories).toEqual(request.counts);
    expectReconciled(request.counts, 'erasure request');
    expect(total(request.counts, 'examined')).toBe(mine.length);
    expect(deletedPerCategory(request.counts)).toEqual(lostPerCategory(mine, deps));
    expect(request.counts.third_party_call_data).toEqual({ examined: 2, deleted: 1, held: 0, failed: 1, kept: 0 });
    expect(request.counts.call).toEqual({ examined: 2, deleted: 1, held: 0, failed: 0, kept: 1, keptReasons: { child_failed: 1 } });
    expect(request.counts.customer_profile).toEqual({ examined: 2, deleted: 0, held: 0, failed: 0, kept: 2, keptReasons: { child_failed: 1, profile_kept: 1 } });
    expect(request.counts.analytics_event).toEqual({ examined: 1, deleted: 0, held: 0, failed: 0, kept: 1, keptReasons: { unlinked: 1 } });

    // Once the provider answers, the request's next execution finishes it, and the counts still add up.
    deps.external.fails = () => false;
    do chunk = await executeErasure(privacyDeps, 't0', 'erase-1', { deadline: deps.clock.now() });
    while (!chunk.done);

    const done = (await privacyDeps.privacy.get('t0', 'erase-1'))!;
    expect(done.status).toBe('completed');
    expectReconciled(done.counts, 'erasure request after the retry');
    expect(mine.filter((i) => deps.records.items.has(keyOf(i)))).toEqual([]);
    const events = mine.filter((i) => i.category === 'analytics_event');
    expect(total(done.counts, 'deleted')).toBe(mine.length - events.length);
    expect(done.counts.analytics_event?.keptReasons).toEqual({ unlinked: events.length });
  });
});
