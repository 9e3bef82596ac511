import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { controlKeys } from '../../shared/adapters/dynamodb/control-store.js';
import type { AuditEvent } from '../../shared/domain/audit.js';
import { ConcurrentModificationError, ConflictError, ValidationError } from '../../shared/domain/errors.js';
import type { LegalHold } from '../../shared/domain/holds.js';
import type { PolicyRevision, TenantPolicy } from '../../shared/domain/policy.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';

let stores: Stores;

beforeAll(async () => {
  stores = await makeStores();
});

function tenantId(): string {
  return `t-${uniqueSuffix()}`;
}

function tenant(id: string, overrides: Partial<Tenant> = {}): Tenant {
  return {
    tenantId: id,
    name: `Tenant ${id}`,
    status: 'active',
    adminEmails: ['ops@example.com'],
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function revision(id: string, version: number, previous?: TenantPolicy): PolicyRevision {
  const policy: TenantPolicy = {
    tenantId: id,
    profile: 'conversations',
    version,
    locked: false,
    categories: { conversation: { days: 100 + version } },
    updatedAt: `2025-02-0${version}T00:00:00.000Z`,
    updatedBy: 'admin-1',
  };
  return {
    version,
    policy,
    ...(previous !== undefined && { previous }),
    changedAt: policy.updatedAt as string,
    changedBy: 'admin-1',
  };
}

async function saveVersions(id: string, count: number): Promise<PolicyRevision[]> {
  const saved: PolicyRevision[] = [];
  for (let version = 1; version <= count; version++) {
    const r = revision(id, version, saved.at(-1)?.policy);
    await stores.control.savePolicy(r, version - 1);
    saved.push(r);
  }
  return saved;
}

describe('DynamoControlStore tenants', () => {
  it('stores a tenant and reads it back unchanged', async () => {
    const t = tenant(tenantId(), {
      contractEndsAt: '2026-01-01T00:00:00.000Z',
      thirdPartyEndpoints: [{ name: 'voice', deleteUrl: 'https://provider.example/calls/{ref}' }],
    });

    await stores.control.putTenant(t);

    expect(await stores.control.getTenant(t.tenantId)).toEqual(t);
  });

  it('lists tenants, optionally only those with a status', async () => {
    const active = tenant(tenantId());
    const suspended = tenant(tenantId(), { status: 'suspended' });
    await Promise.all([stores.control.putTenant(active), stores.control.putTenant(suspended)]);

    const all = await stores.control.listTenants();
    const onlySuspended = await stores.control.listTenants({ status: 'suspended' });

    expect(all).toEqual(expect.arrayContaining([active, suspended]));
    expect(onlySuspended).toContainEqual(suspended);
    expect(onlySuspended.every((t) => t.status === 'suspended')).toBe(true);
  });

  it('moves lastActivityAt forward and never back', async () => {
    const t = tenant(tenantId());
    await stores.control.putTenant(t);

    await stores.control.touchTenantActivity(t.tenantId, '2025-03-02T00:00:00.000Z');
    await stores.control.touchTenantActivity(t.tenantId, '2025-03-01T00:00:00.000Z');

    expect((await stores.control.getTenant(t.tenantId))?.lastActivityAt).toBe('2025-03-02T00:00:00.000Z');
  });

  it('does not create a tenant when touching the activity of an unknown one', async () => {
    const id = tenantId();

    await stores.control.touchTenantActivity(id, '2025-03-02T00:00:00.000Z');

    expect(await stores.control.getTenant(id)).toBeUndefined();
  });
});

describe('DynamoControlStore policies', () => {
  it('reads no policy for a tenant that never saved one', async () => {
    expect(await stores.control.getPolicy(tenantId())).toBeUndefined();
  });

  it('saves a first version over version 0 and reads it as current', async () => {
    const id = tenantId();
    const first = revision(id, 1);

    await stores.control.savePolicy(first, 0);

    expect(await stores.control.getPolicy(id)).toEqual(first.policy);
  });

  it('refuses a save over a stale version with a ConcurrentModificationError and keeps the current policy', async () => {
    const id = tenantId();
    const [, second] = await saveVersions(id, 2);
    // A second writer that also read version 1 and now saves its own version 2.
    const stale = revision(id, 2);

    const save = stores.control.savePolicy({ ...stale, policy: { ...stale.policy, locked: true } }, 1);

    await expect(save).rejects.toThrow(ConcurrentModificationError);
    await expect(save).rejects.toBeInstanceOf(ConflictError);
    expect(await stores.control.getPolicy(id)).toEqual(second?.policy);
  });

  it('refuses a first save when a policy already exists', async () => {
    const id = tenantId();
    await saveVersions(id, 1);

    const save = stores.control.savePolicy(revision(id, 1), 0);

    await expect(save).rejects.toThrow(ConcurrentModificationError);
  });

  it('lets exactly one of two concurrent saves over the same version win', async () => {
    const id = tenantId();
    await saveVersions(id, 1);
    const a = { ...revision(id, 2), changedBy: 'admin-a' };
    const b = { ...revision(id, 2), changedBy: 'admin-b' };

    const outcomes = await Promise.allSettled([stores.control.savePolicy(a, 1), stores.control.savePolicy(b, 1)]);

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const history = await stores.control.policyHistory(id);
    const winner = outcomes[0]?.status === 'fulfilled' ? 'admin-a' : 'admin-b';
    expect(history.map((r) => [r.version, r.changedBy])).toEqual([
      [2, winner],
      [1, 'admin-1'],
    ]);
  });

  it('refuses a revision whose version does not follow the expected one', async () => {
    const id = tenantId();

    const save = stores.control.savePolicy(revision(id, 3), 0);

    await expect(save).rejects.toThrow(ValidationError);
  });

  it('lists the history newest first, each entry with the policy it replaced', async () => {
    const id = tenantId();
    const saved = await saveVersions(id, 3);

    const history = await stores.control.policyHistory(id);

    expect(history).toEqual([...saved].reverse());
    expect(history[0]?.previous).toEqual(saved[1]?.policy);
  });

  it('fills in a history entry that a crashed save did not get to write', async () => {
    const id = tenantId();
    const [first] = await saveVersions(id, 1);
    // A writer that died after the conditional write of the current item.
    const orphan = revision(id, 2, first?.policy);
    await stores.doc.send(
      new PutCommand({
        TableName: stores.tableNames.control,
        Item: { pk: controlKeys.tenantPk(id), sk: 'POLICY', type: 'policy', version: 2, revision: orphan },
      }),
    );

    const historyAfterCrash = await stores.control.policyHistory(id);
    await stores.control.savePolicy(revision(id, 3, orphan.policy), 2);
    const historyAfterNextSave = await stores.control.policyHistory(id);

    expect(historyAfterCrash.map((r) => r.version)).toEqual([2, 1]);
    expect(historyAfterNextSave.map((r) => r.version)).toEqual([3, 2, 1]);
  });
});

describe('DynamoControlStore legal holds', () => {
  function hold(id: string, holdId: string, overrides: Partial<LegalHold> = {}): LegalHold {
    return {
      tenantId: id,
      holdId,
      scope: { customerId: 'c1' },
      reason: 'litigation 42',
      createdAt: '2025-01-01T00:00:00.000Z',
      createdBy: 'compliance-1',
      ...overrides,
    };
  }

  it('stores a hold and reads it back', async () => {
    const h = hold(tenantId(), 'h1', { scope: {}, expiresAt: '2026-01-01T00:00:00.000Z' });

    await stores.control.putHold(h);

    expect(await stores.control.getHold(h.tenantId, 'h1')).toEqual(h);
  });

  it('lists only the holds in force at an instant: not released, not lapsed', async () => {
    const id = tenantId();
    const active = hold(id, 'active', { createdAt: '2025-01-03T00:00:00.000Z' });
    const lapsed = hold(id, 'lapsed', { expiresAt: '2025-02-01T00:00:00.000Z' });
    const released = hold(id, 'released', { releasedAt: '2025-02-15T00:00:00.000Z', releasedBy: 'compliance-1' });
    const lapsingLater = hold(id, 'later', { createdAt: '2025-01-02T00:00:00.000Z', expiresAt: '2025-04-01T00:00:00.000Z' });
    await Promise.all([active, lapsed, released, lapsingLater].map((h) => stores.control.putHold(h)));

    const inForce = await stores.control.listHolds(id, { activeAt: new Date('2025-03-01T00:00:00.000Z') });
    const all = await stores.control.listHolds(id);

    expect(inForce.map((h) => h.holdId)).toEqual(['active', 'later']);
    expect(all).toHaveLength(4);
  });

  it('keeps the holds of one tenant out of another tenant', async () => {
    const id = tenantId();
    await stores.control.putHold(hold(id, 'h1'));

    expect(await stores.control.listHolds(tenantId())).toEqual([]);
  });
});

describe('DynamoControlStore receipts', () => {
  function receipt(id: string, runId: string, startedAt: string, overrides: Partial<Receipt> = {}): Receipt {
    return {
      runId,
      tenantId: id,
      kind: 'sweep',
      status: 'running',
      dryRun: false,
      policyVersion: 1,
      profile: 'conversations',
      startedAt,
      cutoffs: { conversation: '2024-09-01T00:00:00.000Z', customer_profile: null },
      categories: {},
      ...overrides,
    };
  }

  it('stores a receipt and replaces it when the run completes', async () => {
    const id = tenantId();
    const running = receipt(id, 'run-1', '2025-03-01T00:00:00.000Z');
    const completed = receipt(id, 'run-1', '2025-03-01T00:00:00.000Z', {
      status: 'completed',
      finishedAt: '2025-03-01T00:01:00.000Z',
      durationMs: 60_000,
      categories: { conversation: { examined: 10, deleted: 8, held: 1, failed: 1, kept: 0 } },
      subjectRefs: ['hmac:ab12'],
    });

    await stores.control.putReceipt(running);
    await stores.control.putReceipt(completed);

    expect(await stores.control.getReceipt(id, 'run-1')).toEqual(completed);
    expect(await stores.control.listReceipts(id)).toEqual([completed]);
  });

  it('lists receipts newest first by start time, whatever their ids, up to a limit', async () => {
    const id = tenantId();
    await Promise.all([
      stores.control.putReceipt(receipt(id, 'zzz', '2025-03-01T00:00:00.000Z')),
      stores.control.putReceipt(receipt(id, 'aaa', '2025-03-03T00:00:00.000Z')),
      stores.control.putReceipt(receipt(id, 'mmm', '2025-03-02T00:00:00.000Z')),
    ]);

    const latestTwo = await stores.control.listReceipts(id, { limit: 2 });

    expect(latestTwo.map((r) => r.runId)).toEqual(['aaa', 'mmm']);
  });
});

describe('DynamoControlStore audit', () => {
  function event(id: string, eventId: string, at: string): AuditEvent {
    return {
      tenantId: id,
      eventId,
      at,
      actor: 'admin-1',
      action: 'policy.updated',
      refs: { policyVersion: '2' },
      before: { conversation: { days: 180 } },
      after: { conversation: { days: 90 } },
    };
  }

  it('lists audit events newest first, up to a limit', async () => {
    const id = tenantId();
    const events = [
      event(id, 'e1', '2025-03-01T10:00:00.000Z'),
      event(id, 'e3', '2025-03-01T12:00:00.000Z'),
      event(id, 'e2', '2025-03-01T11:00:00.000Z'),
    ];
    for (const e of events) await stores.control.appendAudit(e);

    const all = await stores.control.listAudit(id);
    const latest = await stores.control.listAudit(id, { limit: 1 });

    expect(all.map((e) => e.eventId)).toEqual(['e3', 'e2', 'e1']);
    expect(all[0]).toEqual(events[1]);
    expect(latest.map((e) => e.eventId)).toEqual(['e3']);
  });

  it('keeps two events of the same instant apart', async () => {
    const id = tenantId();
    await stores.control.appendAudit(event(id, 'a', '2025-03-01T10:00:00.000Z'));
    await stores.control.appendAudit(event(id, 'b', '2025-03-01T10:00:00.000Z'));

    expect((await stores.control.listAudit(id)).map((e) => e.eventId)).toEqual(['b', 'a']);
  });
});
