import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../shared/config/profiles.js';
import { alertRun, MAX_GROUP_SHARDS, MAX_GROUP_TENANTS, recordStageFailure, runStage, RunNotFoundError, sweepGroups } from '../../shared/domain/runs.js';
import { FixedClock, MemoryBlobStore, MemoryControlStore, MemoryExternalProvider, MemoryMailer, MemoryRecordStore } from '../support/memory.js';

const tenants = (n: number, shards?: number) => Array.from({ length: n }, (_, i) => ({ tenantId: `t${String(i).padStart(3, '0')}`, ...(shards !== undefined && { retentionShards: shards }) }));

describe('sweep groups', () => {
  it('put up to 25 one-shard tenants in a group, in the order given', () => {
    const groups = sweepGroups(tenants(60));

    expect(groups.map((g) => g.length)).toEqual([25, 25, 10]);
    expect(groups.flat()).toEqual(tenants(60).map((t) => t.tenantId));
  });

  it('hold at most 48 write shards, so a chunk\'s continuation stays small', () => {
    const mixed = [...tenants(3, 16), { tenantId: 'small', retentionShards: 1 }, ...tenants(2, 8).map((t) => ({ ...t, tenantId: `x${t.tenantId}` }))];

    const groups = sweepGroups(mixed);

    for (const g of groups) {
      const shards = g.reduce((n, id) => n + (mixed.find((t) => t.tenantId === id)?.retentionShards ?? 1), 0);
      expect(shards).toBeLessThanOrEqual(MAX_GROUP_SHARDS);
      expect(g.length).toBeLessThanOrEqual(MAX_GROUP_TENANTS);
    }
    expect(groups).toEqual([['t000', 't001', 't002'], ['small', 'xt000', 'xt001']]);
  });

  it('give a tenant with more shards than a group holds a group of its own', () => {
    expect(sweepGroups([{ tenantId: 'a' }, { tenantId: 'huge', retentionShards: 64 }, { tenantId: 'b' }])).toEqual([['a'], ['huge'], ['b']]);
  });

  it('make no group of no tenants', () => {
    expect(sweepGroups([])).toEqual([]);
  });
});

describe('the single-tenant forms of a run', () => {
  it('refuse a run that was never started, and write nothing', async () => {
    const control = new MemoryControlStore();
    const deps = {
      records: new MemoryRecordStore(), blobs: new MemoryBlobStore(), control, external: new MemoryExternalProvider(), mailer: new MemoryMailer(),
      clock: new FixedClock(new Date('2026-01-01T00:00:00.000Z')), platform: loadProfile('voice'), refSecret: 'test-secret-key-0123456789abcdef', operatorEmails: [],
    };
    await control.putTenant({ tenantId: 't', name: 't', status: 'active', adminEmails: [], createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' });
    const ref = { tenantId: 't', runId: 'never' };

    await expect(runStage(deps, { ...ref, stage: 1 }, { budgetMs: 1000 })).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(recordStageFailure(deps, { ...ref, stage: 1, error: 'X' })).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(alertRun(deps, ref)).rejects.toBeInstanceOf(RunNotFoundError);
    expect(control.receipts.size).toBe(0);
  });
});
