/**
 * Erasure of one subject with a very large partition, through the
 * `PrivacyRequest` task handler's `execute` action (what the workflow calls,
 * chunk after chunk, until done: `executeErasure` on the one deletion
 * executor), against the floor: the same keys through bare BatchWriteItem and
 * DeleteObjects. Each run of either gets fresh emulators seeded with the same
 * world; the runs alternate, and the figures are the medians.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoPrivacyRequestStore } from '../shared/adapters/dynamodb/privacy-request-store.js';
import { composeRunDeps } from '../shared/app/compose.js';
import { privacyTaskHandler } from '../shared/app/privacy-tasks.js';
import { totalCounts } from '../shared/domain/deletion/counts.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock, Mailer } from '../shared/domain/ports.js';
import type { PrivacyDeps } from '../shared/domain/privacy/deps.js';
import type { PrivacyRequest } from '../shared/domain/privacy/request.js';
import { receivePrivacyRequest } from '../shared/domain/privacy/resolve.js';
import { retentionShardsOf, unlinkedAnalyticsEvent, type RecordItem } from '../shared/domain/records.js';
import type { Tenant } from '../shared/domain/tenant.js';
import { BENCH_REF_SECRET } from './api.js';
import { EMULATOR_BUCKET_FEATURES, provisionStage, seed, startHarness, verify, type Harness, type Stage } from './harness.js';
import { collectGarbage, PortTimer, total } from './instrument.js';
import { CountingProvider, runFloor, timed, type Timed } from './measure.js';
import { buildSubjectWorld, type SubjectWorld } from './privacy-worlds.js';
import { blobOf } from './world.js';

export interface ErasureOptions {
  readonly records: number;
  readonly blobs: number;
  readonly calls: number;
  readonly others: number;
  readonly runs: number;
  /** File the request with `force` (no open-conversation check, so no read of the partition before the erasure's own). */
  readonly force: boolean;
  readonly floorConcurrency: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
  readonly clock: Clock;
  readonly s3Base: string;
}

export interface ErasureRun {
  readonly kind: 'erasure' | 'floor';
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly cpuSeconds: number;
  readonly dynamodbRequests: number;
  readonly s3Requests: number;
  readonly s3Retries: number;
  /** Erasure: handler calls (chunks) until done. */
  readonly chunks?: number;
  /** Erasure: ms inside each port method, summed (where the time goes). */
  readonly portMs?: Record<string, number>;
  readonly portCalls?: Record<string, number>;
  /** Floor: seconds on blobs, then on records. */
  readonly blobSeconds?: number;
  readonly recordSeconds?: number;
  readonly seedSeconds: number;
}

export interface ErasureReport {
  readonly force: boolean;
  readonly world: { readonly subjectRecords: number; readonly subjectBlobs: number; readonly subjectCalls: number; readonly otherRecords: number };
  readonly runs: ErasureRun[];
  readonly medianErasureRecordsPerSecond: number;
  readonly medianFloorRecordsPerSecond: number;
  /** Median erasure throughput over median floor throughput. */
  readonly erasureOverFloor: number;
  /** The same on process CPU time. */
  readonly erasureOverFloorOnCpuTime: number;
  readonly erasureOverFloorDynamodbRequests: number;
  readonly erasureOverFloorS3FirstAttempts: number | null;
}

class NullMailer implements Mailer {
  async send(): Promise<void> {}
}

export async function erasureSection(options: ErasureOptions, log: (line: string) => void): Promise<{ report: ErasureReport; failures: string[] }> {
  const world = buildSubjectWorld({ records: options.records, blobs: options.blobs, calls: options.calls, others: options.others, platform: options.platform, now: options.now });
  const subjectItems = world.subjectIndexes.map((i) => world.items[i] as RecordItem);
  const subjectBlobs = subjectItems.filter((i) => blobOf(i) !== undefined).length;
  log(
    `Erasure of one subject: ${fmt(subjectItems.length)} records (${fmt(subjectBlobs)} blobs, ${options.calls} calls with third-party data) ` +
      `among ${fmt(options.others)} other customers (${fmt(world.items.length - subjectItems.length)} records that stay); ` +
      `${options.runs} run${options.runs === 1 ? '' : 's'} each of the erasure${options.force ? ' (filed with force: no open-conversation check)' : ''} and the floor, alternating`,
  );
  const failures: string[] = [];
  const runs: ErasureRun[] = [];
  for (let r = 0; r < options.runs; r++) {
    const order: ('erasure' | 'floor')[] = r % 2 === 0 ? ['erasure', 'floor'] : ['floor', 'erasure'];
    for (const kind of order) {
      const { run, problems } = await onFreshEmulators(options, world, kind, subjectItems);
      runs.push(run);
      failures.push(...problems.map((p) => `erasure ${kind} run ${r + 1}: ${p}`));
      log(
        `${kind.padEnd(7)} run ${r + 1}: ${run.seconds.toFixed(2)} s, ${fmt(run.recordsPerSecond)} records/s; ${where(run)}` +
          (problems.length === 0 ? '; verified: the subject gone (records and blobs), everything else intact' : '; VERIFICATION FAILED'),
      );
      for (const p of problems) log(`    ${p}`);
    }
  }
  const erasures = runs.filter((r) => r.kind === 'erasure');
  const floors = runs.filter((r) => r.kind === 'floor');
  const medianOf = (xs: readonly ErasureRun[], f: (r: ErasureRun) => number) => median(xs.map(f));
  const eRate = medianOf(erasures, (r) => r.recordsPerSecond);
  const fRate = medianOf(floors, (r) => r.recordsPerSecond);
  const eCpu = medianOf(erasures, (r) => subjectItems.length / r.cpuSeconds);
  const fCpu = medianOf(floors, (r) => subjectItems.length / r.cpuSeconds);
  const firstAttempts = (xs: readonly ErasureRun[]) => medianOf(xs, (r) => r.s3Requests - r.s3Retries);
  const report: ErasureReport = {
    force: options.force,
    world: { subjectRecords: subjectItems.length, subjectBlobs, subjectCalls: options.calls, otherRecords: world.items.length - subjectItems.length },
    runs,
    medianErasureRecordsPerSecond: Math.round(eRate),
    medianFloorRecordsPerSecond: Math.round(fRate),
    erasureOverFloor: round(eRate / fRate, 3),
    erasureOverFloorOnCpuTime: round(eCpu / fCpu, 3),
    erasureOverFloorDynamodbRequests: round(medianOf(erasures, (r) => r.dynamodbRequests) / medianOf(floors, (r) => r.dynamodbRequests), 3),
    erasureOverFloorS3FirstAttempts: firstAttempts(floors) === 0 ? null : round(firstAttempts(erasures) / firstAttempts(floors), 3),
  };
  return { report, failures };
}

async function onFreshEmulators(
  options: ErasureOptions,
  world: SubjectWorld,
  kind: 'erasure' | 'floor',
  subjectItems: readonly RecordItem[],
): Promise<{ run: ErasureRun; problems: string[] }> {
  collectGarbage();
  const directory = await mkdtemp(join(options.s3Base, `lethe-bench-erasure-${kind}-`));
  const h = await startHarness(directory);
  try {
    const stage = await provisionStage(h, kind);
    const seeded = await seed(h, stage, world, options.clock, { blobConcurrency: 16 });
    const { measured, problems } = kind === 'erasure' ? await runErasure(h, stage, options, world) : await runErasureFloor(h, stage, options, subjectItems);
    // Her analytics events are not deleted but unlinked: moved to the account partition, without her.
    const unlinked = subjectItems.filter((i) => i.category === 'analytics_event').map((i) => unlinkedAnalyticsEvent(i, retentionShardsOf(world.tenants[0] as Tenant)));
    const v = await verify(h, stage, world, (i) => world.due[i] === true, undefined, kind === 'erasure' ? unlinked : []);
    const run: ErasureRun = {
      kind,
      seconds: round(measured.seconds, 3),
      recordsPerSecond: Math.round(subjectItems.length / measured.seconds),
      cpuSeconds: round(measured.cpuSeconds, 3),
      dynamodbRequests: total(measured.tally.dynamodb),
      s3Requests: total(measured.tally.s3),
      s3Retries: total(measured.tally.retries.s3),
      ...measured.extra,
      seedSeconds: round(seeded.seconds, 2),
    };
    return { run, problems: [...v.problems, ...problems] };
  } finally {
    await h.close();
    await rm(directory, { recursive: true, force: true });
  }
}

type Measured = Timed & { readonly extra: Partial<ErasureRun> };

/** The erasure as its workflow runs it: the request stored as the POST stores it, then `execute` until done. */
async function runErasure(h: Harness, stage: Stage, options: ErasureOptions, world: SubjectWorld): Promise<{ measured: Measured; problems: string[] }> {
  const external = new CountingProvider();
  const ports = new PortTimer();
  const runDeps = composeRunDeps({
    doc: h.doc,
    s3: h.s3,
    tableNames: stage.tableNames,
    bucketNames: stage.bucketNames,
    bucketFeatures: EMULATOR_BUCKET_FEATURES,
    platform: options.platform,
    mailer: new NullMailer(),
    refSecret: BENCH_REF_SECRET,
    operatorEmails: ['operator@example.test'],
    clock: options.clock,
    external,
  });
  const deps: PrivacyDeps = {
    ...runDeps,
    records: ports.wrap('records', runDeps.records),
    blobs: ports.wrap('blobs', runDeps.blobs),
    external: ports.wrap('external', runDeps.external),
    control: ports.wrap('control', runDeps.control),
    privacy: ports.wrap('privacy', new DynamoPrivacyRequestStore({ doc: h.doc, tableName: stage.tableNames.control })),
  };
  const requestId = 'bench-erasure-1';
  await receivePrivacyRequest(deps, {
    tenantId: world.tenantId,
    requestId,
    requestedBy: 'bench',
    body: { kind: 'erasure', subject: { customerId: world.subjectId }, ...(options.force && { force: true }) },
  });
  for (const key of Object.keys(ports.ms)) {
    delete ports.ms[key];
    delete ports.calls[key];
  }
  const handler = privacyTaskHandler(deps, { logger: new Logger({ serviceName: 'lethe-bench', logLevel: 'ERROR' }) });
  let chunks = 0;
  const run = await timed(h, async () => {
    for (;;) {
      chunks += 1;
      const outcome = (await handler({ action: 'execute', tenantId: world.tenantId, requestId })) as { done: boolean };
      if (outcome.done) return;
    }
  });
  const problems: string[] = [];
  const request = (await deps.privacy.get(world.tenantId, requestId)) as PrivacyRequest;
  const records = world.subjectIndexes.length;
  // Her analytics events stay, unlinked from her (kept: unlinked); everything else of hers is deleted.
  const events = world.subjectIndexes.filter((i) => world.items[i]?.category === 'analytics_event').length;
  const counted = totalCounts(request.counts);
  if (request.status !== 'completed') problems.push(`request ended ${request.status}${request.reason === undefined ? '' : ` (${request.reason})`}`);
  if (counted.deleted !== records - events || counted.kept !== events || counted.examined !== records) {
    problems.push(`request counts ${counted.deleted} deleted and ${counted.kept} kept of ${counted.examined} examined, expected ${records - events} and ${events} (unlinked events) of ${records}`);
  }
  const receipt = await runDeps.control.getReceipt(world.tenantId, request.runIds?.at(-1) ?? '');
  if (receipt === undefined || totalCounts(receipt.categories).deleted !== records - events) problems.push(`receipt missing or not counting ${records - events} deleted records`);
  if (external.calls !== options.calls) problems.push(`third-party provider called ${external.calls} times, expected ${options.calls}`);
  const portMs = Object.fromEntries(Object.entries(ports.ms).sort(([, a], [, b]) => b - a).map(([k, v]) => [k, round(v, 1)]));
  return { measured: { ...run, extra: { chunks, portMs, portCalls: { ...ports.calls } } }, problems };
}

async function runErasureFloor(h: Harness, stage: Stage, options: ErasureOptions, subjectItems: readonly RecordItem[]): Promise<{ measured: Measured; problems: string[] }> {
  const floor = await runFloor(h, stage, subjectItems, { dynamoConcurrency: options.floorConcurrency, s3Concurrency: 4 });
  return {
    measured: { ...floor, extra: { blobSeconds: round(floor.blobSeconds ?? 0, 3), recordSeconds: round(floor.recordSeconds ?? 0, 3) } },
    problems: [],
  };
}

/** Where a run's time went: the erasure's time inside its ports, the floor's blob and record phases. */
function where(run: ErasureRun): string {
  if (run.kind === 'floor') return `blobs ${run.blobSeconds?.toFixed(2)} s, records ${run.recordSeconds?.toFixed(2)} s`;
  const ms = run.portMs ?? {};
  const calls = run.portCalls ?? {};
  const s = (key: string) => ((ms[key] ?? 0) / 1000).toFixed(2);
  const accounted = Object.values(ms).reduce((a, b) => a + b, 0) / 1000;
  return (
    `partition reads ${s('records.findBySubject')} s (${calls['records.findBySubject'] ?? 0}), blob deletes ${s('blobs.deleteBatch')} s (buckets side by side, summed), ` +
    `record waves ${s('records.deleteBatch')} s (${calls['records.deleteBatch'] ?? 0}), receipt ${s('control.putReceipt')} s, ` +
    `outside the ports ${Math.max(0, run.seconds - accounted).toFixed(2)} s`
  );
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
