/**
 * The sealed records table (crypto-shredding) on the emulators: what is
 * stored holds no personal data in plaintext, reads give back what was
 * written, identifiers are found by their blind index, a ciphertext moved to
 * another item does not open, destroyed keys leave items unreadable but
 * deletable, a write that races a key's destruction is sealed again, and an
 * epoch key retires a sweep after its day emptied, never under a writer that
 * knew it was retiring.
 */
import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyStore, MasterKeyWrapper, keyRows } from '../../shared/adapters/crypto/key-store.js';
import { epochOf, SealedRecordStore } from '../../shared/adapters/crypto/sealed-record-store.js';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { keys, retentionKeysOf, type RecordItem } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';

const NOW = new Date('2025-03-01T10:00:00.000Z');

let stores: Stores;
let keyStore: KeyStore;
let sealed: SealedRecordStore;
const wrapper = new MasterKeyWrapper(randomBytes(32));

beforeAll(async () => {
  stores = await makeStores({ clock: new TestClock(NOW) });
  keyStore = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper });
  sealed = new SealedRecordStore({ inner: stores.records, keys: keyStore });
});

const tenant = () => `t-${uniqueSuffix()}`;

function phoneItem(tenantId: string, subjectId: string, phone: string): RecordItem {
  const base = {
    pk: keys.subjectPk(tenantId, subjectId),
    sk: keys.identifierSk('PHONE', phone),
    tenantId,
    category: 'customer_profile' as const,
    id: subjectId,
    subjectId,
    parentSk: keys.profileSk(),
    clockStart: '2025-01-01T00:00:00.000Z',
  };
  return { ...base, ...retentionKeysOf(base, 1), identifierPk: keys.identifierPk(tenantId, 'PHONE', phone), identifierSk: subjectId };
}

async function raw(table: string): Promise<Record<string, unknown>[]> {
  return ((await stores.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []) as Record<string, unknown>[];
}

describe('SealedRecordStore', () => {
  it('stores no personal data in plaintext and reads back what was written', async () => {
    const t = tenant();
    const item = recordItem({ tenantId: t, subjectId: 'c1', id: 'conv1', data: { notes: 'Marguerite called about her invoice' } });
    const phone = phoneItem(t, 'c1', '+14155550123');
    await sealed.putBatch([item, phone]);

    const stored = JSON.stringify((await raw(stores.tableNames.records)).filter((i) => i.tenantId === t));
    expect(stored).not.toContain('Marguerite');
    expect(stored).not.toContain('4155550123');
    expect(await sealed.get(item)).toEqual(item);
    const identifiers = await sealed.findByPartition(keys.subjectPk(t, 'c1'), { skPrefix: 'ID#' });
    expect(identifiers).toHaveLength(1);
    expect(identifiers[0]?.sk).toMatch(/^ID#PHONE#~/);
    expect(identifiers[0]?.data).toEqual({ value: '+14155550123' });
    expect(await sealed.findByIdentifier(t, 'PHONE', '+14155550123')).toEqual(['c1']);
    expect(await sealed.findByIdentifier(t, 'PHONE', '+14155550124')).toEqual([]);
    // The plain spelling of the identifier's key reaches the stored item too.
    expect(await sealed.get({ pk: phone.pk, sk: phone.sk })).toBeDefined();
  });

  it('blinds an identifier differently in another tenant', async () => {
    const [a, b] = [tenant(), tenant()];
    await sealed.putBatch([phoneItem(a, 'c1', '+14155550199'), phoneItem(b, 'c1', '+14155550199')]);
    const [sa] = await sealed.findByPartition(keys.subjectPk(a, 'c1'));
    const [sb] = await sealed.findByPartition(keys.subjectPk(b, 'c1'));
    expect(sa?.sk).not.toEqual(sb?.sk);
  });

  it('does not open a ciphertext moved to another item', async () => {
    const t = tenant();
    const first = recordItem({ tenantId: t, subjectId: 'c1', id: 'one', data: { notes: 'first' } });
    const second = recordItem({ tenantId: t, subjectId: 'c1', id: 'two', data: { notes: 'second' } });
    await sealed.putBatch([first, second]);
    const { Item } = await stores.doc.send(new GetCommand({ TableName: stores.tableNames.records, Key: { pk: first.pk, sk: first.sk } }));
    await stores.doc.send(new PutCommand({ TableName: stores.tableNames.records, Item: { ...Item, sk: second.sk, id: 'two' } }));
    const read = await sealed.get(second);
    expect(read).toBeDefined();
    expect(read?.data).toBeUndefined();
  });

  it('leaves an item whose subject key is gone unreadable, and still deletable', async () => {
    const t = tenant();
    const item = recordItem({ tenantId: t, subjectId: 'c1', id: 'conv1', data: { notes: 'private' } });
    await sealed.putBatch([item]);
    expect(await keyStore.shredSubject(item.pk)).toBe(true);
    const read = await sealed.get(item);
    expect(read?.data).toBeUndefined();
    expect((await sealed.deleteBatch([item])).failed).toEqual([]);
    expect(await sealed.get(item)).toBeUndefined();
  });

  it('destroys a subject key only once nothing of the subject is left', async () => {
    const t = tenant();
    const item = recordItem({ tenantId: t, subjectId: 'c1', id: 'conv1', data: { notes: 'x' } });
    await sealed.putBatch([item]);
    expect(await sealed.shredSubject(item.pk)).toBe(false);
    await sealed.deleteBatch([item]);
    expect(await sealed.shredSubject(item.pk)).toBe(true);
    expect(await sealed.shredSubject(keys.accountPk(t))).toBe(false);
  });

  it('seals again what it wrote under a key destroyed while the write was on its way', async () => {
    const t = tenant();
    const pk = keys.subjectPk(t, 'c1');
    // An erasure destroys the subject key between the seal and the write.
    const racing = new DynamoRecordStore({ doc: stores.doc, tableName: stores.tableNames.records, clock: stores.clock });
    const originalPut = racing.putBatch.bind(racing);
    let raced = false;
    racing.putBatch = async (items) => {
      if (!raced) {
        raced = true;
        await keyStore.shredSubject(pk);
      }
      return originalPut(items);
    };
    const store = new SealedRecordStore({ inner: racing, keys: keyStore });
    await sealed.putBatch([recordItem({ tenantId: t, subjectId: 'c1', id: 'earlier', data: { notes: 'before' } })]);
    const item = recordItem({ tenantId: t, subjectId: 'c1', id: 'conv1', data: { notes: 'returning customer' } });
    await store.putBatch([item]);
    expect(raced).toBe(true);
    expect((await sealed.get(item))?.data).toEqual({ notes: 'returning customer' });
  });

  it('seals again what a writer sealed under a key it remembered and another process destroyed', async () => {
    const t = tenant();
    const writerKeys = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper });
    const writer = new SealedRecordStore({ inner: stores.records, keys: writerKeys });
    const first = recordItem({ tenantId: t, subjectId: 'c1', id: 'one', data: { notes: 'first' } });
    await writer.putBatch([first]);
    await sealed.deleteBatch([first]);
    // An erasure elsewhere destroys the key the writer still remembers; the customer comes back at once.
    expect(await sealed.shredSubject(first.pk)).toBe(true);
    const again = recordItem({ tenantId: t, subjectId: 'c1', id: 'two', data: { notes: 'back again' } });
    await writer.putBatch([again]);
    const reader = new SealedRecordStore({ inner: stores.records, keys: new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper }) });
    expect((await reader.get(again))?.data).toEqual({ notes: 'back again' });
  });

  it('keeps readable what two writers sealed under keys they made for one new customer at the same moment', async () => {
    const t = tenant();
    const writers = [0, 1].map(() => new SealedRecordStore({ inner: stores.records, keys: new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper }) }));
    const items = [0, 1].map((i) => recordItem({ tenantId: t, subjectId: 'c1', id: `conv${i}`, data: { notes: `writer ${i}` } }));
    await Promise.all(writers.map((writer, i) => writer.putBatch([items[i] as RecordItem])));
    for (const [i, item] of items.entries()) expect((await sealed.get(item))?.data).toEqual({ notes: `writer ${i}` });
    // An erasure destroys every key made for the subject.
    await sealed.deleteBatch(items);
    expect(await sealed.shredSubject(keys.subjectPk(t, 'c1'))).toBe(true);
    const left = ((await stores.doc.send(new ScanCommand({ TableName: stores.tableNames.keys, ConsistentRead: true }))).Items ?? []).filter((row) => row.pk === `K#${keys.subjectPk(t, 'c1')}`);
    expect(left).toEqual([]);
  });

  const CUTOFFS = new Map([['conversation' as const, new Date('2024-06-01T00:00:00.000Z')]]);
  const onDay = (t: string, subjectId: string, id: string, hour: string, notes: string) =>
    recordItem({ tenantId: t, subjectId, id, clockStart: `2024-01-01T${hour}:00:00.000Z`, data: { notes } });

  it('retires an emptied epoch key a sweep after its day emptied, and keeps one a record still needs', async () => {
    const t = tenant();
    const gone = onDay(t, 'c1', 'conv1', '05', 'x');
    const kept = recordItem({ tenantId: t, subjectId: 'c2', id: 'conv2', clockStart: '2024-01-02T05:00:00.000Z', data: { notes: 'held' } });
    await sealed.putBatch([gone, kept]);
    await sealed.deleteBatch([gone]);
    // The first pass only leaves its marker; the next destroys what was empty under it.
    expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(0);
    expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(1);
    expect(await keyStore.listEpochs(t)).toEqual([epochOf(kept)]);
    expect((await sealed.get(kept))?.data).toEqual({ notes: 'held' });
    expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(0);
    expect(await keyStore.listEpochs(t)).toEqual([epochOf(kept)]);
  });

  it('seals a record of a retiring day under a late key that the retiring pass leaves', async () => {
    const t = tenant();
    const first = onDay(t, 'c1', 'conv1', '05', 'x');
    await sealed.putBatch([first]);
    await sealed.deleteBatch([first]);
    expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(0);
    // A late record of that day arrives; the next pass runs while it is on its way, before the index shows it.
    const racing = new DynamoRecordStore({ doc: stores.doc, tableName: stores.tableNames.records, clock: stores.clock });
    const originalPut = racing.putBatch.bind(racing);
    let shreddedMeanwhile = -1;
    racing.putBatch = async (items) => {
      if (shreddedMeanwhile < 0) shreddedMeanwhile = await sealed.shredEpochs(t, CUTOFFS, 1);
      return originalPut(items);
    };
    const late = onDay(t, 'c2', 'conv2', '06', 'late arrival');
    // Another writer (its own process: nothing of that day's key in its memory).
    const writerKeys = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper });
    await new SealedRecordStore({ inner: racing, keys: writerKeys }).putBatch([late]);
    // The day's own key went; the late one, made after the marker, did not, and the record reads.
    expect(shreddedMeanwhile).toBe(1);
    expect((await sealed.get(late))?.data).toEqual({ notes: 'late arrival' });
    const [epoch] = await keyStore.listEpochs(t);
    expect(epoch).toMatch(new RegExp(`^${epochOf(late)}@`));
    // Once that record goes too, its key follows a sweep later.
    await sealed.deleteBatch([late]);
    expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(1);
    expect(await keyStore.listEpochs(t)).toEqual([]);
  });

  it('seals again a record written under a day key destroyed after the writer read it', async () => {
    const t = tenant();
    const first = onDay(t, 'c1', 'conv1', '05', 'x');
    await sealed.putBatch([first]);
    await sealed.deleteBatch([first]);
    // The writer read the keys before any marker; two passes then destroy the day's key before its write lands.
    const racing = new DynamoRecordStore({ doc: stores.doc, tableName: stores.tableNames.records, clock: stores.clock });
    const originalPut = racing.putBatch.bind(racing);
    let raced = false;
    racing.putBatch = async (items) => {
      if (!raced) {
        raced = true;
        await sealed.shredEpochs(t, CUTOFFS, 1);
        expect(await sealed.shredEpochs(t, CUTOFFS, 1)).toBe(1);
      }
      return originalPut(items);
    };
    const late = onDay(t, 'c2', 'conv2', '06', 'written meanwhile');
    await new SealedRecordStore({ inner: racing, keys: keyStore }).putBatch([late]);
    expect(raced).toBe(true);
    expect((await sealed.get(late))?.data).toEqual({ notes: 'written meanwhile' });
  });

  it('waits for a marker to be old enough before its keys go', async () => {
    const t = tenant();
    let now = Date.parse('2025-03-01T10:00:00.000Z');
    const patient = new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper: new MasterKeyWrapper(randomBytes(32)), now: () => now, retireAfterMs: 20 * 60_000 });
    const store = new SealedRecordStore({ inner: stores.records, keys: patient });
    const item = onDay(t, 'c1', 'conv1', '05', 'x');
    await store.putBatch([item]);
    await store.deleteBatch([item]);
    now += 1_000;
    expect(await store.shredEpochs(t, CUTOFFS, 1)).toBe(0);
    now += 10 * 60_000;
    // Too young: it stays, and is not replaced (frequent sweeps would otherwise postpone it for ever).
    expect(await store.shredEpochs(t, CUTOFFS, 1)).toBe(0);
    now += 11 * 60_000;
    expect(await store.shredEpochs(t, CUTOFFS, 1)).toBe(1);
  });

  it('never retires an epoch key whose day is not wholly before the cutoff', async () => {
    const t = tenant();
    const item = recordItem({ tenantId: t, subjectId: 'c1', id: 'conv1', clockStart: '2024-01-01T05:00:00.000Z', data: { notes: 'x' } });
    await sealed.putBatch([item]);
    await sealed.deleteBatch([item]);
    const cutoffs = new Map([['conversation' as const, new Date('2024-01-01T23:00:00.000Z')]]);
    expect(await sealed.shredEpochs(t, cutoffs, 1)).toBe(0);
    expect(await sealed.shredEpochs(t, cutoffs, 1)).toBe(0);
    expect(await keyStore.listEpochs(t)).toEqual([epochOf(item)]);
  });
});
