/**
 * Download tokens: made and checked with the deployment's reference secret;
 * an altered payload or signature, another deployment's token, an expired one
 * and a malformed one are refused before any object is looked at.
 */
import { describe, expect, it } from 'vitest';
import { DownloadTokens, downloadLinks, DOWNLOAD_TOKEN_PATTERN, MAX_DOWNLOAD_LINK_SECONDS } from '../../shared/app/download-links.js';
import { FixedClock } from '../support/memory.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');
const tokens = new DownloadTokens('one-deployment-secret');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('a download token', () => {
  it('names the object and its expiry, and checks out until then', () => {
    const token = tokens.issue('exports', 'exports/acme/req-1.json', later(60));

    expect(token).toMatch(DOWNLOAD_TOKEN_PATTERN);
    expect(tokens.check(token, later(59))).toEqual({ ok: true, target: { bucket: 'exports', key: 'exports/acme/req-1.json', expiresAt: later(60) } });
    expect(tokens.check(token, later(60))).toEqual({ ok: false, reason: 'expired' });
  });

  it('is refused when its payload is altered to name another object or a later expiry', () => {
    const token = tokens.issue('recordings', 'recordings/acme/c1/r1', later(60));
    const [, signature] = token.split('.');
    for (const payload of [{ v: 1, b: 'recordings', k: 'recordings/acme/c2/r1', x: NOW.getTime() / 1000 + 60 }, { v: 1, b: 'recordings', k: 'recordings/acme/c1/r1', x: NOW.getTime() / 1000 + 86_400 }]) {
      const forged = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
      expect(tokens.check(forged, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it("is refused when another deployment made it, or its signature is altered", () => {
    const theirs = new DownloadTokens('another-deployment-secret').issue('media', 'inbound/acme/c1/m1', later(60));
    const mine = tokens.issue('media', 'inbound/acme/c1/m1', later(60));
    const flipped = `${mine.slice(0, -1)}${mine.endsWith('A') ? 'B' : 'A'}`;

    expect(tokens.check(theirs, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(tokens.check(flipped, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('is refused as malformed without a signature part of the right length', () => {
    for (const token of ['', 'abc', 'abc.', '.abc', `abc.${'A'.repeat(42)}`]) expect(tokens.check(token, NOW), token).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('download links', () => {
  it('are the API URL, the route and a token valid for the asked seconds', () => {
    const link = downloadLinks({ refSecret: 'one-deployment-secret', publicApiUrl: () => 'http://127.0.0.1:4000/', clock: new FixedClock(NOW) });

    const url = link('media', 'inbound/acme/c1/m1', 900);

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:4000\/v1\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/u);
    expect(tokens.check(url.split('/').at(-1) as string, NOW)).toMatchObject({ ok: true, target: { expiresAt: later(900) } });
  });

  it('live 1 second to 7 days', () => {
    const link = downloadLinks({ refSecret: 's', publicApiUrl: 'https://api.example', clock: new FixedClock(NOW) });

    expect(() => link('media', 'k', 0)).toThrow(RangeError);
    expect(() => link('media', 'k', MAX_DOWNLOAD_LINK_SECONDS + 1)).toThrow(RangeError);
    expect(() => link('media', 'k', MAX_DOWNLOAD_LINK_SECONDS)).not.toThrow();
  });
});
