/**
 * The keys table of crypto-shredding (DESIGN.md §3). Three kinds of rows:
 *
 * - a tenant's key-encryption key (`T#<tenant>#KEK`), 32 random bytes wrapped
 *   by the KMS key (local mode: the master key file). It wraps the tenant's
 *   other keys and, through HKDF, gives the key of the blind indexes;
 * - a subject key per customer or user (`K#<records pk>`), wrapped by the
 *   tenant's KEK; destroyed by erasure and by the deletion of the subject;
 * - a retention-epoch key per tenant × partition family × day
 *   (`T#<tenant>#EPOCHS` / `<partition>#<YYYY-MM-DD>`), wrapped by the KEK;
 *   destroyed by the sweep once no record of its day is left, in two steps a
 *   sweep apart (`retireEpoch`), so that a record written just before the
 *   first step, not yet in the index, keeps it.
 *
 * The table has no point-in-time recovery: a destroyed row cannot come back,
 * so neither can a restored backup's or an old object version's plaintext.
 *
 * Writers read the rows they need strongly consistent on every call (a key
 * destroyed a moment ago must not seal new data) and check them again after
 * writing (`stale`: one destroyed while they wrote); readers keep unwrapped keys
 * for a minute, by their id. Key material never leaves this module but as the
 * return value of the seal and open helpers' callers, and is never logged.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readChunk, BATCH_GET_MAX } from '../dynamodb/batch.js';
import { chunk, errorName, mapConcurrent, retryOptions, type RetryOptions } from '../retry.js';

/** Wraps and unwraps tenants' key-encryption keys: KMS in AWS, the master key file in local mode. */
export interface KeyWrapper {
  /** A new 32-byte key and its wrapped form, bound to the tenant. */
  generate(tenantId: string): Promise<{ readonly plaintext: Uint8Array; readonly wrapped: Uint8Array }>;
  unwrap(tenantId: string, wrapped: Uint8Array): Promise<Uint8Array>;
}

/** A key row the seal of an item needs. */
export type KeyRef =
  | { readonly kind: 'subject'; readonly tenantId: string; readonly subjectPk: string }
  | { readonly kind: 'epoch'; readonly tenantId: string; readonly epoch: string };

/** An unwrapped key with its id (which sealed values name). */
export interface KeyMaterial {
  readonly kid: string;
  readonly key: Uint8Array;
}

export interface KeyStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly wrapper: KeyWrapper;
  /** How long readers keep an unwrapped key (default one minute); KEKs are kept five. */
  readonly cacheMs?: number;
  readonly now?: () => number;
  readonly retry?: Partial<RetryOptions>;
}

interface KeyRow {
  readonly pk: string;
  readonly sk: string;
  readonly kid: string;
  readonly wrapped: Uint8Array;
  /** An epoch key a sweep found with nothing left to seal, marked to go at the next sweep unless a writer uses it meanwhile. */
  readonly retiringAt?: string;
}

const KEK_CACHE_MS = 5 * 60_000;
const DEFAULT_CACHE_MS = 60_000;
/** A key of the blind indexes is the HMAC's first 16 bytes (128 bits), base64url, after `~`. */
const BLIND_BYTES = 16;

export const keyRows = {
  kek: (tenantId: string) => ({ pk: `T#${tenantId}#KEK`, sk: 'KEK' }),
  subject: (subjectPk: string) => ({ pk: `K#${subjectPk}`, sk: 'SUBJECT' }),
  epochs: (tenantId: string) => `T#${tenantId}#EPOCHS`,
  epoch: (tenantId: string, epoch: string) => ({ pk: `T#${tenantId}#EPOCHS`, sk: epoch }),
};

export function rowOf(ref: KeyRef): { readonly pk: string; readonly sk: string } {
  return ref.kind === 'subject' ? keyRows.subject(ref.subjectPk) : keyRows.epoch(ref.tenantId, ref.epoch);
}

export function rowKey(row: { readonly pk: string; readonly sk: string }): string {
  return `${row.pk}\u0000${row.sk}`;
}

export class KeyStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly wrapper: KeyWrapper;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly retry: RetryOptions;
  private readonly keks = new Map<string, { readonly key: Buffer; readonly until: number; readonly blind: Buffer }>();
  private readonly pendingKeks = new Map<string, Promise<Buffer>>();
  /** Unwrapped keys by row, for readers. */
  private readonly cache = new Map<string, { readonly material: KeyMaterial; readonly until: number }>();

  constructor(options: KeyStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.wrapper = options.wrapper;
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.now = options.now ?? Date.now;
    this.retry = retryOptions(options.retry);
  }

  /**
   * The blind index of an identifier: a keyed HMAC of its kind and normalised
   * value under the tenant's index key, so equal values find each other and
   * the stored key says nothing of the value. Starts with `~`, which no
   * normalised identifier does.
   */
  async blindIndex(tenantId: string, kind: string, normalised: string): Promise<string> {
    await this.kek(tenantId);
    const blind = (this.keks.get(tenantId) as { readonly blind: Buffer }).blind;
    return `~${createHmac('sha256', blind).update(`${kind}\u0000${normalised}`, 'utf8').digest().subarray(0, BLIND_BYTES).toString('base64url')}`;
  }

  /**
   * The current keys for sealing new data, read strongly consistent, creating
   * those that do not exist yet (a subject's first record, an epoch's first day).
   */
  async forWrite(refs: readonly KeyRef[]): Promise<Map<string, KeyMaterial>> {
    const unique = new Map(refs.map((ref) => [rowKey(rowOf(ref)), ref]));
    const rows = await this.readRows([...unique.values()].map(rowOf));
    const out = new Map<string, KeyMaterial>();
    await mapConcurrent([...unique], 8, async ([k, ref]) => {
      let row = rows.get(k);
      // A key marked to retire is in use again: the mark goes (or, gone meanwhile, a new key is made).
      if (row?.retiringAt !== undefined && !(await this.keep(row))) row = undefined;
      row ??= await this.create(ref);
      const material = { kid: row.kid, key: await this.unwrapRow(ref.tenantId, row) };
      out.set(k, material);
      this.cache.set(k, { material, until: this.now() + this.cacheMs });
    });
    return out;
  }

  /**
   * The keys of those refs whose id is the one named (`kid`): from the cache,
   * else read. A key that is gone, or replaced by a newer one after its
   * subject was erased, is absent from the answer — what it sealed is unreadable.
   */
  async forRead(wanted: readonly { readonly ref: KeyRef; readonly kid: string }[]): Promise<Map<string, KeyMaterial>> {
    const out = new Map<string, KeyMaterial>();
    const missing = new Map<string, KeyRef>();
    const now = this.now();
    for (const { ref, kid } of wanted) {
      const k = rowKey(rowOf(ref));
      const cached = this.cache.get(k);
      if (cached !== undefined && cached.until > now && cached.material.kid === kid) out.set(k, cached.material);
      else missing.set(k, ref);
    }
    if (missing.size === 0) return out;
    const rows = await this.readRows([...missing.values()].map(rowOf));
    await mapConcurrent([...missing], 8, async ([k, ref]) => {
      const row = rows.get(k);
      if (row === undefined) {
        this.cache.delete(k);
        return;
      }
      const material = { kid: row.kid, key: await this.unwrapRow(ref.tenantId, row) };
      this.cache.set(k, { material, until: this.now() + this.cacheMs });
      out.set(k, material);
    });
    return out;
  }

  /**
   * The refs among `used` whose key is no longer the one named (destroyed, or
   * replaced): read strongly consistent after a write, so that what a writer
   * sealed under a key destroyed meanwhile is sealed again under a new one.
   */
  async stale(used: readonly { readonly ref: KeyRef; readonly kid: string }[]): Promise<KeyRef[]> {
    const unique = new Map(used.map((u) => [rowKey(rowOf(u.ref)), u]));
    const rows = await this.readRows([...unique.values()].map((u) => rowOf(u.ref)));
    const out: KeyRef[] = [];
    for (const [k, u] of unique) {
      if (rows.get(k)?.kid !== u.kid) {
        this.cache.delete(k);
        out.push(u.ref);
      }
    }
    return out;
  }

  /**
   * Retires an epoch key in two steps, one sweep apart: the first marks it,
   * the second destroys it if the mark is still the one it left (no writer
   * used the key in between, and a record written just before the first step
   * has long been visible to the index check). Resolves what it did.
   */
  async retireEpoch(tenantId: string, epoch: string): Promise<'marked' | 'shredded' | 'absent' | 'in_use'> {
    const row = keyRows.epoch(tenantId, epoch);
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: row, ConsistentRead: true }));
    if (Item === undefined) return 'absent';
    try {
      if (typeof Item.retiringAt !== 'string') {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: row,
            UpdateExpression: 'SET #r = :now',
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#r)',
            ExpressionAttributeNames: { '#pk': 'pk', '#r': 'retiringAt' },
            ExpressionAttributeValues: { ':now': new Date(this.now()).toISOString() },
          }),
        );
        return 'marked';
      }
      this.cache.delete(rowKey(row));
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: row,
          ConditionExpression: '#r = :seen',
          ExpressionAttributeNames: { '#r': 'retiringAt' },
          ExpressionAttributeValues: { ':seen': Item.retiringAt },
        }),
      );
      return 'shredded';
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return 'in_use';
      throw error;
    }
  }

  /** Clears a key's retirement mark; resolves false when the key is gone. */
  private async keep(row: KeyRow): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: row.pk, sk: row.sk },
          UpdateExpression: 'REMOVE #r',
          ConditionExpression: 'attribute_exists(#pk) AND #kid = :kid',
          ExpressionAttributeNames: { '#pk': 'pk', '#r': 'retiringAt', '#kid': 'kid' },
          ExpressionAttributeValues: { ':kid': row.kid },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Destroys a subject's key; resolves whether there was one. */
  async shredSubject(subjectPk: string): Promise<boolean> {
    return this.destroy(keyRows.subject(subjectPk));
  }

  /** Destroys one epoch key at once (an operator's or a test's act; sweeps retire them, `retireEpoch`); resolves whether there was one. */
  async shredEpoch(tenantId: string, epoch: string): Promise<boolean> {
    return this.destroy(keyRows.epoch(tenantId, epoch));
  }

  /** The epochs (`<partition>#<day>`) of the tenant that still have a key. */
  async listEpochs(tenantId: string): Promise<string[]> {
    const out: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': keyRows.epochs(tenantId) },
          ProjectionExpression: '#sk',
          ConsistentRead: true,
          ...(start !== undefined && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) out.push(String(item.sk));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  private async destroy(row: { readonly pk: string; readonly sk: string }): Promise<boolean> {
    this.cache.delete(rowKey(row));
    const output = await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: row, ReturnValues: 'ALL_OLD' }));
    return output.Attributes !== undefined;
  }

  private async readRows(rows: readonly { readonly pk: string; readonly sk: string }[]): Promise<Map<string, KeyRow>> {
    const out = new Map<string, KeyRow>();
    for (const part of chunk(rows, BATCH_GET_MAX)) {
      const { items, leftover } = await readChunk<KeyRow>(this.doc, this.tableName, part, this.retry);
      if (leftover.pending.length > 0) throw new Error(`keys table: ${leftover.pending.length} key(s) not read (${leftover.reason ?? 'unknown'})`, { cause: leftover.error });
      for (const item of items) out.set(rowKey(item), item);
    }
    return out;
  }

  /** Creates a key row unless one exists, and resolves the stored one. */
  private async create(ref: KeyRef): Promise<KeyRow> {
    const row = rowOf(ref);
    const kek = await this.kek(ref.tenantId);
    const kid = randomBytes(9).toString('base64url');
    const created: KeyRow = { ...row, kid, wrapped: wrapUnder(kek, randomBytes(32), `${row.pk}\u0000${row.sk}\u0000${kid}`) };
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: created, ConditionExpression: 'attribute_not_exists(pk)' }));
      return created;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      // Another writer created it first: use theirs.
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: row, ConsistentRead: true }));
      if (Item === undefined) return this.create(ref);
      return Item as KeyRow;
    }
  }

  private async unwrapRow(tenantId: string, row: KeyRow): Promise<Buffer> {
    return unwrapUnder(await this.kek(tenantId), row.wrapped, `${row.pk}\u0000${row.sk}\u0000${row.kid}`);
  }

  /** The tenant's key-encryption key, created on first use and kept for five minutes. */
  private async kek(tenantId: string): Promise<Buffer> {
    const cached = this.keks.get(tenantId);
    if (cached !== undefined && cached.until > this.now()) return cached.key;
    let pending = this.pendingKeks.get(tenantId);
    if (pending === undefined) {
      pending = this.loadKek(tenantId).finally(() => this.pendingKeks.delete(tenantId));
      this.pendingKeks.set(tenantId, pending);
    }
    return pending;
  }

  private async loadKek(tenantId: string): Promise<Buffer> {
    const row = keyRows.kek(tenantId);
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: row, ConsistentRead: true }));
    let key: Buffer;
    if (Item !== undefined) {
      key = Buffer.from(await this.wrapper.unwrap(tenantId, Item.wrapped as Uint8Array));
    } else {
      const generated = await this.wrapper.generate(tenantId);
      try {
        await this.doc.send(
          new PutCommand({ TableName: this.tableName, Item: { ...row, kid: 'kek', wrapped: generated.wrapped }, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
        key = Buffer.from(generated.plaintext);
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        return this.loadKek(tenantId);
      }
    }
    const blind = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'lethe/blind-index/v1', 32));
    this.keks.set(tenantId, { key, blind, until: this.now() + KEK_CACHE_MS });
    return key;
  }
}

/** AES-256-GCM key wrap with the row's identity as associated data: `iv ‖ ciphertext ‖ tag`. */
export function wrapUnder(kek: Uint8Array, plaintext: Uint8Array, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function unwrapUnder(kek: Uint8Array, wrapped: Uint8Array, context: string): Buffer {
  const buffer = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', kek, buffer.subarray(0, 12));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(buffer.subarray(buffer.length - 16));
  return Buffer.concat([decipher.update(buffer.subarray(12, buffer.length - 16)), decipher.final()]);
}

/** Local mode's stand-in for KMS: the tenant's KEK wrapped by the data directory's master key. */
export class MasterKeyWrapper implements KeyWrapper {
  constructor(private readonly masterKey: Uint8Array) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  generate(tenantId: string): Promise<{ readonly plaintext: Uint8Array; readonly wrapped: Uint8Array }> {
    const plaintext = randomBytes(32);
    return Promise.resolve({ plaintext, wrapped: wrapUnder(this.masterKey, plaintext, `lethe/kek\u0000${tenantId}`) });
  }

  unwrap(tenantId: string, wrapped: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(unwrapUnder(this.masterKey, wrapped, `lethe/kek\u0000${tenantId}`));
  }
}
