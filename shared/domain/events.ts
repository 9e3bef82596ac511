/**
 * Deletion events (DESIGN.md §4): what Lethe tells downstream copies (search
 * indexes, warehouses, caches) so they can follow a deletion. PII-free by
 * construction: every detail is a strict zod object of tenant, category, the
 * platform's own record ids, counts and run/request ids — a field that is not
 * in the schema cannot be sent. Delivery is at-least-once: an event's `id` is
 * derived from what it reports (never random), so a consumer de-duplicates on it.
 *
 * Events are published after the durable write they report (a deletion, a
 * stored hold or policy). A publisher retries what failed; what still fails is
 * counted by the caller (`eventsUnpublished` on the run's receipt, which makes
 * a sweep critical and alerts) and logged by the adapter — the deletion itself
 * is never undone nor failed because an event could not go out.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CATEGORIES } from './catalog.js';

/** `source` of every event (EventBridge `Source`). */
export const EVENT_SOURCE = 'lethe';

/** Record ids one `RecordsDeleted` event lists at most; a larger batch is split (EventBridge entries are capped at 256 KB). */
export const MAX_IDS_PER_EVENT = 200;

const id = z.string().min(1).max(200);
const count = z.number().int().nonnegative();

/** What did the deletion: a sweep run, a manual deletion (or its continuation), a privacy request. */
export const eventOriginSchema = z.strictObject({
  kind: z.enum(['sweep', 'manual', 'deletion_task', 'erasure', 'anonymisation']),
  runId: id.optional(),
  requestId: id.optional(),
});
export type EventOrigin = z.infer<typeof eventOriginSchema>;

const details = {
  RecordsDeleted: z.strictObject({
    origin: eventOriginSchema,
    category: z.enum(CATEGORIES),
    /** The platform's ids of the records (a message's id, a conversation's id, …). */
    recordIds: z.array(id).min(1).max(MAX_IDS_PER_EVENT),
    count,
  }),
  SubjectErased: z.strictObject({
    origin: eventOriginSchema,
    /** The platform's customer id. */
    customerId: id,
    deleted: count,
  }),
  SubjectAnonymised: z.strictObject({
    origin: eventOriginSchema,
    customerId: id,
  }),
  KeysShredded: z.strictObject({
    origin: eventOriginSchema,
    subjectKeys: count,
    epochKeys: count,
  }),
  HoldPlaced: z.strictObject({
    holdId: id,
    scope: z.strictObject({ customerId: id.optional(), conversationId: id.optional(), callId: id.optional(), category: z.enum(CATEGORIES).optional() }),
    expiresAt: z.iso.datetime().optional(),
  }),
  HoldReleased: z.strictObject({
    holdId: id,
    /** A release by an admin, or the sweep releasing one that expired. */
    reason: z.enum(['released', 'expired']),
  }),
  PolicyChanged: z.strictObject({
    version: z.number().int().positive(),
    previousVersion: z.number().int().nonnegative(),
  }),
  RunCompleted: z.strictObject({
    runId: id,
    kind: z.enum(['sweep', 'manual', 'privacy_request']),
    status: z.enum(['completed', 'failed']),
    dryRun: z.boolean(),
    examined: count,
    deleted: count,
    held: count,
    failed: count,
    kept: count,
  }),
} as const;

export type EventType = keyof typeof details;
export const EVENT_TYPES = Object.keys(details) as EventType[];

const envelope = <T extends EventType>(type: T) =>
  z.strictObject({
    /** Deterministic: the same fact reported twice has the same id. */
    id: z.string().regex(/^[0-9a-f]{32}$/),
    source: z.literal(EVENT_SOURCE),
    type: z.literal(type),
    time: z.iso.datetime(),
    tenantId: id,
    detail: details[type],
  });

/** Every event Lethe publishes: a union on `type`. */
export const letheEventSchema = z.discriminatedUnion('type', [
  envelope('RecordsDeleted'),
  envelope('SubjectErased'),
  envelope('SubjectAnonymised'),
  envelope('KeysShredded'),
  envelope('HoldPlaced'),
  envelope('HoldReleased'),
  envelope('PolicyChanged'),
  envelope('RunCompleted'),
]);
export type LetheEvent = z.infer<typeof letheEventSchema>;
export type EventDetail<T extends EventType> = z.infer<(typeof details)[T]>;

/** Publishes events (an EventBridge bus, or local NDJSON files); rejects with `EventsNotPublishedError` for what it could not deliver after its retries. */
export interface EventPublisher {
  publish(events: readonly LetheEvent[]): Promise<void>;
}

/** Some events could not be delivered after the publisher's retries. */
export class EventsNotPublishedError extends Error {
  override readonly name = 'EventsNotPublishedError';

  constructor(
    /** How many of the events given did not go out. */
    readonly unpublished: number,
    /** A short, PII-free reason (an error code or name). */
    readonly reason: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${unpublished} event(s) not published: ${reason}`, options);
  }
}

/**
 * An event, validated: `identity` is what makes it unique (ids of the run,
 * request, hold, records), hashed with its type and tenant into its id.
 */
export function makeEvent<T extends EventType>(type: T, tenantId: string, time: Date, detail: EventDetail<T>, identity: unknown): LetheEvent {
  const eventId = createHash('sha256').update(JSON.stringify([type, tenantId, identity])).digest('hex').slice(0, 32);
  return letheEventSchema.parse({ id: eventId, source: EVENT_SOURCE, type, time: time.toISOString(), tenantId, detail });
}

/** `RecordsDeleted` events for deleted records, one per category and `MAX_IDS_PER_EVENT` ids. */
export function recordsDeletedEvents(
  tenantId: string,
  time: Date,
  origin: EventOrigin,
  deleted: readonly { readonly category: EventDetail<'RecordsDeleted'>['category']; readonly id: string }[],
): LetheEvent[] {
  const byCategory = new Map<EventDetail<'RecordsDeleted'>['category'], string[]>();
  for (const r of deleted) {
    const list = byCategory.get(r.category);
    if (list === undefined) byCategory.set(r.category, [r.id]);
    else list.push(r.id);
  }
  const out: LetheEvent[] = [];
  for (const [category, ids] of byCategory) {
    const sorted = [...new Set(ids)].sort();
    for (let i = 0; i < sorted.length; i += MAX_IDS_PER_EVENT) {
      const recordIds = sorted.slice(i, i + MAX_IDS_PER_EVENT);
      out.push(makeEvent('RecordsDeleted', tenantId, time, { origin, category, recordIds, count: recordIds.length }, [origin, category, recordIds]));
    }
  }
  return out;
}

/**
 * Publishes and never throws: resolves how many events did not go out (0 when
 * all did, or when there is no publisher). The caller counts them on its
 * receipt; the work they report stands either way.
 */
export async function publishEvents(publisher: EventPublisher | undefined, events: readonly LetheEvent[]): Promise<number> {
  if (publisher === undefined || events.length === 0) return 0;
  try {
    await publisher.publish(events);
    return 0;
  } catch (error) {
    return error instanceof EventsNotPublishedError ? Math.min(error.unpublished, events.length) : events.length;
  }
}
