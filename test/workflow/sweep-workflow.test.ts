/**
 * The `Sweep` state machine as CDK defines it, rendered to ASL and executed by
 * aws-local-stepfunctions against the production task handlers, the
 * emulator-backed stores, a fake third-party provider and the e-mail outbox.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { HttpExternalDataProvider } from '../../shared/adapters/http/external-provider.js';
import { OutboxMailer, readOutbox } from '../../shared/adapters/mail/outbox-mailer.js';
import type { Receipt } from '../../shared/domain/ports.js';
import type { RunDeps } from '../../shared/domain/runs.js';
import { startFakeProvider, type FakeProvider } from '../../shared/local/fake-provider.js';
import { runSweepLocally, sweepHandlers, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { TestClock } from '../support/clock.js';
import { EMULATOR_BUCKET_FEATURES, makeStores, type Stores } from '../support/env.js';
import { buildWorld, expectedDeletions, worldKey, WORLD_NOW, type TenantSpec, type World } from '../support/worlds.js';

const DAY = 86_400_000;
const quietLogger = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

function spec(overrides: Partial<TenantSpec> = {}): TenantSpec {
  return {
    customers: [
      {
        lastContactAge: 500 * DAY,
        conversations: [
          { age: 400 * DAY, whatsapp: false, open: true, messages: 3, inboundMediaAges: [399 * DAY], outboundMedia: 1, attachmentAges: [10 * DAY], logs: 1 },
          { age: 5 * DAY, whatsapp: true, open: false, messages: 2, inboundMediaAges: [], outboundMedia: 0, attachmentAges: [], logs: 0 },
        ],
        calls: [
          { age: 200 * DAY, recordings: 2, thirdParty: true },
          { age: 20 * DAY, recordings: 1, thirdParty: true },
        ],
        analyticsAges: [300 * DAY, 1 * DAY],
      },
      {
        lastContactAge: 3 * DAY,
        conversations: [{ age: 120 * DAY, whatsapp: false, open: false, messages: 2, inboundMediaAges: [], outboundMedia: 0, attachmentAges: [], logs: 0 }],
        calls: [{ age: 150 * DAY, recordings: 1, thirdParty: true }],
        analyticsAges: [],
      },
    ],
    webhookAges: [100 * DAY, 1 * DAY],
    adminLogAges: [400 * DAY],
    users: [{ age: 400 * DAY, access: false }, { age: 400 * DAY, access: true }],
    configAges: [30 * DAY],
    contractEndAge: undefined,
    lastActivityAge: 0,
    overrides: {},
    holdPicks: [],
    ...overrides,
  };
}

interface Harness {
  world: World;
  stores: Stores;
  deps: RunDeps;
  handlers: SweepHandlers;
  outbox: string;
}

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider.close();
});

async function harness(world: World): Promise<Harness> {
  const clock = new TestClock(WORLD_NOW);
  const stores = await makeStores({ clock, bucketFeatures: EMULATOR_BUCKET_FEATURES });
  const outbox = await mkdtemp(join(tmpdir(), 'lethe-outbox-'));
  for (const tenant of world.tenants) {
    await stores.control.putTenant({ ...tenant, thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }] });
  }
  for (const policy of world.policies) {
    await stores.control.savePolicy({ version: 1, policy, changedAt: WORLD_NOW.toISOString(), changedBy: 'test' }, 0);
  }
  for (const hold of world.holds) await stores.control.putHold(hold);
  await stores.records.putBatch(world.items);
  for (const b of world.blobs) await stores.blobs.put(b.bucket, b.key, 'blob', 'application/octet-stream');
  for (const i of world.items) if (i.externalRef !== undefined) provider.add(i.externalRef);
  const deps: RunDeps = {
    records: stores.records,
    control: stores.control,
    blobs: stores.blobs,
    external: new HttpExternalDataProvider({ sleep: async () => {} }),
    mailer: new OutboxMailer({ directory: outbox, from: 'lethe@example.test', clock }),
    clock,
    platform: world.platform,
    refSecret: 'workflow-test-secret-0123456789abcdef',
    operatorEmails: ['ops@example.test'],
  };
  // A zero budget makes every stage hand back a continuation after each page.
  return { world, stores, deps, handlers: sweepHandlers(deps, { stageBudgetMs: 0, logger: quietLogger }), outbox };
}

async function remainingKeys(h: Harness): Promise<Set<string>> {
  const out = new Set<string>();
  for (const item of h.world.items) if ((await h.stores.records.get(item)) !== undefined) out.add(worldKey(item));
  return out;
}

function stagesSeen(handlers: SweepHandlers): { handlers: SweepHandlers; stages: number[] } {
  const stages: number[] = [];
  return {
    stages,
    handlers: {
      ...handlers,
      stage: async (payload) => {
        stages.push((payload as { stage: number }).stage);
        return handlers.stage(payload);
      },
    },
  };
}

describe('the Sweep state machine, executed locally', () => {
  it('runs the stages in order, each until done, and deletes exactly what is due', async () => {
    const h = await harness(buildWorld(loadProfile('voice'), [spec()]));
    const seen = stagesSeen(h.handlers);

    await runSweepLocally(h.deps, seen.handlers, {}, { executionName: 'sweep-1' });

    expect(seen.stages).toEqual([...seen.stages].sort());
    expect(new Set(seen.stages)).toEqual(new Set([1, 2, 3, 4]));
    expect(seen.stages.length).toBeGreaterThan(4);
    const expected = expectedDeletions(h.world);
    expect(expected.size).toBeGreaterThan(10);
    const remaining = await remainingKeys(h);
    for (const item of h.world.items) expect(remaining.has(worldKey(item)), item.sk).toBe(!expected.has(worldKey(item)));
    const receipt = (await h.stores.control.getReceipt('t0', 'sweep-1')) as Receipt;
    expect(receipt.status).toBe('completed');
    expect(receipt.completedStages).toEqual([1, 2, 3, 4]);
    expect(Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0)).toBe(expected.size);
    expect(await readOutbox(h.outbox)).toEqual([]);
  });

  it('catches a failing stage, records it, runs the later stages and e-mails an alert without personal data', async () => {
    const h = await harness(buildWorld(loadProfile('voice'), [spec()]));
    const seen = stagesSeen({
      ...h.handlers,
      stage: async (payload) => {
        if ((payload as { stage: number }).stage === 2) throw Object.assign(new Error('provider down'), { name: 'ProviderOutage' });
        return h.handlers.stage(payload);
      },
    });

    await runSweepLocally(h.deps, seen.handlers, {}, { executionName: 'sweep-2' });

    expect(seen.stages).toContain(3);
    expect(seen.stages).toContain(4);
    const receipt = (await h.stores.control.getReceipt('t0', 'sweep-2')) as Receipt;
    expect(receipt.status).toBe('failed');
    expect(receipt.failedStages).toEqual([{ stage: 2, error: 'ProviderOutage' }]);
    expect(receipt.categories.message?.deleted).toBeGreaterThan(0);
    // Third-party data was not deleted, so the calls that have some stay for the next run.
    const calls = h.world.items.filter((i) => i.category === 'call' && i.clockStart < new Date(WORLD_NOW.getTime() - 92 * DAY).toISOString());
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(await h.stores.records.get(call)).toBeDefined();

    const mails = await readOutbox(h.outbox);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['admin0@example.test', 'ops@example.test']);
    expect(mails[0]!.text).toContain('Stage 2 failed: ProviderOutage');
    const everything = JSON.stringify(mails) + JSON.stringify(receipt);
    for (const item of h.world.items) {
      for (const value of [item.subjectId, item.externalRef, item.blobKey, (item.data as { name?: string } | undefined)?.name]) {
        if (value !== undefined) expect(everything).not.toContain(value);
      }
    }
  });

  it('survives a stage handler killed after its first chunk: the retry completes the run and deletes nothing wrongly', async () => {
    const h = await harness(buildWorld(loadProfile('voice'), [spec()]));
    let chunks = 0;
    let killed = false;
    const handlers: SweepHandlers = {
      ...h.handlers,
      stage: async (payload) => {
        const result = await h.handlers.stage(payload);
        // The first chunk did its work, then the function died before answering.
        if (++chunks === 1 && !killed) {
          killed = true;
          throw Object.assign(new Error('Task timed out'), { name: 'Sandbox.Timedout' });
        }
        return result;
      },
    };

    await runSweepLocally(h.deps, handlers, {}, { executionName: 'sweep-3' });

    expect(killed).toBe(true);
    const expected = expectedDeletions(h.world);
    const remaining = await remainingKeys(h);
    for (const item of h.world.items) expect(remaining.has(worldKey(item)), item.sk).toBe(!expected.has(worldKey(item)));
    for (const b of h.world.blobs) {
      const owner = h.world.items.find((i) => i.blobKey === b.key)!;
      expect((await h.stores.blobs.get(b.bucket, b.key)) === undefined).toBe(expected.has(worldKey(owner)));
    }
    const receipt = (await h.stores.control.getReceipt('t0', 'sweep-3')) as Receipt;
    expect(receipt.status).toBe('completed');
    expect(Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0)).toBeLessThanOrEqual(expected.size);
  });

  it('a dry run through the state machine deletes nothing', async () => {
    const h = await harness(buildWorld(loadProfile('voice'), [spec()]));

    await runSweepLocally(h.deps, h.handlers, { dryRun: true }, { executionName: 'dry-1' });

    expect((await remainingKeys(h)).size).toBe(h.world.items.length);
    const receipt = (await h.stores.control.getReceipt('t0', 'dry-1')) as Receipt;
    expect(receipt.dryRun).toBe(true);
    expect(Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0)).toBe(expectedDeletions(h.world).size);
  });
});
