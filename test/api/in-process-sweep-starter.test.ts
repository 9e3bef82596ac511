/**
 * The in-process sweep starter runs a tenant run the way the Sweep state
 * machine does: start, every stage until done, a failed stage recorded and
 * the run carried on, then complete.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InProcessSweepStarter } from '../../shared/app/api/in-process-sweep-starter.js';
import type { RecordStore } from '../../shared/domain/ports.js';
import { apiWorld, customerRecords, ingest, registerTenant, type ApiWorld } from '../support/api.js';

let w: ApiWorld;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, 'acme');
  await ingest(w, 'acme', customerRecords({ id: 'c', name: 'N', phone: '+14155556000', email: 'n@example.com', secret: 's', age: 300 }));
});

describe('InProcessSweepStarter', () => {
  it('runs in the background when asked to, and idle() waits for the run to complete', async () => {
    const starter = new InProcessSweepStarter(w.runDeps, { background: true });

    await starter.start({ tenantId: 'acme', runId: 'bg-1', dryRun: true });
    await starter.idle();

    expect(await w.stores.control.getReceipt('acme', 'bg-1')).toMatchObject({ status: 'completed', dryRun: true, completedStages: [1, 2, 3, 4] });
  });

  it('records a failing stage and goes on with the next ones', async () => {
    const records = Object.assign(Object.create(w.stores.records) as RecordStore, {
      findDueForDeletion: async (tenantId: string, category: Parameters<RecordStore['findDueForDeletion']>[1], cutoff: Date, options: Parameters<RecordStore['findDueForDeletion']>[3]) => {
        if (category === 'third_party_call_data') throw Object.assign(new Error('provider index unavailable'), { name: 'IndexDown' });
        return w.stores.records.findDueForDeletion(tenantId, category, cutoff, options);
      },
    });
    const starter = new InProcessSweepStarter({ ...w.runDeps, records });

    await starter.start({ tenantId: 'acme', runId: 'fail-1', dryRun: true });

    const receipt = await w.stores.control.getReceipt('acme', 'fail-1');
    expect(receipt).toMatchObject({ status: 'failed', failedStages: [{ stage: 2, error: 'IndexDown' }], completedStages: [1, 3, 4] });
  });
});
