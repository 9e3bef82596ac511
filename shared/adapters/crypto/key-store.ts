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
 *   destroyed by the sweep once no record of its day is left (`retireEpochs`).
 *
 * Epoch keys retire a sweep after they could: each sweep leaves a retirement
 * marker per partition family (`~RETIRE#<partition>`: the first day not
 * retiring, and when it was set), and the next sweep destroys, in batches, the
 * keys of days before that day that existed when the marker was set and of
 * which the index holds no record. A record written before the marker is in
 * the index by then; a writer that reads the marker does not seal under those
 * keys at all but under a late key of the same day (`<partition>#<day>@<marker>`),
 * made after the marker and so left to a later sweep. No key is ever destroyed
 * under a writer that knew it was retiring; one that did not wrote long before.
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
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readChunk, writeChunk, BATCH_GET_MAX, BATCH_WRITE_MAX } from '../dynamodb/batch.js';
import { dataKey } from './envelope.js';
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
  /**
   * How old a retirement marker must be before the keys it names go (default
   * 0: the next sweep). Deployed: longer than the longest write (a Lambda's
   * 15 minutes), so that no writer still holds a key it read before the marker.
   */
  readonly retireAfterMs?: number;
}

interface KeyRow {
  readonly pk: string;
  readonly sk: string;
  readonly kid: string;
  readonly wrapped: Uint8Array;
  /** When the row was made (ms); rows made before this field existed read as made at 0. */
  readonly createdAt?: number;
}

/** A sweep's retirement marker of one partition family. */
interface RetireMarker {
  /** The first day (`YYYY-MM-DD`) whose keys were not retiring. */
  readonly below: string;
  /** When it was set (ms): keys made before it, of days before `below`, go at the next sweep if their day is empty. */
  readonly at: number;
  /** The marker's name in late keys' ids. */
  readonly gen: string;
}

/** A key to seal new data under, and the row it is (a late key when the asked one is retiring). */
export interface WriteKey extends KeyMaterial {
  readonly ref: KeyRef;
}

/** The partition family and day of an epoch (`<partition>#<day>`, or a late key's `<partition>#<day>@<marker>`). */
export function splitEpoch(epoch: string): { readonly partition: string; readonly day: string } {
  const at = epoch.lastIndexOf('#');
  return { partition: epoch.slice(0, at), day: epoch.slice(at + 1, at + 11) };
}

function markerOf(row: Record<string, unknown> | undefined): RetireMarker | undefined {
  if (row === undefined || typeof row.below !== 'string' || typeof row.at !== 'number' || typeof row.gen !== 'string') return undefined;
  return { below: row.below, at: row.at, gen: row.gen };
}

const KEK_CACHE_MS = 5 * 60_000;
const DEFAULT_CACHE_MS = 60_000;
/**
 * How long a writer seals under keys it read or made without reading them
 * again. What guarantees a write is the check after it (`stale`): a key
 * destroyed meanwhile, however recently read, gets what it sealed sealed again.
 */
const WRITE_CACHE_MS = 10_000;
/** Data keys kept at most (the oldest go first). */
const DATA_KEYS_MAX = 10_000;
/** Names whose keys readers and writers keep at most: past it, expired ones go, then the oldest. */
const CACHE_MAX = 10_000;

/** Keeps a cache map within `max` entries: expired ones go first, then the oldest. */
function bound<V>(map: Map<string, V>, now: number, max: number, expired: (value: V) => boolean = (v) => (v as { until: number }).until <= now): void {
  if (map.size <= max) return;
  for (const [k, v] of map) if (expired(v)) map.delete(k);
  for (const k of map.keys()) {
    if (map.size <= max) break;
    map.delete(k);
  }
}
/** A key of the blind indexes is the HMAC's first 16 bytes (128 bits), base64url, after `~`. */
const BLIND_BYTES = 16;

export const keyRows = {
  kek: (tenantId: string) => ({ pk: `T#${tenantId}#KEK`, sk: 'KEK' }),
  subject: (subjectPk: string) => ({ pk: `K#${subjectPk}`, sk: 'SUBJECT' }),
  epochs: (tenantId: string) => `T#${tenantId}#EPOCHS`,
  epoch: (tenantId: string, epoch: string) => ({ pk: `T#${tenantId}#EPOCHS`, sk: epoch }),
  /** Sorts after every epoch (`~`), so ranges of epochs never include it. */
  retireMarker: (tenantId: string, partition: string) => ({ pk: `T#${tenantId}#EPOCHS`, sk: `${RETIRE_MARKER}${partition}` }),
};

const RETIRE_MARKER = '~RETIRE#';
/** Between a key's name and its id in the sort key of the key's own row. */
const KID_SEPARATOR = '!';

/**
 * The row naming a key (subject `SUBJECT`, epoch `<partition>#<day>`): the
 * current key to seal under, which a writer finds with one read.
 */
export function rowOf(ref: KeyRef): { readonly pk: string; readonly sk: string } {
  return ref.kind === 'subject' ? keyRows.subject(ref.subjectPk) : keyRows.epoch(ref.tenantId, ref.epoch);
}

/**
 * The key's own row (`<name>!<kid>`), which what it sealed is opened by. A key
 * is made as both rows at once, with a batch write: two writers making one
 * name's key together each keep their own, and the name points to one of them.
 * Rows made before there were own rows have only their name row.
 */
export function kidRowOf(ref: KeyRef, kid: string): { readonly pk: string; readonly sk: string } {
  const name = rowOf(ref);
  return { pk: name.pk, sk: `${name.sk}${KID_SEPARATOR}${kid}` };
}

/** The name row's sort key of a row (itself, or its name's for a key's own row). */
function nameSk(sk: string): string {
  const at = sk.indexOf(KID_SEPARATOR);
  return at < 0 ? sk : sk.slice(0, at);
}

export function rowKey(row: { readonly pk: string; readonly sk: string }): string {
  return `${row.pk}\u0000${row.sk}`;
}

/** A key by name and id, as readers hold it. */
function cacheKey(ref: KeyRef, kid: string): string {
  return `${rowKey(rowOf(ref))}\u0000${kid}`;
}

export class KeyStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly wrapper: KeyWrapper;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly retry: RetryOptions;
  private readonly retireAfterMs: number;
  private readonly keks = new Map<string, { readonly key: Buffer; readonly until: number; readonly blind: Buffer }>();
  private readonly pendingKeks = new Map<string, Promise<Buffer>>();
  /** Unwrapped keys for readers, by name row and then by id (a name may have two keys: two writers made one at once). */
  private readonly cache = new Map<string, Map<string, { readonly material: KeyMaterial; readonly until: number }>>();
  /** The keys writers were last given, by the row they asked for, trusted for a few seconds (`WRITE_CACHE_MS`). */
  private readonly writeCache = new Map<string, { readonly key: WriteKey; readonly until: number }>();
  /** Data keys derived from pairs of keys, by the pair's ids. */
  private readonly dataKeys = new Map<string, { readonly key: Buffer; readonly until: number }>();

  constructor(options: KeyStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.wrapper = options.wrapper;
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.now = options.now ?? Date.now;
    this.retry = retryOptions(options.retry);
    this.retireAfterMs = options.retireAfterMs ?? 0;
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
   * those that do not exist yet (a subject's first record, an epoch's first
   * day). An epoch whose day a sweep is retiring answers with a late key of
   * that day instead (`WriteKey.ref`), which that sweep leaves alone.
   */
  async forWrite(refs: readonly KeyRef[]): Promise<Map<string, WriteKey>> {
    const now = this.now();
    const out = new Map<string, WriteKey>();
    const unique = new Map<string, KeyRef>();
    for (const ref of refs) {
      const k = rowKey(rowOf(ref));
      const cached = this.writeCache.get(k);
      if (cached !== undefined && cached.until > now) out.set(k, cached.key);
      else unique.set(k, ref);
    }
    if (unique.size === 0) return out;
    const markers = new Map<string, { readonly pk: string; readonly sk: string }>();
    for (const ref of unique.values()) {
      if (ref.kind !== 'epoch') continue;
      const marker = keyRows.retireMarker(ref.tenantId, splitEpoch(ref.epoch).partition);
      markers.set(rowKey(marker), marker);
    }
    const rows = await this.readRows([...[...unique.values()].map(rowOf), ...markers.values()]);
    const targets = new Map<string, KeyRef>();
    const late: KeyRef[] = [];
    for (const [k, ref] of unique) {
      const target = ref.kind === 'epoch' ? this.writableEpoch(ref, rows.get(k), rows) : ref;
      targets.set(k, target);
      if (target !== ref) late.push(target);
    }
    if (late.length > 0) for (const [k, row] of await this.readRows(late.map(rowOf))) rows.set(k, row);
    // What does not exist yet is made, every key at once in batch writes.
    const absent = new Map<string, KeyRef>();
    for (const target of targets.values()) if (!rows.has(rowKey(rowOf(target)))) absent.set(rowKey(rowOf(target)), target);
    if (absent.size > 0) for (const row of await this.create([...absent.values()])) rows.set(rowKey(row), row);
    const materials = new Map<string, Promise<KeyMaterial>>();
    await mapConcurrent([...targets], 8, async ([k, target]) => {
      const tk = rowKey(rowOf(target));
      let pending = materials.get(tk);
      if (pending === undefined) {
        pending = (async () => {
          const row = rows.get(tk) as KeyRow;
          const material = { kid: row.kid, key: await this.unwrapRow(target.tenantId, row) };
          this.remember(target, material);
          return material;
        })();
        materials.set(tk, pending);
      }
      const key = { ...(await pending), ref: target };
      out.set(k, key);
      this.writeCache.set(k, { key, until: now + WRITE_CACHE_MS });
    });
    bound(this.writeCache, now, CACHE_MAX);
    return out;
  }

  /**
   * The data key of a seal under these keys (`dataKey`), derived once per pair
   * and kept as long as the keys themselves are: callers hold the keys already
   * (from `forWrite` or `forRead`), so this says nothing of whether they exist.
   */
  dataKey(subject: KeyMaterial | undefined, epoch: KeyMaterial | undefined): Buffer {
    const id = `${subject?.kid ?? ''}\u0000${epoch?.kid ?? ''}`;
    const now = this.now();
    const hit = this.dataKeys.get(id);
    if (hit !== undefined && hit.until > now) return hit.key;
    const key = dataKey({ ...(subject !== undefined && { subject: subject.key }), ...(epoch !== undefined && { epoch: epoch.key }) });
    if (this.dataKeys.size >= DATA_KEYS_MAX) this.dataKeys.delete(this.dataKeys.keys().next().value as string);
    this.dataKeys.set(id, { key, until: now + this.cacheMs });
    return key;
  }

  /** Forgets every unwrapped copy of a name's keys (destroyed here, or found destroyed). */
  private forget(row: { readonly pk: string; readonly sk: string }): void {
    const name = nameSk(row.sk);
    const k = rowKey({ pk: row.pk, sk: name });
    this.cache.delete(k);
    this.writeCache.delete(k);
    // A late key is handed out for its day's name.
    const late = name.indexOf('@');
    if (late < 0) return;
    const day = rowKey({ pk: row.pk, sk: name.slice(0, late) });
    const entry = this.writeCache.get(day);
    if (entry !== undefined && rowKey(rowOf(entry.key.ref)) === k) this.writeCache.delete(day);
  }

  private cached(ref: KeyRef, kid: string, now: number): KeyMaterial | undefined {
    const entry = this.cache.get(rowKey(rowOf(ref)))?.get(kid);
    return entry !== undefined && entry.until > now ? entry.material : undefined;
  }

  private remember(ref: KeyRef, material: KeyMaterial): void {
    const now = this.now();
    const k = rowKey(rowOf(ref));
    let byKid = this.cache.get(k);
    if (byKid === undefined) {
      byKid = new Map();
      this.cache.set(k, byKid);
      bound(this.cache, now, CACHE_MAX, (kids) => [...kids.values()].every((e) => e.until <= now));
    }
    byKid.set(material.kid, { material, until: now + this.cacheMs });
  }

  /** The epoch key to seal under: the one asked for, unless a sweep is retiring its day's keys (then a late one). */
  private writableEpoch(ref: Extract<KeyRef, { kind: 'epoch' }>, row: KeyRow | undefined, rows: ReadonlyMap<string, KeyRow>): KeyRef {
    const { partition, day } = splitEpoch(ref.epoch);
    const marker = markerOf(rows.get(rowKey(keyRows.retireMarker(ref.tenantId, partition))) as Record<string, unknown> | undefined);
    if (marker === undefined || day >= marker.below) return ref;
    // Made after the marker: the sweep the marker serves leaves it.
    if (row !== undefined && (row.createdAt ?? 0) >= marker.at) return ref;
    return { kind: 'epoch', tenantId: ref.tenantId, epoch: `${partition}#${day}@${marker.gen}` };
  }

  /**
   * The keys of those refs whose id is the one named (`kid`): from the cache,
   * else read. A key that is gone, or replaced by a newer one after its
   * subject was erased, is absent from the answer — what it sealed is unreadable.
   */
  async forRead(wanted: readonly { readonly ref: KeyRef; readonly kid: string }[]): Promise<Map<string, KeyMaterial>> {
    const out = new Map<string, KeyMaterial>();
    const missing = new Map<string, { readonly ref: KeyRef; readonly kid: string }>();
    const now = this.now();
    for (const w of wanted) {
      const k = rowKey(rowOf(w.ref));
      const cached = this.cached(w.ref, w.kid, now);
      if (cached !== undefined) out.set(k, cached);
      else missing.set(k, w);
    }
    if (missing.size === 0) return out;
    const rows = await this.rowsOfKids([...missing.values()]);
    await mapConcurrent([...missing], 8, async ([k, { ref, kid }]) => {
      const row = rows.get(cacheKey(ref, kid));
      if (row === undefined) return;
      const material = { kid, key: await this.unwrapRow(ref.tenantId, row) };
      this.remember(ref, material);
      out.set(k, material);
    });
    return out;
  }

  /** The stored rows of keys named by id: each key's own row, else (made before own rows) its name row if it names that id. */
  private async rowsOfKids(wanted: readonly { readonly ref: KeyRef; readonly kid: string }[]): Promise<Map<string, KeyRow>> {
    const rows = await this.readRows(wanted.flatMap((w) => [kidRowOf(w.ref, w.kid), rowOf(w.ref)]));
    const out = new Map<string, KeyRow>();
    for (const w of wanted) {
      const own = rows.get(rowKey(kidRowOf(w.ref, w.kid)));
      const named = rows.get(rowKey(rowOf(w.ref)));
      const row = own ?? (named?.kid === w.kid ? named : undefined);
      if (row !== undefined) out.set(cacheKey(w.ref, w.kid), row);
    }
    return out;
  }

  /**
   * The refs among `used` whose key is no longer the one named (destroyed, or
   * replaced): read strongly consistent after a write, so that what a writer
   * sealed under a key destroyed meanwhile is sealed again under a new one.
   */
  async stale(used: readonly { readonly ref: KeyRef; readonly kid: string }[]): Promise<KeyRef[]> {
    const unique = [...new Map(used.map((u) => [cacheKey(u.ref, u.kid), u])).values()];
    if (unique.length === 0) return [];
    const rows = await this.rowsOfKids(unique);
    const out: KeyRef[] = [];
    for (const u of unique) {
      if (!rows.has(cacheKey(u.ref, u.kid))) {
        this.forget(rowOf(u.ref));
        out.push(u.ref);
      }
    }
    return out;
  }

  /**
   * One retirement pass over a tenant's epoch keys, per partition family up to
   * the day given (the cutoff's: only days wholly before it). Destroys the keys
   * the previous pass's marker named (made before it, of days before its day)
   * whose day `inUse` finds empty, then leaves a new marker for the next pass.
   * Resolves how many keys went.
   */
  async retireEpochs(
    tenantId: string,
    before: ReadonlyMap<string, string>,
    inUse: (partition: string, days: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<number> {
    const partitions = [...before.keys()];
    const markers = await this.readRows(partitions.map((partition) => keyRows.retireMarker(tenantId, partition)));
    const now = this.now();
    const next: Record<string, unknown>[] = [];
    let shredded = 0;
    await mapConcurrent(partitions, 4, async (partition) => {
      const until = before.get(partition) as string;
      const rows = await this.epochRows(tenantId, partition, until);
      if (rows.length === 0) return;
      const marker = markerOf(markers.get(rowKey(keyRows.retireMarker(tenantId, partition))) as Record<string, unknown> | undefined);
      // Too young: it stays as it is (replacing it would postpone its keys for ever under frequent sweeps).
      if (marker !== undefined && now - marker.at < this.retireAfterMs) return;
      if (marker !== undefined) {
        const candidates = rows.filter((row) => row.day < marker.below && row.createdAt < marker.at);
        if (candidates.length > 0) {
          const busy = await inUse(partition, [...new Set(candidates.map((row) => row.day))].sort());
          const gone = candidates.filter((row) => !busy.has(row.day)).map((row) => keyRows.epoch(tenantId, row.epoch));
          await this.deleteRows(gone);
          // Keys, not rows: a key is its name row and its own row.
          shredded += gone.filter((row) => nameSk(row.sk) === row.sk).length;
        }
      }
      next.push({ ...keyRows.retireMarker(tenantId, partition), below: until, at: now, gen: now.toString(36) });
    });
    await this.writeRows(next.map((Item) => ({ PutRequest: { Item } })));
    return shredded;
  }

  /** The tenant's epoch keys of a partition family before a day, with when each was made. */
  private async epochRows(tenantId: string, partition: string, until: string): Promise<{ readonly epoch: string; readonly day: string; readonly createdAt: number }[]> {
    const out: { epoch: string; day: string; createdAt: number }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :until',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#c': 'createdAt' },
          ExpressionAttributeValues: { ':pk': keyRows.epochs(tenantId), ':from': `${partition}#`, ':until': `${partition}#${until}` },
          ProjectionExpression: '#sk, #c',
          ConsistentRead: true,
          ...(start !== undefined && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const epoch = String(item.sk);
        const split = splitEpoch(epoch);
        if (split.partition !== partition || split.day >= until) continue;
        out.push({ epoch, day: split.day, createdAt: typeof item.createdAt === 'number' ? item.createdAt : 0 });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  private async deleteRows(rows: readonly { readonly pk: string; readonly sk: string }[]): Promise<void> {
    for (const row of rows) this.forget(row);
    await this.writeRows(rows.map((Key) => ({ DeleteRequest: { Key } })));
  }

  private async writeRows(requests: readonly Record<string, unknown>[]): Promise<void> {
    await mapConcurrent(chunk(requests, BATCH_WRITE_MAX), 4, async (part) => {
      const leftover = await writeChunk(this.doc, this.tableName, part, this.retry);
      if (leftover.pending.length > 0) throw new Error(`keys table: ${leftover.pending.length} write(s) not done (${leftover.reason ?? 'unknown'})`, { cause: leftover.error });
    });
  }

  /** Destroys a subject's keys (every one made for it); resolves whether there was one. */
  async shredSubject(subjectPk: string): Promise<boolean> {
    return this.destroy(keyRows.subject(subjectPk));
  }

  /** Destroys one epoch's keys at once (an operator's or a test's act; sweeps retire them, `retireEpochs`); resolves whether there was one. */
  async shredEpoch(tenantId: string, epoch: string): Promise<boolean> {
    return this.destroy(keyRows.epoch(tenantId, epoch));
  }

  /** The epochs (`<partition>#<day>`, late ones `…@<marker>`) of the tenant that still have a key. */
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
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (!sk.startsWith(RETIRE_MARKER) && nameSk(sk) === sk) out.push(sk);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /** Deletes a name row and every key's own row under it (one query, batch deletes). */
  private async destroy(name: { readonly pk: string; readonly sk: string }): Promise<boolean> {
    this.forget(name);
    const rows: { pk: string; sk: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :name)',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': name.pk, ':name': name.sk },
          ProjectionExpression: '#pk, #sk',
          ConsistentRead: true,
          ...(start !== undefined && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) if (nameSk(String(item.sk)) === name.sk) rows.push({ pk: name.pk, sk: String(item.sk) });
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    await this.writeRows(rows.map((Key) => ({ DeleteRequest: { Key } })));
    return rows.length > 0;
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

  /**
   * Makes a new key for each ref, as its name row and its own row, in batch
   * writes (no condition: a key made at the same moment by another writer
   * keeps its own row, so what either sealed stays readable), and resolves the
   * name rows.
   */
  private async create(refs: readonly KeyRef[]): Promise<KeyRow[]> {
    const made = await Promise.all(
      refs.map(async (ref): Promise<KeyRow> => {
        const row = rowOf(ref);
        const kek = await this.kek(ref.tenantId);
        const kid = randomBytes(9).toString('base64url');
        return { ...row, kid, wrapped: wrapUnder(kek, randomBytes(32), `${row.pk}\u0000${row.sk}\u0000${kid}`), createdAt: this.now() };
      }),
    );
    await this.writeRows(made.flatMap((row) => [{ PutRequest: { Item: row } }, { PutRequest: { Item: { ...row, sk: `${row.sk}${KID_SEPARATOR}${row.kid}` } } }]));
    return made;
  }

  private async unwrapRow(tenantId: string, row: KeyRow): Promise<Buffer> {
    return unwrapUnder(await this.kek(tenantId), row.wrapped, `${row.pk}\u0000${nameSk(row.sk)}\u0000${row.kid}`);
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
