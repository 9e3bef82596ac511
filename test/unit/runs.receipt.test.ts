import { describe, expect, it } from 'vitest';
import { STAGES } from '../../shared/domain/catalog.js';
import { completeRun, MAX_RECEIPT_SUBJECT_REFS, runStage, startRun, type RunDeps } from '../../shared/domain/runs.js';
import { keys, retentionShard, type RecordItem } from '../../shared/domain/records.js';
import { loadProfile } from '../../shared/config/profiles.js';
import { FixedClock, MemoryBlobStore, MemoryControlStore, MemoryExternalProvider, MemoryMailer, MemoryRecordStore } from '../support/memory.js';

describe('a run receipt', () => {
  it('stays one bounded item when a run touches more subjects than it lists, and says so', async () => {
    const now = new Date('2026-11-22T10:00:00.000Z');
    const deps: RunDeps = {
      records: new MemoryRecordStore(), blobs: new MemoryBlobStore(), control: new MemoryControlStore(),
      external: new MemoryExternalProvider(), mailer: new MemoryMailer(), clock: new FixedClock(now),
      platform: loadProfile('voice'), refSecret: 'receipt-test-secret-0123456789abcdef', operatorEmails: [],
    };
    await deps.control.putTenant({ tenantId: 't', name: 'T', status: 'active', adminEmails: [], createdAt: now.toISOString(), updatedAt: now.toISOString() });
    const old = '2024-01-01T00:00:00.000Z';
    const subjects = MAX_RECEIPT_SUBJECT_REFS + 50;
    const items: RecordItem[] = [];
    for (let i = 0; i < subjects; i++) {
      const pk = keys.subjectPk('t', `c${i}`);
      const sk = keys.webhookDeliverySk(`w${i}`);
      items.push({ pk, sk, tenantId: 't', category: 'analytics_event', id: `e${i}`, subjectId: `c${i}`, clockStart: old, retentionPk: keys.retentionPk('t', 'analytics_event', retentionShard(pk, sk)), retentionSk: keys.retentionSk(old, `e${i}`) });
    }
    await deps.records.putBatch(items);

    await startRun(deps, { tenantId: 't', runId: 'r', dryRun: false });
    for (const stage of STAGES) await runStage(deps, { tenantId: 't', runId: 'r', stage }, { budgetMs: 60_000 });
    await completeRun(deps, { tenantId: 't', runId: 'r' });

    const receipt = (await deps.control.getReceipt('t', 'r'))!;
    expect(receipt.categories.analytics_event!.deleted).toBe(subjects);
    expect(receipt.subjectRefs).toHaveLength(MAX_RECEIPT_SUBJECT_REFS);
    expect(receipt.subjectRefsTruncated).toBe(true);
    expect(JSON.stringify(receipt).length).toBeLessThan(400_000);
  });
});
