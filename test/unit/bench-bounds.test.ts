import { describe, expect, it } from 'vitest';
import { structuralBounds } from '../../bench/bounds.js';
import type { BenchWorld } from '../../bench/world.js';
import type { Category } from '../../shared/domain/catalog.js';
import { keys, type RecordItem } from '../../shared/domain/records.js';

/** A record with an index entry in shard `shard` of its category, optionally with a blob. */
function item(tenantId: string, n: number, category: Category, shard: number | null, blob?: 'recordings' | 'media'): RecordItem {
  const id = `${category}-${n}`;
  return {
    tenantId,
    pk: keys.subjectPk(tenantId, 'c1'),
    sk: `X#${id}`,
    category,
    id,
    clockStart: '2025-01-01T00:00:00.000Z',
    ...(shard !== null && { retentionPk: keys.retentionPk(tenantId, category, shard), retentionSk: `2025-01-01T00:00:00.000Z#${id}` }),
    ...(blob !== undefined && { blobBucket: blob, blobKey: `${blob}/${tenantId}/c1/${id}` }),
  } as RecordItem;
}

function world(entries: readonly (readonly [RecordItem, boolean])[]): BenchWorld {
  return { tenants: [], items: entries.map(([i]) => i), due: entries.map(([, d]) => d), customers: { gone: 0, aged: 0, active: 0 } };
}

describe('bench structural bounds', () => {
  it('counts one query per index partition with a record past its own cutoff, and batches per tenant', () => {
    const entries: [RecordItem, boolean][] = [];
    // Tenant a: 30 due messages over shards 0 and 1, 3 kept messages in shard 2, one due conversation in shard 0.
    for (let n = 0; n < 30; n++) entries.push([item('a', n, 'message', n % 2), true]);
    for (let n = 30; n < 33; n++) entries.push([item('a', n, 'message', 2), false]);
    entries.push([item('a', 0, 'conversation', 0), true]);
    // A due identifier outside the index: written, never queried.
    entries.push([item('a', 0, 'customer_profile', null), true]);
    // Tenant b: 2 due recordings with blobs in shard 5, one due only through its parent (shard 6).
    entries.push([item('b', 0, 'call_recording', 5, 'recordings'), true], [item('b', 1, 'call_recording', 5, 'recordings'), true]);
    entries.push([item('b', 2, 'call_recording', 6, 'recordings'), true]);
    const cascadeOnly = entries[entries.length - 1]?.[0] as RecordItem;

    const bounds = structuralBounds(world(entries), (i) => i !== cascadeOnly);

    // a/message/0, a/message/1, a/conversation/0, b/call_recording/5 — not a/message/2 (nothing due), nor b/…/6 (cascade only).
    expect(bounds.duePartitions).toBe(4);
    // a: 32 due records → 2 batches; b: 3 → 1. The floor mixes tenants: ⌈35/25⌉ = 2.
    expect(bounds.perTenantBatchWrites).toBe(3);
    expect(bounds.floorBatchWrites).toBe(2);
    expect(bounds.dynamodbRequests).toBe(7);
    expect(bounds.s3Requests).toBe(1);
    expect(bounds.floorS3FirstAttempts).toBe(1);
  });

  it('needs a DeleteObjects per tenant and bucket where the floor mixes tenants', () => {
    const entries: [RecordItem, boolean][] = [];
    for (const tenant of ['a', 'b', 'c']) {
      entries.push([item(tenant, 0, 'call_recording', 0, 'recordings'), true], [item(tenant, 1, 'inbound_media', 0, 'media'), true]);
      entries.push([item(tenant, 2, 'inbound_media', 1, 'media'), false]);
    }
    const bounds = structuralBounds(world(entries), () => true);
    expect(bounds.s3Requests).toBe(6);
    expect(bounds.floorS3FirstAttempts).toBe(2);
  });
});
