import { describe, expect, it } from 'vitest';
import { STAGES } from '../../shared/domain/catalog.js';
import { effectivePeriod, periodMs } from '../../shared/domain/policy.js';
import { completeRun, runStage, startRun, type RunDeps } from '../../shared/domain/runs.js';
import { toRecordItems } from '../../shared/domain/ingest/plan.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { writeRecords } from '../../shared/app/api/use-cases/ingest.js';
import type { Category } from '../../shared/domain/catalog.js';
import { loadProfile } from '../../shared/config/profiles.js';
import {
  FixedClock,
  MemoryBlobStore,
  MemoryControlStore,
  MemoryExternalProvider,
  MemoryMailer,
  MemoryRecordStore,
} from '../support/memory.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('deletion lag under the voice profile', () => {
  it('deletes every record within cadence + grace of becoming eligible, over 30 days of hourly ingest', async () => {
    const platform = loadProfile('voice');
    const start = new Date('2026-03-01T00:00:00.000Z');
    const clock = new FixedClock(start);
    const records = new MemoryRecordStore();
    const control = new MemoryControlStore();
    const deps: RunDeps = {
      records,
      blobs: new MemoryBlobStore(),
      control,
      external: new MemoryExternalProvider(),
      mailer: new MemoryMailer(),
      clock,
      platform,
      refSecret: 'test-secret-key-0123456789abcdef',
      operatorEmails: [],
    };
    await control.putTenant({
      tenantId: 'v', name: 'Voice', status: 'active', adminEmails: [], createdAt: start.toISOString(), updatedAt: start.toISOString(), lastActivityAt: start.toISOString(),
      thirdPartyEndpoints: [{ name: 'pbx', deleteUrl: 'https://pbx.example/calls/{ref}' }],
    });
    // Calls with the shortest period the profile allows (0 = 2 hours), webhooks at 1 day, the rest at defaults.
    const policy = { tenantId: 'v', profile: 'voice', version: 1, locked: false, categories: { call: { days: 0 }, webhook_delivery: { days: 1 } } };
    control.policies.set('v', policy);

    const eligibleAt = new Map<string, number>();
    const deletedAt = new Map<string, number>();
    const cadence = platform.sweep.cadenceMinutes * 60_000;
    const period = (c: Category) => periodMs(effectivePeriod(platform, policy, c).days);
    const iso = (ms: number) => new Date(ms).toISOString();
    let n = 0;
    let runs = 0;
    for (let t = start.getTime(); t < start.getTime() + 30 * DAY; t += HOUR) {
      clock.set(new Date(t));
      // Hourly ingest through the writer: a customer calling now (with a recording and third-party
      // data, which are due with their call), a webhook, and a call whose clock started long ago.
      const body: IngestRecordInput[] = [];
      for (const [age, customer] of [[7 * 60_000, `s${n}`], [95 * DAY, `s${n}-late`]] as const) {
        const call = `k${n++}`;
        body.push(
          { type: 'customer', id: customer, lastContactAt: iso(t - age) },
          { type: 'call', id: call, customerId: customer, startedAt: iso(t - age), durationSeconds: 60, thirdPartyRef: `ref-${call}` },
          { type: 'recording', id: `${call}-r`, callId: call, customerId: customer, contentType: 'audio/wav', contentBase64: 'aGVsbG8=' },
        );
      }
      body.push({ type: 'webhook_delivery', id: `w${n++}`, deliveredAt: iso(t - 30 * 60_000), url: 'https://hooks.example/x', statusCode: 200 });
      const write = toRecordItems(body, { tenantId: 'v', platform, holds: [], now: clock.now(), conversation: () => undefined, call: () => undefined });
      for (const b of write.blobs) await deps.blobs.put(b.bucket, b.key, b.body, b.contentType);
      await writeRecords(records, write);
      for (const item of write.items) {
        // Eligible when its own period has passed or, under a call, the call's.
        const own = Date.parse(item.clockStart) + period(item.category);
        const viaParent = item.parentClock === undefined ? Infinity : Date.parse(item.parentClock) + period(item.parentCategory as Category);
        eligibleAt.set(`${item.pk}\u0000${item.sk}`, Math.max(Math.min(own, viaParent), t));
      }

      // The scheduler fires at the profile's cadence.
      if ((t - start.getTime()) % cadence === 0) {
        const runId = `run${runs++}`;
        await startRun(deps, { tenantId: 'v', runId, dryRun: false });
        for (const stage of STAGES) await runStage(deps, { tenantId: 'v', runId, stage }, { budgetMs: 60_000 });
        await completeRun(deps, { tenantId: 'v', runId });
        for (const d of records.deleteLog.splice(0)) deletedAt.set(`${d.pk}\u0000${d.sk}`, t);
      }
    }

    let maxLag = 0;
    let measured = 0;
    for (const [key, eligible] of eligibleAt) {
      const deleted = deletedAt.get(key);
      if (deleted === undefined) {
        // Still present only if it is not yet overdue at the end of the simulation.
        expect(eligible + cadence + platform.sweep.graceHours * HOUR).toBeGreaterThan(clock.now().getTime());
        continue;
      }
      expect(deleted).toBeGreaterThanOrEqual(eligible);
      maxLag = Math.max(maxLag, deleted - eligible);
      measured++;
    }
    expect(measured).toBeGreaterThan(2000);
    // Recordings and third-party data went in the same run as their call (the call's clock makes them due), never later.
    let children = 0;
    for (const [key, at] of deletedAt) {
      const [pk, sk] = key.split('\u0000') as [string, string];
      const call = /^(CALL#[^#]+)#/.exec(sk)?.[1];
      if (call === undefined) continue;
      children++;
      expect(deletedAt.get(`${pk}\u0000${call}`), sk).toBe(at);
    }
    expect(children).toBeGreaterThan(1000);
    expect(maxLag).toBeLessThanOrEqual(cadence + platform.sweep.graceHours * HOUR);
  });
});
