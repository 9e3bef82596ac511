/**
 * The `Sweep` state machine as CDK defines it, rendered to ASL and executed by
 * aws-local-stepfunctions against the production task handlers, the
 * emulator-backed stores, a fake third-party provider and the e-mail outbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../shared/adapters/mail/outbox-mailer.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import { startFakeProvider, type FakeProvider } from '../../shared/local/fake-provider.js';
import { runSweepLocally, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { harness as makeHarness, remainingKeys, spec, stagesSeen } from '../support/sweep-harness.js';
import { buildWorld, expectedDeletions, worldKey, WORLD_NOW, type World } from '../support/worlds.js';

const DAY = 86_400_000;

let provider: FakeProvider;
beforeAll(async () => {
  provider = await startFakeProvider();
});
afterAll(async () => {
  await provider.close();
});

const harness = (world: World) => makeHarness(world, provider);

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
    // What is sent and kept. The outbox's file names are random, and so are the receipt's keyed
    // subject references (opaque by construction): either may hold "c1" by chance, so ids are
    // matched as whole words in the rest.
    const { subjectRefs, ...kept } = receipt;
    expect(subjectRefs!.every((ref) => /^h:[A-Za-z0-9_-]{22}$/.test(ref))).toBe(true);
    const everything = JSON.stringify(mails.map(({ to, subject, text }) => ({ to, subject, text }))) + JSON.stringify(kept);
    const word = (value: string) => new RegExp(`(^|[^A-Za-z0-9])${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}($|[^A-Za-z0-9])`);
    for (const item of h.world.items) {
      for (const value of [item.subjectId, item.externalRef, item.blobKey, (item.data as { name?: string } | undefined)?.name]) {
        if (value !== undefined) expect(everything).not.toMatch(word(value));
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
