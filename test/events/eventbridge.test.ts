/**
 * The EventBridge adapter against a mocked client (no emulator has
 * EventBridge): PutEvents in batches of 10, only failed entries resent,
 * what never goes out rejected with its count.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../shared/adapters/events/eventbridge.js';
import { EventsNotPublishedError, makeEvent, type LetheEvent } from '../../shared/domain/events.js';

const eb = mockClient(EventBridgeClient);
const AT = new Date('2025-06-01T12:00:00.000Z');
const events = (n: number): LetheEvent[] => Array.from({ length: n }, (_, i) => makeEvent('PolicyChanged', 't1', AT, { version: i + 1, previousVersion: i }, i));
const noWait = { sleep: async () => undefined, random: () => 0 };
const sent = (): PutEventsCommandInput[] => eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input);

function publisher(logged: unknown[] = []) {
  return new EventBridgePublisher({
    client: new EventBridgeClient({ region: 'us-east-1' }),
    busName: 'lethe-events',
    retry: noWait,
    logger: { error: (message, details) => logged.push({ message, details }) },
  });
}

beforeEach(() => eb.reset());

describe('EventBridgePublisher', () => {
  it('sends 25 events as PutEvents of 10, 10 and 5 entries on the bus, source lethe, detail type the event type', async () => {
    eb.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })) }));

    await publisher().publish(events(25));

    expect(sent().map((i) => i.Entries?.length)).toEqual([10, 10, 5]);
    const first = sent()[0]?.Entries?.[0];
    expect(first).toMatchObject({ EventBusName: 'lethe-events', Source: 'lethe', DetailType: 'PolicyChanged' });
    expect(JSON.parse(first?.Detail ?? '{}')).toEqual(events(1)[0]);
  });

  it('resends only the entries the answer reports failed, until they go', async () => {
    const all = events(10);
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: all.map((_, i) => (i === 3 || i === 7 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'x' } : { EventId: `e${i}` })),
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'r1' }, { EventId: 'r2' }] });

    await publisher().publish(all);

    const retried = sent()[1]?.Entries?.map((e) => JSON.parse(e.Detail ?? '{}').id);
    expect(sent()).toHaveLength(2);
    expect(retried).toEqual([all[3]?.id, all[7]?.id]);
  });

  it('retries a request that threw as a whole', async () => {
    eb.on(PutEventsCommand).rejectsOnce(Object.assign(new Error('down'), { name: 'ServiceUnavailable' })).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] });

    await publisher().publish(events(1));

    expect(sent()).toHaveLength(2);
  });

  it('rejects with the count still undelivered after its retries, and logs ids and the error code only', async () => {
    eb.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 1,
      Entries: (input.Entries ?? []).map((e) => (JSON.parse(e.Detail ?? '{}').detail.version === 1 ? { ErrorCode: 'ThrottlingException' } : { EventId: 'ok' })),
    }));
    const logged: unknown[] = [];

    const error = await publisher(logged).publish(events(12)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventsNotPublishedError);
    expect((error as EventsNotPublishedError).unpublished).toBe(1);
    expect(sent()).toHaveLength(2 + 4);
    expect(logged).toEqual([{ message: 'events_unpublished', details: { unpublished: 1, reason: 'ThrottlingException', eventIds: [events(1)[0]?.id] } }]);
  });
});
