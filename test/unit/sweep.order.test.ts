import { describe, expect, it } from 'vitest';
import { STAGES } from '../../shared/domain/catalog.js';
import { completeRun, runStage, startRun, type RunDeps } from '../../shared/domain/runs.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { memoryWorld } from '../support/memory-world.js';
import { buildWorld, type TenantSpec, type World } from '../support/worlds.js';

const OLD = 400 * 86_400_000;

/** One tenant, one customer who called three times long ago: each call with recordings and third-party data. */
function callWorld(): World {
  const spec: TenantSpec = {
    customers: [
      {
        lastContactAge: 10 * 86_400_000,
        conversations: [],
        calls: [
          { age: OLD, recordings: 2, thirdParty: true },
          { age: OLD + 1000, recordings: 1, thirdParty: true },
          { age: OLD + 2000, recordings: 1, thirdParty: false },
        ],
        analyticsAges: [],
      },
    ],
    webhookAges: [],
    adminLogAges: [],
    users: [],
    configAges: [],
    contractEndAge: undefined,
    lastActivityAge: 0,
    overrides: {},
    holdPicks: [],
  };
  return buildWorld(loadProfile('voice'), [spec]);
}

function setUp(world: World) {
  return memoryWorld(world);
}

async function run(deps: RunDeps, runId: string) {
  await startRun(deps, { tenantId: 't0', runId, dryRun: false });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      const chunk = await runStage(deps, { tenantId: 't0', runId, stage, continuation }, { budgetMs: 60_000 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  return completeRun(deps, { tenantId: 't0', runId });
}

describe('deletion order', () => {
  it('deletes every recording blob before its call record, and third-party data before the call', async () => {
    const world = callWorld();
    const deps = await setUp(world);

    await run(deps, 'r1');

    const calls = world.items.filter((i) => i.category === 'call');
    expect(calls).toHaveLength(3);
    for (const call of calls) {
      const callDelete = deps.records.deleteLog.find((d) => d.pk === call.pk && d.sk === call.sk);
      expect(callDelete, `call ${call.id} deleted`).toBeDefined();
      for (const rec of world.items.filter((i) => i.category === 'call_recording' && i.callId === call.callId)) {
        const blobDelete = deps.blobs.deleteLog.find((d) => d.key === rec.blobKey);
        const pointerDelete = deps.records.deleteLog.find((d) => d.sk === rec.sk);
        expect(blobDelete!.seq).toBeLessThan(pointerDelete!.seq);
        expect(pointerDelete!.seq).toBeLessThan(callDelete!.seq);
      }
      const marker = world.items.find((i) => i.category === 'third_party_call_data' && i.callId === call.callId);
      if (marker !== undefined) {
        const external = deps.external.deleted.find((d) => d.ref === marker.externalRef);
        const markerDelete = deps.records.deleteLog.find((d) => d.sk === marker.sk);
        expect(external!.seq).toBeLessThan(markerDelete!.seq);
        expect(markerDelete!.seq).toBeLessThan(callDelete!.seq);
      }
    }
  });

  it('keeps the call record when its recording blob fails to delete, and the next run completes both', async () => {
    const world = callWorld();
    const deps = await setUp(world);
    const failing = world.items.find((i) => i.category === 'call_recording' && i.callId?.endsWith('k0'))!;
    deps.blobs.deleteFails = (_bucket, key) => (key === failing.blobKey ? 'InternalError' : undefined);

    const first = await run(deps, 'r1');

    const callOfFailing = world.items.find((i) => i.category === 'call' && i.callId === failing.callId)!;
    expect(await deps.records.get(failing)).toBeDefined();
    expect(await deps.records.get(callOfFailing)).toBeDefined();
    expect(await deps.blobs.get('recordings', failing.blobKey!)).toBeDefined();
    const otherCalls = world.items.filter((i) => i.category === 'call' && i.callId !== failing.callId);
    for (const c of otherCalls) expect(await deps.records.get(c)).toBeUndefined();
    const receipt = await deps.control.getReceipt('t0', 'r1');
    expect(receipt!.categories.call_recording!.failed).toBe(1);
    expect(first.critical).toBe(true);
    expect(deps.mailer.sent).toHaveLength(1);

    deps.blobs.deleteFails = () => undefined;
    await run(deps, 'r2');

    expect(await deps.records.get(failing)).toBeUndefined();
    expect(await deps.records.get(callOfFailing)).toBeUndefined();
    expect(await deps.blobs.get('recordings', failing.blobKey!)).toBeUndefined();
    expect(deps.records.items.size).toBe(world.items.filter((i) => i.pk !== failing.pk || i.category === 'customer_profile').length);
  });

  it('keeps a call whose third-party data could not be deleted, and alerts without personal data', async () => {
    const world = callWorld();
    const deps = await setUp(world);
    deps.external.fails = () => true;

    await run(deps, 'r1');

    for (const call of world.items.filter((i) => i.category === 'call')) {
      const hasMarker = world.items.some((i) => i.category === 'third_party_call_data' && i.callId === call.callId);
      expect(await deps.records.get(call), call.id).toEqual(hasMarker ? expect.anything() : undefined);
    }
    const mail = deps.mailer.sent[0]!;
    expect(mail.to).toEqual(['admin0@example.test', 'ops@example.test']);
    expect(mail.text).toContain('third_party_call_data');
    for (const item of world.items) {
      expect(mail.text).not.toContain(item.subjectId!);
      if (item.externalRef) expect(mail.text).not.toContain(item.externalRef);
    }
  });
});

describe('a customer kept by a held child', () => {
  it('keeps the profile and its identifiers, so the customer stays findable, while deleting what is free', async () => {
    const world = callWorld();
    const deps = await setUp(world);
    const profile = world.items.find((i) => i.sk === 'PROFILE')!;
    const identifier = world.items.find((i) => i.sk.startsWith('ID#'))!;
    const heldCall = world.items.find((i) => i.category === 'call')!;
    await deps.control.putHold({ tenantId: 't0', holdId: 'h', scope: { callId: heldCall.callId }, reason: 'x', createdAt: world.now.toISOString(), createdBy: 't' });
    const { executeDeletion, reportOf } = await import('../../shared/domain/deletion/executor.js');
    const { holdMatcher } = await import('../../shared/domain/holds.js');
    const isHeld = holdMatcher(await deps.control.listHolds('t0'), world.now);

    const report = reportOf(
      await executeDeletion(deps, {
        roots: [{ tenant: world.tenants[0]!, record: profile, expand: true }],
        rules: () => ({ isHeld }),
        dryRun: false,
        deadline: world.now,
      }),
      't0',
    );

    expect(await deps.records.get(profile)).toBeDefined();
    expect(await deps.records.get(identifier)).toBeDefined();
    expect(await deps.records.get(heldCall)).toBeDefined();
    const otherCall = world.items.find((i) => i.category === 'call' && i.callId !== heldCall.callId)!;
    expect(await deps.records.get(otherCall)).toBeUndefined();
    expect(report.counts.customer_profile!.held).toBe(2);
  });
});
