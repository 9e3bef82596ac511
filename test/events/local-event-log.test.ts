/** Local mode's events: NDJSON files per UTC day under the data directory, and an optional webhook. */
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEventLog } from '../../shared/adapters/events/local-event-log.js';
import { EventsNotPublishedError, makeEvent } from '../../shared/domain/events.js';

const noWait = { sleep: async () => undefined, random: () => 0 };
const day1 = makeEvent('PolicyChanged', 't1', new Date('2025-06-01T23:59:00.000Z'), { version: 2, previousVersion: 1 }, 2);
const day2 = makeEvent('HoldReleased', 't1', new Date('2025-06-02T00:01:00.000Z'), { holdId: 'h1', reason: 'expired' }, 'h1');

const received: { body: unknown; id: string | undefined }[] = [];
let answer = 204;
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    received.push({ body: JSON.parse(body), id: req.headers['x-lethe-event-id'] as string | undefined });
    res.statusCode = answer;
    res.end();
  });
});
const webhook = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}/hook`)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const lines = async (dir: string, file: string) => (await readFile(join(dir, file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

describe('LocalEventLog', () => {
  it('appends one JSON line per event to <dir>/<event day>.ndjson, creating the directory', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'lethe-events-')), 'events');
    const log = new LocalEventLog({ directory: dir });

    await log.publish([day1, day2]);
    await log.publish([day1]);

    expect((await readdir(dir)).sort()).toEqual(['2025-06-01.ndjson', '2025-06-02.ndjson']);
    expect(await lines(dir, '2025-06-01.ndjson')).toEqual([day1, day1]);
    expect(await lines(dir, '2025-06-02.ndjson')).toEqual([day2]);
  });

  it('POSTs each event to the webhook with its id in a header', async () => {
    received.length = 0;
    answer = 204;
    const dir = await mkdtemp(join(tmpdir(), 'lethe-events-'));

    await new LocalEventLog({ directory: dir, webhookUrl: webhook, retry: noWait }).publish([day1, day2]);

    expect(received).toEqual([
      { body: day1, id: day1.id },
      { body: day2, id: day2.id },
    ]);
  });

  it('keeps the file when the webhook fails, retries, and rejects with the count it could not deliver', async () => {
    received.length = 0;
    answer = 503;
    const dir = await mkdtemp(join(tmpdir(), 'lethe-events-'));

    const error = await new LocalEventLog({ directory: dir, webhookUrl: webhook, retry: { ...noWait, maxAttempts: 3 } }).publish([day1]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventsNotPublishedError);
    expect((error as EventsNotPublishedError).unpublished).toBe(1);
    expect(received).toHaveLength(3);
    expect(await lines(dir, '2025-06-01.ndjson')).toEqual([day1]);
  });
});
