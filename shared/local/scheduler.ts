/**
 * Local mode's EventBridge Scheduler: fires the Sweep at a fixed rate, never
 * starts a sweep while the previous one is still running, and survives
 * restarts: the time of the last tick is kept (`lastFiredAt`/`onFired`, in the
 * data directory), so a restart neither postpones a due sweep nor fires one
 * early. A sweep that fell due while Lethe was stopped fires at once (one
 * catch-up, however many periods were missed); without a last tick (a fresh
 * data directory) the first fires one period after start, as a `rate(...)`
 * schedule does. Periods of any length work: timers are chained in steps
 * Node can hold (about 24.8 days each), so a monthly cadence does not
 * overflow into a tick every millisecond.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Shortest period accepted: a sweep every few seconds would only churn the emulators. */
export const MIN_PERIOD_MS = 10_000;

/** Parses `90s`, `5m`, `2h`, `1d` (or a bare number of minutes) into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(text);
  if (match === null) throw new RangeError(`"${text}" is not a duration; write e.g. 90s, 5m, 2h or 1d`);
  const unit = (match[2] === '' ? 'm' : (match[2] as string).toLowerCase()) as keyof typeof UNIT_MS;
  const ms = Math.round(Number(match[1]) * UNIT_MS[unit]);
  if (ms < MIN_PERIOD_MS) throw new RangeError(`a sweep period must be at least ${MIN_PERIOD_MS / 1000}s, got "${text}"`);
  return ms;
}

/** `1440` minutes → `1d`, `90` → `1h30m`. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.length === 0 ? '0s' : parts.join('');
}

/** Longest delay one Node timer can hold (2^31 − 1 ms, about 24.8 days); longer waits are chained. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Longest sweep period accepted (a year): cadences are minutes to a month. */
export const MAX_PERIOD_MS = 366 * 86_400_000;

export interface SchedulerOptions {
  readonly periodMs: number;
  /** Runs one sweep; the scheduler waits for it before it fires again. */
  readonly run: (firedAt: Date) => Promise<void>;
  /** Told when a tick is skipped because a sweep is still running, and when a sweep fails. */
  readonly onSkip?: (firedAt: Date) => void;
  readonly onError?: (error: unknown) => void;
  /** Other work that must not overlap a sweep (e.g. a run started through the API). */
  readonly isBusy?: () => boolean;
  /** The last tick before this start (kept across restarts); absent on a fresh data directory. */
  readonly lastFiredAt?: Date;
  /** Told every tick that fires, to keep it for the next start. */
  readonly onFired?: (firedAt: Date) => void | Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface Scheduler {
  /** When the next tick fires. */
  readonly nextAt: Date;
  /** Stops firing and waits for a sweep in progress to settle. */
  stop(): Promise<void>;
}

/** When the first tick after a start fires: one period after the last one (at once if that has passed), or one period from now. */
export function firstTickAt(periodMs: number, now: number, lastFiredAt?: Date): number {
  if (lastFiredAt === undefined || !Number.isFinite(lastFiredAt.getTime())) return now + periodMs;
  // A last tick in the future (a clock set back) counts as now.
  return Math.max(now, Math.min(lastFiredAt.getTime(), now) + periodMs);
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  if (!(options.periodMs >= MIN_PERIOD_MS && options.periodMs <= MAX_PERIOD_MS)) {
    throw new RangeError(`a sweep period must be from ${MIN_PERIOD_MS / 1000}s to ${formatDuration(MAX_PERIOD_MS)}, got ${options.periodMs} ms`);
  }
  const now = options.now ?? Date.now;
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let nextAt = firstTickAt(options.periodMs, now(), options.lastFiredAt);

  const tick = () => {
    const firedAt = new Date(now());
    nextAt = Math.max(nextAt + options.periodMs, firedAt.getTime() + 1);
    if (running !== undefined || options.isBusy?.() === true) {
      options.onSkip?.(firedAt);
      return;
    }
    running = Promise.resolve()
      .then(() => options.onFired?.(firedAt))
      .then(() => options.run(firedAt))
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = undefined;
      });
  };
  const arm = () => {
    if (stopped) return;
    const wait = Math.max(0, nextAt - now());
    timer = setTimeout(() => {
      if (stopped) return;
      // A wait longer than one timer can hold goes on in another step.
      if (nextAt - now() <= 0) tick();
      arm();
    }, Math.min(wait, MAX_TIMER_MS));
    // The scheduler alone must not keep the process alive.
    timer.unref();
  };
  arm();
  return {
    get nextAt() {
      return new Date(nextAt);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
