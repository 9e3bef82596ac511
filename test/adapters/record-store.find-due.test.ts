import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Category } from '../../shared/domain/catalog.js';
import { ValidationError } from '../../shared/domain/errors.js';
import {
  IDENTIFIER_PARTITION,
  keys,
  retentionKeysOf,
  type DueRecord,
  type RecordItem,
  type RetentionPartition,
} from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';

const CATEGORY: Category = 'conversation';
const OTHER_CATEGORY: Category = 'call';
const DAY_MS = 86_400_000;
/** Write shards of the property test's tenants: enough that a page spans several. */
const SHARDS = 4;

let stores: Stores;

beforeAll(async () => {
  // The clock sits far before every generated instant: the sweep must return
  // overdue records whatever their expiresAt, and nothing here expires anyway.
  stores = await makeStores({ clock: new TestClock('2000-01-01T00:00:00.000Z') });
});

async function allDue(
  tenantId: string,
  partition: RetentionPartition,
  cutoff: Date,
  limit: number,
  shards: number,
): Promise<DueRecord[][]> {
  const pages: DueRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await stores.records.findDueForDeletion(tenantId, partition, cutoff, {
      shards,
      limit,
      ...(cursor !== undefined && { cursor }),
    });
    pages.push(page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return pages;
}

/** A clock start relative to the cutoff: mostly within a few milliseconds of it (ties, both sides), some far away. */
const offsetMs = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -2, max: 2 }) },
  { weight: 1, arbitrary: fc.integer({ min: -400 * DAY_MS, max: 400 * DAY_MS }) },
);

const scenario = fc.record({
  cutoffMs: fc.integer({ min: Date.parse('2021-01-01T00:00:00.000Z'), max: Date.parse('2029-12-31T00:00:00.000Z') }),
  records: fc.array(
    fc.record({
      offsetMs,
      owner: fc.constantFrom('tenant', 'tenant', 'tenant', 'otherTenant', 'otherCategory'),
    }),
    // size 'max': lengths spread over the whole range, so shards often hold several due records.
    { maxLength: 80, size: 'max' },
  ),
  limit: fc.integer({ min: 1, max: 20 }),
});

describe('DynamoRecordStore.findDueForDeletion', () => {
  it('pages through every shard and returns exactly the records whose clock started before the cutoff', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ cutoffMs, records, limit }) => {
        // prepare: each run is its own tenant, with a neighbour tenant and another category beside it
        const tenantId = `pbt-${uniqueSuffix()}`;
        const otherTenantId = `${tenantId}-other`;
        const items: RecordItem[] = records.map(({ offsetMs: offset, owner }, i) =>
          recordItem({
            tenantId: owner === 'otherTenant' ? otherTenantId : tenantId,
            category: owner === 'otherCategory' ? OTHER_CATEGORY : CATEGORY,
            subjectId: `s${i % 7}`,
            id: `r${i}`,
            clockStart: new Date(cutoffMs + offset).toISOString(),
            shardCount: SHARDS,
          }),
        );
        await stores.records.putBatch(items);
        const cutoff = new Date(cutoffMs);

        // act
        const pages = await allDue(tenantId, CATEGORY, cutoff, limit, SHARDS);

        // assert
        const returned = pages.flat();
        const expected = items.filter(
          (item) => item.tenantId === tenantId && item.category === CATEGORY && Date.parse(item.clockStart) < cutoffMs,
        );
        for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
        expect(new Set(returned.map((r) => r.id)).size).toBe(returned.length);
        expect(returned.map((r) => r.id).sort()).toEqual(expected.map((r) => r.id).sort());
        for (const record of returned) {
          expect(record.tenantId).toBe(tenantId);
          expect(record.category).toBe(CATEGORY);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('does not return a record whose clock started exactly at the cutoff', async () => {
    const tenantId = `edge-${uniqueSuffix()}`;
    const cutoff = new Date('2024-06-01T00:00:00.000Z');
    await stores.records.putBatch([
      recordItem({ tenantId, subjectId: 's1', id: 'at', clockStart: cutoff.toISOString() }),
      recordItem({ tenantId, subjectId: 's1', id: 'before', clockStart: '2024-05-31T23:59:59.999Z' }),
    ]);

    const page = await stores.records.findDueForDeletion(tenantId, CATEGORY, cutoff, { shards: 1 });

    expect(page.items.map((r) => r.id)).toEqual(['before']);
    expect(page.cursor).toBeUndefined();
  });

  it('returns the sweep projection: keys and sweep facts, never the payload', async () => {
    const tenantId = `proj-${uniqueSuffix()}`;
    const item = recordItem({ tenantId, subjectId: 's1', id: 'r1', data: { notes: 'private' } });
    await stores.records.putBatch([item]);

    const page = await stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2030-01-01T00:00:00.000Z'), {
      shards: 1,
    });

    expect(page.items).toEqual([
      {
        pk: item.pk,
        sk: item.sk,
        tenantId,
        category: CATEGORY,
        id: 'r1',
        subjectId: 's1',
        clockStart: item.clockStart,
        status: 'closed',
      },
    ]);
  });

  it('rejects a cursor issued for another cutoff', async () => {
    const tenantId = `cur-${uniqueSuffix()}`;
    await stores.records.putBatch(
      ['a', 'b', 'c'].map((id) => recordItem({ tenantId, subjectId: 's1', id, clockStart: '2024-01-01T00:00:00.000Z' })),
    );
    const first = await stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2025-01-01T00:00:00.000Z'), {
      shards: 1,
      limit: 1,
    });

    const next = stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2026-01-01T00:00:00.000Z'), {
      shards: 1,
      limit: 1,
      ...(first.cursor !== undefined && { cursor: first.cursor }),
    });

    expect(first.cursor).toBeDefined();
    await expect(next).rejects.toThrow(ValidationError);
  });

  it('queries every shard below the given count and none above it', async () => {
    const tenantId = `shards-${uniqueSuffix()}`;
    const onShard = (shard: number): RecordItem => ({
      ...recordItem({ tenantId, subjectId: `s${shard}`, id: `on-${shard}` }),
      retentionPk: keys.retentionPk(tenantId, CATEGORY, shard),
    });
    await stores.records.putBatch([0, 1, 2, 3, 4].map(onShard));

    const page = await stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2030-01-01T00:00:00.000Z'), {
      shards: 4,
    });

    expect(page.items.map((r) => r.id).sort()).toEqual(['on-0', 'on-1', 'on-2', 'on-3']);
    expect(page.cursor).toBeUndefined();
  });

  it('rejects a cursor that names a shard at or above the given count', async () => {
    const tenantId = `cur-shard-${uniqueSuffix()}`;
    const cutoff = new Date('2030-01-01T00:00:00.000Z');
    await stores.records.putBatch(
      [0, 1, 2, 3].map((shard) => ({
        ...recordItem({ tenantId, subjectId: 's1', id: `r${shard}` }),
        retentionPk: keys.retentionPk(tenantId, CATEGORY, shard),
      })),
    );
    // A one-item page queries shard 0 only, so the cursor still holds shards 1 to 3.
    const first = await stores.records.findDueForDeletion(tenantId, CATEGORY, cutoff, { shards: 4, limit: 1 });

    const next = stores.records.findDueForDeletion(tenantId, CATEGORY, cutoff, {
      shards: 2,
      limit: 1,
      ...(first.cursor !== undefined && { cursor: first.cursor }),
    });

    expect(first.cursor).toBeDefined();
    await expect(next).rejects.toThrow(ValidationError);
    await expect(next).rejects.toMatchObject({ field: 'cursor' });
  });

  it.each([0, 17, 1.5])('refuses %s as a shard count', async (shards) => {
    const tenantId = `bad-shards-${uniqueSuffix()}`;

    const query = stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2030-01-01T00:00:00.000Z'), { shards });

    await expect(query).rejects.toMatchObject({ name: 'ValidationError', field: 'shards' });
  });

  it('keeps identifier items in their own partition family, apart from the profiles', async () => {
    const tenantId = `ids-${uniqueSuffix()}`;
    const pk = keys.subjectPk(tenantId, 's1');
    const facts = { tenantId, category: 'customer_profile', subjectId: 's1', clockStart: '2024-01-01T00:00:00.000Z' } as const;
    const profileFacts = { ...facts, pk, sk: keys.profileSk(), id: 's1' };
    const identifierFacts = { ...facts, pk, sk: keys.identifierSk('EMAIL', 'ann@example.com'), id: 's1-email' };
    await stores.records.putBatch([
      { ...profileFacts, ...retentionKeysOf(profileFacts, 1) },
      { ...identifierFacts, ...retentionKeysOf(identifierFacts, 1) },
    ]);
    const cutoff = new Date('2030-01-01T00:00:00.000Z');

    const [profiles, identifiers] = await Promise.all([
      stores.records.findDueForDeletion(tenantId, 'customer_profile', cutoff, { shards: 1 }),
      stores.records.findDueForDeletion(tenantId, IDENTIFIER_PARTITION, cutoff, { shards: 1 }),
    ]);

    expect(profiles.items.map((r) => r.sk)).toEqual([keys.profileSk()]);
    expect(identifiers.items.map((r) => r.sk)).toEqual([identifierFacts.sk]);
  });
});

describe('findDueForDeletion cursors', () => {
  it('stay small over sixteen shards of the longest ids, so a group\'s continuation fits Step Functions', async () => {
    const tenantId = `t${'x'.repeat(100)}${uniqueSuffix()}`.slice(0, 128);
    const long = (i: number) => `${String(i).padStart(4, '0')}${'y'.repeat(124)}`;
    const items = Array.from({ length: 160 }, (_, i) => recordItem({ tenantId, subjectId: long(i), id: long(i), shardCount: 16 }));
    await stores.records.putBatch(items);

    const page = await stores.records.findDueForDeletion(tenantId, 'conversation', new Date('2030-01-01T00:00:00.000Z'), { shards: 16, limit: 16 });

    expect(page.cursor).toBeDefined();
    expect(page.items).toHaveLength(16);
    // 16 shards still open, each at ~650 characters of keys: well under a kilobyte a shard.
    expect(page.cursor!.length).toBeLessThan(16 * 1024);
    const next = await stores.records.findDueForDeletion(tenantId, 'conversation', new Date('2030-01-01T00:00:00.000Z'), { shards: 16, limit: 200, cursor: page.cursor! });
    expect(new Set([...page.items, ...next.items].map((i) => i.id)).size).toBe(160);
  });
});
