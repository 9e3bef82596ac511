/**
 * Retention watermarks in the control table (DynamoControlStore), on the
 * emulator: read in a batch, flagged, raised only while untouched since the
 * flag, and invalidated by an ingest lower below the bound or during a flag.
 */
import { describe, expect, it } from 'vitest';
import type { WatermarkKey } from '../../shared/domain/sweep/watermarks.js';
import { makeStores } from '../support/env.js';

const key = (shard = 0): WatermarkKey => ({ tenantId: 'acme', partition: 'webhook_delivery', shard });
const AT = '2026-06-01T00:00:00.000Z';

describe('DynamoControlStore watermarks', () => {
  it('flags a missing watermark, raises it once flagged, and reads it back trusted', async () => {
    const { control } = await makeStores();
    expect(await control.flagWatermark(key(), undefined, AT)).toBe(true);
    const [flagged] = await control.getWatermarks([key()]);
    expect(flagged).toMatchObject({ tenantId: 'acme', partition: 'webhook_delivery', shard: 0, gen: 0, flagGen: 0, flaggedAt: AT });
    expect(flagged!.trusted).toBeUndefined();

    expect(await control.raiseWatermark(key(), { gen: 0, flaggedAt: AT }, '2026-01-01T00:00:00.000Z')).toBe(true);
    const [raised] = await control.getWatermarks([key()]);
    expect(raised).toMatchObject({ trusted: true, oldest: '2026-01-01T00:00:00.000Z', gen: 1 });
    expect(raised!.flaggedAt).toBeUndefined();
  });

  it('raises to empty, and refuses a raise whose flag changed', async () => {
    const { control } = await makeStores();
    await control.flagWatermark(key(), undefined, AT);
    expect(await control.raiseWatermark(key(), { gen: 0, flaggedAt: '2026-05-31T00:00:00.000Z' }, undefined)).toBe(false);
    expect(await control.raiseWatermark(key(), { gen: 0, flaggedAt: AT }, undefined)).toBe(true);
    const [w] = await control.getWatermarks([key()]);
    expect(w).toMatchObject({ trusted: true, empty: true });
  });

  it('invalidates a trusted bound after an incoming clock, and leaves one before it', async () => {
    const { control } = await makeStores();
    await control.flagWatermark(key(0), undefined, AT);
    await control.raiseWatermark(key(0), { gen: 0, flaggedAt: AT }, '2026-03-01T00:00:00.000Z');
    await control.flagWatermark(key(1), undefined, AT);
    await control.raiseWatermark(key(1), { gen: 0, flaggedAt: AT }, '2026-03-01T00:00:00.000Z');

    await control.lowerWatermarks([
      { ...key(0), clock: '2025-12-01T00:00:00.000Z' },
      { ...key(1), clock: '2026-04-01T00:00:00.000Z' },
    ]);

    const byShard = new Map((await control.getWatermarks([key(0), key(1)])).map((w) => [w.shard, w]));
    expect(byShard.get(0)).toMatchObject({ gen: 2 });
    expect(byShard.get(0)!.trusted).toBeUndefined();
    expect(byShard.get(1)).toMatchObject({ trusted: true, gen: 1 });
  });

  it('invalidates a flagged watermark whatever the clock, so the raise that follows is refused', async () => {
    const { control } = await makeStores();
    await control.flagWatermark(key(), undefined, AT);
    await control.lowerWatermarks([{ ...key(), clock: '2030-01-01T00:00:00.000Z' }]);
    expect(await control.raiseWatermark(key(), { gen: 0, flaggedAt: AT }, '2029-01-01T00:00:00.000Z')).toBe(false);
    const [w] = await control.getWatermarks([key()]);
    expect(w!.trusted).toBeUndefined();
    expect(w!.flaggedAt).toBeUndefined();
  });

  it('creates nothing when it lowers a watermark that does not exist', async () => {
    const { control } = await makeStores();
    await control.lowerWatermarks([{ ...key(), clock: AT }]);
    expect(await control.getWatermarks([key()])).toEqual([]);
  });
});
