/**
 * The three measurements over one seeded state each:
 * (a) the engine's sweep through its real entry points, as the Sweep state
 *     machine calls them: the tenants in sweep groups, each group
 *     startRuns → runStages for stages 1–4 until done → completeRuns;
 * (b) a naive loop: one DeleteItem (and one DeleteObject for a blob record)
 *     per due record, one at a time;
 * (c) the floor: the same due keys through bare BatchWriteItem (25 a request)
 *     and DeleteObjects (1000 a request), no queries, no policy.
 */
import { loadavg } from 'node:os';
import { DeleteObjectCommand, DeleteObjectsCommand, type ObjectIdentifier } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { chunk, mapConcurrent } from '../shared/adapters/retry.js';
import { composeRunDeps } from '../shared/app/compose.js';
import { STAGES, type BucketName } from '../shared/domain/catalog.js';
import { forEachLimited } from '../shared/domain/deletion/counts.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock, ExternalDataProvider, Mailer } from '../shared/domain/ports.js';
import type { Receipt } from '../shared/domain/receipt.js';
import type { RecordItem, RecordKey } from '../shared/domain/records.js';
import { completeRuns, runStages, startRuns, sweepGroups } from '../shared/domain/runs.js';
import type { Tenant, ThirdPartyEndpoint } from '../shared/domain/tenant.js';
import { EMULATOR_BUCKET_FEATURES, type Harness, type Stage } from './harness.js';
import { MemorySampler, type MemoryPeaks, type RequestTally } from './instrument.js';
import { blobOf } from './world.js';

export interface Timed {
  readonly seconds: number;
  /** CPU time of the whole process (user + system), emulators included: robust to other load on the machine. */
  readonly cpuSeconds: number;
  /** One-minute load average of the machine before and after. */
  readonly loadAverage: readonly [number, number];
  readonly tally: RequestTally;
  readonly memory: MemoryPeaks;
}

/** Runs `fn` with request counting and memory sampling. */
export async function timed<T>(h: Harness, fn: () => Promise<T>): Promise<Timed & { readonly result: T }> {
  const sampler = new MemorySampler();
  sampler.start(50);
  const loadBefore = loadavg()[0] as number;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    const { result, tally } = await h.counter.count(fn);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      result,
      tally,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      loadAverage: [loadBefore, loadavg()[0] as number],
      memory: sampler.stop(),
    };
  } finally {
    sampler.stop();
  }
}

/** An in-process provider that deletes nothing and counts the calls. */
export class CountingProvider implements ExternalDataProvider {
  calls = 0;
  async deleteCallData(_tenant: Tenant, _endpoint: ThirdPartyEndpoint, _ref: string): Promise<'deleted'> {
    this.calls += 1;
    return 'deleted';
  }
}

class CountingMailer implements Mailer {
  sent = 0;
  async send(): Promise<void> {
    this.sent += 1;
  }
}

export interface EngineOptions {
  readonly platform: PlatformPolicy;
  readonly clock: Clock;
  readonly budgetMs: number;
  readonly pageSize?: number;
  /** Crypto-shredding on: the engine over sealed stores that shred keys (as deployed); off without it. */
  readonly keyWrapper?: KeyWrapper;
}

export interface EngineResult extends Timed {
  readonly receipts: Receipt[];
  readonly externalCalls: number;
  readonly alerts: number;
  /** Chunks (runStage calls) per stage, summed over tenants. */
  readonly chunks: Record<string, number>;
  /** Seconds spent inside runStages per stage, and in completeRuns, summed over groups (they overlap in wall time). */
  readonly stageSeconds: Record<string, number>;
  /** Sweep groups the tenants were split into. */
  readonly groups: number;
}

export async function runEngine(h: Harness, stage: Stage, tenants: readonly Tenant[], options: EngineOptions): Promise<EngineResult> {
  const external = new CountingProvider();
  const mailer = new CountingMailer();
  const deps = composeRunDeps({
    doc: h.doc,
    s3: h.s3,
    tableNames: stage.tableNames,
    bucketNames: stage.bucketNames,
    bucketFeatures: EMULATOR_BUCKET_FEATURES,
    platform: options.platform,
    mailer,
    refSecret: 'bench-reference-secret-of-at-least-32-bytes',
    operatorEmails: ['operator@example.test'],
    clock: options.clock,
    external,
    ...(options.keyWrapper !== undefined && { keyWrapper: options.keyWrapper }),
  });
  const chunks: Record<string, number> = {};
  const stageSeconds: Record<string, number> = {};
  const runId = `bench-${Date.now().toString(36)}`;

  // What the Sweep state machine does: the tenants in groups (a Map with the
  // platform's concurrency), each group started, swept stage by stage until
  // done, and completed.
  const groups = sweepGroups([...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1)));
  const run = await timed(h, async () => {
    await forEachLimited(groups, options.platform.sweep.tenantConcurrency, async (tenantIds) => {
      const group = { runId, tenantIds };
      await h.counter.inPhase('startRun', () => startRuns(deps, { ...group, dryRun: false }));
      for (const s of STAGES) {
        let continuation: string | undefined;
        for (;;) {
          const began = performance.now();
          const result = await h.counter.inPhase(`stage ${s}`, () =>
            runStages(deps, { ...group, stage: s, ...(continuation !== undefined && { continuation }) }, {
              budgetMs: options.budgetMs,
              ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
            }),
          );
          chunks[`stage ${s}`] = (chunks[`stage ${s}`] ?? 0) + 1;
          stageSeconds[`stage ${s}`] = (stageSeconds[`stage ${s}`] ?? 0) + (performance.now() - began) / 1000;
          if (result.done) break;
          continuation = result.continuation;
        }
      }
      const finishing = performance.now();
      await h.counter.inPhase('completeRun', () => completeRuns(deps, group));
      // With crypto-shredding on, completing a run also shreds the epoch keys its deletions emptied.
      stageSeconds.completeRun = (stageSeconds.completeRun ?? 0) + (performance.now() - finishing) / 1000;
    });
  });
  const receipts = await deps.control.getReceipts(tenants.map((t) => ({ tenantId: t.tenantId, runId })));
  return { ...run, receipts, externalCalls: external.calls, alerts: mailer.sent, chunks, stageSeconds, groups: groups.length };
}

export interface LoopResult extends Timed {
  readonly records: number;
  readonly blobs: number;
  /** Seconds spent deleting blobs and records (floor only; the naive loop interleaves them). */
  readonly blobSeconds?: number;
  readonly recordSeconds?: number;
}

/** (b) One DeleteObject then one DeleteItem per record, strictly one request at a time. */
export async function runNaive(h: Harness, stage: Stage, items: readonly RecordItem[]): Promise<LoopResult> {
  let blobs = 0;
  const run = await timed(h, async () => {
    for (const item of items) {
      const blob = blobOf(item);
      if (blob !== undefined) {
        await h.s3.send(new DeleteObjectCommand({ Bucket: stage.bucketNames[blob.bucket], Key: blob.key }));
        blobs += 1;
      }
      await h.doc.send(new DeleteCommand({ TableName: stage.tableNames.records, Key: { pk: item.pk, sk: item.sk } }));
    }
  });
  return { ...run, records: items.length, blobs };
}

export interface FloorOptions {
  /** BatchWriteItem requests in flight. */
  readonly dynamoConcurrency: number;
  /** DeleteObjects requests in flight. */
  readonly s3Concurrency: number;
}

/** (c) Blobs first (DeleteObjects, 1000 keys), then records (BatchWriteItem, 25 keys), with bounded concurrency. */
export async function runFloor(h: Harness, stage: Stage, items: readonly RecordItem[], options: FloorOptions): Promise<LoopResult> {
  let blobSeconds = 0;
  const run = await timed(h, async () => {
    blobSeconds = await floorDeletes(h, stage, items, options);
  });
  return { ...run, records: items.length, blobs: countBlobs(items), blobSeconds, recordSeconds: run.seconds - blobSeconds };
}

function countBlobs(items: readonly RecordItem[]): number {
  return items.filter((i) => blobOf(i) !== undefined).length;
}

/** The floor's deletes; returns the seconds spent on blobs. */
async function floorDeletes(h: Harness, stage: Stage, items: readonly RecordItem[], options: FloorOptions): Promise<number> {
  const byBucket = new Map<BucketName, ObjectIdentifier[]>();
  for (const item of items) {
    const blob = blobOf(item);
    if (blob === undefined) continue;
    const list = byBucket.get(blob.bucket) ?? [];
    list.push({ Key: blob.key });
    byBucket.set(blob.bucket, list);
  }
  const blobParts = [...byBucket].flatMap(([bucket, objects]) => chunk(objects, 1000).map((part) => ({ bucket, part })));
  const recordParts = chunk(
    items.map((i): RecordKey => ({ pk: i.pk, sk: i.sk })),
    25,
  );
  const table = stage.tableNames.records;

  const began = performance.now();
  await mapConcurrent(blobParts, options.s3Concurrency, async ({ bucket, part }) => {
    let pending = part;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= 8) throw new Error(`floor: DeleteObjects still failing after ${attempt} attempts`);
      const output = await h.s3.send(
        new DeleteObjectsCommand({ Bucket: stage.bucketNames[bucket], Delete: { Objects: pending, Quiet: true } }),
      );
      const failed = new Set((output.Errors ?? []).map((e) => e.Key));
      pending = pending.filter((o) => failed.has(o.Key));
    }
  });
  const blobSeconds = (performance.now() - began) / 1000;
  await mapConcurrent(recordParts, options.dynamoConcurrency, async (part) => {
    let pending: unknown[] = part.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= 8) throw new Error(`floor: BatchWriteItem still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
      const output = await h.doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = output.UnprocessedItems?.[table] ?? [];
    }
  });
  return blobSeconds;
}
