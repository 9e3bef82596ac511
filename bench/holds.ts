/**
 * A legal hold over a whole tenant through the API: `POST /legal-holds` with
 * an empty scope stores the hold (`applying`) and answers at once, and the
 * `Hold` workflow, run in the background, takes the TTL backstop off every
 * record; `DELETE` stores the release (`releasing`) and the workflow puts the
 * backstops back. Measured: each request's answer time and the time until
 * the hold is `active` / `released`; verified on every record of the table
 * (not a sample): no backstop while the hold is active, the original one
 * after the release, nothing deleted, and the hold's counts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { HoldWorkCounts, LegalHold } from '../shared/domain/holds.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock } from '../shared/domain/ports.js';
import { keys } from '../shared/domain/records.js';
import { benchApi, type BenchApi } from './api.js';
import { whileRunning } from './bulk.js';
import { provisionStage, seed, startHarness, type Harness, type Stage } from './harness.js';
import { byCommand, collectGarbage, total, type Counts } from './instrument.js';
import { timed } from './measure.js';
import { blobOf, buildWorld, keyOf, type BenchWorld } from './world.js';

export interface HoldOptions {
  readonly records: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
  readonly clock: Clock;
  readonly s3Base: string;
  readonly seed: number;
}

export interface HoldPhaseReport {
  /** The POST or DELETE's answer time. */
  readonly requestMs: number;
  /** Of it, the time inside the workflow starter (see `Answer.startMs`). */
  readonly requestStartMs: number;
  /** The hold's status in that answer. */
  readonly answeredStatus: string;
  /** From the request's start until the workflow has ended. */
  readonly completedSeconds: number;
  readonly recordsPerSecond: number;
  readonly cpuSeconds: number;
  readonly finalStatus: string;
  readonly counts: HoldWorkCounts;
  readonly expectedRecords: number;
  readonly dynamodbRequests: Counts;
  readonly s3Requests: Counts;
  /** Records whose backstop was checked afterwards (every record of the table). */
  readonly checkedRecords: number;
}

export interface HoldReport {
  readonly world: { readonly records: number; readonly customers: number; readonly blobs: number; readonly withBackstop: number };
  /** The process warmed up first (see `BulkReport.warmup`): a GET, then a hold on a customer with no data, applied and released. */
  readonly warmup: { readonly getMs: number; readonly firstPostMs: number; readonly firstDeleteMs: number };
  readonly apply: HoldPhaseReport;
  readonly release: HoldPhaseReport;
  readonly seedSeconds: number;
  readonly verified: boolean;
}

export async function holdSection(options: HoldOptions, log: (line: string) => void): Promise<{ report: HoldReport; failures: string[] }> {
  // One tenant of live customers (nothing past retention: a hold is placed on data that is still there).
  const world = buildWorld({ records: options.records, tenants: 1, blobRatio: 0.02, dueRatio: 0, platform: options.platform, now: options.now, seed: options.seed });
  const tenantId = (world.tenants[0] as BenchWorld['tenants'][number]).tenantId;
  const inCustomer = (pk: string) => pk.startsWith(keys.subjectPk(tenantId, ''));
  const withBackstop = world.items.filter((i) => i.expiresAt !== undefined).length;
  // Applying counts the backstops it takes off: in customer partitions those present; outside them (read from the
  // index, which does not project the backstop) every record. Releasing counts the backstops it puts back.
  const expectedApplied = world.items.filter((i) => !inCustomer(i.pk) || i.expiresAt !== undefined).length;
  const blobs = world.items.filter((i) => blobOf(i) !== undefined).length;
  const customers = world.customers.gone + world.customers.aged + world.customers.active;
  log(`Tenant-wide legal hold: one tenant of ${fmt(world.items.length)} records (${fmt(customers)} customers, ${fmt(blobs)} blobs; ${fmt(withBackstop)} records with a TTL backstop)`);
  collectGarbage();
  const directory = await mkdtemp(join(options.s3Base, 'lethe-bench-holds-'));
  const h = await startHarness(directory);
  try {
    const stage = await provisionStage(h, 'holds');
    const seeded = await seed(h, stage, world, options.clock, { blobConcurrency: 16 });
    log(`holds   seeded ${fmt(seeded.records)} records and ${fmt(seeded.blobs)} blobs in ${seeded.seconds.toFixed(1)} s`);
    const api = benchApi(h, stage, { platform: options.platform, clock: options.clock });
    const base = `/v1/tenants/${tenantId}/legal-holds`;
    const warmGet = await api.call(tenantId, 'GET', base);
    const warmPost = await api.call(tenantId, 'POST', base, { scope: { customerId: 'bench-warm-up' }, reason: 'bench: warm-up' });
    await api.holdWork.idle();
    const warmDelete = await api.call(tenantId, 'DELETE', `${base}/${String(warmPost.body?.holdId)}`);
    await api.holdWork.idle();
    const problems: string[] = [];
    let holdId = '';

    const apply = await phase(h, api, log, 'apply', tenantId, () => holdId, async () => {
      const answer = await api.call(tenantId, 'POST', base, { scope: {}, reason: 'bench: litigation over the whole tenant' });
      holdId = String(answer.body?.holdId ?? '');
      if (answer.status !== 201) problems.push(`POST answered ${answer.status}, expected 201`);
      return answer;
    });
    if (apply.answeredStatus !== 'applying') problems.push(`POST answered with status ${apply.answeredStatus}, expected applying`);
    if (apply.finalStatus !== 'active') problems.push(`hold ended ${apply.finalStatus} after applying, expected active`);
    if (apply.counts.records !== expectedApplied) problems.push(`hold counts ${apply.counts.records} backstops taken off, expected ${expectedApplied}`);
    const afterApply = await checkBackstops(h, stage, world, () => undefined);
    problems.push(...afterApply.problems.map((p) => `after applying: ${p}`));
    log(`holds   checked every record: ${afterApply.problems.length === 0 ? `none of the ${fmt(afterApply.checked)} has a backstop` : 'CHECK FAILED'}`);

    const release = await phase(h, api, log, 'release', tenantId, () => holdId, async () => {
      const answer = await api.call(tenantId, 'DELETE', `${base}/${holdId}`);
      if (answer.status !== 200) problems.push(`DELETE answered ${answer.status}, expected 200`);
      return answer;
    });
    if (release.answeredStatus !== 'releasing') problems.push(`DELETE answered with status ${release.answeredStatus}, expected releasing`);
    if (release.finalStatus !== 'released') problems.push(`hold ended ${release.finalStatus} after releasing, expected released`);
    if (release.counts.records !== withBackstop) problems.push(`hold counts ${release.counts.records} backstops put back, expected ${withBackstop}`);
    const afterRelease = await checkBackstops(h, stage, world, (i) => world.items[i]?.expiresAt);
    problems.push(...afterRelease.problems.map((p) => `after releasing: ${p}`));
    log(`holds   checked every record: ${afterRelease.problems.length === 0 ? `all ${fmt(afterRelease.checked)} carry their original backstop (or none, as before)` : 'CHECK FAILED'}`);
    for (const p of problems) log(`    ${p}`);

    const report: HoldReport = {
      world: { records: world.items.length, customers, blobs, withBackstop },
      warmup: { getMs: round(warmGet.ms, 1), firstPostMs: round(warmPost.ms, 1), firstDeleteMs: round(warmDelete.ms, 1) },
      apply: { ...apply, expectedRecords: expectedApplied, checkedRecords: afterApply.checked },
      release: { ...release, expectedRecords: withBackstop, checkedRecords: afterRelease.checked },
      seedSeconds: round(seeded.seconds, 2),
      verified: problems.length === 0,
    };
    return { report, failures: problems.map((p) => `holds: ${p}`) };
  } finally {
    await h.close();
    await rm(directory, { recursive: true, force: true });
  }
}

type PhaseResult = Omit<HoldPhaseReport, 'expectedRecords' | 'checkedRecords'>;

/** Times one request and the workflow it starts, and reads the hold afterwards. */
async function phase(
  h: Harness,
  api: BenchApi,
  log: (line: string) => void,
  name: 'apply' | 'release',
  tenantId: string,
  holdId: () => string,
  request: () => Promise<{ readonly ms: number; readonly startMs: number; readonly body: any }>,
): Promise<PhaseResult> {
  let requestMs = 0;
  let requestStartMs = 0;
  let answeredStatus = '';
  const label = `holds   ${name}`;
  const run = await timed(h, async () => {
    const answer = await request();
    requestMs = answer.ms;
    requestStartMs = answer.startMs;
    answeredStatus = String(answer.body?.status ?? 'none');
    log(`${label}: ${name === 'apply' ? 'POST' : 'DELETE'} answered in ${fmt(Math.round(answer.ms))} ms with status ${answeredStatus}; the workflow runs in the background, in this process`);
    const progress = async () => {
      const hold = await api.runDeps.control.getHold(tenantId, holdId());
      return `${hold?.status ?? '?'}, ${fmt(hold?.progress?.counts.records ?? 0)} records so far (pass ${hold?.progress?.pass ?? '-'})`;
    };
    await whileRunning(() => api.holdWork.idle(), log, label, progress);
  });
  const hold = (await api.runDeps.control.getHold(tenantId, holdId())) as LegalHold | undefined;
  const counts = (name === 'apply' ? hold?.applied : hold?.releasedCounts) ?? { records: 0, blobHolds: 0, blobHoldsUnsupported: 0 };
  log(
    `${label}: ${hold?.status ?? 'missing'} ${run.seconds.toFixed(1)} s after the request; ${fmt(counts.records)} backstops ${name === 'apply' ? 'taken off' : 'put back'}; ` +
      `${fmt(total(run.tally.dynamodb))} DynamoDB requests (${describe(byCommand(run.tally.dynamodb))})`,
  );
  return {
    requestMs: round(requestMs, 1),
    requestStartMs: round(requestStartMs, 1),
    answeredStatus,
    completedSeconds: round(run.seconds, 2),
    recordsPerSecond: Math.round(counts.records / run.seconds),
    cpuSeconds: round(run.cpuSeconds, 2),
    finalStatus: hold?.status ?? 'missing',
    counts,
    dynamodbRequests: byCommand(run.tally.dynamodb),
    s3Requests: run.tally.s3,
  };
}

/** Scans the whole table: every record of the world present, and its backstop the expected one. */
async function checkBackstops(
  h: Harness,
  stage: Stage,
  world: BenchWorld,
  expected: (index: number) => number | undefined,
): Promise<{ checked: number; problems: string[] }> {
  const stored = new Map<string, number | undefined>();
  const segments = 4;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const output = await h.doc.send(
          new ScanCommand({
            TableName: stage.tableNames.records,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: '#pk, #sk, #exp',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#exp': 'expiresAt' },
            ConsistentRead: true,
            ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
          }),
        );
        for (const item of output.Items ?? []) stored.set(keyOf(item as { pk: string; sk: string }), item.expiresAt as number | undefined);
        startKey = output.LastEvaluatedKey;
      } while (startKey !== undefined);
    }),
  );
  const problems: string[] = [];
  let missing = 0;
  let wrong = 0;
  world.items.forEach((item, i) => {
    const k = keyOf(item);
    if (!stored.has(k)) {
      if (missing++ < 3) problems.push(`record gone: ${item.category} ${item.pk} ${item.sk}`);
      return;
    }
    const want = expected(i);
    const got = stored.get(k);
    if (got !== want && wrong++ < 3) problems.push(`${item.category} ${item.pk} ${item.sk}: backstop ${String(got)}, expected ${String(want)}`);
  });
  if (missing + wrong > 0) problems.unshift(`${missing} records gone, ${wrong} with the wrong backstop`);
  if (stored.size !== world.items.length) problems.push(`${stored.size} records in the table, the world wrote ${world.items.length}`);
  return { checked: stored.size, problems };
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
