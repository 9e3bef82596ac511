/** The local scheduler: fixed rate, first tick one period after start (or after the last tick before a restart), never two sweeps at once. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { firstTickAt, formatDuration, MAX_PERIOD_MS, MAX_TIMER_MS, parseDuration, startScheduler } from '../../shared/local/scheduler.js';

describe('sweep periods', () => {
  it('read seconds, minutes, hours and days, a bare number as minutes', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('15')).toBe(900_000);
    expect(formatDuration(86_400_000 + 5_400_000)).toBe('1d1h30m');
  });

  it('refuse nonsense and periods shorter than ten seconds', () => {
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(() => parseDuration('5s')).toThrow(/at least 10s/);
  });
});

describe('the scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once per period, the first time one period after start', async () => {
    const run = vi.fn(async () => undefined);
    const scheduler = startScheduler({ periodMs: 60_000, run });

    await vi.advanceTimersByTimeAsync(59_999);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(run).toHaveBeenCalledTimes(3);
    await scheduler.stop();
  });

  it('skips ticks while the previous sweep, or another run, is still going', async () => {
    let finish!: () => void;
    const run = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const skipped: Date[] = [];
    let busy = false;
    const scheduler = startScheduler({ periodMs: 60_000, run, onSkip: (at) => skipped.push(at), isBusy: () => busy });

    await vi.advanceTimersByTimeAsync(180_000);
    expect(run).toHaveBeenCalledTimes(1);
    expect(skipped).toHaveLength(2);

    finish();
    busy = true;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(1);
    busy = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(2);
    finish();
    await scheduler.stop();
  });

  it('reports a failed sweep and keeps its schedule', async () => {
    const errors: unknown[] = [];
    const run = vi.fn(async () => {
      throw new Error('emulator gone');
    });
    const scheduler = startScheduler({ periodMs: 60_000, run, onError: (e) => errors.push(e) });

    await vi.advanceTimersByTimeAsync(120_000);

    expect(run).toHaveBeenCalledTimes(2);
    expect(errors).toHaveLength(2);
    await scheduler.stop();
  });

  it('holds a period longer than one Node timer (a monthly cadence) without firing early', async () => {
    const run = vi.fn(async () => undefined);
    const month = 30 * 86_400_000;
    const scheduler = startScheduler({ periodMs: month, run });

    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(month - MAX_TIMER_MS - 1_000);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(month);
    expect(run).toHaveBeenCalledTimes(2);
    await scheduler.stop();
  });

  it('catches up at once on a sweep that fell due while stopped (once, however many periods were missed), then keeps its period', async () => {
    const run = vi.fn(async () => undefined);
    const fired: Date[] = [];
    const lastFiredAt = new Date(Date.now() - 5 * 60_000);
    const scheduler = startScheduler({ periodMs: 60_000, run, lastFiredAt, onFired: (at) => void fired.push(at) });

    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    expect(fired).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    await scheduler.stop();
  });

  it('after a restart, fires one period after the last tick, neither earlier nor later', async () => {
    const run = vi.fn(async () => undefined);
    const scheduler = startScheduler({ periodMs: 60_000, run, lastFiredAt: new Date(Date.now() - 45_000) });

    await vi.advanceTimersByTimeAsync(14_999);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await scheduler.stop();
  });

  it('refuses periods a schedule cannot mean', () => {
    const run = async () => undefined;
    expect(() => startScheduler({ periodMs: 1, run })).toThrow(/sweep period/);
    expect(() => startScheduler({ periodMs: MAX_PERIOD_MS + 1, run })).toThrow(/sweep period/);
  });
});

describe('the first tick after a start', () => {
  it('is a period from now on a fresh data directory, at once when overdue, a period after the last tick otherwise', () => {
    expect(firstTickAt(60_000, 1_000_000)).toBe(1_060_000);
    expect(firstTickAt(60_000, 1_000_000, new Date(0))).toBe(1_000_000);
    expect(firstTickAt(60_000, 1_000_000, new Date(990_000))).toBe(1_050_000);
    // A last tick in the future (a clock set back) counts as now.
    expect(firstTickAt(60_000, 1_000_000, new Date(5_000_000))).toBe(1_060_000);
  });
});
