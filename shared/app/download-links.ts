/**
 * Download links of the API (`GET /v1/downloads/{token}`): sealed blobs are
 * ciphertext in S3, so a pre-signed S3 GET would serve ciphertext; the API
 * opens them instead. A link's token names the object (logical bucket and key)
 * and its expiry, and is signed: HMAC-SHA256 under a key derived with HKDF
 * from the reference secret (purpose `lethe/download/v1`), so only Lethe makes
 * links, and one cannot be stretched or pointed at another object.
 *
 *   token = base64url(JSON { v: 1, b, k, x }) "." base64url(HMAC)
 *
 * The route checks the signature and the expiry before it looks at the
 * object, so a forged or expired link never tells whether it exists.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { BucketName } from '../domain/catalog.js';
import type { Clock } from '../domain/ports.js';

const PURPOSE = 'lethe/download/v1';
const TOKEN_VERSION = 1;
const SIGNATURE_CHARS = 43;
/** S3's limit on pre-signed links, kept for ours: 7 days. */
export const MAX_DOWNLOAD_LINK_SECONDS = 7 * 24 * 3600;

/** The path of the download route, under the API's base URL. */
export const DOWNLOADS_PATH = '/v1/downloads';

/** A token as the route's path parameter accepts it (the form, not yet the signature). */
export const DOWNLOAD_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,3000}\.[A-Za-z0-9_-]{43}$/u;

const payloadSchema = z.strictObject({
  v: z.literal(TOKEN_VERSION),
  b: z.enum(['recordings', 'media', 'exports'] satisfies readonly BucketName[]),
  k: z.string().min(1).max(1024),
  x: z.number().int().positive(),
});

/** What a valid token names. */
export interface DownloadTarget {
  readonly bucket: BucketName;
  readonly key: string;
  /** When the link stops working. */
  readonly expiresAt: Date;
}

export type DownloadTokenCheck =
  | { readonly ok: true; readonly target: DownloadTarget }
  | { readonly ok: false; readonly reason: 'malformed' | 'bad_signature' | 'expired' };

function signingKey(refSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(refSecret, 'utf8'), Buffer.alloc(0), PURPOSE, 32));
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload, 'utf8').digest('base64url');
}

/** Makes and checks the tokens of one deployment (one reference secret). */
export class DownloadTokens {
  private readonly key: Buffer;

  constructor(refSecret: string) {
    this.key = signingKey(refSecret);
  }

  /** A token for the object, valid until `expiresAt` (whole seconds). */
  issue(bucket: BucketName, key: string, expiresAt: Date): string {
    const payload = Buffer.from(JSON.stringify({ v: TOKEN_VERSION, b: bucket, k: key, x: Math.floor(expiresAt.getTime() / 1000) }), 'utf8').toString('base64url');
    return `${payload}.${sign(this.key, payload)}`;
  }

  /** Checks the form, then the signature, then the expiry; the object is never looked at here. */
  check(token: string, now: Date): DownloadTokenCheck {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length - dot - 1 !== SIGNATURE_CHARS) return { ok: false, reason: 'malformed' };
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(sign(this.key, payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
    let parsed: z.infer<typeof payloadSchema>;
    try {
      parsed = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      // Signed by us, so never in practice; refused all the same.
      return { ok: false, reason: 'malformed' };
    }
    if (parsed.x * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, target: { bucket: parsed.b, key: parsed.k, expiresAt: new Date(parsed.x * 1000) } };
  }
}

export interface DownloadLinksOptions {
  readonly refSecret: string;
  /** The API's base URL (`PUBLIC_API_URL`), or a function giving it once known (local mode listens first). */
  readonly publicApiUrl: string | (() => string);
  readonly clock: Clock;
}

/** Makes download links: `<PUBLIC_API_URL>/v1/downloads/<token>`. */
export function downloadLinks(options: DownloadLinksOptions): (bucket: BucketName, key: string, expiresInSeconds: number) => string {
  const tokens = new DownloadTokens(options.refSecret);
  return (bucket, key, expiresInSeconds) => {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_DOWNLOAD_LINK_SECONDS) {
      throw new RangeError(`a download link lives 1 to ${MAX_DOWNLOAD_LINK_SECONDS} seconds`);
    }
    const base = typeof options.publicApiUrl === 'string' ? options.publicApiUrl : options.publicApiUrl();
    const expiresAt = new Date(options.clock.now().getTime() + expiresInSeconds * 1000);
    return `${base.replace(/\/+$/u, '')}${DOWNLOADS_PATH}/${tokens.issue(bucket, key, expiresAt)}`;
  };
}
