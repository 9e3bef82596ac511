/**
 * The blob guard in local mode: the S3 emulator's object events call the same
 * handler as EventBridge does in AWS, in the background, each check tracked
 * so shutdown can wait for it. A check waiting for an object to settle is
 * woken at shutdown: the server is closed by then, so no ingest is left to
 * write the record the check waits for, and its second look is final.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { blobGuardHandler, type BlobGuardDeps } from '../app/blob-guard.js';
import type { BucketName } from '../domain/catalog.js';

export interface LocalBlobGuardOptions {
  readonly logger: Logger;
  readonly bucketNames: Readonly<Record<BucketName, string>>;
  /** How old an object without a record must be before it is deleted (see `DEFAULT_BLOB_GUARD_SETTLE_MS`). */
  readonly settleMs?: number;
}

export class LocalBlobGuard {
  private readonly handle: (event: unknown) => Promise<unknown>;
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private woken = false;

  constructor(deps: BlobGuardDeps, options: LocalBlobGuardOptions) {
    this.logger = options.logger;
    this.handle = blobGuardHandler(deps, {
      logger: options.logger,
      bucketNames: options.bucketNames,
      ...(options.settleMs !== undefined && { settleMs: options.settleMs }),
      sleep: (ms) => this.sleep(ms),
    });
  }

  /** Checks in flight. */
  get size(): number {
    return this.pending.size;
  }

  /** Takes one emulator event; the check runs in the background. */
  onEvent(event: unknown): void {
    const check: Promise<void> = this.handle(event)
      .then(() => undefined)
      .catch((error: unknown) => {
        this.logger.error('blob guard check failed', { error: error instanceof Error ? error.name : 'unknown' });
      })
      .finally(() => this.pending.delete(check));
    this.pending.add(check);
  }

  /** Resolves when no check is in flight. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Wakes the checks waiting for their object to settle and lets them end (up to `ms`); later ones do not wait. */
  async settle(ms: number): Promise<void> {
    this.woken = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
