/**
 * Local mode in-process: the sweep it runs at start and on its schedule
 * (`runtime.runSweep`), over two seeded tenants in one sweep group, with the
 * progress it reports and the receipts it hands back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receipt } from '../../shared/domain/receipt.js';
import { ApiClient } from '../../cli/api-client.js';
import { DataLayoutError, receiptTotals, startLocalRuntime, type LocalRuntime, type SweepProgress } from '../../shared/local/runtime.js';
import { generateDemoDataset, ingestDataset } from '../../shared/local/seed.js';
import { quietLogger } from '../support/sweep-harness.js';

let dataDir: string;
let runtime: LocalRuntime;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lethe-local-runtime-'));
  runtime = await startLocalRuntime({ dataDir, port: 0, profile: 'conversations', logger: quietLogger, stageBudgetMs: 50 });
  const client = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ roles: ['SuperAdministrator'], subject: 'test' }) });
  for (const [i, tenantId] of ['north', 'south'].entries()) {
    await client.put(`/v1/tenants/${tenantId}`, {
      name: tenantId,
      adminEmails: [`dpo@${tenantId}.example`],
      thirdPartyEndpoints: [{ name: 'provider', deleteUrl: runtime.fakeProviderDeleteUrl }],
    });
    const dataset = generateDemoDataset({ now: new Date(), customers: 12, seed: 7 + i });
    runtime.fakeProvider.add(...dataset.thirdPartyRefs);
    await ingestDataset(dataset, async (records) => (await client.post<{ accepted: number }>(`/v1/tenants/${tenantId}/records`, { records })).accepted);
  }
}, 120_000);

afterAll(async () => {
  await runtime?.close({ graceMs: 1000 });
  await rm(dataDir, { recursive: true, force: true });
});

describe('a local sweep', () => {
  it('sweeps every tenant as one group, reports its progress to the end and hands back one receipt per tenant', async () => {
    const progress: SweepProgress[] = [];

    const receipts: Receipt[] = await runtime.runSweep({ runId: 'local-sweep-1' }, (p) => progress.push(p));

    expect(receipts.map((r) => [r.tenantId, r.status]).sort()).toEqual([
      ['north', 'completed'],
      ['south', 'completed'],
    ]);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ runId: 'local-sweep-1', tenants: 2, stagesTotal: 8, stagesDone: 8 });
    const deleted = receipts.reduce((n, r) => n + receiptTotals(r).deleted, 0);
    expect(deleted).toBeGreaterThan(0);
    expect(last.deleted).toBe(deleted);
    // Progress only ever moves forward.
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.stagesDone).toBeGreaterThanOrEqual(progress[i - 1]!.stagesDone);
  });

  it('finds nothing more to delete in a second sweep right after', async () => {
    const receipts = await runtime.runSweep({ runId: 'local-sweep-2' });

    expect(receipts.reduce((n, r) => n + receiptTotals(r).deleted, 0)).toBe(0);
  });
});

describe('a data directory of an earlier layout', () => {
  it('is refused with a message that says what to do, and left as it is', async () => {
    const old = await mkdtemp(join(tmpdir(), 'lethe-old-layout-'));
    const state = `${JSON.stringify({ profile: 'conversations', createdAt: '2026-11-01T00:00:00.000Z' })}\n`;
    await writeFile(join(old, 'local.json'), state);

    const start = startLocalRuntime({ dataDir: old, port: 0, profile: 'conversations', logger: quietLogger });

    await expect(start).rejects.toBeInstanceOf(DataLayoutError);
    await expect(start).rejects.toThrow(/another --data-dir/);
    await rm(old, { recursive: true, force: true });
  });
});
