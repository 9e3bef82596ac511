/**
 * Downloads through the API (`GET /v1/downloads/{token}`, no bearer token: the
 * link itself is the credential, like the pre-signed S3 link it replaces).
 * The token's signature and expiry are checked before the object is looked
 * at, so a forged, altered or expired link answers the same whether or not
 * the object exists. The object is read through the blob store, which opens a
 * sealed one; an object that is gone, or whose keys were shredded (erasure,
 * sweep), is 404.
 *
 * Limit: a Lambda answers at most 6 MB, and binary goes base64-encoded (4/3 of
 * its size), so an object above `MAX_DOWNLOAD_BYTES` (about 4.5 MB) is refused
 * with a 400 saying so rather than failing in API Gateway. Inline blobs (at
 * most 4 MiB) always fit; a larger uploaded recording cannot be downloaded
 * through the API (a stated limitation; a streaming function URL would lift it).
 */
import { DomainError, NotFoundError } from '../../../domain/errors.js';
import type { StoredBlob } from '../../../domain/ports.js';
import { DownloadTokens } from '../../download-links.js';
import type { ApiApp, Caller } from '../app.js';
import { ForbiddenError } from '../errors.js';

/** Lambda's 6 MB synchronous response, less room for headers, as base64. */
export const MAX_DOWNLOAD_BYTES = Math.floor((6 * 1024 * 1024 - 4096) / 4) * 3;

/** The object is larger than an answer of the API can carry (HTTP 400). */
export class DownloadTooLargeError extends DomainError {
  override readonly name: string = 'DownloadTooLargeError';

  constructor(size: number) {
    super('download_too_large', `token: the object is ${size} bytes, more than the ${MAX_DOWNLOAD_BYTES} bytes a download through the API can carry`, { field: 'token' });
  }
}

const tokensBySecret = new WeakMap<object, DownloadTokens>();

function tokensOf(app: ApiApp): DownloadTokens {
  let tokens = tokensBySecret.get(app);
  if (tokens === undefined) tokensBySecret.set(app, (tokens = new DownloadTokens(app.deps.refSecret)));
  return tokens;
}

/** The object a valid, unexpired link names, opened. */
export async function download(app: ApiApp, caller: Caller, token: string): Promise<StoredBlob> {
  const check = tokensOf(app).check(token, caller.now);
  if (!check.ok) {
    if (check.reason === 'expired') throw new ForbiddenError('token: this download link has expired', { field: 'token' });
    throw new ForbiddenError('token: this download link is not valid', { field: 'token' });
  }
  const blob = await app.deps.blobs.read(check.target.bucket, check.target.key);
  if (blob === undefined) throw new NotFoundError('token: what this link served is gone', { field: 'token' });
  if (blob.body.byteLength > MAX_DOWNLOAD_BYTES) throw new DownloadTooLargeError(blob.body.byteLength);
  return blob;
}
