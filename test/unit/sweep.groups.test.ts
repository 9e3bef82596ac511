/**
 * How a sweep group finds and deletes what is due: parents without a look at
 * their partition when the run proves their children went, a look when it
 * cannot, deletions of several tenants in shared batches, identifiers only
 * after their profile, and one tenant's failure kept to that tenant.
 */
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../shared/domain/catalog.js';
import { ValidationError } from '../../shared/domain/errors.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import { keys, retentionKeysOf, type RecordItem } from '../../shared/domain/records.js';
import { completeRuns, runStages, startRuns, type RunDeps } from '../../shared/domain/runs.js';
import { MemoryRecordStore } from '../support/memory.js';
import { memoryWorld } from '../support/memory-world.js';
import { buildWorld, expectedDeletions, worldKey, type TenantSpec, type World } from '../support/worlds.js';
import { conversationsV1, profile } from './_helpers.js';

const DAY = 86_400_000;

/** A tenant with one customer gone long ago (everything due) and one recent customer (nothing due). */
function tenant(overrides: Partial<TenantSpec> = {}, activity: 'exact' | 'untracked' | 'later' = 'exact'): TenantSpec {
  return {
    customers: [
      {
        lastContactAge: 800 * DAY,
        activity,
        conversations: [
          { age: 900 * DAY, whatsapp: false, open: false, messages: 3, inboundMediaAges: [899 * DAY], outboundMedia: 1, attachmentAges: [898 * DAY], logs: 1 },
        ],
        calls: [{ age: 850 * DAY, recordings: 2, thirdParty: true }],
        analyticsAges: [820 * DAY],
      },
      {
        lastContactAge: 2 * DAY,
        conversations: [{ age: 3 * DAY, whatsapp: true, open: true, messages: 2, inboundMediaAges: [2 * DAY], outboundMedia: 0, attachmentAges: [], logs: 0 }],
        calls: [],
        analyticsAges: [],
      },
    ],
    webhookAges: [400 * DAY, 1 * DAY],
    adminLogAges: [],
    users: [],
    configAges: [],
    contractEndAge: undefined,
    lastActivityAge: 0,
    overrides: {},
    holdPicks: [],
    ...overrides,
  };
}

class CountingRecordStore extends MemoryRecordStore {
  partitionReads: string[] = [];
  deleteCalls = 0;
  override async findByPartition(pk: string, options?: { skPrefix?: string; includeExpired?: boolean }): Promise<RecordItem[]> {
    this.partitionReads.push(pk);
    return super.findByPartition(pk, options);
  }
  override async deleteBatch(keys: readonly { pk: string; sk: string }[]) {
    this.deleteCalls += 1;
    return super.deleteBatch(keys);
  }
}

function setUp(world: World) {
  return memoryWorld(world, new CountingRecordStore());
}

type Deps = Awaited<ReturnType<typeof setUp>>;

async function sweep(deps: RunDeps, tenantIds: string[], runId: string, options: { pageSize?: number } = {}): Promise<Receipt[]> {
  await startRuns(deps, { runId, tenantIds, dryRun: false });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      const chunk = await runStages(deps, { runId, tenantIds, stage, continuation }, { budgetMs: 60_000, ...options });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRuns(deps, { runId, tenantIds });
  return deps.control.getReceipts(tenantIds.map((tenantId) => ({ tenantId, runId })));
}

function expectExactly(deps: Deps, world: World): void {
  const expected = expectedDeletions(world);
  for (const item of world.items) {
    expect(deps.records.items.has(worldKey(item)), `${item.pk} ${item.sk} kept?`).toBe(!expected.has(worldKey(item)));
  }
}

describe('a sweep group', () => {
  it('deletes due parents without reading a partition when every child provably went before them', async () => {
    const world = buildWorld(conversationsV1(), [tenant(), tenant(), tenant()]);
    const deps = await setUp(world);

    await sweep(deps, ['t0', 't1', 't2'], 'r1');

    expect(deps.records.partitionReads).toEqual([]);
    expectExactly(deps, world);
    expect(expectedDeletions(world).size).toBeGreaterThan(30);
  });

  it('reads the partition of a due profile whose activity watermark was never tracked, and deletes it with what is under it', async () => {
    const world = buildWorld(conversationsV1(), [tenant({}, 'untracked')]);
    const deps = await setUp(world);

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.partitionReads).toEqual([keys.subjectPk('t0', 'c0')]);
    expectExactly(deps, world);
  });

  it('takes a young record under a gone profile along with it, through its partition', async () => {
    // The profile's last contact is old, but a bot conversation under it is recent: only the cascade makes it due.
    const spec = tenant({}, 'exact');
    const world = buildWorld(conversationsV1(), [
      { ...spec, customers: [{ ...spec.customers[0]!, conversations: [...spec.customers[0]!.conversations, { age: 5 * DAY, whatsapp: false, open: false, messages: 2, inboundMediaAges: [4 * DAY], outboundMedia: 0, attachmentAges: [], logs: 0 }] }] },
    ]);
    const young = world.items.find((i) => i.category === 'conversation' && i.clockStart > new Date(world.now.getTime() - 10 * DAY).toISOString())!;
    const deps = await setUp(world);

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.partitionReads).toEqual([young.pk]);
    expect(deps.records.items.has(worldKey(young))).toBe(false);
    expectExactly(deps, world);
  });

  it('sends the blob and record deletions of all its tenants in shared requests', async () => {
    const world = buildWorld(conversationsV1(), [tenant(), tenant(), tenant(), tenant()]);
    const deps = await setUp(world);
    const dueBlobs = world.items.filter((i) => i.blobKey !== undefined && expectedDeletions(world).has(worldKey(i)));

    await sweep(deps, ['t0', 't1', 't2', 't3'], 'r1');

    // One DeleteObjects request per bucket for the whole group, not one per tenant.
    expect(new Set(dueBlobs.map((b) => b.blobBucket)).size).toBe(2);
    expect(deps.blobs.deleteRequests).toBe(2);
    // One deleteBatch call per round of the stages (six rounds), not one per tenant and category.
    expect(deps.records.deleteCalls).toBe(6);
    expectExactly(deps, world);
  });

  it('counts each tenant\'s deletions in its own receipt', async () => {
    const world = buildWorld(conversationsV1(), [tenant(), tenant({ webhookAges: [500 * DAY, 501 * DAY, 502 * DAY] })]);
    const deps = await setUp(world);
    const expected = expectedDeletions(world);

    const receipts = await sweep(deps, ['t0', 't1'], 'r1', { pageSize: 2 });

    for (const r of receipts) {
      const deleted = Object.values(r.categories).reduce((n, c) => n + c.deleted, 0);
      const due = world.items.filter((i) => i.tenantId === r.tenantId && expected.has(worldKey(i))).length;
      expect(deleted, r.tenantId).toBe(due);
      expect(r.status).toBe('completed');
    }
  });

  it('keeps a stage failure to the tenant it happened to: recorded in its receipt, the others carry on', async () => {
    const world = buildWorld(conversationsV1(), [tenant(), tenant()]);
    const deps = await setUp(world);
    const find = deps.records.findDueForDeletion.bind(deps.records);
    deps.records.findDueForDeletion = async (tenantId, partition, cutoff, options) => {
      if (tenantId === 't1' && partition === 'third_party_call_data') throw Object.assign(new Error('index down'), { name: 'IndexDown' });
      return find(tenantId, partition, cutoff, options);
    };

    const [r0, r1] = (await sweep(deps, ['t0', 't1'], 'r1')).sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));

    expect(r0).toMatchObject({ status: 'completed', failedStages: [] });
    expect(r1).toMatchObject({ status: 'failed', failedStages: [{ stage: 2, error: 'IndexDown' }] });
    // t1's calls keep their third-party data (never deleted), so they stay; the rest of t1 goes on.
    const call = world.items.find((i) => i.tenantId === 't1' && i.category === 'call')!;
    expect(deps.records.items.has(worldKey(call))).toBe(true);
    expect(r1!.categories.message?.deleted).toBeGreaterThan(0);
    expect(deps.mailer.sent.map((m) => m.subject)).toEqual([expect.stringContaining('tenant t1')]);
  });

  it('refuses a continuation that leaves out a tenant of the group, or was handed out for another run or stage', async () => {
    const world = buildWorld(conversationsV1(), [tenant(), tenant()]);
    const deps = await setUp(world);
    await startRuns(deps, { runId: 'r1', tenantIds: ['t0', 't1'], dryRun: false });
    const both = { t0: [0], t1: [0] };
    const tokens = [
      { v: 3, run: 'r1', s: 1, r: 0, t: { t0: [0] } },
      { v: 3, run: 'r0', s: 1, r: 0, t: both },
      { v: 3, run: 'r1', s: 3, r: 0, t: both },
    ].map((t) => JSON.stringify(t));

    for (const continuation of tokens) {
      const chunk = runStages(deps, { runId: 'r1', tenantIds: ['t0', 't1'], stage: 1, continuation }, { budgetMs: 60_000 });
      await expect(chunk, continuation).rejects.toBeInstanceOf(ValidationError);
    }
    expect(deps.records.items.size).toBe(world.items.length);
  });
});

describe('identifier items', () => {
  it('go once their profile is gone, even when the profile went in an earlier run', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const profile = world.items.find((i) => i.tenantId === 't0' && i.sk === keys.profileSk() && i.subjectId === 'c0')!;
    const identifier = world.items.find((i) => i.pk === profile.pk && i.sk.startsWith('ID#'))!;
    // An earlier run deleted the profile but not its identifier (the request failed).
    deps.records.items.delete(worldKey(profile));

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(identifier))).toBe(false);
    // The recent customer's identifier is not touched.
    const kept = world.items.find((i) => i.subjectId === 'c1' && i.sk.startsWith('ID#'))!;
    expect(deps.records.items.has(worldKey(kept))).toBe(true);
  });

  it('stay while their profile stays, even with an older clock than the profile\'s', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const recent = world.items.find((i) => i.sk === keys.profileSk() && i.subjectId === 'c1')!;
    // A phone number written two years ago, when the customer last came by; the profile has moved on since.
    const old = new Date(world.now.getTime() - 800 * DAY).toISOString();
    const stale: RecordItem = {
      tenantId: 't0', pk: recent.pk, sk: keys.identifierSk('PHONE', '+15550009999'), category: 'customer_profile', id: 'c1', subjectId: 'c1',
      parentSk: keys.profileSk(), clockStart: old, identifierPk: keys.identifierPk('t0', 'PHONE', '+15550009999'), identifierSk: 'c1',
    };
    await deps.records.putBatch([{ ...stale, ...retentionKeysOf(stale, 1) }]);

    const [receipt] = await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(stale))).toBe(true);
    expect(deps.records.items.has(worldKey(recent))).toBe(true);
    expect(receipt!.categories.customer_profile!.deleted).toBe(2); // c0's profile and phone
  });

  it('stay when their profile could not be deleted, and go with it in the next run', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const profile = world.items.find((i) => i.sk === keys.profileSk() && i.subjectId === 'c0')!;
    const identifier = world.items.find((i) => i.pk === profile.pk && i.sk.startsWith('ID#'))!;
    deps.records.faults.deleteFails = (k) => (k.pk === profile.pk && k.sk === profile.sk ? 'ProvisionedThroughputExceededException' : undefined);

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(profile))).toBe(true);
    expect(deps.records.items.has(worldKey(identifier))).toBe(true);

    deps.records.faults.deleteFails = undefined;
    await sweep(deps, ['t0'], 'r2');

    expect(deps.records.items.has(worldKey(profile))).toBe(false);
    expect(deps.records.items.has(worldKey(identifier))).toBe(false);
  });
});

/** Everything the run was due to delete went, but for the records `spared` names (those a race changed). */
function expectRestGone(deps: Deps, world: World, spared: (item: RecordItem) => boolean, atLeast = 10): void {
  const expected = expectedDeletions(world);
  const rest = world.items.filter((i) => expected.has(worldKey(i)) && !spared(i));
  expect(rest.length).toBeGreaterThanOrEqual(atLeast);
  for (const item of rest) expect(deps.records.items.has(worldKey(item)), `${item.pk} ${item.sk} gone?`).toBe(false);
}

describe('records whose clock moves', () => {
  const DAY_AGO = (world: World) => new Date(world.now.getTime() - DAY).toISOString();
  const profileOf = (world: World) => world.items.find((i) => i.sk === keys.profileSk() && i.subjectId === 'c0')!;
  const profileAndIdentifiers = (profile: RecordItem) => (i: RecordItem) => i.pk === profile.pk && (i.sk === keys.profileSk() || i.sk.startsWith('ID#'));

  /** After the sweep reads `partition`, customer c0 gets in touch again: a newer profile (and, with `conversation`, a new one under it). */
  function comesBack(deps: Deps, world: World, partition: string, conversation?: RecordItem): void {
    const profile = profileOf(world);
    const recent = DAY_AGO(world);
    const find = deps.records.findDueForDeletion.bind(deps.records);
    deps.records.findDueForDeletion = async (tenantId, p, cutoff, options) => {
      const page = await find(tenantId, p, cutoff, options);
      if (p === partition) {
        await deps.records.putProfiles([{ ...profile, clockStart: recent, ...retentionKeysOf({ ...profile, clockStart: recent }, 1) }]);
        if (conversation !== undefined) {
          await deps.records.putBatch([{ ...conversation, ...retentionKeysOf(conversation, 1) }]);
          await deps.records.raiseActivity([{ pk: profile.pk, until: conversation.clockStart }]);
        }
      }
      return page;
    };
  }
  const newConversation = (world: World): RecordItem => ({
    tenantId: 't0', pk: profileOf(world).pk, sk: keys.conversationSk('back'), category: 'conversation', id: 'back', subjectId: 'c0',
    conversationId: 'back', parentSk: keys.profileSk(), clockStart: DAY_AGO(world), status: 'open',
  });

  it('keep a profile whose customer came back after the index was read, with what came with them', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const conversation = newConversation(world);
    comesBack(deps, world, 'customer_profile', conversation);

    await sweep(deps, ['t0'], 'r1');

    const profile = profileOf(world);
    expect(deps.records.items.get(worldKey(profile))).toMatchObject({ clockStart: DAY_AGO(world) });
    expect(deps.records.items.has(worldKey(conversation))).toBe(true);
    const identifier = world.items.find((i) => i.pk === profile.pk && i.sk.startsWith('ID#'))!;
    expect(deps.records.items.has(worldKey(identifier))).toBe(true);
    expectRestGone(deps, world, profileAndIdentifiers(profile));
  });

  it('keep a profile whose customer came back even when it would have gone through its partition', async () => {
    // An untracked watermark: the profile is deleted through its partition, from the same stale index entry.
    const world = buildWorld(conversationsV1(), [tenant({}, 'untracked')]);
    const deps = await setUp(world);
    const conversation = newConversation(world);
    comesBack(deps, world, 'customer_profile', conversation);

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.get(worldKey(profileOf(world)))).toMatchObject({ clockStart: DAY_AGO(world) });
    expect(deps.records.items.has(worldKey(conversation))).toBe(true);
    expectRestGone(deps, world, profileAndIdentifiers(profileOf(world)));
  });

  it('keep the identifiers of a customer who came back after their profile went', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const profile = profileOf(world);
    const identifier = world.items.find((i) => i.pk === profile.pk && i.sk.startsWith('ID#'))!;
    // The profile went in this run; before its identifiers go, the customer is back (same phone).
    comesBack(deps, world, 'customer_identifier');

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(identifier))).toBe(true);
    expectRestGone(deps, world, profileAndIdentifiers(profile));
  });

  it('keep a user who signed in again after the index was read', async () => {
    const world = buildWorld(conversationsV1(), [tenant({ users: [{ age: 800 * DAY, access: false }] })]);
    const deps = await setUp(world);
    const user = world.items.find((i) => i.category === 'user')!;
    const find = deps.records.findDueForDeletion.bind(deps.records);
    deps.records.findDueForDeletion = async (tenantId, partition, cutoff, options) => {
      const page = await find(tenantId, partition, cutoff, options);
      if (partition === 'user') deps.records.items.set(worldKey(user), { ...user, clockStart: world.now.toISOString(), hasAccountAccess: true });
      return page;
    };

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(user))).toBe(true);
    expectRestGone(deps, world, (i) => i === user);
  });
});

describe('a third-party provider that does not answer', () => {
  const callWorld = (calls = 12) =>
    buildWorld(profile('voice'), [
      tenant({ customers: [{ lastContactAge: 2 * DAY, conversations: [], calls: Array.from({ length: calls }, (_, i) => ({ age: (200 + i) * DAY, recordings: 0, thirdParty: true })), analyticsAges: [] }] }),
    ]);

  it('is not called again in the chunk after five failures in a row; the calls it kept stay for the next run', async () => {
    const world = callWorld(60);
    const deps = await setUp(world);
    let calls = 0;
    deps.external.deleteCallData = async () => {
      calls++;
      throw Object.assign(new Error('no answer'), { name: 'ExternalProviderTimeout' });
    };

    const [receipt] = await sweep(deps, ['t0'], 'r1');

    // The calls already in flight (16) go out; after the fifth failure no new one starts.
    expect(calls).toBeLessThanOrEqual(16 + 5);
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(receipt!.categories.third_party_call_data).toMatchObject({ examined: 60, failed: 60, deleted: 0 });
    for (const call of world.items.filter((i) => i.category === 'call')) expect(deps.records.items.has(worldKey(call))).toBe(true);
    // What does not wait for the provider went all the same.
    expectRestGone(deps, world, (i) => i.callId !== undefined, 1);
  });

  it('gets no new calls once the chunk is a minute past its deadline', async () => {
    const world = callWorld();
    const deps = await setUp(world);
    let calls = 0;
    // Every call takes 40 seconds of the chunk's time and then succeeds.
    deps.external.deleteCallData = async () => {
      calls++;
      deps.clock.advance(40_000);
      return 'deleted';
    };
    await startRuns(deps, { runId: 'r1', tenantIds: ['t0'], dryRun: false });
    await runStages(deps, { runId: 'r1', tenantIds: ['t0'], stage: 1 }, { budgetMs: 60_000 });

    await runStages(deps, { runId: 'r1', tenantIds: ['t0'], stage: 2 }, { budgetMs: 30_000 });

    // Deadline + 60 s = 90 s of chunk time: three calls start (at 0, 40 and 80 s), the rest wait for the next run.
    expect(calls).toBe(3);
    const receipt = (await deps.control.getReceipt('t0', 'r1'))!;
    expect(receipt.categories.third_party_call_data).toMatchObject({ deleted: 3, failed: 9 });
    const markers = world.items.filter((i) => i.category === 'third_party_call_data');
    expect(markers.filter((m) => deps.records.items.has(worldKey(m)))).toHaveLength(9);
  });
});

describe('a run\'s write shards', () => {
  it('stay as they were when it started, even when the tenant raises them meanwhile', async () => {
    const world = buildWorld(conversationsV1(), [tenant()]);
    const deps = await setUp(world);
    const asked: number[] = [];
    const find = deps.records.findDueForDeletion.bind(deps.records);
    deps.records.findDueForDeletion = async (tenantId, partition, cutoff, options) => {
      asked.push(options.shards);
      return find(tenantId, partition, cutoff, options);
    };
    await startRuns(deps, { runId: 'r1', tenantIds: ['t0'], dryRun: false });
    await deps.control.putTenant({ ...world.tenants[0]!, retentionShards: 8 });

    await runStages(deps, { runId: 'r1', tenantIds: ['t0'], stage: 1 }, { budgetMs: 60_000 });

    expect(new Set(asked)).toEqual(new Set([1]));
    expect((await deps.control.getReceipt('t0', 'r1'))!.retentionShards).toBe(1);
  });
});

describe('a failure of a read the tenants share', () => {
  it('fails the stage only for the tenants it concerns, keeps their identifiers and keeps what was counted', async () => {
    const quiet = tenant({ customers: [tenant().customers[1]!] }); // nothing of its customers is due
    const world = buildWorld(conversationsV1(), [quiet, tenant()]);
    const deps = await setUp(world);
    const identifier = world.items.find((i) => i.tenantId === 't1' && i.subjectId === 'c0' && i.sk.startsWith('ID#'))!;
    const getBatch = deps.records.getBatch.bind(deps.records);
    deps.records.getBatch = async (keys) => {
      if (keys.some((k) => k.pk === identifier.pk && k.sk === 'PROFILE') && !deps.records.items.has(`${identifier.pk}\u0000PROFILE`)) {
        throw Object.assign(new Error('reads throttled'), { name: 'IncompleteBatchReadError' });
      }
      return getBatch(keys);
    };

    const receipts = await sweep(deps, ['t0', 't1'], 'r1');

    const byTenant = new Map(receipts.map((r) => [r.tenantId, r]));
    expect(byTenant.get('t0')).toMatchObject({ status: 'completed', failedStages: [] });
    expect(byTenant.get('t1')).toMatchObject({ status: 'failed', failedStages: [{ stage: 4, error: 'IncompleteBatchReadError' }] });
    expect(deps.records.items.has(worldKey(identifier))).toBe(true);
    expect(byTenant.get('t1')!.categories.customer_profile!.deleted).toBe(1);
    expect(deps.mailer.sent.map((m) => m.subject)).toEqual([expect.stringContaining('tenant t1')]);
  });
});

describe('an open conversation past retention', () => {
  it('is deleted in the run; one that cannot be deleted is closed for retention and goes in the next run', async () => {
    const spec = tenant();
    const open = { ...spec.customers[0]!.conversations[0]!, open: true };
    const world = buildWorld(conversationsV1(), [{ ...spec, customers: [{ ...spec.customers[0]!, conversations: [open, { ...open }] }] }]);
    const deps = await setUp(world);
    const [first, second] = world.items.filter((i) => i.category === 'conversation' && i.subjectId === 'c0');
    deps.records.faults.deleteFails = (k) => (k.sk === second!.sk && k.pk === second!.pk ? 'InternalServerError' : undefined);

    await sweep(deps, ['t0'], 'r1');

    expect(deps.records.items.has(worldKey(first!))).toBe(false);
    expect(deps.records.items.get(worldKey(second!))).toMatchObject({ status: 'closed', closedReason: 'retention' });

    deps.records.faults.deleteFails = undefined;
    await sweep(deps, ['t0'], 'r2');

    expect(deps.records.items.has(worldKey(second!))).toBe(false);
  });
});
