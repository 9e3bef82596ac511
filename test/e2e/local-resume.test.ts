/**
 * Local mode after a process that stopped mid-work: the data says a sweep is
 * `running` and a privacy request is waiting, with no execution left to finish
 * them (what a kill past the Ctrl-C grace leaves). The next start resumes both
 * and they finish, exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api-client.js';
import { receivePrivacyRequest } from '../../shared/domain/privacy/resolve.js';
import { startRun } from '../../shared/domain/runs.js';
import { startLocalRuntime, type LocalRuntime } from '../../shared/local/runtime.js';
import { generateDemoDataset, ingestDataset } from '../../shared/local/seed.js';
import { quietLogger } from '../support/sweep-harness.js';

const T = 'resume';
let dataDir: string | undefined;
let runtime: LocalRuntime | undefined;

afterAll(async () => {
  await runtime?.close({ graceMs: 1000 });
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a local start after a stop mid-work', () => {
  it('resumes the sweep left running and the privacy request left waiting, and both finish', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lethe-local-resume-'));
    const first = await startLocalRuntime({ dataDir, port: 0, profile: 'conversations', logger: quietLogger, stageBudgetMs: 50 });
    runtime = first;
    expect(first.resumed).toEqual({ sweeps: 0, privacyRequests: 0, holds: 0, deletions: 0 });
    const client = new ApiClient({ endpoint: first.url, token: await first.issueToken({ roles: ['SuperAdministrator'], subject: 'test' }) });
    await client.put(`/v1/tenants/${T}`, { name: T, adminEmails: ['dpo@resume.example'], thirdPartyEndpoints: [{ name: 'provider', deleteUrl: first.fakeProviderDeleteUrl }] });
    const dataset = generateDemoDataset({ now: new Date(), customers: 10, seed: 11 });
    first.fakeProvider.add(...dataset.thirdPartyRefs);
    await ingestDataset(dataset, async (records) => (await client.post<{ accepted: number }>(`/v1/tenants/${T}/records`, { records })).accepted);
    const erased = dataset.bundles.flat().find((r) => r.type === 'customer')!.id;
    expect(await first.deps.records.findBySubject(T, erased)).not.toEqual([]);
    // What a process killed right after opening a run and storing a request leaves behind.
    await startRun(first.deps, { runId: 'sweep-killed', tenantId: T, dryRun: false });
    const request = await receivePrivacyRequest(first.deps, { tenantId: T, requestId: 'erase-killed', requestedBy: 'h:test', body: { kind: 'erasure', subject: { customerId: erased } } });
    expect(request.status).toBe('received');
    await first.close({ graceMs: 1000 });
    // The stand-in provider forgets its references with the process; the erasure finds them gone (404 counts as deleted).
    runtime = undefined;

    // The same port: the stand-in provider is served by the API server, and the tenant's deleteUrl names it.
    const port = Number(new URL(first.url).port);
    const second = await startLocalRuntime({ dataDir, port, profile: 'conversations', logger: quietLogger, stageBudgetMs: 50 });
    runtime = second;

    expect(second.resumed).toEqual({ sweeps: 1, privacyRequests: 1, holds: 0, deletions: 0 });
    const receipt = await eventually(() => second.deps.control.getReceipt(T, 'sweep-killed'), (r) => r?.status !== 'running');
    expect(receipt?.status).toBe('completed');
    expect(receipt?.completedStages).toEqual([1, 2, 3, 4]);
    const finished = await eventually(() => second.deps.privacy.get(T, 'erase-killed'), (r) => r?.status === 'completed');
    expect({ status: finished?.status, reason: finished?.reason }).toEqual({ status: 'completed', reason: undefined });
    expect(await second.deps.records.findBySubject(T, erased)).toEqual([]);
    // Nothing is left for a third start to resume.
    await second.close({ graceMs: 5000 });
    runtime = undefined;
    const third = await startLocalRuntime({ dataDir, port, profile: 'conversations', logger: quietLogger, stageBudgetMs: 50 });
    runtime = third;
    expect(third.resumed).toEqual({ sweeps: 0, privacyRequests: 0, holds: 0, deletions: 0 });
  }, 240_000);
});
