import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Category } from '../../shared/domain/catalog.js';
import { ValidationError } from '../../shared/domain/errors.js';
import type { DueRecord, RecordItem } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';

const CATEGORY: Category = 'conversation';
const OTHER_CATEGORY: Category = 'call';
const DAY_MS = 86_400_000;

let stores: Stores;

beforeAll(async () => {
  // The clock sits far before every generated instant: the sweep must return
  // overdue records whatever their expiresAt, and nothing here expires anyway.
  stores = await makeStores({ clock: new TestClock('2000-01-01T00:00:00.000Z') });
});

async function allDue(tenantId: string, category: Category, cutoff: Date, limit: number): Promise<DueRecord[][]> {
  const pages: DueRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await stores.records.findDueForDeletion(tenantId, category, cutoff, {
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
          }),
        );
        await stores.records.putBatch(items);
        const cutoff = new Date(cutoffMs);

        // act
        const pages = await allDue(tenantId, CATEGORY, cutoff, limit);

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

    const page = await stores.records.findDueForDeletion(tenantId, CATEGORY, cutoff);

    expect(page.items.map((r) => r.id)).toEqual(['before']);
    expect(page.cursor).toBeUndefined();
  });

  it('returns the sweep projection: keys and sweep facts, never the payload', async () => {
    const tenantId = `proj-${uniqueSuffix()}`;
    const item = recordItem({ tenantId, subjectId: 's1', id: 'r1', data: { notes: 'private' } });
    await stores.records.putBatch([item]);

    const page = await stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2030-01-01T00:00:00.000Z'));

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
      limit: 1,
    });

    const next = stores.records.findDueForDeletion(tenantId, CATEGORY, new Date('2026-01-01T00:00:00.000Z'), {
      limit: 1,
      ...(first.cursor !== undefined && { cursor: first.cursor }),
    });

    expect(first.cursor).toBeDefined();
    await expect(next).rejects.toThrow(ValidationError);
  });
});
