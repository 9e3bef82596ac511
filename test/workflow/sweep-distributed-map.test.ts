/**
 * The Sweep definition as deployed (a Distributed Map over the run's manifest
 * of tenant groups), executed locally through the ItemReader shim over 1,000
 * small tenants: the manifest is written to the exports bucket and read back,
 * every group is swept, and failures land in receipts — one tenant whose stage
 * fails, and one group whose runs its child could not finish.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3SweepManifestStore } from '../../shared/adapters/s3/sweep-manifest-store.js';
import { loadProfile } from '../../shared/config/profiles.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import { GROUP_NOT_COMPLETED } from '../../shared/domain/sweep/close.js';
import { manifestKey } from '../../shared/domain/sweep/manifest.js';
import { runSweepLocally, sweepHandlers, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { harness, quietLogger, remainingKeys, spec } from '../support/sweep-harness.js';
import { buildWorld, expectedDeletions, worldKey } from '../support/worlds.js';

const DAY = 86_400_000;
const TENANTS = 1000;
/** A small world: one due and one recent webhook delivery, one due admin log. */
const small = () => spec({ customers: [], webhookAges: [100 * DAY, 1 * DAY], adminLogAges: [400 * DAY], users: [], configAges: [] });

describe('the Sweep over 1,000 tenants through the Distributed Map path', () => {
  it('sweeps every group from the manifest, and a failing tenant or group fails only its own receipts, recorded', async () => {
    const world = buildWorld(loadProfile('voice'), Array.from({ length: TENANTS }, small));
    const h = await harness(world, { deleteUrl: 'http://127.0.0.1:9/{ref}', add: () => undefined });
    const manifests = new S3SweepManifestStore({ s3: h.stores.s3, bucket: h.stores.bucketNames.exports });
    const base = sweepHandlers(h.deps, { stageBudgetMs: 60_000, logger: quietLogger, manifests });
    // t500's index reads fail: its stages fail, its group's 24 others go on.
    const failingRecords = new Proxy(h.deps.records, {
      get(target, prop, receiver) {
        if (prop === 'findDueForDeletion') {
          return async (tenantId: string, ...rest: unknown[]) => {
            if (tenantId === 't500') throw Object.assign(new Error('index unavailable'), { name: 'IndexUnavailable' });
            return (target.findDueForDeletion as (...a: unknown[]) => unknown).call(target, tenantId, ...rest);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const failing = sweepHandlers({ ...h.deps, records: failingRecords }, { stageBudgetMs: 60_000, logger: quietLogger, manifests });
    // The group holding t250 cannot finish its runs: its child execution ends with its receipts still running.
    const handlers: SweepHandlers = {
      ...base,
      stage: failing.stage,
      lifecycle: async (payload) => {
        const p = payload as { action: string; tenantIds?: string[] };
        if (p.action === 'finish' && p.tenantIds?.includes('t250')) throw Object.assign(new Error('control table down'), { name: 'ControlUnavailable' });
        return base.lifecycle(payload);
      },
    };

    await runSweepLocally(h.deps, handlers, {}, { executionName: 'big-1' });

    const object = await h.stores.s3.send(new GetObjectCommand({ Bucket: h.stores.bucketNames.exports, Key: manifestKey('big-1') }));
    const groups = JSON.parse(await object.Body!.transformToString()) as { tenantIds: string[] }[];
    expect(groups.length).toBe(TENANTS / 25);
    expect(groups.flatMap((g) => g.tenantIds).sort()).toEqual(world.tenants.map((t) => t.tenantId).sort());
    const brokenGroup = new Set(groups.find((g) => g.tenantIds.includes('t250'))!.tenantIds);

    const receipts = await h.stores.control.getReceipts(world.tenants.map((t) => ({ tenantId: t.tenantId, runId: 'big-1' })));
    expect(receipts.length).toBe(TENANTS);
    const byTenant = new Map(receipts.map((r) => [r.tenantId, r]));
    const expected = expectedDeletions(world);
    const remaining = await remainingKeys(h);
    for (const item of world.items) {
      // Nothing that is not due went; what is due went everywhere but at t500.
      if (!expected.has(worldKey(item))) expect(remaining.has(worldKey(item)), item.sk).toBe(true);
      else expect(remaining.has(worldKey(item)), `${item.tenantId} ${item.sk}`).toBe(item.tenantId === 't500');
    }
    for (const [tenantId, receipt] of byTenant) {
      if (tenantId === 't500' || brokenGroup.has(tenantId)) continue;
      expect(receipt.status, tenantId).toBe('completed');
      expect(receipt.completedStages, tenantId).toEqual([1, 2, 3, 4]);
      expect(Object.values(receipt.categories).reduce((n, c) => n + c.deleted, 0), tenantId).toBe(2);
    }
    const t500 = byTenant.get('t500') as Receipt;
    expect(t500.status).toBe('failed');
    expect(t500.failedStages?.map((f) => f.error)).toContain('IndexUnavailable');
    for (const tenantId of brokenGroup) {
      const r = byTenant.get(tenantId) as Receipt;
      expect(r.status, tenantId).toBe('failed');
      expect(r.failedStages, tenantId).toEqual([{ stage: 4, error: GROUP_NOT_COMPLETED }]);
      // What its stages deleted is counted: the receipt is complete but for the finish.
      expect(Object.values(r.categories).reduce((n, c) => n + c.deleted, 0), tenantId).toBe(2);
    }
  }, 600_000);
});
