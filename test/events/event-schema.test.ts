/** The event union: strict details (nothing outside the schema goes out), deterministic ids, batches split. */
import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE, makeEvent, MAX_IDS_PER_EVENT, publishEvents, recordsDeletedEvents, EventsNotPublishedError } from '../../shared/domain/events.js';

const AT = new Date('2025-06-01T12:00:00.000Z');
const origin = { kind: 'sweep', runId: 'run-1' } as const;

describe('deletion events', () => {
  it('carry source lethe, the type, the tenant and a 32-hex id', () => {
    const e = makeEvent('PolicyChanged', 't1', AT, { version: 2, previousVersion: 1 }, 2);

    expect(e).toMatchObject({ source: EVENT_SOURCE, type: 'PolicyChanged', tenantId: 't1', time: AT.toISOString() });
    expect(e.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('get the same id for the same fact reported twice, at another time too', () => {
    const a = makeEvent('HoldReleased', 't1', AT, { holdId: 'h1', reason: 'released' }, 'h1');
    const b = makeEvent('HoldReleased', 't1', new Date(AT.getTime() + 60_000), { holdId: 'h1', reason: 'released' }, 'h1');

    expect(b.id).toBe(a.id);
  });

  it('get different ids for different tenants, types or facts', () => {
    const ids = new Set([
      makeEvent('HoldReleased', 't1', AT, { holdId: 'h1', reason: 'released' }, 'h1').id,
      makeEvent('HoldReleased', 't2', AT, { holdId: 'h1', reason: 'released' }, 'h1').id,
      makeEvent('HoldReleased', 't1', AT, { holdId: 'h2', reason: 'released' }, 'h2').id,
      makeEvent('HoldPlaced', 't1', AT, { holdId: 'h1', scope: {} }, 'h1').id,
    ]);

    expect(ids.size).toBe(4);
  });

  it('refuse a field the schema does not name (a name, a text)', () => {
    expect(() => makeEvent('SubjectErased', 't1', AT, { origin, customerId: 'c1', deleted: 3, name: 'Quintessa' } as never, 'x')).toThrow();
    expect(() => makeEvent('RecordsDeleted', 't1', AT, { origin, category: 'message', recordIds: ['m1'], count: 1, text: 'hello' } as never, 'x')).toThrow();
  });

  it('split a large deletion into events of at most MAX_IDS_PER_EVENT ids per category, each listing its ids once', () => {
    const deleted = [
      ...Array.from({ length: MAX_IDS_PER_EVENT + 5 }, (_, i) => ({ category: 'message' as const, id: `m${i}` })),
      { category: 'conversation' as const, id: 'c1' },
      { category: 'conversation' as const, id: 'c1' },
    ];

    const events = recordsDeletedEvents('t1', AT, origin, deleted);

    expect(events.map((e) => (e.type === 'RecordsDeleted' ? [e.detail.category, e.detail.count] : []))).toEqual([
      ['message', MAX_IDS_PER_EVENT],
      ['message', 5],
      ['conversation', 1],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('are counted, never thrown, when the publisher fails', async () => {
    const e = makeEvent('PolicyChanged', 't1', AT, { version: 2, previousVersion: 1 }, 2);
    const failing = { publish: async () => Promise.reject(new EventsNotPublishedError(1, 'down')) };
    const broken = { publish: async () => Promise.reject(new Error('boom')) };

    expect(await publishEvents(failing, [e, e])).toBe(1);
    expect(await publishEvents(broken, [e, e])).toBe(2);
    expect(await publishEvents(undefined, [e])).toBe(0);
  });
});
