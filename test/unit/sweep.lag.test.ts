import { describe, expect, it } from 'vitest';
import { STAGES } from '../../shared/domain/catalog.js';
import { effectivePeriod, periodMs } from '../../shared/domain/policy.js';
import { completeRun, runStage, startRun, type RunDeps } from '../../shared/domain/runs.js';
import { keys, retentionShard, type RecordItem } from '../../shared/domain/records.js';
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
    });
    // Calls with the shortest period the profile allows (0 = 2 hours), webhooks at 1 day, the rest at defaults.
    const policy = { tenantId: 'v', profile: 'voice', version: 1, locked: false, categories: { call: { days: 0 }, webhook_delivery: { days: 1 } } };
    control.policies.set('v', policy);

    const eligibleAt = new Map<string, number>();
    const deletedAt = new Map<string, number>();
    const cadence = platform.sweep.cadenceMinutes * 60_000;
    let n = 0;
    let runs = 0;
    for (let t = start.getTime(); t < start.getTime() + 30 * DAY; t += HOUR) {
      clock.set(new Date(t));
      // Hourly ingest: new calls and webhooks, plus calls whose clock started long ago (late-arriving data).
      const batch: RecordItem[] = [];
      for (const [category, clockStart] of [
        ['call', t - 7 * 60_000],
        ['webhook_delivery', t - 30 * 60_000],
        ['call', t - 95 * DAY],
      ] as const) {
        const id = `r${n++}`;
        const pk = category === 'call' ? keys.subjectPk('v', `s${id}`) : keys.accountPk('v');
        const sk = category === 'call' ? keys.callSk(id) : keys.webhookDeliverySk(id);
        const iso = new Date(clockStart).toISOString();
        batch.push({
          pk, sk, tenantId: 'v', category, id, clockStart: iso, subjectId: category === 'call' ? `s${id}` : undefined,
          retentionPk: keys.retentionPk('v', category, retentionShard(pk, sk)), retentionSk: keys.retentionSk(iso, id),
        });
        const period = periodMs(effectivePeriod(platform, policy, category).days);
        eligibleAt.set(`${pk}\u0000${sk}`, Math.max(clockStart + period, t));
      }
      await records.putBatch(batch);

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
    expect(measured).toBeGreaterThan(1000);
    expect(maxLag).toBeLessThanOrEqual(cadence + platform.sweep.graceHours * HOUR);
  });
});
