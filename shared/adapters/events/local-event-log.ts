/**
 * Local mode's deletion events: one NDJSON line per event appended to
 * `<directory>/<YYYY-MM-DD>.ndjson` (the event's UTC day), and, when a
 * webhook URL is given (`--events-webhook` / `LETHE_EVENTS_WEBHOOK`), each
 * event POSTed to it as JSON, retried with backoff. The file is written first:
 * it is the record of what was published. Undelivered webhook posts are
 * rejected with `EventsNotPublishedError`, which the caller counts.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EventsNotPublishedError, type EventPublisher, type LetheEvent } from '../../domain/events.js';
import { backoffDelayMs, errorReason, retryOptions, type RetryOptions } from '../retry.js';

export interface LocalEventLogOptions {
  /** `<data-dir>/events`. */
  readonly directory: string;
  /** Each event is POSTed here too. */
  readonly webhookUrl?: string;
  /** Default: 4 rounds, 100 ms base delay. */
  readonly retry?: Partial<RetryOptions>;
  /** Time-out of one POST, in milliseconds (default 5000). */
  readonly webhookTimeoutMs?: number;
  readonly logger?: { error(message: string, details: Record<string, unknown>): void };
}

export class LocalEventLog implements EventPublisher {
  private readonly retry: RetryOptions;
  /** Appends in call order, so concurrent publishers never interleave half lines. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LocalEventLogOptions) {
    this.retry = retryOptions({ maxAttempts: 4, baseDelayMs: 100, ...options.retry });
  }

  async publish(events: readonly LetheEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.append(events);
    if (this.options.webhookUrl === undefined) return;
    let unpublished = 0;
    let reason = '';
    for (const event of events) {
      const failure = await this.post(this.options.webhookUrl, event);
      if (failure !== undefined) {
        unpublished += 1;
        reason = failure;
      }
    }
    if (unpublished > 0) {
      this.options.logger?.error('events_unpublished', { unpublished, reason, target: 'webhook' });
      throw new EventsNotPublishedError(unpublished, reason);
    }
  }

  private append(events: readonly LetheEvent[]): Promise<void> {
    const byDay = new Map<string, string[]>();
    for (const e of events) {
      const day = e.time.slice(0, 10);
      const lines = byDay.get(day);
      if (lines === undefined) byDay.set(day, [JSON.stringify(e)]);
      else lines.push(JSON.stringify(e));
    }
    const write = this.tail.then(async () => {
      await mkdir(this.options.directory, { recursive: true });
      for (const [day, lines] of byDay) await appendFile(join(this.options.directory, `${day}.ndjson`), `${lines.join('\n')}\n`);
    });
    this.tail = write.catch(() => undefined);
    return write.catch((error: unknown) => {
      throw new EventsNotPublishedError(events.length, errorReason(error), { cause: error });
    });
  }

  /** POSTs one event; resolves a reason when every attempt failed. */
  private async post(url: string, event: LetheEvent): Promise<string | undefined> {
    let reason = '';
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt += 1) {
      if (attempt > 1) await this.retry.sleep(backoffDelayMs(attempt - 1, this.retry));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-lethe-event-id': event.id },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5_000),
        });
        await response.arrayBuffer();
        if (response.ok) return undefined;
        reason = `http_${response.status}`;
      } catch (error) {
        reason = errorReason(error);
      }
    }
    return reason;
  }
}
