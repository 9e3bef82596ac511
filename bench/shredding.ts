/**
 * What the sweep with crypto-shredding on must leave in the keys table, and
 * the checks of it (issue 12): the key of a subject the sweep deleted whole is
 * gone, the key of every subject and epoch with a record left is still there,
 * the receipts count exactly the keys that went, and every record left still
 * opens to what was seeded.
 */
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { epochOf, subjectPkOf } from '../shared/adapters/crypto/sealed-record-store.js';
import type { Clock } from '../shared/domain/ports.js';
import type { Receipt } from '../shared/domain/receipt.js';
import { chunk } from '../shared/adapters/retry.js';
import { parseIdentifierSk, type RecordItem } from '../shared/domain/records.js';
import { stageRecordStore, type Harness, type Stage } from './harness.js';
import type { BenchWorld } from './world.js';

/** The rows of a keys table, by kind. */
export interface KeyCensus {
  readonly keks: number;
  /** Records partitions (`T#…#S#…`) that have a subject key. */
  readonly subjects: ReadonlySet<string>;
  /** `<tenant>\u0000<epoch>` of every epoch key. */
  readonly epochs: ReadonlySet<string>;
  /** Retirement markers a sweep left (one per tenant and partition family with keys before its cutoff): the next sweep destroys the emptied keys they name. */
  readonly markers: number;
}

/** Reads every row key of the stage's keys table (a scan, outside any measurement). */
export async function keyCensus(h: Harness, stage: Stage): Promise<KeyCensus> {
  let keks = 0;
  let markers = 0;
  const subjects = new Set<string>();
  const epochs = new Set<string>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await h.doc.send(
      new ScanCommand({
        TableName: stage.tableNames.keys,
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ConsistentRead: true,
        ...(start !== undefined && { ExclusiveStartKey: start }),
      }),
    );
    for (const row of page.Items ?? []) {
      const pk = String(row.pk);
      const sk = String(row.sk);
      if (sk === 'KEK') keks += 1;
      else if (sk === 'SUBJECT' && pk.startsWith('K#')) subjects.add(pk.slice(2));
      else if (pk.endsWith('#EPOCHS') && sk.startsWith('~')) markers += 1;
      // A key's own row (`<name>!<kid>`) beside its name row: one key.
      else if (sk.includes('!')) continue;
      else if (pk.endsWith('#EPOCHS')) epochs.add(`${pk.split('#')[1] ?? ''}\u0000${sk}`);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return { keks, subjects, epochs, markers };
}

/** Whether an item is sealed when stored: it has data, or it is an identifier (its value moves into the data). */
function isSealedItem(item: RecordItem): boolean {
  return item.data !== undefined || parseIdentifierSk(item.sk) !== undefined;
}

export interface KeyCounts {
  readonly keks: number;
  readonly subjectKeys: number;
  readonly epochKeys: number;
  /** Retirement markers (tenant × partition family). */
  readonly retireMarkers: number;
}

export function keyCounts(c: KeyCensus): KeyCounts {
  return { keks: c.keks, subjectKeys: c.subjects.size, epochKeys: c.epochs.size, retireMarkers: c.markers };
}

export interface ShreddingFigures {
  readonly keysBefore: KeyCounts;
  readonly keysAfter: KeyCounts;
  /** Summed over the receipts. */
  readonly receiptsShredded: { readonly subjectKeys: number; readonly epochKeys: number };
  /** Subjects every record of which was due: their keys must go. */
  readonly subjectsDeletedWhole: number;
  /** Epochs every sealed record of which was due: their keys may go (a day straddling a cutoff keeps its key). */
  readonly epochsEmptied: number;
  /** Of them, those whose key is gone. */
  readonly epochsEmptiedShredded: number;
  /** Records left that were opened and compared with what was seeded. */
  readonly keptRecordsOpened: number;
}

/**
 * Checks the keys table and the records left after the sweeps of a world
 * seeded sealed (`receipts`: of every sweep since seeding, `before`: the keys
 * after seeding). Returns the figures and the problems (empty: all good).
 */
export async function checkShredding(
  h: Harness,
  stage: Stage,
  world: BenchWorld,
  before: KeyCensus,
  receipts: readonly Receipt[],
  clock: Clock,
  keyWrapper: KeyWrapper,
): Promise<{ figures: ShreddingFigures; problems: string[] }> {
  const after = await keyCensus(h, stage);
  const problems: string[] = [];

  // What the world says should be left: subjects and epochs with a kept sealed record keep their keys.
  const subjectKept = new Map<string, boolean>();
  const epochKept = new Map<string, boolean>();
  world.items.forEach((item, i) => {
    const kept = world.due[i] !== true;
    const subject = subjectPkOf(item.pk);
    if (subject !== undefined) subjectKept.set(subject, (subjectKept.get(subject) ?? false) || kept);
    if (isSealedItem(item)) {
      const epoch = `${item.tenantId}\u0000${epochOf(item)}`;
      epochKept.set(epoch, (epochKept.get(epoch) ?? false) || kept);
    }
  });

  let subjectsDeletedWhole = 0;
  let lingering = 0;
  let lost = 0;
  for (const [subject, kept] of subjectKept) {
    if (!before.subjects.has(subject)) {
      if (lost++ < 5) problems.push(`a subject had no key after seeding (${subject.split('#')[1]})`);
      continue;
    }
    if (!kept) subjectsDeletedWhole += 1;
    if (!kept && after.subjects.has(subject) && lingering++ < 5) problems.push(`the key of a subject deleted whole is still there (tenant ${subject.split('#')[1]})`);
    if (kept && !after.subjects.has(subject) && lost++ < 5) problems.push(`the key of a subject with records left was destroyed (tenant ${subject.split('#')[1]})`);
  }
  if (lingering + lost > 0) problems.unshift(`subject keys: ${lingering} of subjects deleted whole remain, ${lost} of subjects with records left are gone or never were`);

  let epochsEmptied = 0;
  let epochsEmptiedShredded = 0;
  let epochsLost = 0;
  for (const [epoch, kept] of epochKept) {
    if (!kept) epochsEmptied += 1;
    if (!kept && !after.epochs.has(epoch)) epochsEmptiedShredded += 1;
    if (!before.epochs.has(epoch)) {
      if (epochsLost++ < 5) problems.push(`an epoch had no key after seeding (${epoch.replace('\u0000', ' ')})`);
    } else if (kept && !after.epochs.has(epoch) && epochsLost++ < 5) {
      problems.push(`the key of an epoch with records left was destroyed (${epoch.replace('\u0000', ' ')})`);
    }
  }

  const receiptsShredded = { subjectKeys: 0, epochKeys: 0 };
  for (const r of receipts) {
    receiptsShredded.subjectKeys += r.shredded?.subjectKeys ?? 0;
    receiptsShredded.epochKeys += r.shredded?.epochKeys ?? 0;
  }
  const subjectKeysGone = [...before.subjects].filter((s) => !after.subjects.has(s)).length;
  const epochKeysGone = [...before.epochs].filter((e) => !after.epochs.has(e)).length;
  if (receiptsShredded.subjectKeys !== subjectKeysGone) problems.push(`receipts count ${receiptsShredded.subjectKeys} subject keys shredded, ${subjectKeysGone} went`);
  if (receiptsShredded.epochKeys !== epochKeysGone) problems.push(`receipts count ${receiptsShredded.epochKeys} epoch keys shredded, ${epochKeysGone} went`);
  if (after.keks !== before.keks) problems.push(`${before.keks} tenant KEKs before the sweep, ${after.keks} after`);

  // Every record left opens, through a fresh store (no cached keys), to what was seeded.
  const store = stageRecordStore(h, stage, clock, keyWrapper);
  const kept = world.items.filter((_, i) => world.due[i] !== true);
  let unreadable = 0;
  let opened = 0;
  for (const part of chunk(kept, 2_000)) {
    const read = await store.getBatch(part.map((i) => ({ pk: i.pk, sk: i.sk })));
    const byPartition = new Map<string, RecordItem[]>();
    for (const r of read) byPartition.set(r.pk, [...(byPartition.get(r.pk) ?? []), r]);
    for (const item of part) {
      const identifier = parseIdentifierSk(item.sk);
      const candidates = byPartition.get(item.pk) ?? [];
      const stored =
        identifier === undefined
          ? candidates.find((r) => r.sk === item.sk)
          : candidates.find((r) => r.sk.startsWith(`ID#${identifier.kind}#`) && r.data?.value === identifier.value);
      const want = identifier === undefined ? item.data : { ...(item.data ?? {}), value: identifier.value };
      if (stored === undefined || (want !== undefined && !isDeepStrictEqual(stored.data, want))) {
        if (unreadable++ < 5) problems.push(`a record left does not open to what was seeded: ${item.category} ${item.sk.startsWith('ID#') ? 'identifier' : item.sk}`);
      } else opened += 1;
    }
  }
  if (unreadable > 0) problems.unshift(`${unreadable} of ${kept.length} records left do not open to what was seeded`);

  return {
    figures: { keysBefore: keyCounts(before), keysAfter: keyCounts(after), receiptsShredded, subjectsDeletedWhole, epochsEmptied, epochsEmptiedShredded, keptRecordsOpened: opened },
    problems,
  };
}
