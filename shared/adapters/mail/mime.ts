/**
 * The little of MIME the outbox needs: RFC 2047 encoded words for headers,
 * quoted-printable (RFC 2045 §6.7) for bodies, and RFC 5322 dates. Lines end in
 * CRLF, as RFC 5322 wants on the wire and in `.eml` files.
 */
import { TextDecoder, TextEncoder } from 'node:util';

export const CRLF = '\r\n';

/** Longest line that holds an encoded word (RFC 2047 §2). */
const MAX_ENCODED_LINE = 76;
const WORD_OVERHEAD = '=?UTF-8?B??='.length;
/** Longest quoted-printable line, soft-break `=` included. */
const MAX_QP_LINE = 76;
/** RFC 5322's hard limit for a line, CRLF excluded. */
const MAX_LINE_OCTETS = 998;

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8');

/**
 * A header field, `Name: value`: the value unchanged when it is short printable
 * ASCII, else UTF-8 B-encoded words folded onto continuation lines of at most 76
 * characters. Line breaks in the value become spaces, so a value can never start
 * a header of its own.
 */
export function encodeHeader(name: string, value: string): string {
  const flat = value.replace(/\r\n|\r|\n/g, ' ');
  // A literal "=?" could be read back as an encoded word: encode it instead.
  if (/^[\x20-\x7e]*$/.test(flat) && !flat.includes('=?') && flat.length <= 900) return `${name}: ${flat}`;
  const words: string[] = [];
  // Every line but the first starts with one space of folding.
  let budget = bytesPerWord(MAX_ENCODED_LINE - `${name}: `.length);
  let bytes: number[] = [];
  for (const char of flat) {
    const encoded = encoder.encode(char);
    if (bytes.length > 0 && bytes.length + encoded.length > budget) {
      words.push(encodedWord(bytes));
      bytes = [];
      budget = bytesPerWord(MAX_ENCODED_LINE - 1);
    }
    bytes.push(...encoded);
  }
  if (bytes.length > 0 || words.length === 0) words.push(encodedWord(bytes));
  return `${name}: ${words.join(`${CRLF} `)}`;
}

/** Bytes whose B-encoded word fits in `width` characters (whole base64 quanta only). */
function bytesPerWord(width: number): number {
  return Math.max(3, Math.floor((width - WORD_OVERHEAD) / 4) * 3);
}

function encodedWord(bytes: number[]): string {
  return `=?UTF-8?B?${Buffer.from(bytes).toString('base64')}?=`;
}

/** Decodes RFC 2047 encoded words (B or Q) in an unfolded header value. */
export function decodeHeaderValue(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1') // space between words is not text
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_, charset: string, encoding: string, text: string) => {
      const bytes =
        encoding.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : decodeQuotedBytes(text.replace(/_/g, ' '));
      return decoderFor(charset).decode(bytes);
    });
}

function decoderFor(charset: string): TextDecoder {
  try {
    return new TextDecoder(charset);
  } catch {
    return utf8;
  }
}

/** Whether text can travel as `8bit`: no NUL, no bare CR, no line over 998 octets. */
export function fitsEightBit(text: string): boolean {
  if (text.includes('\0')) return false;
  return normaliseLineBreaks(text)
    .split('\n')
    .every((line) => encoder.encode(line).length <= MAX_LINE_OCTETS);
}

/** Text with CRLF line breaks and a final CRLF, for an `8bit` body. */
export function toCrlfLines(text: string): string {
  const lines = normaliseLineBreaks(text).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => `${line}${CRLF}`).join('');
}

/** UTF-8 text as quoted-printable, with CRLF hard breaks and soft breaks at 76 characters. */
export function encodeQuotedPrintable(text: string): string {
  const lines = normaliseLineBreaks(text).split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: string[] = [];
  for (const line of lines) {
    const bytes = encoder.encode(line);
    let current = '';
    bytes.forEach((byte, index) => {
      const last = index === bytes.length - 1;
      const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
      const token = literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      if (current.length + token.length > MAX_QP_LINE - 1) {
        out.push(`${current}=${CRLF}`);
        current = '';
      }
      current += token;
    });
    out.push(`${current}${CRLF}`);
  }
  return out.join('');
}

/** The UTF-8 text of a quoted-printable body. */
export function decodeQuotedPrintable(body: string): string {
  return utf8.decode(decodeQuotedBytes(body.replace(/=\r?\n/g, '')));
}

function decodeQuotedBytes(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(text[i] as string));
    }
  }
  return Uint8Array.from(bytes);
}

export function normaliseLineBreaks(text: string): string {
  return text.replace(/\r\n|\r/g, '\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** An RFC 5322 `date-time` in UTC, e.g. `Sun, 22 Nov 2026 02:14:23 +0000`. */
export function formatMailDate(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}
