/**
 * The deletion executor unlinking a customer's analytics events (jobs with
 * `unlinkAnalytics`: erasure, anonymisation, manual deletes) on the in-memory
 * fakes: each event leaves her partition for the account's, without her, with
 * its own clock and backstop, counted kept (`unlinked`); one that cannot be
 * moved fails and keeps her profile; a retry leaves one copy; a dry run moves
 * nothing; a job without the flag still deletes them.
 */
import { describe, expect, it } from 'vitest';
import { executeDeletion, type DeletionJob } from '../../shared/domain/deletion/executor.js';
import { keys, recordKeyString, retentionShard, type RecordItem, type RecordKey } from '../../shared/domain/records.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import { TestClock } from '../support/clock.js';
import { expectReconciled } from '../support/deletion-oracle.js';
import { MemoryBlobStore, MemoryExternalProvider, MemoryRecordStore } from '../support/memory.js';

const NOW = '2026-03-01T00:00:00.000Z';
const TENANT: Tenant = { tenantId: 't0', name: 't0', status: 'active', adminEmails: ['admin@t0.test'], createdAt: NOW, updatedAt: NOW, retentionShards: 4 };
const pk = keys.subjectPk('t0', 'ada');

function customer(): RecordItem[] {
  const base = { tenantId: 't0', pk, subjectId: 'ada', clockStart: '2025-01-01T00:00:00.000Z' };
  const event = (id: string, at: string): RecordItem => ({
    ...base,
    sk: keys.analyticsEventSk(id),
    category: 'analytics_event',
    id,
    parentSk: keys.profileSk(),
    clockStart: at,
    expiresAt: Date.parse(at) / 1000 + 90 * 86_400,
    retentionPk: keys.retentionPk('t0', 'analytics_event', retentionShard(pk, keys.analyticsEventSk(id), 4)),
    retentionSk: keys.retentionSk(at, id),
    data: { name: 'bot.answered', occurredAt: at },
  });
  return [
    { ...base, sk: keys.profileSk(), category: 'customer_profile', id: 'ada', data: { name: 'Ada' } },
    { ...base, sk: keys.identifierSk('PHONE', '+14151234567'), category: 'customer_profile', id: 'ada', parentSk: keys.profileSk() },
    { ...base, sk: keys.conversationSk('v0'), category: 'conversation', id: 'v0', conversationId: 'v0', parentSk: keys.profileSk(), status: 'closed' },
    event('e1', '2025-02-01T00:00:00.000Z'),
    event('e2', '2025-02-02T00:00:00.000Z'),
  ];
}

const account = (id: string): RecordKey => ({ pk: keys.accountPk('t0'), sk: keys.analyticsEventSk(id) });

async function setUp(records = new MemoryRecordStore()) {
  const items = customer();
  await records.putBatch(items);
  const clock = new TestClock(NOW);
  return { items, records, deps: { records, blobs: new MemoryBlobStore(), external: new MemoryExternalProvider(), clock } };
}

/** Her whole partition as roots (erasure), or her profile expanded (a manual delete). */
const asErasure = (items: readonly RecordItem[]): DeletionJob['roots'] => items.map((record) => ({ tenant: TENANT, record, expand: false }));
const asManualDelete = (items: readonly RecordItem[]): DeletionJob['roots'] => [{ tenant: TENANT, record: items.find((i) => i.sk === keys.profileSk())!, expand: true }];
const job = (roots: DeletionJob['roots'], extra: Partial<DeletionJob> = {}): DeletionJob => ({
  roots,
  rules: () => ({ isHeld: () => false }),
  dryRun: false,
  deadline: new Date(NOW),
  unlinkAnalytics: true,
  ...extra,
});

describe.each([
  ['an erasure (every record a root)', asErasure],
  ['a manual delete (the profile expanded)', asManualDelete],
])('unlinking analytics events in %s', (_, rootsOf) => {
  it('moves each event to the account partition without her, keeping its clock, backstop and data, and deletes the rest', async () => {
    const { items, records, deps } = await setUp();

    const result = await executeDeletion(deps, job(rootsOf(items)));

    expect(await records.findByPartition(pk)).toEqual([]);
    for (const original of items.filter((i) => i.category === 'analytics_event')) {
      const moved = records.items.get(recordKeyString(account(original.id)));
      expect(moved).toEqual({
        ...account(original.id),
        tenantId: 't0',
        category: 'analytics_event',
        id: original.id,
        clockStart: original.clockStart,
        expiresAt: original.expiresAt,
        retentionPk: keys.retentionPk('t0', 'analytics_event', retentionShard(keys.accountPk('t0'), keys.analyticsEventSk(original.id), 4)),
        retentionSk: original.retentionSk,
        data: original.data,
      });
    }
    const counts = result.tenants.get('t0')!.counts;
    expectReconciled(counts);
    expect(counts.analytics_event).toEqual({ examined: 2, deleted: 0, held: 0, failed: 0, kept: 2, keptReasons: { unlinked: 2 } });
    expect(counts.customer_profile).toMatchObject({ deleted: 2 });
    expect(result.tenants.get('t0')!.subjectsTouched).toEqual(new Set(['ada']));
  });

  it('keeps her profile and identifiers (child_failed) when an event cannot leave her partition, and a retry finishes with one copy', async () => {
    const { items, records, deps } = await setUp();
    records.faults = { deleteFails: (key) => (key.sk === keys.analyticsEventSk('e2') ? 'ProvisionedThroughputExceededException' : undefined) };

    const first = await executeDeletion(deps, job(rootsOf(items)));

    const counts = first.tenants.get('t0')!.counts;
    expectReconciled(counts);
    expect(counts.analytics_event).toMatchObject({ examined: 2, kept: 1, failed: 1, keptReasons: { unlinked: 1 } });
    expect(counts.customer_profile).toMatchObject({ deleted: 0, kept: 2, keptReasons: { child_failed: 1, profile_kept: 1 } });
    expect((await records.findByPartition(pk)).map((i) => i.sk).sort()).toEqual([keys.analyticsEventSk('e2'), keys.identifierSk('PHONE', '+14151234567'), keys.profileSk()].sort());

    records.faults = {};
    const left = await records.findByPartition(pk);
    const retry = await executeDeletion(deps, job(rootsOf(left)));

    expect(retry.tenants.get('t0')!.counts.analytics_event).toMatchObject({ examined: 1, kept: 1, keptReasons: { unlinked: 1 } });
    expect(await records.findByPartition(pk)).toEqual([]);
    expect((await records.findByPartition(keys.accountPk('t0'))).map((i) => i.id).sort()).toEqual(['e1', 'e2']);
  });
});

describe('analytics events outside unlinking', () => {
  it('are counted unlinked by a dry run, which moves and deletes nothing', async () => {
    const { items, records, deps } = await setUp();
    const before = structuredClone([...records.items.entries()]);

    const result = await executeDeletion(deps, job(asManualDelete(items), { dryRun: true }));

    expect([...records.items.entries()]).toEqual(before);
    expect(result.tenants.get('t0')!.counts.analytics_event).toMatchObject({ examined: 2, kept: 2, keptReasons: { unlinked: 2 } });
  });

  it('are deleted with her by a job that does not unlink them (a sweep)', async () => {
    const { items, records, deps } = await setUp();

    const result = await executeDeletion(deps, job(asManualDelete(items), { unlinkAnalytics: false }));

    expect(records.items.size).toBe(0);
    expect(result.tenants.get('t0')!.counts.analytics_event).toMatchObject({ examined: 2, deleted: 2 });
  });

  it('stay where they are when held, keeping her profile', async () => {
    const { items, records, deps } = await setUp();

    const result = await executeDeletion(deps, job(asErasure(items), { rules: () => ({ isHeld: (r) => r.category === 'analytics_event' }) }));

    expect(result.tenants.get('t0')!.counts.analytics_event).toMatchObject({ examined: 2, held: 2 });
    expect((await records.findByPartition(pk)).map((i) => i.category).sort()).toEqual(['analytics_event', 'analytics_event', 'customer_profile', 'customer_profile']);
    expect(await records.findByPartition(keys.accountPk('t0'))).toEqual([]);
  });
});
