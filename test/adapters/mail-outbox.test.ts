import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailDeliveryError } from '../../shared/adapters/mail/mail-message.js';
import { OutboxMailer, readOutbox } from '../../shared/adapters/mail/outbox-mailer.js';
import type { Clock } from '../../shared/domain/ports.js';

const FROM = 'alerts@lethe.example';
const fixedClock = (iso: string): Clock => ({ now: () => new Date(iso) });

async function onlyFile(dir: string): Promise<string> {
  const names = await readdir(dir);
  expect(names).toHaveLength(1);
  return readFile(join(dir, names[0] as string), 'utf8');
}

function headersOf(eml: string): string {
  return eml.slice(0, eml.indexOf('\r\n\r\n'));
}

describe('OutboxMailer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'lethe-outbox-')), 'outbox');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('writes one RFC 5322 file with the standard headers, creating the folder', async () => {
    const mailer = new OutboxMailer({ directory: dir, from: FROM, clock: fixedClock('2026-11-22T02:14:23.123Z') });

    await mailer.send({ to: ['a@tenant.example', 'ops@lethe.example'], subject: 'Run needs attention', text: 'Line 1\nLine 2' });

    const eml = await onlyFile(dir);
    const head = headersOf(eml);
    expect(head).toContain('From: alerts@lethe.example\r\n');
    expect(head).toContain('To: a@tenant.example,\r\n ops@lethe.example\r\n');
    expect(head).toContain('Subject: Run needs attention\r\n');
    expect(head).toContain('Date: Sun, 22 Nov 2026 02:14:23 +0000\r\n');
    expect(head).toMatch(/\r\nMessage-ID: <[^<>\s]+@lethe\.example>\r\n/);
    expect(head).toContain('MIME-Version: 1.0\r\n');
    expect(head).toContain('Content-Type: text/plain; charset=utf-8\r\n');
    expect(head).toMatch(/\r\nContent-Transfer-Encoding: 8bit$/);
    expect(eml.slice(head.length)).toBe('\r\n\r\nLine 1\r\nLine 2\r\n');
  });

  it('names files after the send time, so they sort in send order even within one millisecond', async () => {
    const mailer = new OutboxMailer({ directory: dir, from: FROM, clock: fixedClock('2026-11-22T02:14:23.123Z') });

    for (const subject of ['first', 'second', 'third']) await mailer.send({ to: ['a@tenant.example'], subject, text: '' });

    const names = (await readdir(dir)).sort();
    expect(names[0]).toMatch(/^2026-11-22T02-14-23-123Z-[0-9a-f]+\.eml$/);
    expect((await readOutbox(dir)).map((m) => m.subject)).toEqual(['first', 'second', 'third']);
  });

  it('leaves no temporary file behind', async () => {
    const mailer = new OutboxMailer({ directory: dir, from: FROM });

    await mailer.send({ to: ['a@tenant.example'], subject: 's', text: 't' });

    expect((await readdir(dir)).filter((n) => !n.endsWith('.eml'))).toEqual([]);
  });

  it('encodes a non-ASCII subject as RFC 2047 words that readOutbox decodes back', async () => {
    const subject = 'Löschlauf für Mandant „Nord“ fehlgeschlagen — 删除失败 🚨 '.repeat(3).trim();
    const mailer = new OutboxMailer({ directory: dir, from: FROM });

    await mailer.send({ to: ['a@tenant.example'], subject, text: 'x' });

    const head = headersOf(await onlyFile(dir));
    expect(head).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(head).toContain('Subject: =?UTF-8?B?');
    expect(Math.max(...head.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    const [message] = await readOutbox(dir);
    expect(message?.subject).toBe(subject);
  });

  it('keeps line breaks in a subject from starting a header of their own', async () => {
    const mailer = new OutboxMailer({ directory: dir, from: FROM });

    await mailer.send({ to: ['a@tenant.example'], subject: 'hello\r\nBcc: spy@x.example', text: 'x' });

    expect(headersOf(await onlyFile(dir))).not.toMatch(/^Bcc:/m);
    expect((await readOutbox(dir))[0]?.subject).toBe('hello Bcc: spy@x.example');
  });

  it('switches to quoted-printable for a line too long for 8bit, and round-trips the text', async () => {
    const text = `Grüße\n${'ä='.repeat(700)}\ntrailing space \nend`;
    const mailer = new OutboxMailer({ directory: dir, from: FROM });

    await mailer.send({ to: ['a@tenant.example'], subject: 's', text });

    const eml = await onlyFile(dir);
    expect(headersOf(eml)).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(Math.max(...eml.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    expect((await readOutbox(dir))[0]?.text).toBe(text);
  });

  it('round-trips recipients, subject and body through readOutbox', async () => {
    const mailer = new OutboxMailer({ directory: dir, from: FROM });
    const sent = { to: ['a@tenant.example', 'b@tenant.example'], subject: 'Ärger', text: 'Zeile 1\r\nZeile 2\n' };

    await mailer.send(sent);

    const [message] = await readOutbox(dir);
    expect(message).toEqual({
      file: expect.stringMatching(/\.eml$/),
      to: sent.to,
      subject: 'Ärger',
      text: 'Zeile 1\nZeile 2',
    });
  });

  it('reads a missing outbox as empty', async () => {
    expect(await readOutbox(join(dir, 'nowhere'))).toEqual([]);
  });

  it('reports a write failure as a MailDeliveryError', async () => {
    await writeFile(join(dir, '..', 'blocker'), 'not a folder');
    const mailer = new OutboxMailer({ directory: join(dir, '..', 'blocker'), from: FROM });

    await expect(mailer.send({ to: ['a@tenant.example'], subject: 's', text: 't' })).rejects.toBeInstanceOf(MailDeliveryError);
  });
});
