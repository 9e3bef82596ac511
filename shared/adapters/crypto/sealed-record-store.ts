/**
 * Crypto-shredding of the records table (DESIGN.md §3), as a `RecordStore`
 * around the DynamoDB one: what the domain writes is sealed on the way in,
 * what it reads is opened on the way out, and keys the domain spells with an
 * identifier's value are spelt with its blind index.
 *
 * - `data` (the only place personal data lives, `RecordItem`) is stored as one
 *   sealed binary value under a data key derived from the subject key of the
 *   item's partition (a customer's or a user's; none for the account's) and
 *   the epoch key of its index partition family and day (`<partition>#<day of
 *   its index clock>`), with its table keys as associated data.
 * - Identifier items (`ID#PHONE#…`, `EMAIL`, `NAME`, `EXTERNAL`) are stored
 *   under `ID#<kind>#~<blind index>`, the value itself in their sealed `data`
 *   (`value`). The domain reads them back under the stored key; it only ever
 *   spells the plain one when it writes or looks one up, and that is translated.
 * - A value whose keys were destroyed reads as an item without `data`: the
 *   deletion path still sees and deletes it.
 *
 * As the `KeyShredder` it destroys a subject's key once nothing of the subject
 * is left, and an epoch's key once its day is past the cutoff and no index
 * entry of that day is left (a held or failed record keeps it) — a sweep
 * after it could (`KeyStore.retireEpochs`). A write checks afterwards
 * that the keys it sealed under still exist, and seals again what a key
 * destroyed meanwhile would have left unreadable.
 */
import { isIdentifierSk, parseIdentifierSk, type DueRecord, type IdentifierKind, type RecordItem, type RecordKey, type RetentionPartition } from '../../domain/records.js';
import type {
  ActivityRaise,
  BatchResult,
  FindDueOptions,
  FirstContactLower,
  KeyShredder,
  Page,
  PartitionQueryOptions,
  PutProfilesResult,
  RecordStore,
  UpdateChanges,
  UpdateCondition,
} from '../../domain/ports.js';
import type { DynamoRecordStore } from '../dynamodb/record-store.js';
import { headerOf, isSealed, open, seal, type SealHeader } from './envelope.js';
import type { KeyRef, KeyStore, WriteKey } from './key-store.js';
import { keyRows, rowKey, rowOf } from './key-store.js';

/** Identifier kinds whose value is personal data (the locators carry record ids). */
const PERSONAL_KINDS: ReadonlySet<string> = new Set<IdentifierKind>(['PHONE', 'EMAIL', 'NAME', 'EXTERNAL']);

function tenantOfPk(pk: string): string {
  return pk.split('#')[1] ?? '';
}

/** The subject whose key seals a partition's items: a customer's or a user's partition; none for the account's. */
export function subjectPkOf(pk: string): string | undefined {
  const parts = pk.split('#');
  return parts.length >= 4 && (parts[2] === 'S' || parts[2] === 'U') ? pk : undefined;
}

/** `<partition>#<YYYY-MM-DD>`: the retention epoch of an item, from its index keys (else its category and clock). */
export function epochOf(item: Pick<RecordItem, 'tenantId' | 'category' | 'clockStart' | 'retentionPk' | 'retentionSk'>): string {
  if (item.retentionPk !== undefined && item.retentionSk !== undefined) {
    const prefix = `T#${item.tenantId}#`;
    const rest = item.retentionPk.slice(prefix.length);
    const partition = rest.slice(0, rest.lastIndexOf('#'));
    return `${partition}#${item.retentionSk.slice(0, 10)}`;
  }
  return `${item.category}#${item.clockStart.slice(0, 10)}`;
}

function dataContext(pk: string, sk: string): string {
  return `${pk}\u0000${sk}\u0000data`;
}

export interface SealedRecordStoreOptions {
  readonly inner: DynamoRecordStore;
  readonly keys: KeyStore;
}

export class SealedRecordStore implements RecordStore, KeyShredder {
  private readonly inner: DynamoRecordStore;
  private readonly keys: KeyStore;

  constructor(options: SealedRecordStoreOptions) {
    this.inner = options.inner;
    this.keys = options.keys;
  }

  async putBatch(items: readonly RecordItem[]): Promise<void> {
    await this.write(items, (sealed) => this.inner.putBatch(sealed));
  }

  async findByPartition(pk: string, options: PartitionQueryOptions = {}): Promise<RecordItem[]> {
    const skPrefix = options.skPrefix === undefined ? undefined : await this.storedSk(pk, options.skPrefix, true);
    return this.openAll(await this.inner.findByPartition(pk, { ...options, ...(skPrefix !== undefined && { skPrefix }) }));
  }

  async findBySubject(tenantId: string, subjectId: string, options: Pick<PartitionQueryOptions, 'includeExpired'> = {}): Promise<RecordItem[]> {
    return this.openAll(await this.inner.findBySubject(tenantId, subjectId, options));
  }

  async get(key: RecordKey): Promise<RecordItem | undefined> {
    const item = await this.inner.get(await this.storedKey(key));
    return item === undefined ? undefined : (await this.openAll([item]))[0];
  }

  async getBatch(recordKeys: readonly RecordKey[]): Promise<RecordItem[]> {
    return this.openAll(await this.inner.getBatch(await Promise.all(recordKeys.map((k) => this.storedKey(k)))));
  }

  findDueForDeletion(tenantId: string, partition: RetentionPartition, cutoff: Date, options: FindDueOptions): Promise<Page<DueRecord>> {
    return this.inner.findDueForDeletion(tenantId, partition, cutoff, options);
  }

  async findByIdentifier(tenantId: string, kind: IdentifierKind, normalised: string): Promise<string[]> {
    const value = PERSONAL_KINDS.has(kind) && !normalised.startsWith('~') ? await this.keys.blindIndex(tenantId, kind, normalised) : normalised;
    return this.inner.findByIdentifier(tenantId, kind, value);
  }

  async deleteBatch(recordKeys: readonly RecordKey[]): Promise<BatchResult<RecordKey>> {
    const stored = await Promise.all(recordKeys.map((k) => this.storedKey(k)));
    // Answer in the caller's spelling of each key.
    const asGiven = new Map(stored.map((s, i) => [`${s.pk}\u0000${s.sk}`, recordKeys[i] as RecordKey]));
    const given = (k: RecordKey) => asGiven.get(`${k.pk}\u0000${k.sk}`) ?? k;
    const result = await this.inner.deleteBatch(stored);
    return { succeeded: result.succeeded.map(given), failed: result.failed.map((f) => ({ key: given(f.key), reason: f.reason })) };
  }

  async update(key: RecordKey, changes: UpdateChanges, condition?: UpdateCondition): Promise<boolean> {
    const stored = await this.storedKey(key);
    const data = changes.set?.data;
    if (data === undefined) return this.inner.update(stored, changes, condition);
    // New content is sealed as the stored item's was: under its subject and epoch.
    const [current] = await this.inner.getBatch([stored]);
    if (current === undefined) return condition?.exists === false ? this.inner.update(stored, changes, condition) : false;
    return this.write([{ ...current, data: data as Record<string, unknown> }], ([sealed]) =>
      this.inner.update(stored, { ...changes, set: { ...changes.set, data: sealed?.data } }, condition),
    );
  }

  async putProfiles(profiles: readonly RecordItem[]): Promise<PutProfilesResult> {
    return this.write(profiles, (sealed) => this.inner.putProfiles(sealed));
  }

  async putLatest(items: readonly RecordItem[]): Promise<RecordKey[]> {
    return this.write(items, (sealed) => this.inner.putLatest(sealed));
  }

  raiseActivity(raises: readonly ActivityRaise[]): Promise<void> {
    return this.inner.raiseActivity(raises);
  }

  lowerFirstContact(lowers: readonly FirstContactLower[]): Promise<void> {
    return this.inner.lowerFirstContact(lowers);
  }

  trackActivity(pk: string): Promise<void> {
    return this.inner.trackActivity(pk);
  }

  // -------------------------------------------------------------------------
  // KeyShredder
  // -------------------------------------------------------------------------

  async shredSubject(pk: string): Promise<boolean> {
    if (subjectPkOf(pk) === undefined) return false;
    // Something of the subject is still stored (held, failed, written meanwhile): its key stays.
    if (!(await this.inner.isPartitionEmpty(pk))) return false;
    return this.keys.shredSubject(pk);
  }

  async shredEpochs(tenantId: string, cutoffs: ReadonlyMap<RetentionPartition, Date>, shards: number): Promise<number> {
    // Only days wholly before the cutoff: every record of them was due in this run.
    const before = new Map([...cutoffs].map(([partition, cutoff]) => [partition as string, cutoff.toISOString().slice(0, 10)]));
    if (before.size === 0) return 0;
    return this.keys.retireEpochs(tenantId, before, (partition, days) => this.inner.daysInIndex(tenantId, partition as RetentionPartition, days, shards));
  }

  // -------------------------------------------------------------------------
  // Sealing
  // -------------------------------------------------------------------------

  /** The key as stored: an identifier's value replaced by its blind index. */
  private async storedKey(key: RecordKey): Promise<RecordKey> {
    const sk = await this.storedSk(key.pk, key.sk, false);
    return sk === key.sk ? key : { pk: key.pk, sk };
  }

  private async storedSk(pk: string, sk: string, prefix: boolean): Promise<string> {
    const identifier = parseIdentifierSk(sk);
    if (identifier === undefined || !PERSONAL_KINDS.has(identifier.kind) || identifier.value === '' || identifier.value.startsWith('~')) return sk;
    // A prefix that ends inside the value cannot be blinded: it matches no stored identifier but itself.
    if (prefix && sk.endsWith('#')) return sk;
    return `ID#${identifier.kind}#${await this.keys.blindIndex(tenantOfPk(pk), identifier.kind, identifier.value)}`;
  }

  /**
   * Seals and sends a write, then checks the keys it used are still there: one
   * destroyed meanwhile (the subject erased, or an epoch retired, while the
   * write was on its way) would leave what was just written unreadable, so
   * those items are sealed again under new keys and sent again.
   */
  private async write<T>(items: readonly RecordItem[], send: (sealed: RecordItem[]) => Promise<T>): Promise<T> {
    let { items: sealed, used } = await this.sealAll(items);
    const result = await send(sealed);
    let pending = items;
    for (let round = 0; round < 3; round++) {
      const stale = new Set((await this.keys.stale(used.flat())).map((ref) => rowKey(rowOf(ref))));
      if (stale.size === 0) return result;
      pending = pending.filter((_, i) => (used[i] ?? []).some((u) => stale.has(rowKey(rowOf(u.ref)))));
      ({ items: sealed, used } = await this.sealAll(pending));
      await send(sealed);
    }
    throw new Error('the keys of the records being written kept being destroyed');
  }

  private async sealAll(items: readonly RecordItem[]): Promise<Sealed> {
    // Identifiers first: their value moves from the key into the data.
    const blinded = await Promise.all(
      items.map(async (item) => {
        const identifier = parseIdentifierSk(item.sk);
        if (identifier === undefined || !PERSONAL_KINDS.has(identifier.kind) || identifier.value.startsWith('~')) return item;
        const blind = await this.keys.blindIndex(item.tenantId, identifier.kind, identifier.value);
        return {
          ...item,
          sk: `ID#${identifier.kind}#${blind}`,
          ...(item.identifierPk !== undefined && { identifierPk: `T#${item.tenantId}#${identifier.kind}#${blind}` }),
          data: { ...(item.data ?? {}), value: identifier.value },
        };
      }),
    );
    const needs = blinded.filter((item) => item.data !== undefined && !isSealed(item.data));
    if (needs.length === 0) return { items: blinded, used: blinded.map(() => []) };
    const refs: KeyRef[] = [];
    for (const item of needs) {
      const subjectPk = subjectPkOf(item.pk);
      if (subjectPk !== undefined) refs.push({ kind: 'subject', tenantId: item.tenantId, subjectPk });
      refs.push({ kind: 'epoch', tenantId: item.tenantId, epoch: epochOf(item) });
    }
    const material = await this.keys.forWrite(refs);
    const used: { ref: KeyRef; kid: string }[][] = [];
    const sealedItems = blinded.map((item) => {
      used.push([]);
      if (item.data === undefined || isSealed(item.data)) return item;
      const subjectPk = subjectPkOf(item.pk);
      const subject = subjectPk === undefined ? undefined : material.get(rowKey(keyRows.subject(subjectPk)));
      const epochKey = material.get(rowKey(keyRows.epoch(item.tenantId, epochOf(item)))) as WriteKey;
      // The day's key, or a late one of it while a sweep retires the day's.
      const epoch = (epochKey.ref as Extract<KeyRef, { kind: 'epoch' }>).epoch;
      const header: SealHeader = { ...(subject !== undefined && { s: subject.kid }), e: epoch, k: epochKey.kid };
      const key = this.keys.dataKey(subject, epochKey);
      const sealed = seal(key, header, dataContext(item.pk, item.sk), Buffer.from(JSON.stringify(item.data), 'utf8'));
      const mine = used[used.length - 1] as { ref: KeyRef; kid: string }[];
      if (subject !== undefined && subjectPk !== undefined) mine.push({ ref: { kind: 'subject', tenantId: item.tenantId, subjectPk }, kid: subject.kid });
      mine.push({ ref: { kind: 'epoch', tenantId: item.tenantId, epoch }, kid: epochKey.kid });
      return { ...item, data: sealed as unknown as Record<string, unknown> };
    });
    return { items: sealedItems, used };
  }

  private async openAll(items: readonly RecordItem[]): Promise<RecordItem[]> {
    const wanted: { ref: KeyRef; kid: string }[] = [];
    const headers = items.map((item) => {
      if (!isSealed(item.data)) return undefined;
      const header = headerOf(item.data);
      const subjectPk = subjectPkOf(item.pk);
      if (header.s !== undefined && subjectPk !== undefined) wanted.push({ ref: { kind: 'subject', tenantId: item.tenantId, subjectPk }, kid: header.s });
      if (header.e !== undefined && header.k !== undefined) wanted.push({ ref: { kind: 'epoch', tenantId: item.tenantId, epoch: header.e }, kid: header.k });
      return header;
    });
    if (wanted.length === 0) return [...items];
    const material = await this.keys.forRead(wanted);
    return items.map((item, i) => {
      const header = headers[i];
      if (header === undefined) return item;
      const { data: sealed, ...rest } = item;
      const subjectPk = subjectPkOf(item.pk);
      const subject = header.s === undefined || subjectPk === undefined ? undefined : material.get(rowKey(keyRows.subject(subjectPk)));
      const epoch = header.e === undefined ? undefined : material.get(rowKey(keyRows.epoch(item.tenantId, header.e)));
      // A destroyed key: the content is gone for good, the item is left for the deletion path.
      if ((header.s !== undefined && subject?.kid !== header.s) || (header.e !== undefined && epoch?.kid !== header.k)) return rest as RecordItem;
      try {
        const plain = open(this.keys.dataKey(subject, epoch), dataContext(item.pk, item.sk), sealed as unknown as Uint8Array);
        return { ...rest, data: JSON.parse(plain.toString('utf8')) as Record<string, unknown> } as RecordItem;
      } catch {
        return rest as RecordItem;
      }
    });
  }
}

/** Items sealed for a write, with the keys each one used. */
interface Sealed {
  readonly items: RecordItem[];
  readonly used: (readonly { readonly ref: KeyRef; readonly kid: string }[])[];
}
