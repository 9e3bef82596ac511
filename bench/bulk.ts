/**
 * Bulk erasure by filter through the API: `POST /privacy-requests` with a
 * chatbot filter answers at once (the request's customers are not looked for
 * inside it), and the `PrivacyRequest` workflow, run in the background,
 * finds the matching customers page by page and erases them. Measured: the
 * POST's answer time, and the time until the workflow has ended; verified:
 * every matching customer gone (records and blobs), every other one intact,
 * the request completed with its counts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { totalCounts } from '../shared/domain/deletion/counts.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock } from '../shared/domain/ports.js';
import { benchApi } from './api.js';
import { provisionStage, seed, startHarness, verify } from './harness.js';
import { byCommand, collectGarbage, total, type Counts } from './instrument.js';
import { timed } from './measure.js';
import { buildBulkWorld } from './privacy-worlds.js';
import { blobOf } from './world.js';

export interface BulkOptions {
  readonly matching: number;
  readonly others: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
  readonly clock: Clock;
  readonly s3Base: string;
}

export interface BulkReport {
  readonly world: {
    readonly customers: number;
    readonly matching: number;
    readonly records: number;
    readonly matchingRecords: number;
    readonly blobs: number;
    readonly matchingBlobs: number;
  };
  /**
   * The process warmed up first, as a local server is after its first
   * requests: a GET, then an access request for a customer with no data, run
   * to its end (the first workflow start of a kind in a process validates the
   * state machine, about 0.3–0.5 s that the first POST waits for).
   */
  readonly warmup: { readonly getMs: number; readonly firstPostMs: number };
  readonly postMs: number;
  /** Of `postMs`, the time inside the workflow starter (see `Answer.startMs`). */
  readonly postStartMs: number;
  readonly postStatus: number;
  /** From the POST's start until the workflow has ended. */
  readonly completedSeconds: number;
  /** Matching records erased per second, over `completedSeconds`. */
  readonly recordsPerSecond: number;
  readonly cpuSeconds: number;
  readonly status: string;
  readonly matchedSubjects: number | null;
  readonly deletedRecords: number;
  readonly dynamodbRequests: Counts;
  readonly s3Requests: Counts;
  readonly seedSeconds: number;
  readonly verified: boolean;
}

export async function bulkSection(options: BulkOptions, log: (line: string) => void): Promise<{ report: BulkReport; failures: string[] }> {
  const world = buildBulkWorld({ matching: options.matching, others: options.others, blobEvery: 10, platform: options.platform, now: options.now });
  const matchingRecords = world.due.filter(Boolean).length;
  const blobs = world.items.filter((i) => blobOf(i) !== undefined).length;
  const matchingBlobs = world.items.filter((item, i) => world.due[i] === true && blobOf(item) !== undefined).length;
  log(
    `Bulk erasure by filter: one tenant of ${fmt(options.matching + options.others)} customers (${fmt(world.items.length)} records, ${fmt(blobs)} blobs); ` +
      `${fmt(world.matching)} of them talked to the erased bot (${fmt(matchingRecords)} records, ${fmt(matchingBlobs)} blobs)`,
  );
  collectGarbage();
  const directory = await mkdtemp(join(options.s3Base, 'lethe-bench-bulk-'));
  const h = await startHarness(directory);
  try {
    const stage = await provisionStage(h, 'bulk');
    const seeded = await seed(h, stage, world, options.clock, { blobConcurrency: 16 });
    log(`bulk    seeded ${fmt(seeded.records)} records and ${fmt(seeded.blobs)} blobs in ${seeded.seconds.toFixed(1)} s`);
    const api = benchApi(h, stage, { platform: options.platform, clock: options.clock });
    const base = `/v1/tenants/${world.tenantId}/privacy-requests`;
    const warmGet = await api.call(world.tenantId, 'GET', base);
    const warmPost = await api.call(world.tenantId, 'POST', base, { kind: 'access', subject: { customerId: 'bench-warm-up' } });
    await api.privacyRequests.idle();
    let postMs = 0;
    let postStartMs = 0;
    let postStatus = 0;
    let requestId = '';
    const run = await timed(h, async () => {
      const answer = await api.call(world.tenantId, 'POST', base, { kind: 'erasure', filter: { botId: world.botId } });
      postMs = answer.ms;
      postStartMs = answer.startMs;
      postStatus = answer.status;
      requestId = String(answer.body?.requestId ?? '');
      log(`bulk    POST answered ${answer.status} in ${fmt(Math.round(answer.ms))} ms; the workflow runs in the background, in this process`);
      await whileRunning(() => api.privacyRequests.idle(), log, 'bulk   ');
    });
    const problems: string[] = [];
    if (postStatus !== 202) problems.push(`POST answered ${postStatus}, expected 202`);
    const view = await api.call(world.tenantId, 'GET', `${base}/${requestId}`);
    const stored = await api.privacyDeps.privacy.get(world.tenantId, requestId);
    const counts = totalCounts(stored?.counts ?? {});
    const status = String(view.body?.status ?? 'unknown');
    if (status !== 'completed') problems.push(`request ended ${status}${view.body?.reason === undefined ? '' : ` (${String(view.body.reason)})`}`);
    if (stored?.matchedSubjects !== world.matching) problems.push(`request matched ${String(stored?.matchedSubjects)} customers, expected ${world.matching}`);
    if (counts.deleted !== matchingRecords || counts.examined !== matchingRecords) {
      problems.push(`request counts ${counts.deleted} deleted of ${counts.examined} examined, expected ${matchingRecords} of ${matchingRecords}`);
    }
    const v = await verify(h, stage, world, (i) => world.due[i] === true);
    problems.push(...v.problems);
    log(
      `bulk    workflow done ${run.seconds.toFixed(1)} s after the POST: ${status}, ${fmt(stored?.matchedSubjects ?? 0)} customers matched, ${fmt(counts.deleted)} records erased; ` +
        (problems.length === 0 ? 'verified: every matching customer gone (records and blobs), every other one intact' : 'VERIFICATION FAILED'),
    );
    for (const p of problems) log(`    ${p}`);
    const report: BulkReport = {
      world: { customers: options.matching + options.others, matching: world.matching, records: world.items.length, matchingRecords, blobs, matchingBlobs },
      warmup: { getMs: round(warmGet.ms, 1), firstPostMs: round(warmPost.ms, 1) },
      postMs: round(postMs, 1),
      postStartMs: round(postStartMs, 1),
      postStatus,
      completedSeconds: round(run.seconds, 2),
      recordsPerSecond: Math.round(matchingRecords / run.seconds),
      cpuSeconds: round(run.cpuSeconds, 2),
      status,
      matchedSubjects: stored?.matchedSubjects ?? null,
      deletedRecords: counts.deleted,
      dynamodbRequests: byCommand(run.tally.dynamodb),
      s3Requests: run.tally.s3,
      seedSeconds: round(seeded.seconds, 2),
      verified: problems.length === 0,
    };
    log(`bulk    requests: ${fmt(total(run.tally.dynamodb))} DynamoDB (${describe(report.dynamodbRequests)}), ${fmt(total(run.tally.s3))} S3`);
    return { report, failures: problems.map((p) => `bulk erasure: ${p}`) };
  } finally {
    await h.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Awaits `work`, printing a line every 30 s so a long wait shows it is alive. */
export async function whileRunning<T>(work: () => Promise<T>, log: (line: string) => void, label: string, status?: () => Promise<string>): Promise<T> {
  const began = performance.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const extra = status === undefined ? '' : `: ${await status().catch(() => '?')}`;
      log(`${label} … ${((performance.now() - began) / 1000).toFixed(0)} s${extra}`);
    })().finally(() => (busy = false));
  }, 30_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function describe(counts: Counts): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${fmt(v)} ${k}`)
    .join(', ');
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
