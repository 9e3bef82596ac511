/**
 * The one deletion executor on the in-memory fakes: how it bounds third-party
 * work (a breaker per tenant and endpoint, no call started after `callsUntil`,
 * each call told its budget), how it stops reading partitions at its deadline
 * and hands the rest back for a continuation, and that it counts every record
 * it examined exactly once.
 */
import { describe, expect, it } from 'vitest';
import {
  EXTERNAL_BREAKER_FAILURES,
  EXTERNAL_CONCURRENCY,
  executeDeletion,
  type DeletionJob,
  type DeletionRoot,
} from '../../shared/domain/deletion/executor.js';
import type { ExternalDataProvider, UpdateChanges } from '../../shared/domain/ports.js';
import { keys, recordKeyString, type RecordItem, type RecordKey } from '../../shared/domain/records.js';
import type { Tenant, ThirdPartyEndpoint } from '../../shared/domain/tenant.js';
import { TestClock } from '../support/clock.js';
import { expectReconciled } from '../support/deletion-oracle.js';
import { MemoryBlobStore, MemoryRecordStore } from '../support/memory.js';

const NOW = '2026-03-01T00:00:00.000Z';

function tenant(tenantId: string): Tenant {
  return {
    tenantId,
    name: tenantId,
    status: 'active',
    adminEmails: [`admin@${tenantId}.test`],
    createdAt: NOW,
    updatedAt: NOW,
    thirdPartyEndpoints: [{ name: 'provider', deleteUrl: 'https://provider.test/calls/{ref}' }],
  };
}

/** A call with third-party data under customer `subject` of `tenantId`. */
function thirdPartyData(tenantId: string, subject: string, n: number): RecordItem {
  return {
    tenantId,
    pk: keys.subjectPk(tenantId, subject),
    sk: keys.thirdPartyCallDataSk(`k${n}`),
    category: 'third_party_call_data',
    id: `k${n}tpd`,
    subjectId: subject,
    callId: `k${n}`,
    parentSk: keys.callSk(`k${n}`),
    clockStart: '2025-01-01T00:00:00.000Z',
    externalRef: `ref-${tenantId}-${subject}-${n}`,
  };
}

/** A customer with a profile, an identifier, a conversation (open) with a message, and a call with its third-party data. */
function customer(tenantId: string, subject: string): RecordItem[] {
  const pk = keys.subjectPk(tenantId, subject);
  const base = { tenantId, pk, subjectId: subject, clockStart: '2025-01-01T00:00:00.000Z' };
  return [
    { ...base, sk: keys.profileSk(), category: 'customer_profile', id: subject },
    { ...base, sk: keys.identifierSk('PHONE', `+1415555${subject.length}000`), category: 'customer_profile', id: subject, parentSk: keys.profileSk() },
    { ...base, sk: keys.conversationSk(`${subject}v0`), category: 'conversation', id: `${subject}v0`, conversationId: `${subject}v0`, parentSk: keys.profileSk(), status: 'open' },
    { ...base, sk: keys.messageSk(`${subject}v0`, base.clockStart, `${subject}m0`), category: 'message', id: `${subject}m0`, conversationId: `${subject}v0`, parentSk: keys.conversationSk(`${subject}v0`) },
    { ...base, sk: keys.callSk('k0'), category: 'call', id: 'k0', callId: 'k0', parentSk: keys.profileSk() },
    thirdPartyData(tenantId, subject, 0),
  ];
}

interface ProviderCall {
  readonly tenantId: string;
  readonly ref: string;
  readonly at: number;
  readonly budgetMs: number | undefined;
}

/** A provider that records each call (with the clock when it started) and answers as `behave` says. */
class ScriptedProvider implements ExternalDataProvider {
  readonly calls: ProviderCall[] = [];
  constructor(
    private readonly clock: TestClock,
    private readonly behave: (call: ProviderCall) => 'ok' | 'fail',
  ) {}
  async deleteCallData(t: Tenant, _endpoint: ThirdPartyEndpoint, ref: string, options: { readonly budgetMs?: number } = {}): Promise<'deleted'> {
    const call = { tenantId: t.tenantId, ref, at: this.clock.now().getTime(), budgetMs: options.budgetMs };
    this.calls.push(call);
    if (this.behave(call) === 'fail') throw Object.assign(new Error('no answer'), { name: 'ExternalProviderError' });
    return 'deleted';
  }
}

class UpdateCountingStore extends MemoryRecordStore {
  updates = 0;
  override async update(key: RecordKey, changes: UpdateChanges, condition?: Parameters<MemoryRecordStore['update']>[2]): Promise<boolean> {
    this.updates += 1;
    return super.update(key, changes, condition);
  }
}

async function setUp(items: readonly RecordItem[], behave: (call: ProviderCall) => 'ok' | 'fail' = () => 'ok') {
  const clock = new TestClock(NOW);
  const records = new UpdateCountingStore();
  await records.putBatch(items);
  const external = new ScriptedProvider(clock, behave);
  return { clock, records, external, deps: { records, blobs: new MemoryBlobStore(), external, clock } };
}

function job(roots: readonly DeletionRoot[], deadline: Date, extra: Partial<DeletionJob> = {}): DeletionJob {
  return { roots, rules: () => ({ isHeld: () => false }), dryRun: false, deadline, ...extra };
}

const rootsOf = (items: readonly RecordItem[], expand = false): DeletionRoot[] => items.map((record) => ({ tenant: tenant(record.tenantId), record, expand }));

describe('the deletion executor, with a provider that keeps failing', () => {
  it('stops calling an endpoint that failed in a row: the calls not yet tried fail at once, and their records stay', async () => {
    const items = Array.from({ length: 60 }, (_, n) => thirdPartyData('t0', 'c0', n));
    const { deps, external, records, clock } = await setUp(items, () => 'fail');

    const result = await executeDeletion(deps, job(rootsOf(items), clock.now()));

    expect(external.calls.length).toBeLessThan(items.length);
    expect(external.calls.length).toBeLessThanOrEqual(EXTERNAL_CONCURRENCY + EXTERNAL_BREAKER_FAILURES);
    expect([...result.items.values()].every((i) => i.outcome === 'failed')).toBe(true);
    expect(result.tenants.get('t0')!.failureReasons.filter((r) => r === 'external:endpoint_unavailable')).toHaveLength(items.length - external.calls.length);
    expect(records.items.size).toBe(items.length);
  });

  it('keeps the breaker to the tenant whose endpoint fails: another tenant\'s calls go on', async () => {
    const failing = Array.from({ length: 40 }, (_, n) => thirdPartyData('t0', 'c0', n));
    const healthy = Array.from({ length: 10 }, (_, n) => thirdPartyData('t1', 'c0', n));
    const { deps, external, records, clock } = await setUp([...failing, ...healthy], (call) => (call.tenantId === 't0' ? 'fail' : 'ok'));

    const result = await executeDeletion(deps, job(rootsOf([...failing, ...healthy]), clock.now()));

    expect(external.calls.filter((c) => c.tenantId === 't1')).toHaveLength(healthy.length);
    for (const item of healthy) expect(records.items.has(recordKeyString(item))).toBe(false);
    expect(result.tenants.get('t1')!.counts.third_party_call_data).toMatchObject({ examined: healthy.length, deleted: healthy.length });
    expect(result.tenants.get('t0')!.counts.third_party_call_data).toMatchObject({ examined: failing.length, failed: failing.length });
  });

  it('counts failures in a row only: an endpoint that answers in between is called for everything', async () => {
    const items = Array.from({ length: 40 }, (_, n) => thirdPartyData('t0', 'c0', n));
    let n = 0;
    // Every other call fails: never 5 in a row.
    const { deps, external, clock } = await setUp(items, () => (n++ % 2 === 0 ? 'fail' : 'ok'));

    await executeDeletion(deps, job(rootsOf(items), clock.now()));

    expect(external.calls).toHaveLength(items.length);
  });
});

describe('the deletion executor, against the clock', () => {
  it('starts no third-party call after callsUntil, tells each call how long it has, and counts the rest failed', async () => {
    const items = Array.from({ length: 40 }, (_, n) => thirdPartyData('t0', 'c0', n));
    // Each call takes ten seconds of the test clock.
    const { deps, external, records, clock } = await setUp(items, () => {
      clock.advance(10_000);
      return 'ok';
    });
    const start = clock.now().getTime();
    const callsUntil = new Date(start + 25_000);

    const result = await executeDeletion(deps, job(rootsOf(items), new Date(start), { callsUntil }));

    expect(external.calls.length).toBeGreaterThan(0);
    expect(external.calls.length).toBeLessThan(items.length);
    for (const call of external.calls) {
      expect(call.at).toBeLessThanOrEqual(callsUntil.getTime());
      expect(call.budgetMs).toBe(callsUntil.getTime() - call.at);
    }
    const reasons = result.tenants.get('t0')!.failureReasons;
    expect(reasons.filter((r) => r === 'external:out_of_time')).toHaveLength(items.length - external.calls.length);
    expect(records.items.size).toBe(items.length - external.calls.length);
  });

  it('reads no partition once its deadline has passed and hands those roots back untouched; the continuation finishes them', async () => {
    const customers = ['c0', 'c1', 'c2'];
    const items = customers.flatMap((c) => customer('t0', c));
    const { deps, records, clock } = await setUp(items);
    const profiles = items.filter((i) => i.sk === keys.profileSk());
    let roots = rootsOf(profiles, true);
    const chunks: number[] = [];

    // Every chunk starts at its deadline: each reads one partition (so it makes progress) and hands back the rest.
    while (roots.length > 0) {
      const result = await executeDeletion(deps, job(roots, clock.now()));
      const counts = result.tenants.get('t0')?.counts ?? {};
      expectReconciled(counts);
      chunks.push(Object.values(counts).reduce((n, c) => n + c.examined, 0));
      for (const root of result.remaining) expect([...records.items.values()].filter((i) => i.pk === root.record.pk)).toHaveLength(customer('t0', 'c0').length);
      expect(result.remaining.length).toBe(roots.length - 1);
      roots = [...result.remaining];
    }

    expect(chunks).toEqual(customers.map(() => customer('t0', 'c0').length));
    expect(records.items.size).toBe(0);
  });

  it('deletes an open conversation as it is, without closing it first', async () => {
    const items = customer('t0', 'c0');
    const { deps, records, clock } = await setUp(items);
    const conversation = items.find((i) => i.category === 'conversation')!;

    const result = await executeDeletion(deps, job(rootsOf([conversation], true), new Date(clock.now().getTime() + 60_000)));

    expect(records.updates).toBe(0);
    expect(result.tenants.get('t0')!.counts).toEqual({
      conversation: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 },
      message: { examined: 1, deleted: 1, held: 0, failed: 0, kept: 0 },
    });
  });
});

describe('the deletion executor, counting', () => {
  it('counts every record it examined once, as deleted, held, failed or kept with its reason', async () => {
    const items = [...customer('t0', 'c0'), ...customer('t0', 'c1')];
    const { deps, clock } = await setUp(items, (call) => (call.ref.includes('-c0-') ? 'fail' : 'ok'));
    const heldConversation = keys.conversationSk('c1v0');
    const roots = rootsOf(items.filter((i) => i.sk === keys.profileSk()), true);

    const result = await executeDeletion(deps, {
      ...job(roots, new Date(clock.now().getTime() + 60_000)),
      rules: () => ({ isHeld: (target) => (target as RecordItem).sk === heldConversation }),
    });

    expect(result.items.size).toBe(items.length);
    const outcome = (subject: string, sk: string) => {
      const item = result.items.get(recordKeyString({ pk: keys.subjectPk('t0', subject), sk }))!;
      return [item.outcome, item.keptReason];
    };
    // c0: its third-party data fails, so its call and profile are kept (child_failed), the identifier with the profile.
    expect(outcome('c0', keys.thirdPartyCallDataSk('k0'))).toEqual(['failed', undefined]);
    expect(outcome('c0', keys.callSk('k0'))).toEqual(['kept', 'child_failed']);
    expect(outcome('c0', keys.profileSk())).toEqual(['kept', 'child_failed']);
    expect(outcome('c0', items[1]!.sk)).toEqual(['kept', 'profile_kept']);
    expect(outcome('c0', keys.conversationSk('c0v0'))).toEqual(['deleted', undefined]);
    // c1: a held conversation keeps the profile (held, through the hold) and its identifier.
    expect(outcome('c1', heldConversation)).toEqual(['held', undefined]);
    expect(outcome('c1', keys.profileSk())).toEqual(['held', undefined]);
    expect(outcome('c1', keys.callSk('k0'))).toEqual(['deleted', undefined]);
    const counts = result.tenants.get('t0')!.counts;
    expectReconciled(counts);
    expect(Object.values(counts).reduce((n, c) => n + c.examined, 0)).toBe(items.length);
  });
});
