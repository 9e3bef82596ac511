/**
 * The `Mailer` port for local mode: every message becomes one RFC 5322 `.eml`
 * file in an outbox folder, which any mail client opens. File names start with
 * the send time, so a directory listing is in send order; a file appears whole
 * or not at all (written beside its final name, then renamed).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Mailer, MailMessage } from '../../domain/ports.js';
import { assertSendable, assertSenderAddress, MailDeliveryError } from './mail-message.js';
import {
  CRLF,
  decodeHeaderValue,
  decodeQuotedPrintable,
  encodeHeader,
  encodeQuotedPrintable,
  fitsEightBit,
  formatMailDate,
  normaliseLineBreaks,
  toCrlfLines,
} from './mime.js';

const EML = '.eml';
const SYSTEM_CLOCK: Clock = { now: () => new Date() };

export interface OutboxMailerOptions {
  /** Folder the `.eml` files go to; created on first send. */
  readonly directory: string;
  /** Sender written to `From`. */
  readonly from: string;
  /** Stamps `Date` and the file names; default the system clock. */
  readonly clock?: Clock;
}

export class OutboxMailer implements Mailer {
  private readonly directory: string;
  private readonly from: string;
  private readonly clock: Clock;
  private lastStampMs = Number.NEGATIVE_INFINITY;

  constructor(options: OutboxMailerOptions) {
    assertSenderAddress(options.from);
    this.directory = options.directory;
    this.from = options.from;
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  async send(message: MailMessage): Promise<void> {
    assertSendable(message);
    const now = this.clock.now();
    // Two sends in one millisecond still sort in send order.
    const stampMs = Math.max(now.getTime(), this.lastStampMs + 1);
    this.lastStampMs = stampMs;
    const id = randomBytes(6).toString('hex');
    const name = `${fileStamp(new Date(stampMs))}-${id}${EML}`;
    const temporary = join(this.directory, `.${name}.tmp`);
    try {
      await mkdir(this.directory, { recursive: true });
      await writeFile(temporary, this.render(message, now, `${stampMs}.${id}`), { flag: 'wx' });
      await rename(temporary, join(this.directory, name));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new MailDeliveryError('Could not write a message to the outbox', { cause: error });
    }
  }

  private render(message: MailMessage, date: Date, id: string): string {
    const eightBit = fitsEightBit(message.text);
    const domain = this.from.slice(this.from.lastIndexOf('@') + 1);
    const headers = [
      `From: ${this.from}`,
      `To: ${message.to.join(`,${CRLF} `)}`,
      encodeHeader('Subject', message.subject),
      `Date: ${formatMailDate(date)}`,
      `Message-ID: <${id}@${domain}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      `Content-Transfer-Encoding: ${eightBit ? '8bit' : 'quoted-printable'}`,
    ];
    const body = eightBit ? toCrlfLines(message.text) : encodeQuotedPrintable(message.text);
    return `${headers.join(CRLF)}${CRLF}${CRLF}${body}`;
  }
}

/** `2026-11-22T02-14-23-123Z`: ISO 8601 without the characters some file systems refuse. */
function fileStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** One message of the outbox, as `readOutbox` parses it back. */
export interface OutboxMessage {
  /** Path of the `.eml` file. */
  readonly file: string;
  readonly to: string[];
  readonly subject: string;
  /** Body with `\n` line breaks and without the final one the file adds. */
  readonly text: string;
}

/** Every message in an outbox folder, oldest first; an absent folder is an empty outbox. */
export async function readOutbox(directory: string): Promise<OutboxMessage[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith(EML) && !name.startsWith('.')).sort();
  return Promise.all(
    files.map(async (name) => {
      const file = join(directory, name);
      return { file, ...parseEml(await readFile(file, 'utf8')) };
    }),
  );
}

/** Parses a single-part plain-text message as the outbox writes it. */
export function parseEml(source: string): Omit<OutboxMessage, 'file'> {
  const raw = normaliseLineBreaks(source);
  const split = raw.indexOf('\n\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n(?=[ \t])/g, '').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const decoded = encoding === 'quoted-printable' ? normaliseLineBreaks(decodeQuotedPrintable(body)) : body;
  // The writer ends every body with a line break of its own.
  const text = decoded.endsWith('\n') ? decoded.slice(0, -1) : decoded;
  return {
    to: (headers.get('to') ?? '')
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address !== ''),
    subject: decodeHeaderValue(headers.get('subject') ?? ''),
    text,
  };
}
