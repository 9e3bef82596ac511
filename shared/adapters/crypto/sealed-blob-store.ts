/**
 * Crypto-shredding of the buckets (DESIGN.md §3), as a `BlobStore` around the
 * S3 one: a blob is sealed on the way in under exactly the keys of the record
 * it belongs to — the subject key of the record's partition and the epoch key
 * of its index day (`subjectPkOf`, `epochOf`, as the record's own fields) —
 * so the erasure or the sweep that shreds the record's keys leaves every copy
 * of the blob (an old object version, a restored bucket) unreadable. An access
 * export is sealed under its subjects' keys alone (no sweep deletes it by age;
 * several subjects: a data key derived from all of theirs, so the erasure of
 * any one of them leaves it unreadable).
 *
 * One seal per object (the envelope of envelope.ts), held in memory: blobs come
 * inline (at most 4 MiB) or through an upload the blob guard seals in a Lambda
 * with far more memory than a recording; a chunked format would be a new
 * version of the object's `lethe-sealed` metadata. The associated data is the
 * logical bucket and the object key, so a sealed object copied to another key
 * does not open. The header names the tenant (`t`), the subjects' partitions
 * (`p`, which the object key of an export does not), their key ids (`s`,
 * comma-separated) and the epoch and its key id (`e`, `k`); no personal data
 * beyond the partition ids the object keys carry anyway.
 *
 * Object metadata says the object is sealed (`lethe-sealed: 1`, the format)
 * and what its content type is (`lethe-content-type`, URI-encoded); the object's
 * own content type is `application/octet-stream`. Objects stored before
 * shredding was on have no such metadata and are read as they are.
 *
 * Downloads: a pre-signed S3 GET would serve the ciphertext, so `presignGet`
 * answers a download link of the API instead (download-links.ts), which opens
 * the blob. Uploads: `presignPut` points into `quarantine/<key>`, whence the
 * blob guard seals the upload into place if its record still stands.
 */
import { hkdfSync } from 'node:crypto';
import type { BucketName } from '../../domain/catalog.js';
import type { BatchResult, BlobObject, BlobOwner, BlobStore, StoredBlob } from '../../domain/ports.js';
import type { S3BlobStore } from '../s3/blob-store.js';
import { dataKey, headerOf, open, seal, type SealHeader } from './envelope.js';
import { keyRows, rowKey, rowOf, type KeyMaterial, type KeyRef, type KeyStore, type WriteKey } from './key-store.js';
import { epochOf, subjectPkOf } from './sealed-record-store.js';

/** Where uploads land until the blob guard seals them into place (same bucket). */
export const QUARANTINE_PREFIX = 'quarantine/';
/** Metadata names (S3 lower-cases them). */
export const SEALED_METADATA = 'lethe-sealed';
const CONTENT_TYPE_METADATA = 'lethe-content-type';
/** The blob format of this module: one envelope per object. */
const BLOB_FORMAT = '1';
const SEALED_CONTENT_TYPE = 'application/octet-stream';

/** The header of a sealed blob (see the module comment). */
interface BlobSealHeader extends SealHeader {
  readonly t: string;
  readonly p?: readonly string[];
}

/** A sealed object that does not open under the keys it names: altered, or moved to another key. */
export class SealedBlobError extends Error {
  override readonly name = 'SealedBlobError';
}

export interface SealedBlobStoreOptions {
  readonly inner: S3BlobStore;
  /** The keys table, shared with the `SealedRecordStore`. */
  readonly keys: KeyStore;
  /**
   * Makes the API's download link of an object (download-links.ts); absent in
   * functions that never hand out links (the blob guard), where `presignGet` throws.
   */
  readonly downloadUrl?: (bucket: BucketName, key: string, expiresInSeconds: number) => string;
}

function contextOf(bucket: BucketName, key: string): string {
  return `${bucket}\u0000${key}`;
}

function isRecordOwner(owner: BlobOwner): owner is Extract<BlobOwner, { readonly sk: string }> {
  return 'sk' in owner;
}

/** One key from the subjects' keys: the key itself for one subject, HKDF over all of them, in order, for several. */
function subjectsKey(keys: readonly Uint8Array[]): Uint8Array | undefined {
  if (keys.length <= 1) return keys[0];
  return Buffer.from(hkdfSync('sha256', Buffer.concat(keys), Buffer.alloc(0), 'lethe/blob-subjects/v1', 32));
}

export class SealedBlobStore implements BlobStore {
  private readonly inner: S3BlobStore;
  private readonly keys: KeyStore;
  private readonly downloadUrl: SealedBlobStoreOptions['downloadUrl'];

  constructor(options: SealedBlobStoreOptions) {
    this.inner = options.inner;
    this.keys = options.keys;
    this.downloadUrl = options.downloadUrl;
  }

  /**
   * Seals the blob under its owner's keys and stores it; a blob without an
   * owner is refused (it would be stored in plaintext). Afterwards the keys it
   * used are checked: one destroyed meanwhile (the subject erased, the epoch
   * retired, while the blob was on its way) would leave it unreadable beside a
   * record sealed again under new keys, so it is sealed again and stored again.
   */
  async put(bucket: BucketName, key: string, body: Uint8Array | string, contentType: string, owner?: BlobOwner): Promise<void> {
    if (owner === undefined) throw new Error(`a sealed ${bucket} object needs the record or subjects it belongs to`);
    const plain = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    for (let round = 0; round < 4; round++) {
      const { sealed, used } = await this.seal(bucket, key, plain, owner);
      await this.inner.putObject(bucket, key, sealed, {
        contentType: SEALED_CONTENT_TYPE,
        metadata: { [SEALED_METADATA]: BLOB_FORMAT, [CONTENT_TYPE_METADATA]: encodeURIComponent(contentType) },
      });
      if ((await this.keys.stale(used)).length === 0) return;
    }
    throw new Error(`the keys of a ${bucket} object being stored kept being destroyed`);
  }

  private async seal(bucket: BucketName, key: string, plain: Uint8Array, owner: BlobOwner): Promise<{ sealed: Uint8Array; used: { ref: KeyRef; kid: string }[] }> {
    const subjectPks = isRecordOwner(owner) ? [subjectPkOf(owner.pk)].filter((pk): pk is string => pk !== undefined) : [...new Set(owner.subjectPks)].sort();
    const epoch = isRecordOwner(owner) ? epochOf(owner) : undefined;
    if (subjectPks.length === 0 && epoch === undefined) throw new Error(`a sealed ${bucket} object needs a subject or an epoch`);
    const refs: KeyRef[] = subjectPks.map((subjectPk) => ({ kind: 'subject', tenantId: owner.tenantId, subjectPk }));
    if (epoch !== undefined) refs.push({ kind: 'epoch', tenantId: owner.tenantId, epoch });
    const material = await this.keys.forWrite(refs);
    // Each key as written: an epoch's may be a late key of its day (`WriteKey.ref`).
    const used = refs.map((ref) => {
      const written = material.get(rowKey(rowOf(ref))) as WriteKey;
      return { ref: written.ref, kid: written.kid };
    });
    const subjects = subjectPks.map((pk) => material.get(rowKey(keyRows.subject(pk))) as WriteKey);
    const epochKey = epoch === undefined ? undefined : (material.get(rowKey(keyRows.epoch(owner.tenantId, epoch))) as WriteKey);
    const header: BlobSealHeader = {
      t: owner.tenantId,
      ...(subjects.length > 0 && { p: subjectPks, s: subjects.map((m) => m.kid).join(',') }),
      ...(epochKey !== undefined && { e: (epochKey.ref as Extract<KeyRef, { kind: 'epoch' }>).epoch, k: epochKey.kid }),
    };
    const subject = subjectsKey(subjects.map((m) => m.key));
    const sealed = seal(
      dataKey({ ...(subject !== undefined && { subject }), ...(epochKey !== undefined && { epoch: epochKey.key }) }),
      header,
      contextOf(bucket, key),
      plain,
    );
    return { sealed, used };
  }

  async get(bucket: BucketName, key: string): Promise<Uint8Array | undefined> {
    return (await this.read(bucket, key))?.body;
  }

  /**
   * The opened content; undefined when there is no object or a key it was
   * sealed under is gone (shredded: the content is gone for good). An object
   * stored before shredding was on is answered as stored.
   */
  async read(bucket: BucketName, key: string): Promise<StoredBlob | undefined> {
    const object = await this.inner.getObject(bucket, key);
    if (object === undefined) return undefined;
    const format = object.metadata[SEALED_METADATA];
    if (format === undefined) return { body: object.body, contentType: object.contentType };
    if (format !== BLOB_FORMAT) throw new SealedBlobError(`a ${bucket} object is sealed in an unknown format (${format})`);
    const body = await this.open(bucket, key, object.body);
    if (body === undefined) return undefined;
    const stored = object.metadata[CONTENT_TYPE_METADATA];
    return { body, contentType: stored === undefined ? SEALED_CONTENT_TYPE : decodeURIComponent(stored) };
  }

  list(bucket: BucketName, prefix: string): Promise<BlobObject[]> {
    return this.inner.list(bucket, prefix);
  }

  deleteBatch(bucket: BucketName, keys: readonly string[]): Promise<BatchResult<string>> {
    return this.inner.deleteBatch(bucket, keys);
  }

  setLegalHold(bucket: BucketName, key: string, on: boolean): Promise<'applied' | 'unsupported'> {
    return this.inner.setLegalHold(bucket, key, on);
  }

  /** The API's download link (the stored bytes are ciphertext: S3 itself must not serve them). */
  async presignGet(bucket: BucketName, key: string, expiresInSeconds: number): Promise<string> {
    if (this.downloadUrl === undefined) throw new Error('download links need the API base URL (PUBLIC_API_URL), which this function is not given');
    return this.downloadUrl(bucket, key, expiresInSeconds);
  }

  /** A pre-signed PUT into quarantine: the blob guard seals the upload into place at `key` if its record still stands. */
  presignPut(bucket: BucketName, key: string, contentType: string, expiresInSeconds: number): Promise<string> {
    return this.inner.presignPut(bucket, `${QUARANTINE_PREFIX}${key}`, contentType, expiresInSeconds);
  }

  private async open(bucket: BucketName, key: string, sealed: Uint8Array): Promise<Uint8Array | undefined> {
    let header: BlobSealHeader;
    try {
      header = headerOf(sealed) as BlobSealHeader;
    } catch (error) {
      throw new SealedBlobError(`a sealed ${bucket} object has no readable header`, { cause: error });
    }
    const pks = header.p ?? [];
    const kids = header.s === undefined ? [] : header.s.split(',');
    if (kids.length !== pks.length) throw new SealedBlobError(`a sealed ${bucket} object names ${pks.length} subject(s) and ${kids.length} key id(s)`);
    const wanted: { ref: KeyRef; kid: string }[] = pks.map((subjectPk, i) => ({ ref: { kind: 'subject', tenantId: header.t, subjectPk }, kid: kids[i] as string }));
    if (header.e !== undefined && header.k !== undefined) wanted.push({ ref: { kind: 'epoch', tenantId: header.t, epoch: header.e }, kid: header.k });
    const material = await this.keys.forRead(wanted);
    const subjects: Uint8Array[] = [];
    for (const [i, pk] of pks.entries()) {
      const m = material.get(rowKey(keyRows.subject(pk)));
      // A shredded (or replaced) key: the content is gone for good.
      if (m === undefined || m.kid !== kids[i]) return undefined;
      subjects.push(m.key);
    }
    let epoch: Uint8Array | undefined;
    if (header.e !== undefined) {
      const m = material.get(rowKey(keyRows.epoch(header.t, header.e)));
      if (m === undefined || m.kid !== header.k) return undefined;
      epoch = m.key;
    }
    const subject = subjectsKey(subjects);
    try {
      const plain = open(dataKey({ ...(subject !== undefined && { subject }), ...(epoch !== undefined && { epoch }) }), contextOf(bucket, key), sealed);
      return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
    } catch (error) {
      throw new SealedBlobError(`a sealed ${bucket} object does not open under its keys (altered, or moved to another key)`, { cause: error });
    }
  }
}
