/**
 * Measuring instruments: an SDK middleware that counts every request sent
 * (retries included, since it sits below the retry middleware), by service,
 * command and target table/index, optionally tagged with a phase through
 * AsyncLocalStorage; and a resident-memory sampler.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

export type Service = 'dynamodb' | 's3';

/** Counts by key, e.g. `BatchWriteItem` or `Query records/byRetention`. */
export type Counts = Record<string, number>;

export interface RequestTally {
  readonly dynamodb: Counts;
  readonly s3: Counts;
  /** Requests the SDK re-sent after a failed attempt (its `attempt=N` header, N > 1); an adapter's own re-send is a new request, not counted here. */
  readonly retries: { readonly dynamodb: Counts; readonly s3: Counts };
  /** DynamoDB requests by phase, then by command and target. */
  readonly byPhase: Record<string, Counts>;
}

export function emptyTally(): RequestTally {
  return { dynamodb: {}, s3: {}, retries: { dynamodb: {}, s3: {} }, byPhase: {} };
}

export function total(counts: Counts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Sums counts by command only (drops the table/index part of the key). */
export function byCommand(counts: Counts): Counts {
  const out: Counts = {};
  for (const [key, n] of Object.entries(counts)) {
    const command = key.split(' ')[0] as string;
    out[command] = (out[command] ?? 0) + n;
  }
  return out;
}

interface Middlewared {
  readonly middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; name: string; priority: 'low' },
    ): void;
  };
}

/**
 * Counts requests of the clients it is attached to into the tally that is
 * current (none: not counted). Logical table names make the keys readable.
 */
export class RequestCounter {
  private current: RequestTally | undefined;
  private readonly phase = new AsyncLocalStorage<string>();
  private tableLabels = new Map<string, string>();

  attach(client: DynamoDBClient | S3Client, service: Service): void {
    (client as unknown as Middlewared).middlewareStack.add(
      (next, context) => async (args) => {
        const tally = this.current;
        if (tally !== undefined) {
          const key = this.keyOf(service, context.commandName ?? 'Unknown', (args as { input?: Record<string, unknown> }).input ?? {});
          const counts = tally[service];
          counts[key] = (counts[key] ?? 0) + 1;
          if (isRetry(args)) {
            const retries = tally.retries[service];
            retries[key] = (retries[key] ?? 0) + 1;
          }
          if (service === 'dynamodb') {
            const phase = this.phase.getStore() ?? 'other';
            const perPhase = (tally.byPhase[phase] ??= {});
            perPhase[key] = (perPhase[key] ?? 0) + 1;
          }
        }
        return next(args);
      },
      // In the deserialize step, below the retry middleware: every attempt passes here.
      { step: 'deserialize', name: 'benchRequestCounter', priority: 'low' },
    );
  }

  /** Physical table name → logical label (`records`, `control`). */
  labelTables(labels: Readonly<Record<string, string>>): void {
    this.tableLabels = new Map(Object.entries(labels));
  }

  /** Counts into a fresh tally while `fn` runs. */
  async count<T>(fn: () => Promise<T>): Promise<{ result: T; tally: RequestTally }> {
    const tally = emptyTally();
    this.current = tally;
    try {
      return { result: await fn(), tally };
    } finally {
      this.current = undefined;
    }
  }

  /** Tags DynamoDB requests made inside `fn` with a phase. */
  inPhase<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    return this.phase.run(phase, fn);
  }

  private keyOf(service: Service, commandName: string, input: Record<string, unknown>): string {
    const command = commandName.replace(/Command$/, '');
    if (service === 's3') return command;
    let table = typeof input.TableName === 'string' ? input.TableName : undefined;
    if (table === undefined && typeof input.RequestItems === 'object' && input.RequestItems !== null) {
      table = Object.keys(input.RequestItems)[0];
    }
    if (table === undefined) return command;
    const label = this.tableLabels.get(table) ?? 'other';
    return typeof input.IndexName === 'string' ? `${command} ${label}/${input.IndexName}` : `${command} ${label}`;
  }
}

/** The SDK marks every attempt in `amz-sdk-request: attempt=N; max=M`. */
function isRetry(args: unknown): boolean {
  const headers = (args as { request?: { headers?: Record<string, string> } }).request?.headers;
  const attempt = /attempt=(\d+)/.exec(headers?.['amz-sdk-request'] ?? '')?.[1];
  return attempt !== undefined && Number(attempt) > 1;
}

/** Samples `process.memoryUsage()` on an interval and keeps the peaks of RSS and used heap. */
export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = 0;
  private peakHeap = 0;
  private startRss = 0;

  start(intervalMs = 50): void {
    this.startRss = process.memoryUsage().rss;
    this.peakRss = this.startRss;
    this.peakHeap = process.memoryUsage().heapUsed;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): MemoryPeaks {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { rssAtStartMb: toMb(this.startRss), peakRssMb: toMb(this.peakRss), peakHeapUsedMb: toMb(this.peakHeap) };
  }

  private sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    if (rss > this.peakRss) this.peakRss = rss;
    if (heapUsed > this.peakHeap) this.peakHeap = heapUsed;
  }
}

export interface MemoryPeaks {
  readonly rssAtStartMb: number;
  readonly peakRssMb: number;
  readonly peakHeapUsedMb: number;
}

/**
 * A full garbage collection, so one measurement's leftovers (a dropped table
 * of the in-memory emulator) do not count in the next one's memory.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  gc?.();
}

function toMb(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}

/**
 * Wall time spent inside the methods of ports (stores, providers), by
 * `label.method`: where an execution's time goes. Calls that overlap are each
 * counted in full, so the sums can exceed the elapsed time.
 */
export class PortTimer {
  readonly ms: Record<string, number> = {};
  readonly calls: Record<string, number> = {};

  /** `target` with every method timed. */
  wrap<T extends object>(label: string, target: T): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        const key = `${label}.${property}`;
        return (...args: unknown[]) => {
          const began = performance.now();
          const settle = () => {
            this.ms[key] = (this.ms[key] ?? 0) + (performance.now() - began);
            this.calls[key] = (this.calls[key] ?? 0) + 1;
          };
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
          if (result instanceof Promise) return result.finally(settle);
          settle();
          return result;
        };
      },
    });
  }
}
