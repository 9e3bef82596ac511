/**
 * The sealed format of crypto-shredding (DESIGN.md §3): what a personal field
 * or a blob becomes before it is stored.
 *
 * Built on node:crypto's AES-256-GCM rather than the AWS Encryption SDK: a
 * field of a DynamoDB item is small and there are many of them, and the SDK's
 * message format (a header with the encrypted data keys, key commitment,
 * framing) would add a few hundred bytes and a KMS-style keyring lookup to
 * every one. Here the keys live in Lethe's own keys table, so the format only
 * has to name them, and stays a few dozen bytes:
 *
 *   byte 0      format version (1)
 *   byte 1–2    length n of the header (big-endian)
 *   byte 3…     header: JSON `{ s?, e?, k? }` — the subject key's id, the
 *               epoch (`<partition>#<day>`) and the epoch key's id; no personal data
 *   12 bytes    IV (random)
 *   …           ciphertext
 *   16 bytes    GCM tag
 *
 * The data key is HKDF-SHA256 over the subject key and the epoch key (either
 * may be absent, never both), so destroying either one makes the item
 * unreadable. The associated data is the version, the header and the caller's
 * context (the item's table keys and field name, or the blob's object key), so
 * a ciphertext moved to another item or object does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const SEALED_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Which keys sealed a value: stored in clear in its header, so a reader knows which keys to fetch. */
export interface SealHeader {
  /** Id of the subject key (one per customer or user); absent on items with no subject. */
  readonly s?: string;
  /** The retention epoch, `<partition>#<YYYY-MM-DD>`; absent on what no sweep deletes by age (access exports). */
  readonly e?: string;
  /** Id of the epoch key. */
  readonly k?: string;
}

/** Key material of one seal: either part may be absent, not both. */
export interface SealKeys {
  readonly subject?: Uint8Array;
  readonly epoch?: Uint8Array;
}

/** The 32-byte data key of an item: HKDF-SHA256 over its subject key and epoch key. */
export function dataKey(keys: SealKeys): Buffer {
  if (keys.subject === undefined && keys.epoch === undefined) throw new Error('a seal needs a subject key or an epoch key');
  const ikm = Buffer.concat([
    Buffer.from([keys.subject === undefined ? 0 : 1]),
    keys.subject ?? Buffer.alloc(0),
    Buffer.from([keys.epoch === undefined ? 0 : 1]),
    keys.epoch ?? Buffer.alloc(0),
  ]);
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'lethe/data-key/v1', 32));
}

/** Encrypts `plaintext` under `key` (a `dataKey`), naming its keys in the header and binding `context`. */
export function seal(key: Uint8Array, header: SealHeader, context: string, plaintext: Uint8Array): Uint8Array {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  if (head.length > 0xffff) throw new Error('seal header too long');
  const prefix = Buffer.alloc(3);
  prefix[0] = SEALED_VERSION;
  prefix.writeUInt16BE(head.length, 1);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(prefix, head, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([prefix, head, iv, body, cipher.getAuthTag()]);
}

/** Whether a stored value is in the sealed format (a value stored before shredding was on is not). */
export function isSealed(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length >= 3 + IV_BYTES + TAG_BYTES && value[0] === SEALED_VERSION;
}

/** The header of a sealed value (which keys it needs). Throws on a value not in the sealed format. */
export function headerOf(sealed: Uint8Array): SealHeader {
  const buffer = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buffer[0] !== SEALED_VERSION) throw new Error(`unknown sealed format ${String(buffer[0])}`);
  const length = buffer.readUInt16BE(1);
  return JSON.parse(buffer.subarray(3, 3 + length).toString('utf8')) as SealHeader;
}

/** Decrypts a sealed value; throws when the key or the context is not the one it was sealed with. */
export function open(key: Uint8Array, context: string, sealed: Uint8Array): Buffer {
  const buffer = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const length = buffer.readUInt16BE(1);
  const prefix = buffer.subarray(0, 3);
  const head = buffer.subarray(3, 3 + length);
  const iv = buffer.subarray(3 + length, 3 + length + IV_BYTES);
  const body = buffer.subarray(3 + length + IV_BYTES, buffer.length - TAG_BYTES);
  const tag = buffer.subarray(buffer.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(associatedData(prefix, head, context));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

function associatedData(prefix: Buffer, head: Buffer, context: string): Buffer {
  return Buffer.concat([prefix, head, Buffer.from(`\u0000${context}`, 'utf8')]);
}
