/**
 * Deletion events on an EventBridge bus: `PutEvents` in batches of 10 (the
 * API's limit), resending only the entries the answer reports failed, with
 * full-jitter backoff. What still fails after the retry budget is logged
 * (ids and counts only) and rejected with `EventsNotPublishedError`, which the
 * caller counts on its receipt (DESIGN.md §4). The client's own retries cover
 * throttled or failed requests; this loop covers per-entry failures.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, EventsNotPublishedError, type EventPublisher, type LetheEvent } from '../../domain/events.js';
import { backoffDelayMs, errorReason, retryOptions, type RetryOptions } from '../retry.js';

/** Entries one PutEvents request takes at most. */
export const PUT_EVENTS_BATCH = 10;

export interface EventBridgePublisherOptions {
  readonly client: Pick<EventBridgeClient, 'send'>;
  /** The bus's name or ARN (`EVENT_BUS_NAME`). */
  readonly busName: string;
  /** Default: 5 rounds, 100 ms base delay. */
  readonly retry?: Partial<RetryOptions>;
  /** Told about events that did not go out (ids, counts and error codes only). */
  readonly logger?: { error(message: string, details: Record<string, unknown>): void };
}

export class EventBridgePublisher implements EventPublisher {
  private readonly retry: RetryOptions;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.retry = retryOptions({ maxAttempts: 5, baseDelayMs: 100, ...options.retry });
  }

  async publish(events: readonly LetheEvent[]): Promise<void> {
    let unpublished = 0;
    let lastReason = '';
    const failedIds: string[] = [];
    for (let i = 0; i < events.length; i += PUT_EVENTS_BATCH) {
      const { left, reason } = await this.sendBatch(events.slice(i, i + PUT_EVENTS_BATCH));
      unpublished += left.length;
      if (left.length > 0) {
        lastReason = reason;
        failedIds.push(...left.map((e) => e.id));
      }
    }
    if (unpublished > 0) {
      this.options.logger?.error('events_unpublished', { unpublished, reason: lastReason, eventIds: failedIds.slice(0, 50) });
      throw new EventsNotPublishedError(unpublished, lastReason);
    }
  }

  /** One batch, resending its failed entries; resolves the entries still undelivered. */
  private async sendBatch(batch: readonly LetheEvent[]): Promise<{ readonly left: LetheEvent[]; readonly reason: string }> {
    let pending = [...batch];
    let reason = '';
    for (let attempt = 1; attempt <= this.retry.maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 1) await this.retry.sleep(backoffDelayMs(attempt - 1, this.retry));
      try {
        const answer = await this.options.client.send(new PutEventsCommand({ Entries: pending.map((e) => this.entryOf(e)) }));
        if ((answer.FailedEntryCount ?? 0) === 0) return { left: [], reason };
        // Entries answer in the order sent; a failed one carries an ErrorCode.
        const results = answer.Entries ?? [];
        const next: LetheEvent[] = [];
        pending.forEach((e, index) => {
          const r = results[index];
          if (r === undefined || r.ErrorCode !== undefined) {
            next.push(e);
            reason = r?.ErrorCode ?? 'MissingResultEntry';
          }
        });
        pending = next;
      } catch (error) {
        reason = errorReason(error);
      }
    }
    return { left: pending, reason };
  }

  private entryOf(event: LetheEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.options.busName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Time: new Date(event.time),
      // The whole event, id included: EventBridge assigns its own id, consumers de-duplicate on ours.
      Detail: JSON.stringify(event),
    };
  }
}
