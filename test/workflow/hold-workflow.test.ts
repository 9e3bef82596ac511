/**
 * The `Hold` state machine as CDK defines it, executed locally against the
 * production worker: a tenant-wide hold is applied and released a page per
 * step, across many steps, and ends with every record in the expected state;
 * a worker that fails ends the execution failed, and the hold stays in force.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HoldTaskDeps } from '../../shared/app/hold-tasks.js';
import type { LegalHold } from '../../shared/domain/holds.js';
import { backstopExpiresAt } from '../../shared/domain/policy.js';
import { EXPIRY_RELEASER } from '../../shared/domain/hold-work.js';
import { holdHandlers, InProcessHoldWorkStarter, runHoldWorkLocally, type HoldHandlers } from '../../shared/local/hold-runner.js';
import { runSweepLocally, sweepHandlers } from '../../shared/local/sweep-runner.js';
import { apiWorld, customerRecords, ingest, registerTenant, type ApiWorld } from '../support/api.js';

const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });
let w: ApiWorld;
let deps: HoldTaskDeps;
const T = 'hold-wf';

beforeAll(async () => {
  w = await apiWorld();
  deps = { ...w.runDeps, privacy: w.privacyDeps.privacy, privacyRequests: w.privacyRequests };
  await registerTenant(w, T);
  for (let i = 0; i < 4; i++) {
    await ingest(w, T, customerRecords({ id: `c${i}`, name: `C ${i}`, phone: `+1415555${6000 + i}`, email: `c${i}@example.com`, secret: `s${i}`, age: 30 }));
  }
});

/** The worker, counting its steps: one page of three index entries per step. */
function counted(): { handlers: HoldHandlers; steps: () => number } {
  const base = holdHandlers(deps, { logger: quiet, chunkMs: 0, pageSize: 3 });
  let steps = 0;
  return {
    handlers: {
      worker: async (event) => {
        if ((event as { action: string }).action === 'step') steps += 1;
        return base.worker(event);
      },
    },
    steps: () => steps,
  };
}

const everything = () => Promise.all([0, 1, 2, 3].map((i) => w.stores.records.findBySubject(T, `c${i}`, { includeExpired: true }))).then((p) => p.flat());

describe('the Hold state machine, executed locally', () => {
  it('applies a tenant-wide hold in many steps, then releases it, restamping every backstop', async () => {
    const before = await everything();
    expect(before.length).toBeGreaterThan(20);
    expect(before.every((i) => i.expiresAt !== undefined)).toBe(true);
    const hold: LegalHold = { tenantId: T, holdId: 'h-all', scope: {}, reason: 'audit', createdAt: w.clock.now().toISOString(), createdBy: 'h:t', status: 'applying' };
    await w.stores.control.putHold(hold);
    const apply = counted();

    await runHoldWorkLocally(apply.handlers, { tenantId: T, holdId: 'h-all' }, { executionName: 'h-all-apply' });

    expect(apply.steps()).toBeGreaterThan(5);
    const applied = await w.stores.control.getHold(T, 'h-all');
    expect(applied).toMatchObject({ status: 'active', applied: { records: before.length } });
    expect(applied?.progress).toBeUndefined();
    for (const item of await everything()) expect(item.expiresAt, item.sk).toBeUndefined();

    await w.stores.control.putHold({ ...(applied as LegalHold), releasedAt: w.clock.now().toISOString(), releasedBy: 'h:t', status: 'releasing' });
    const release = counted();

    await runHoldWorkLocally(release.handlers, { tenantId: T, holdId: 'h-all' }, { executionName: 'h-all-release' });

    expect(release.steps()).toBeGreaterThan(5);
    expect(await w.stores.control.getHold(T, 'h-all')).toMatchObject({ status: 'released', releasedCounts: { records: before.length } });
    for (const item of await everything()) {
      expect(item.expiresAt, item.sk).toBe(backstopExpiresAt(w.platform, item.category, new Date(item.clockStart)));
    }
  });

  it('is released by the next sweep once its expiresAt has passed: backstops back on, audited, released by lethe:expiry', async () => {
    const scoped = () => w.stores.records.findBySubject(T, 'c2', { includeExpired: true });
    const before = await scoped();
    const hold: LegalHold = { tenantId: T, holdId: 'h-exp', scope: { customerId: 'c2' }, reason: 'audit', createdAt: w.clock.now().toISOString(), createdBy: 'h:t', status: 'applying' };
    await w.stores.control.putHold(hold);
    await runHoldWorkLocally(holdHandlers(deps, { logger: quiet }), { tenantId: T, holdId: 'h-exp' }, { executionName: 'h-exp-apply' });
    expect((await scoped()).every((i) => i.expiresAt === undefined)).toBe(true);
    // It ran out an hour ago, never released by hand.
    const expiresAt = new Date(w.clock.now().getTime() - 3_600_000).toISOString();
    await w.stores.control.putHold({ ...(await w.stores.control.getHold(T, 'h-exp'))!, expiresAt });
    const holdWork = new InProcessHoldWorkStarter(holdHandlers(deps, { logger: quiet }));

    await runSweepLocally(w.runDeps, sweepHandlers({ ...w.runDeps, holdWork }, { stageBudgetMs: 5_000, logger: quiet }), { tenantIds: [T] }, { executionName: 'sweep-after-expiry' });

    expect(holdWork.started.map((s) => s.executionName)).toEqual(['h-exp-release']);
    expect(await w.stores.control.getHold(T, 'h-exp')).toMatchObject({ status: 'released', releasedAt: expiresAt, releasedBy: EXPIRY_RELEASER });
    const after = new Map((await scoped()).map((i) => [i.sk, i]));
    for (const item of before) {
      const now = after.get(item.sk);
      // Whatever the sweep did not delete has its backstop again.
      if (now !== undefined) expect(now.expiresAt, item.sk).toBe(item.expiresAt);
    }
    const events = await w.stores.control.listAudit(T);
    expect(events.filter((e) => e.action === 'legal_hold.expired').map((e) => [e.actor, e.refs?.holdId])).toEqual([[EXPIRY_RELEASER, 'h-exp']]);

    // The next sweep finds nothing more to release.
    await runSweepLocally(w.runDeps, sweepHandlers({ ...w.runDeps, holdWork }, { stageBudgetMs: 5_000, logger: quiet }), { tenantIds: [T] }, { executionName: 'sweep-after-expiry-2' });
    expect(holdWork.started).toHaveLength(1);
  });

  it('ends failed when the worker fails, and the hold stays in force', async () => {
    const hold: LegalHold = { tenantId: T, holdId: 'h-fail', scope: { customerId: 'c0' }, reason: 'x', createdAt: w.clock.now().toISOString(), createdBy: 'h:t', status: 'applying' };
    await w.stores.control.putHold(hold);
    const base = holdHandlers(deps, { logger: quiet });
    const failing: HoldHandlers = {
      worker: async (event) => {
        if ((event as { action: string }).action === 'step') throw Object.assign(new Error('no'), { name: 'AccessDenied' });
        return base.worker(event);
      },
    };

    await expect(runHoldWorkLocally(failing, { tenantId: T, holdId: 'h-fail' }, { executionName: 'h-fail-apply' })).rejects.toThrow();

    const stored = await w.stores.control.getHold(T, 'h-fail');
    expect(stored?.status).toBe('applying');
    expect(stored?.releasedAt).toBeUndefined();
    expect((await w.stores.control.listHolds(T, { activeAt: w.clock.now() })).map((h) => h.holdId)).toContain('h-fail');
  });
});
