import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, STAGES, type Category } from '../../shared/domain/catalog.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import { completeRun, completeRuns, runStage, runStages, startRun, startRuns, type RunDeps } from '../../shared/domain/runs.js';
import { memoryWorld } from '../support/memory-world.js';
import { expectedDeletions, worldArb, worldKey, type World } from '../support/worlds.js';

async function setUp(world: World) {
  const deps = await memoryWorld(world);
  return { deps, records: deps.records, blobs: deps.blobs, control: deps.control, external: deps.external, mailer: deps.mailer };
}

/** Runs a whole tenant run the way the state machine does: stages in order, each chunk until done. */
async function runTenant(deps: RunDeps, tenantId: string, runId: string, dryRun: boolean): Promise<Receipt> {
  await startRun(deps, { tenantId, runId, dryRun });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      // A zero budget returns after every page, so continuations are exercised too.
      const chunk = await runStage(deps, { tenantId, runId, stage, continuation }, { budgetMs: 0, pageSize: 3 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRun(deps, { tenantId, runId });
  return (await deps.control.getReceipt(tenantId, runId))!;
}

/** Runs every tenant of the world in one group, as one Sweep group does: shared batches, one chunk for all. */
async function runGroup(deps: RunDeps, tenantIds: string[], runId: string, dryRun: boolean): Promise<Receipt[]> {
  await startRuns(deps, { runId, tenantIds, dryRun });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      const chunk = await runStages(deps, { runId, tenantIds, stage, continuation }, { budgetMs: 0, pageSize: 3 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRuns(deps, { runId, tenantIds });
  return (await deps.control.getReceipts(tenantIds.map((tenantId) => ({ tenantId, runId })))) as Receipt[];
}

/** The world's tenants swept one run each, or all in one group. */
async function sweepAll(deps: RunDeps, world: World, prefix: string, dryRun: boolean, grouped: boolean): Promise<Receipt[]> {
  if (grouped) return runGroup(deps, world.tenants.map((t) => t.tenantId), `${prefix}-group`, dryRun);
  const receipts: Receipt[] = [];
  for (const t of world.tenants) receipts.push(await runTenant(deps, t.tenantId, `${prefix}-${t.tenantId}`, dryRun));
  return receipts;
}

function deletedPerCategory(receipts: Receipt[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of receipts) {
    for (const [c, counts] of Object.entries(r.categories)) out[c] = (out[c] ?? 0) + counts.deleted;
  }
  return out;
}

describe('a scheduled sweep over random worlds', () => {
  it('deletes exactly what is past retention and not held, and its receipts count exactly what the stores lost', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records, blobs, external } = await setUp(world);
        const expected = expectedDeletions(world);

        const receipts = await sweepAll(deps, world, 'run', false, grouped);

        const remaining = new Set(records.items.keys());
        for (const item of world.items) {
          const key = worldKey(item);
          // Nothing inside retention or under a hold is gone; everything due and free is gone.
          expect(remaining.has(key), `${item.sk} (${item.category}) kept?`).toBe(!expected.has(key));
          if (item.blobKey !== undefined) {
            expect(await blobs.get(item.blobBucket!, item.blobKey), `blob of ${item.sk}`).toEqual(
              expected.has(key) ? undefined : expect.anything(),
            );
          }
        }
        const lost: Record<string, number> = {};
        for (const item of world.items) if (expected.has(worldKey(item))) lost[item.category] = (lost[item.category] ?? 0) + 1;
        const counted = Object.fromEntries(Object.entries(deletedPerCategory(receipts)).filter(([, n]) => n > 0));
        expect(counted).toEqual(lost);
        const markersGone = world.items.filter((i) => i.category === 'third_party_call_data' && expected.has(worldKey(i)));
        expect(new Set(external.deleted.map((d) => d.ref))).toEqual(new Set(markersGone.map((m) => m.externalRef)));
        for (const r of receipts) expect(r.status).toBe('completed');
      }),
      { numRuns: 300 },
    );
  });

  it('finishes in one run: a second run finds nothing more to delete', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records } = await setUp(world);
        await sweepAll(deps, world, 'first', false, grouped);
        const afterFirst = records.items.size;
        const second = await sweepAll(deps, world, 'second', false, grouped);
        expect(records.items.size).toBe(afterFirst);
        expect(Object.values(deletedPerCategory(second)).reduce((a, b) => a + b, 0)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('a dry run deletes nothing and predicts exactly what the real run then deletes', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records, blobs, external } = await setUp(world);
        const dry = await sweepAll(deps, world, 'dry', true, grouped);
        expect(records.items.size).toBe(world.items.length);
        expect(blobs.deleteLog).toHaveLength(0);
        expect(external.deleted).toHaveLength(0);
        const real = await sweepAll(deps, world, 'real', false, grouped);
        const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, n]) => n > 0));
        expect(nonZero(deletedPerCategory(dry))).toEqual(nonZero(deletedPerCategory(real)));
        for (const r of dry) expect(r.dryRun).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('every receipt names a cutoff for every category and carries no customer id', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const { deps } = await setUp(world);
        for (const t of world.tenants) {
          const receipt = await runTenant(deps, t.tenantId, `r-${t.tenantId}`, false);
          expect(Object.keys(receipt.cutoffs).sort()).toEqual([...CATEGORIES].sort() as Category[]);
          const text = JSON.stringify(receipt);
          for (const item of world.items) {
            if (item.subjectId !== undefined) expect(text).not.toContain(`"${item.subjectId}"`);
          }
        }
      }),
      { numRuns: 50 },
    );
  });
});
