import { describe, expect, it } from 'vitest';
import { MAX_GROUP_SHARDS, MAX_GROUP_TENANTS, sweepGroups } from '../../shared/domain/runs.js';

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
