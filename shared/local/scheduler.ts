/**
 * Local mode's EventBridge Scheduler: fires the Sweep at a fixed rate, the
 * first time one period after start (as a `rate(...)` schedule does), and never
 * starts a sweep while the previous one is still running.
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

export interface SchedulerOptions {
  readonly periodMs: number;
  /** Runs one sweep; the scheduler waits for it before it fires again. */
  readonly run: (firedAt: Date) => Promise<void>;
  /** Told when a tick is skipped because a sweep is still running, and when a sweep fails. */
  readonly onSkip?: (firedAt: Date) => void;
  readonly onError?: (error: unknown) => void;
  /** Other work that must not overlap a sweep (e.g. a run started through the API). */
  readonly isBusy?: () => boolean;
}

export interface Scheduler {
  /** When the next tick fires. */
  readonly nextAt: Date;
  /** Stops firing and waits for a sweep in progress to settle. */
  stop(): Promise<void>;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  let running: Promise<void> | undefined;
  let nextAt = new Date(Date.now() + options.periodMs);
  const timer = setInterval(() => {
    const firedAt = new Date();
    nextAt = new Date(firedAt.getTime() + options.periodMs);
    if (running !== undefined || options.isBusy?.() === true) {
      options.onSkip?.(firedAt);
      return;
    }
    running = options
      .run(firedAt)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = undefined;
      });
  }, options.periodMs);
  // The scheduler alone must not keep the process alive.
  timer.unref();
  return {
    get nextAt() {
      return nextAt;
    },
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
