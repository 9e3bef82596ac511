/**
 * `npm run bench`: seeds a synthetic world into the embedded emulators and, in
 * one process, measures (a) the engine's sweep, (b) a naive
 * delete-one-item-at-a-time loop and (c) the floor, a bare
 * BatchWriteItem/DeleteObjects loop over the same keys. Each measurement gets
 * fresh tables and buckets seeded with the same world, and is verified
 * afterwards: exactly the expected records and blobs are gone.
 *
 * Prints a table and writes a JSON report. Exits 0 when a speed target is
 * missed (it is a measurement), 1 when a verification fails, 2 on bad flags.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { MasterKeyWrapper, type KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { loadProfile, UnknownProfileError } from '../shared/config/profiles.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock } from '../shared/domain/ports.js';
import type { Receipt } from '../shared/domain/receipt.js';
import { DEFAULT_RETENTION_SHARDS, type RecordItem } from '../shared/domain/records.js';
import { MAX_GROUP_TENANTS } from '../shared/domain/runs.js';
import { STAGE_PAGE_SIZES } from '../shared/domain/sweep/stage.js';
import { provisionStage, sealedKeyOf, seed, startHarness, verify, type Harness, type SeedResult, type Stage } from './harness.js';
import { byCommand, collectGarbage, total, type Counts } from './instrument.js';
import { runEngine, runFloor, runNaive, type EngineResult, type LoopResult, type Timed } from './measure.js';
import { blobOf, buildWorld, prng, WorldShapeError, type BenchWorld } from './world.js';
import { bulkSection, type BulkReport } from './bulk.js';
import { erasureSection, type ErasureReport } from './erasure.js';
import { holdSection, type HoldReport } from './holds.js';
import { ingestSection, type IngestReport } from './ingest.js';
import { checkShredding, keyCensus, type KeyCensus, type ShreddingFigures } from './shredding.js';

/** The bench's fixed "now"; the run clock starts here and ticks in real time. */
const BENCH_NOW = new Date('2026-06-01T00:00:00.000Z');

/** What the bench can measure: the sweep, ingest, an erasure of one subject, a bulk erasure, a tenant-wide hold. */
const SECTIONS = ['sweep', 'ingest', 'erasure', 'bulk', 'holds'] as const;
type Section = (typeof SECTIONS)[number];
/** The hold over 200,000 records takes longer than the rest together: it runs when asked for (`--only holds`). */
const DEFAULT_SECTIONS: readonly Section[] = ['sweep', 'ingest', 'erasure', 'bulk'];

const USAGE = `Usage: npm run bench -- [options]
  --records N            records to seed (default 100000)
  --tenants N            tenants they are spread over (default 20)
  --blob-ratio R         share of records carrying a blob, 0–0.5 (default 0.1)
  --due-ratio R          share of records past retention, 0–1 (default 0.9)
  --profile NAME         platform profile (default conversations)
  --naive-sample N       due records the naive loop deletes; 0 = all (default 10000)
  --floor-concurrency N  BatchWriteItem requests in flight in the floor (default 8)
  --page-size N          engine page size per tenant, every stage (default: the engine's own per stage)
  --shards N             byRetention write shards of every tenant (default: the engine's, ${DEFAULT_RETENTION_SHARDS})
  --stage-budget-ms N    engine time budget per stage chunk (default 840000)
  --seed N               world seed (default 1)
  --out PATH             JSON report (default bench/results.json)
  --only LIST            sections to run, comma-separated, of ${SECTIONS.join(', ')} (default ${DEFAULT_SECTIONS.join(',')})

Ingest through the API, crypto-shredding off and on (section ingest):
  --ingest-records N     records posted per run (default 5000)
  --ingest-body N        most records in one body, 1–500 (default 250)
  --ingest-tenants N     tenants they are spread over (default 4)
  --ingest-runs N        runs with shredding off and on each, alternating; medians reported (default 3)
  --ingest-concurrency N bodies in flight (default 4)
  --ingest-blob-ratio R  share of records that are ~1 KiB inline media, 0–0.1 (default 0.01)
Erasure of one subject (section erasure):
  --erasure-records N    records of the erased subject (default 10000)
  --erasure-blobs N      of them, media blobs (default 150)
  --erasure-runs N       runs of the erasure and of its floor, alternating; medians reported (default 5)
  --erasure-force        file the erasure with force (skips the open-conversation check and its read)
Bulk erasure by filter (section bulk):
  --bulk-customers N     customers the filter matches (default 20000)
  --bulk-others N        customers of the tenant it does not match (default 2000)
Tenant-wide legal hold (section holds):
  --hold-records N       records of the held tenant (default 200000)`;

/** Calls of the erased subject (each a recording and third-party data), and the customers around it who stay. */
const ERASURE_CALLS = 5;
const ERASURE_OTHER_CUSTOMERS = 100;

interface Params {
  readonly only: ReadonlySet<Section>;
  readonly ingestRecords: number;
  readonly ingestBody: number;
  readonly ingestTenants: number;
  readonly ingestRuns: number;
  readonly ingestConcurrency: number;
  readonly ingestBlobRatio: number;
  readonly erasureRecords: number;
  readonly erasureBlobs: number;
  readonly erasureRuns: number;
  readonly erasureForce: boolean;
  readonly bulkCustomers: number;
  readonly bulkOthers: number;
  readonly holdRecords: number;
  readonly records: number;
  readonly tenants: number;
  readonly blobRatio: number;
  readonly dueRatio: number;
  readonly profile: string;
  readonly naiveSample: number;
  readonly floorConcurrency: number;
  readonly pageSize: number | undefined;
  readonly shards: number;
  readonly stageBudgetMs: number;
  readonly seed: number;
  readonly out: string;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseParams(argv: string[]): Params | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      records: { type: 'string', default: '100000' },
      tenants: { type: 'string', default: '20' },
      'blob-ratio': { type: 'string', default: '0.1' },
      'due-ratio': { type: 'string', default: '0.9' },
      profile: { type: 'string', default: 'conversations' },
      'naive-sample': { type: 'string', default: '10000' },
      'floor-concurrency': { type: 'string', default: '8' },
      'page-size': { type: 'string' },
      shards: { type: 'string', default: String(DEFAULT_RETENTION_SHARDS) },
      'stage-budget-ms': { type: 'string', default: '840000' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench/results.json' },
      only: { type: 'string', default: DEFAULT_SECTIONS.join(',') },
      'ingest-records': { type: 'string', default: '5000' },
      'ingest-body': { type: 'string', default: '250' },
      'ingest-tenants': { type: 'string', default: '4' },
      'ingest-runs': { type: 'string', default: '3' },
      'ingest-concurrency': { type: 'string', default: '4' },
      'ingest-blob-ratio': { type: 'string', default: '0.01' },
      'erasure-records': { type: 'string', default: '10000' },
      'erasure-blobs': { type: 'string', default: '150' },
      'erasure-runs': { type: 'string', default: '5' },
      'erasure-force': { type: 'boolean', default: false },
      'bulk-customers': { type: 'string', default: '20000' },
      'bulk-others': { type: 'string', default: '2000' },
      'hold-records': { type: 'string', default: '200000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const integer = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${String(values[name])}`);
    return n;
  };
  const ratio = (name: keyof typeof values, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`--${name} must be a number in [0, ${max}], got ${String(values[name])}`);
    return n;
  };
  const only = new Set<Section>();
  for (const name of values.only.split(',').map((v) => v.trim()).filter((v) => v !== '')) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new UsageError(`--only: unknown section ${name} (sections: ${SECTIONS.join(', ')})`);
    only.add(name as Section);
  }
  if (only.size === 0) throw new UsageError('--only names no section');
  const params: Params = {
    only,
    ingestRecords: integer('ingest-records', 1),
    ingestBody: integer('ingest-body', 1),
    ingestTenants: integer('ingest-tenants', 1),
    ingestRuns: integer('ingest-runs', 1),
    ingestConcurrency: integer('ingest-concurrency', 1),
    ingestBlobRatio: ratio('ingest-blob-ratio', 0.1),
    erasureRecords: integer('erasure-records', 400),
    erasureBlobs: integer('erasure-blobs', 0),
    erasureRuns: integer('erasure-runs', 1),
    erasureForce: values['erasure-force'],
    bulkCustomers: integer('bulk-customers', 1),
    bulkOthers: integer('bulk-others', 0),
    holdRecords: integer('hold-records', 60),
    records: integer('records', 1),
    tenants: integer('tenants', 1),
    blobRatio: ratio('blob-ratio', 0.5),
    dueRatio: ratio('due-ratio', 1),
    profile: values.profile,
    naiveSample: integer('naive-sample', 0),
    floorConcurrency: integer('floor-concurrency', 1),
    pageSize: values['page-size'] === undefined ? undefined : integer('page-size', 1),
    shards: integer('shards', 1),
    stageBudgetMs: integer('stage-budget-ms', 1),
    seed: integer('seed', 0),
    out: values.out,
  };
  if (params.ingestBody > 500) throw new UsageError(`--ingest-body must be at most 500 (the API's limit), got ${params.ingestBody}`);
  if (params.erasureBlobs > params.erasureRecords / 2) throw new UsageError('--erasure-blobs must be at most half of --erasure-records');
  if (only.has('sweep') && params.records < params.tenants * 60) {
    throw new UsageError(`--records must be at least 60 per tenant (${params.tenants * 60} for ${params.tenants} tenants)`);
  }
  return params;
}

interface MeasurementReport {
  readonly deletedRecords: number;
  readonly deletedBlobs: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  /** Process CPU time (emulators included) and throughput on it: less sensitive to other load on the machine. */
  readonly cpuSeconds: number;
  readonly itemsPerCpuSecond: number;
  readonly loadAverage: readonly [number, number];
  readonly dynamodbRequests: Counts;
  readonly dynamodbRequestsByTarget: Counts;
  readonly s3Requests: Counts;
  /** Of the requests above, those the SDK re-sent after a failed attempt. */
  readonly sdkRetries: { readonly dynamodb: Counts; readonly s3: Counts };
  readonly dynamodbRequestsPerRecord: number;
  readonly s3RequestsPerBlob: number | null;
  readonly peakRssMb: number;
  readonly rssAtStartMb: number;
  readonly peakHeapUsedMb: number;
  readonly seed: SeedResult;
  readonly verified: boolean;
}

function report(m: Timed, records: number, blobs: number, seeded: SeedResult, verified: boolean): MeasurementReport {
  return {
    deletedRecords: records,
    deletedBlobs: blobs,
    seconds: round(m.seconds, 3),
    itemsPerSecond: round(records / m.seconds, 0),
    cpuSeconds: round(m.cpuSeconds, 3),
    itemsPerCpuSecond: round(records / m.cpuSeconds, 0),
    loadAverage: [round(m.loadAverage[0], 2), round(m.loadAverage[1], 2)],
    dynamodbRequests: sorted(byCommand(m.tally.dynamodb)),
    dynamodbRequestsByTarget: sorted(m.tally.dynamodb),
    s3Requests: sorted(m.tally.s3),
    sdkRetries: { dynamodb: sorted(m.tally.retries.dynamodb), s3: sorted(m.tally.retries.s3) },
    dynamodbRequestsPerRecord: round(total(m.tally.dynamodb) / records, 4),
    s3RequestsPerBlob: blobs === 0 ? null : round(total(m.tally.s3) / blobs, 4),
    ...m.memory,
    seed: { ...seeded, seconds: round(seeded.seconds, 2) },
    verified,
  };
}

async function main(): Promise<number> {
  let params: Params | 'help';
  try {
    params = parseParams(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (params === 'help') {
    console.log(USAGE);
    return 0;
  }
  let platform: PlatformPolicy;
  try {
    platform = loadProfile(params.profile);
  } catch (error) {
    if (!(error instanceof UnknownProfileError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const origin = performance.now();
  // Cutoffs derive from the run's start: the clock starts at BENCH_NOW and ticks in real time,
  // so stage budgets mean what they say; every clock in the world is days away from a cutoff.
  const clock: Clock = { now: () => new Date(BENCH_NOW.getTime() + (performance.now() - origin)) };
  // s3rver keeps every object as files; on tmpfs the bench measures the emulator, not the disk.
  const s3Base = (await isWritableDir('/dev/shm')) ? '/dev/shm' : tmpdir();

  const results: Record<string, unknown> = {
    machine: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemoryMb: Math.round(totalmem() / 1_048_576),
      date: new Date().toISOString(),
    },
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    sections: [...params.only],
  };
  const failures: string[] = [];
  const summary: SummaryRow[] = [];
  const began = performance.now();
  const loadAtStart = loadavg()[0] as number;
  const log = (line: string) => console.log(line);

  // One master key for the process, as local mode has one per data directory: it wraps the tenants' KEKs.
  const keyWrapper = new MasterKeyWrapper(randomBytes(32));
  if (params.only.has('sweep')) {
    const sweep = await sweepSection(params, platform, clock, s3Base, keyWrapper);
    if (typeof sweep === 'number') return sweep;
    Object.assign(results, sweep.results);
    failures.push(...sweep.failures);
    summary.push(...sweep.summary);
  }
  if (params.only.has('ingest')) {
    console.log('');
    const ingest = await ingestSection(
      {
        records: params.ingestRecords,
        bodySize: params.ingestBody,
        tenants: params.ingestTenants,
        runs: params.ingestRuns,
        concurrency: params.ingestConcurrency,
        blobRatio: params.ingestBlobRatio,
        platform,
        now: BENCH_NOW,
        clock,
        s3Base,
        seed: params.seed,
        keyWrapper,
      },
      log,
    );
    results.ingest = ingest.report;
    failures.push(...ingest.failures);
    summary.push(...ingestSummary(ingest.report));
  }
  if (params.only.has('erasure')) {
    console.log('');
    const erasure = await erasureSection(
      {
        records: params.erasureRecords,
        blobs: params.erasureBlobs,
        calls: ERASURE_CALLS,
        others: ERASURE_OTHER_CUSTOMERS,
        runs: params.erasureRuns,
        force: params.erasureForce,
        floorConcurrency: params.floorConcurrency,
        platform,
        now: BENCH_NOW,
        clock,
        s3Base,
      },
      log,
    );
    results.erasure = erasure.report;
    failures.push(...erasure.failures);
    summary.push(...erasureSummary(erasure.report));
  }
  if (params.only.has('bulk')) {
    console.log('');
    const bulk = await bulkSection({ matching: params.bulkCustomers, others: params.bulkOthers, platform, now: BENCH_NOW, clock, s3Base }, log);
    results.bulkErasure = bulk.report;
    failures.push(...bulk.failures);
    summary.push(...bulkSummary(bulk.report));
  }
  if (params.only.has('holds')) {
    console.log('');
    const holds = await holdSection({ records: params.holdRecords, platform, now: BENCH_NOW, clock, s3Base, seed: params.seed }, log);
    results.holds = holds.report;
    failures.push(...holds.failures);
    summary.push(...holdSummary(holds.report));
  }

  const totalSeconds = (performance.now() - began) / 1000;
  const loadAtEnd = loadavg()[0] as number;
  printSummary(summary, totalSeconds);
  console.log(`Load average (1 min) at the start and the end: ${loadAtStart.toFixed(2)} / ${loadAtEnd.toFixed(2)} on ${cpus().length} CPUs.`);
  results.totalSeconds = round(totalSeconds, 1);
  results.loadAverage = { start: round(loadAtStart, 2), end: round(loadAtEnd, 2) };
  results.verification = { passed: failures.length === 0, failures };
  await writeFile(params.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote ${params.out}`);
  if (failures.length > 0) {
    console.error(`\nVERIFICATION FAILED (${failures.length} problems): the numbers above are not valid.`);
    for (const f of failures.slice(0, 20)) console.error(`  ${f}`);
    return 1;
  }
  return 0;
}

/** The sweep against the naive loop and the floor; a number is an exit code (a world the flags cannot build). */
async function sweepSection(
  params: Params,
  platform: PlatformPolicy,
  clock: Clock,
  s3Base: string,
  keyWrapper: KeyWrapper,
): Promise<{ results: Record<string, unknown>; failures: string[]; summary: SummaryRow[] } | number> {
  let world: BenchWorld;
  const built = performance.now();
  try {
    world = buildWorld({ ...params, platform, now: BENCH_NOW, shardCount: params.shards });
  } catch (error) {
    if (!(error instanceof WorldShapeError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }

  const dueIndexes = world.due.flatMap((d, i) => (d ? [i] : []));
  const dueItems = dueIndexes.map((i) => world.items[i] as RecordItem);
  const dueBlobs = dueItems.filter((i) => blobOf(i) !== undefined).length;
  const allBlobs = world.items.filter((i) => blobOf(i) !== undefined).length;
  const dueExternal = dueItems.filter((i) => i.category === 'third_party_call_data' && i.externalRef !== undefined).length;
  if (dueItems.length === 0) {
    console.error(`--due-ratio ${params.dueRatio} leaves nothing to delete; nothing to measure.\n\n${USAGE}`);
    return 2;
  }
  const sample = naiveSample(dueIndexes, params.naiveSample, params.seed);
  const sampled = new Set(sample);
  const isDue = (i: number): boolean => world.due[i] === true;
  console.log(
    `Lethe sweep bench: profile ${params.profile}, ${fmt(world.items.length)} records (${fmt(allBlobs)} with a blob) over ${params.tenants} tenants\n` +
      `due: ${fmt(dueItems.length)} records (${pct(dueItems.length / world.items.length)}), ${fmt(dueBlobs)} blobs, ${fmt(dueExternal)} third-party markers; ` +
      `customers gone/aged/active ${fmt(world.customers.gone)}/${fmt(world.customers.aged)}/${fmt(world.customers.active)} (built in ${secs(performance.now() - built)})\n` +
      `naive loop: ${sample.length < dueItems.length ? `random sample of ${fmt(sample.length)} due records` : 'every due record'}; ` +
      `floor: ${params.floorConcurrency} BatchWriteItem and 4 DeleteObjects in flight; engine: tenants in sweep groups of up to ${MAX_GROUP_TENANTS}, ` +
      `${platform.sweep.tenantConcurrency} read at once, pages ${params.pageSize ?? Object.values(STAGE_PAGE_SIZES).join('/')} per stage; ${params.shards} byRetention shard${params.shards === 1 ? '' : 's'} per tenant\n`,
  );

  const failures: string[] = [];

  /**
   * One measurement on its own emulators (dynalite keeps a dropped table's memory,
   * so sharing one would carry each measurement's data into the next one's
   * memory figures): fresh tables and buckets, the same seed, the run, its
   * verification.
   */
  const measure = async <T extends Timed>(
    label: string,
    run: (h: Harness, stage: Stage) => Promise<T>,
    gone: (index: number) => boolean,
    options: {
      /** Seed sealed (crypto-shredding on) under this wrapper; verification then reads identifiers under their blind index. */
      readonly keyWrapper?: KeyWrapper;
      /** More checks after the verification, on the same emulators. */
      readonly checks?: (h: Harness, stage: Stage, result: T) => Promise<string[]>;
    } = {},
  ): Promise<{ result: T; seeded: SeedResult; verified: boolean }> => {
    collectGarbage();
    const s3Directory = await mkdtemp(join(s3Base, `lethe-bench-${label}-`));
    const h = await startHarness(s3Directory);
    try {
      const stage = await provisionStage(h, label);
      const seeded = await seed(h, stage, world, clock, {
        blobConcurrency: 16,
        ...(options.keyWrapper !== undefined && { keyWrapper: options.keyWrapper }),
      });
      console.log(`${label.padEnd(6)} seeded ${fmt(seeded.records)} records${seeded.sealed === true ? ' (sealed)' : ''} and ${fmt(seeded.blobs)} blobs in ${seeded.seconds.toFixed(1)} s`);
      const result = await run(h, stage);
      const storedKeyOf = options.keyWrapper === undefined ? undefined : await sealedKeyOf(h, stage, world, options.keyWrapper);
      const v = await verify(h, stage, world, gone, storedKeyOf);
      const problems = [...v.problems, ...(options.checks === undefined ? [] : await options.checks(h, stage, result))];
      console.log(
        `${label.padEnd(6)} ran in ${result.seconds.toFixed(2)} s; ${fmt(v.recordsGone)} records and ${fmt(v.blobsGone)} blobs gone; ` +
          (problems.length === 0 ? 'verified: exactly the expected ones, the rest intact' : 'VERIFICATION FAILED'),
      );
      for (const p of problems) console.error(`    ${p}`);
      failures.push(...problems.map((p) => `${label}: ${p}`));
      return { result, seeded, verified: problems.length === 0 };
    } finally {
      await h.close();
      await rm(s3Directory, { recursive: true, force: true });
    }
  };

  const engineOptions = {
    platform,
    clock,
    budgetMs: params.stageBudgetMs,
    ...(params.pageSize !== undefined && { pageSize: params.pageSize }),
  };
  const engineChecks = (result: EngineResult): string[] => {
    const problems = checkReceipts(world, result);
    if (result.externalCalls !== dueExternal) {
      problems.push(`external provider called ${result.externalCalls} times, expected ${dueExternal}`);
    }
    return problems;
  };
  // Issue 12: the engine twice on the same world, crypto-shredding off then on (seeded sealed, as ingest stores it).
  const a = await measure('engine', (h, stage) => runEngine(h, stage, world.tenants, engineOptions), isDue, { checks: async (_h, _stage, result) => engineChecks(result) });
  let keysBefore: KeyCensus | undefined;
  let shredding: ShreddingFigures | undefined;
  let secondSweep: SecondSweep | undefined;
  const d = await measure(
    'sealed',
    async (h, stage) => {
      keysBefore = await keyCensus(h, stage);
      return runEngine(h, stage, world.tenants, { ...engineOptions, keyWrapper });
    },
    isDue,
    {
      keyWrapper,
      checks: async (h, stage, result) => {
        const first = await checkShredding(h, stage, world, keysBefore as KeyCensus, result.receipts, clock, keyWrapper);
        shredding = first.figures;
        printShredding('after the sweep', first.figures);
        // A second sweep, with nothing left due: what the first one left to retire goes now
        // (an epoch key may go a sweep after its day emptied, so a record written meanwhile keeps it).
        const again = await runEngine(h, stage, world.tenants, { ...engineOptions, keyWrapper });
        const v = await verify(h, stage, world, isDue, await sealedKeyOf(h, stage, world, keyWrapper));
        const second = await checkShredding(h, stage, world, keysBefore as KeyCensus, [...result.receipts, ...again.receipts], clock, keyWrapper);
        secondSweep = {
          seconds: round(again.seconds, 3),
          cpuSeconds: round(again.cpuSeconds, 3),
          dynamodbRequestsByTarget: sorted(again.tally.dynamodb),
          receiptsShredded: sumShredded(again.receipts),
          shredding: second.figures,
        };
        printShredding(`after a second sweep (${again.seconds.toFixed(2)} s, ${fmt(total(again.tally.dynamodb))} DynamoDB requests)`, second.figures);
        const secondReceipts = again.receipts.flatMap((r) => {
          const deleted = Object.values(r.categories).reduce((n, c) => n + c.deleted, 0);
          return r.status === 'completed' && deleted === 0 ? [] : [`second sweep: receipt of ${r.tenantId} is ${r.status} with ${deleted} deleted records (nothing was due)`];
        });
        if (again.receipts.length !== world.tenants.length) secondReceipts.push(`second sweep: ${again.receipts.length} receipts for ${world.tenants.length} tenants`);
        return [
          ...engineChecks(result),
          ...first.problems,
          ...secondReceipts,
          ...v.problems.map((p) => `after a second sweep: ${p}`),
          ...second.problems.map((p) => `after a second sweep: ${p}`),
        ];
      },
    },
  );
  const b = await measure('naive', (h, stage) => runNaive(h, stage, sample.map((i) => world.items[i] as RecordItem)), (i) => sampled.has(i));
  const c = await measure(
    'floor',
    (h, stage) => runFloor(h, stage, dueItems, { dynamoConcurrency: params.floorConcurrency, s3Concurrency: 4 }),
    isDue,
  );
  const engine = a.result;
  const floor = c.result;
  const engineOn = d.result;
  const reports: Record<MeasurementName, MeasurementReport> = {
    engine: report(engine, dueItems.length, dueBlobs, a.seeded, a.verified),
    engineShredding: report(engineOn, dueItems.length, dueBlobs, d.seeded, d.verified),
    naive: report(b.result, b.result.records, b.result.blobs, b.seeded, b.verified),
    floor: report(floor, floor.records, floor.blobs, c.seeded, c.verified),
  };

  const { engine: e, engineShredding: es, naive: n, floor: f } = reports;
  const firstAttempts = (r: MeasurementReport): number => total(r.s3Requests) - total(r.sdkRetries.s3);
  const ratios = {
    engineOverFloorThroughput: round(e.itemsPerSecond / f.itemsPerSecond, 3),
    engineOverNaiveThroughput: round(e.itemsPerSecond / n.itemsPerSecond, 3),
    engineOverFloorThroughputOnCpuTime: round(e.itemsPerCpuSecond / f.itemsPerCpuSecond, 3),
    engineOverNaiveThroughputOnCpuTime: round(e.itemsPerCpuSecond / n.itemsPerCpuSecond, 3),
    engineOverFloorDynamodbRequestsPerRecord: round(e.dynamodbRequestsPerRecord / f.dynamodbRequestsPerRecord, 3),
    engineOverFloorS3RequestsPerBlob:
      e.s3RequestsPerBlob === null || f.s3RequestsPerBlob === null ? null : round(e.s3RequestsPerBlob / f.s3RequestsPerBlob, 3),
    engineOverFloorS3FirstAttempts: firstAttempts(f) === 0 ? null : round(firstAttempts(e) / firstAttempts(f), 3),
    // What the engine chose to send: a request the SDK re-sent after a transient failure of the emulator is not the engine's.
    engineOverFloorDynamodbFirstAttemptsPerRecord: round(
      (total(e.dynamodbRequestsByTarget) - total(e.sdkRetries.dynamodb)) / e.deletedRecords /
        ((total(f.dynamodbRequestsByTarget) - total(f.sdkRetries.dynamodb)) / f.deletedRecords),
      3,
    ),
    // Issue 12: the cost of crypto-shredding, the same engine on the same world with it on and off.
    shreddingOnOverOffThroughput: round(es.itemsPerSecond / e.itemsPerSecond, 3),
    shreddingOnOverOffThroughputOnCpuTime: round(es.itemsPerCpuSecond / e.itemsPerCpuSecond, 3),
    shreddingOnOverOffDynamodbRequestsPerRecord: round(es.dynamodbRequestsPerRecord / e.dynamodbRequestsPerRecord, 3),
    shreddingOnKeysTableRequestsPerRecord: round(keysTableRequests(es.dynamodbRequestsByTarget) / es.deletedRecords, 4),
    shreddingOnOverFloorDynamodbRequestsPerRecord: round(es.dynamodbRequestsPerRecord / f.dynamodbRequestsPerRecord, 3),
    shreddingOnOverFloorThroughput: round(es.itemsPerSecond / f.itemsPerSecond, 3),
  };
  const targets: Target[] = [
    {
      name: 'engine with crypto-shredding on ≥ 0.85 × off (issue 12: encryption costs ≤ 15 %)',
      target: '≥ 0.85',
      measured: ratios.shreddingOnOverOffThroughput,
      onCpuTime: ratios.shreddingOnOverOffThroughputOnCpuTime,
      pass: ratios.shreddingOnOverOffThroughput >= 0.85,
    },
    {
      name: 'engine throughput ≥ 0.7 × floor',
      target: '≥ 0.7',
      measured: ratios.engineOverFloorThroughput,
      onCpuTime: ratios.engineOverFloorThroughputOnCpuTime,
      pass: ratios.engineOverFloorThroughput >= 0.7,
    },
    {
      name: 'engine throughput ≥ 5 × naive',
      target: '≥ 5',
      measured: ratios.engineOverNaiveThroughput,
      onCpuTime: ratios.engineOverNaiveThroughputOnCpuTime,
      pass: ratios.engineOverNaiveThroughput >= 5,
    },
    {
      name: 'DynamoDB requests per deleted record ≤ 1.15 × floor',
      target: '≤ 1.15',
      measured: ratios.engineOverFloorDynamodbRequestsPerRecord,
      pass: ratios.engineOverFloorDynamodbRequestsPerRecord <= 1.15,
    },
    {
      name: 'S3 requests per deleted blob ≤ 1.15 × floor',
      target: '≤ 1.15',
      measured: ratios.engineOverFloorS3RequestsPerBlob,
      pass: ratios.engineOverFloorS3RequestsPerBlob === null ? null : ratios.engineOverFloorS3RequestsPerBlob <= 1.15,
    },
    // Issue 16: one executor for every deletion, and the sweep no slower for it than the last figures before it.
    {
      name: 'engine throughput ≥ 0.83 × floor (issue 16: no worse than before)',
      target: '≥ 0.83',
      measured: ratios.engineOverFloorThroughput,
      onCpuTime: ratios.engineOverFloorThroughputOnCpuTime,
      pass: ratios.engineOverFloorThroughput >= 0.83,
    },
    {
      name: 'DynamoDB requests per deleted record ≤ 1.133 × floor (issue 16; first attempts, SDK retries aside)',
      target: '≤ 1.133',
      measured: ratios.engineOverFloorDynamodbFirstAttemptsPerRecord,
      pass: ratios.engineOverFloorDynamodbFirstAttemptsPerRecord <= 1.133,
    },
    {
      name: 'S3 requests per deleted blob ≤ 1.00 × floor (issue 16)',
      target: '≤ 1.00',
      measured: ratios.engineOverFloorS3RequestsPerBlob,
      pass: ratios.engineOverFloorS3RequestsPerBlob === null ? null : ratios.engineOverFloorS3RequestsPerBlob <= 1,
    },
  ];

  printReport(params, reports, ratios, targets, { engine, engineShredding: engineOn }, floor);

  const results = {
    parameters: {
      ...params,
      benchNow: BENCH_NOW.toISOString(),
      s3rverOnTmpfs: s3Base === '/dev/shm',
      tenantConcurrency: platform.sweep.tenantConcurrency,
      sweepGroups: engine.groups,
      retentionShards: params.shards,
    },
    world: {
      records: world.items.length,
      blobs: allBlobs,
      dueRecords: dueItems.length,
      dueBlobs,
      dueThirdPartyMarkers: dueExternal,
      customers: world.customers,
      byCategory: categoryBreakdown(world),
    },
    notes: [
      sample.length < dueItems.length
        ? `The naive loop ran on a random sample of ${sample.length} of the ${dueItems.length} due records; its items/s is measured on that sample.`
        : 'The naive loop ran on every due record.',
      'Peak RSS and heap are the whole process: dynalite (in memory) and s3rver run in-process.',
      'Request counts include retries (sdkRetries lists them); engine counts include the control table (tenants, policies, holds, receipts).',
      'engineShredding: the same world seeded sealed (records through a SealedRecordStore: a subject key per customer, an epoch key per partition family and day of the records), the engine composed with a key wrapper; keys-table requests are counted with the rest and apart (keysTableRequests).',
      ...(shredding === undefined
        ? []
        : [
            `The world spreads its records over about two years of days: ${shredding.keysBefore.epochKeys} epochs (a partition family × a day) for ${dueItems.length} due records ` +
              `(${(shredding.epochsEmptied / dueItems.length).toFixed(2)} emptied epochs per deleted record), each retired with requests of its own; at real volumes a day holds thousands of records.`,
          ]),
      's3rver answers the first DeleteObjects over keys that share a folder with a 500 (its parallel empty-folder clean-up races), so nearly every DeleteObjects is sent twice, by the engine and the floor alike.',
    ],
    measurements: {
      engine: {
        ...e,
        dynamodbRequestsByPhase: Object.fromEntries(Object.entries(engine.tally.byPhase).map(([p, c]) => [p, sorted(c)])),
        chunksByStage: engine.chunks,
        stageSecondsSummedOverTenants: Object.fromEntries(Object.entries(engine.stageSeconds).map(([s, v]) => [s, round(v, 2)])),
        externalProviderCalls: engine.externalCalls,
        alertsSent: engine.alerts,
      },
      engineShredding: {
        ...es,
        keysTableRequests: keysTableRequests(es.dynamodbRequestsByTarget),
        keysTableRequestsPerRecord: ratios.shreddingOnKeysTableRequestsPerRecord,
        dynamodbRequestsByPhase: Object.fromEntries(Object.entries(engineOn.tally.byPhase).map(([p, c]) => [p, sorted(c)])),
        chunksByStage: engineOn.chunks,
        stageSecondsSummedOverTenants: Object.fromEntries(Object.entries(engineOn.stageSeconds).map(([s, v]) => [s, round(v, 2)])),
        externalProviderCalls: engineOn.externalCalls,
        alertsSent: engineOn.alerts,
        shredding,
        secondSweep,
        receiptsShredded: engineOn.receipts.map((r) => ({ tenantId: r.tenantId, ...(r.shredded ?? { subjectKeys: 0, epochKeys: 0 }) })),
      },
      naive: { ...n, sampled: sample.length < dueItems.length, sampleSize: sample.length },
      floor: {
        ...f,
        dynamodbConcurrency: params.floorConcurrency,
        s3Concurrency: 4,
        blobSeconds: round(floor.blobSeconds ?? 0, 3),
        recordSeconds: round(floor.recordSeconds ?? 0, 3),
      },
    },
    ratios,
    targets,
  };
  const summary: SummaryRow[] = [
    { measurement: 'sweep: engine', figure: `${fmt(e.itemsPerSecond)} records/s (${e.seconds.toFixed(2)} s for ${fmt(e.deletedRecords)})` },
    {
      measurement: 'sweep: engine, crypto-shredding on',
      figure:
        `${fmt(es.itemsPerSecond)} records/s (${es.seconds.toFixed(2)} s, of them completing the runs ${(engineOn.stageSeconds.completeRun ?? 0).toFixed(2)} s Σ groups; ` +
        `${es.dynamodbRequestsPerRecord.toFixed(4)} DDB req/record, ${ratios.shreddingOnKeysTableRequestsPerRecord.toFixed(4)} of them keys table)`,
    },
    ...(shredding === undefined
      ? []
      : [
          {
            measurement: 'sweep, shredding on: keys shredded (receipts: subject / epoch keys)',
            figure:
              `${fmt(shredding.receiptsShredded.subjectKeys)} / ${fmt(shredding.receiptsShredded.epochKeys)} of ${fmt(shredding.keysBefore.subjectKeys)} / ${fmt(shredding.keysBefore.epochKeys)}` +
              (shredding.keysAfter.retireMarkers > 0 ? `; ${fmt(shredding.keysAfter.retireMarkers)} retirement markers left for the next sweep` : ''),
          },
        ]),
    ...(secondSweep === undefined
      ? []
      : [
          {
            measurement: 'sweep, shredding on: a second sweep (nothing due) shreds (subject / epoch keys)',
            figure:
              `${fmt(secondSweep.receiptsShredded.subjectKeys)} / ${fmt(secondSweep.receiptsShredded.epochKeys)} in ${secondSweep.seconds.toFixed(2)} s ` +
              `(${fmt(total(secondSweep.dynamodbRequestsByTarget))} DDB req, ${fmt(keysTableRequests(secondSweep.dynamodbRequestsByTarget))} keys table)`,
          },
        ]),
    { measurement: 'sweep: floor', figure: `${fmt(f.itemsPerSecond)} records/s (${f.seconds.toFixed(2)} s)` },
    { measurement: 'sweep: naive loop (sample)', figure: `${fmt(n.itemsPerSecond)} records/s` },
    ...targets.map((t) => ({
      measurement: `sweep: ${t.name}`,
      figure: t.measured === null ? '-' : t.measured.toFixed(3),
      ...(t.pass !== null && { result: t.pass ? 'PASS' : 'MISS' }),
    })),
  ];
  return { results, failures, summary };
}

interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: number | null;
  /** The same ratio on process CPU time instead of wall time (throughput targets only). */
  readonly onCpuTime?: number;
  readonly pass: boolean | null;
}

async function isWritableDir(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A deterministic random sample of the due records (all of them when `size` is 0 or larger). */
function naiveSample(dueIndexes: readonly number[], size: number, seed: number): number[] {
  if (size === 0 || size >= dueIndexes.length) return [...dueIndexes];
  const rnd = prng(seed + 7919);
  const pool = [...dueIndexes];
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rnd() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, size);
}

/** Every receipt completed, no failures, and its deleted count equals the tenant's due records. */
function checkReceipts(world: BenchWorld, engine: EngineResult): string[] {
  const problems: string[] = [];
  const expected = new Map<string, number>();
  world.items.forEach((item, i) => {
    if (world.due[i]) expected.set(item.tenantId, (expected.get(item.tenantId) ?? 0) + 1);
  });
  if (engine.receipts.length !== world.tenants.length) {
    problems.push(`${engine.receipts.length} receipts for ${world.tenants.length} tenants`);
  }
  for (const r of engine.receipts) {
    let deleted = 0;
    let failed = 0;
    for (const c of Object.values(r.categories)) {
      deleted += c.deleted;
      failed += c.failed;
    }
    const want = expected.get(r.tenantId) ?? 0;
    if (r.status !== 'completed') problems.push(`receipt of ${r.tenantId} is ${r.status}`);
    if (failed > 0) problems.push(`receipt of ${r.tenantId} counts ${failed} failed records`);
    if (deleted !== want) problems.push(`receipt of ${r.tenantId} counts ${deleted} deleted records, expected ${want}`);
  }
  return problems;
}

function categoryBreakdown(world: BenchWorld): Record<string, { total: number; due: number; blobs: number }> {
  const out: Record<string, { total: number; due: number; blobs: number }> = {};
  world.items.forEach((item, i) => {
    const c = (out[item.category] ??= { total: 0, due: 0, blobs: 0 });
    c.total += 1;
    if (world.due[i]) c.due += 1;
    if (blobOf(item) !== undefined) c.blobs += 1;
  });
  return out;
}

type MeasurementName = 'engine' | 'engineShredding' | 'naive' | 'floor';
const MEASUREMENT_LABELS: Readonly<Record<MeasurementName, string>> = {
  engine: 'engine',
  engineShredding: 'engine, shredding on',
  naive: 'naive',
  floor: 'floor',
};

/** DynamoDB requests to the keys table (crypto-shredding), of counts by command and target. */
function keysTableRequests(counts: Counts): number {
  return Object.entries(counts)
    .filter(([key]) => key.endsWith(' keys'))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** The untimed second sweep of the sealed world, nothing left due: what it shreds and costs. */
interface SecondSweep {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly dynamodbRequestsByTarget: Counts;
  readonly receiptsShredded: { readonly subjectKeys: number; readonly epochKeys: number };
  /** The keys table after it, against the keys after seeding and the receipts of both sweeps. */
  readonly shredding: ShreddingFigures;
}

function sumShredded(receipts: readonly Receipt[]): { subjectKeys: number; epochKeys: number } {
  const out = { subjectKeys: 0, epochKeys: 0 };
  for (const r of receipts) {
    out.subjectKeys += r.shredded?.subjectKeys ?? 0;
    out.epochKeys += r.shredded?.epochKeys ?? 0;
  }
  return out;
}

function printShredding(when: string, s: ShreddingFigures): void {
  console.log(
    `sealed keys table ${when}: ${fmt(s.keysAfter.subjectKeys)} of ${fmt(s.keysBefore.subjectKeys)} subject keys and ${fmt(s.keysAfter.epochKeys)} of ${fmt(s.keysBefore.epochKeys)} epoch keys left` +
      ` (${fmt(s.keysAfter.retireMarkers)} retirement markers), ${fmt(s.keysAfter.keks)} tenant KEKs; ` +
      `receipts so far: shredded ${fmt(s.receiptsShredded.subjectKeys)} subject keys (subjects deleted whole: ${fmt(s.subjectsDeletedWhole)}) and ` +
      `${fmt(s.receiptsShredded.epochKeys)} epoch keys (epochs emptied: ${fmt(s.epochsEmptied)}, their keys gone: ${fmt(s.epochsEmptiedShredded)}); ` +
      `${fmt(s.keptRecordsOpened)} records left opened to what was seeded`,
  );
}

function printReport(
  params: Params,
  reports: Record<MeasurementName, MeasurementReport>,
  ratios: Record<string, number | null>,
  targets: readonly Target[],
  engines: Record<'engine' | 'engineShredding', EngineResult>,
  floor: LoopResult,
): void {
  const names = Object.keys(reports) as MeasurementName[];
  const plain = { style: { head: [], border: [] } };
  const main = new Table({
    ...plain,
    head: ['measurement', 'records', 'blobs', 'seconds', 'items/s', 'CPU s', 'items/CPU s', 'DDB req', 'DDB req/record', 'S3 req', 'S3 req/blob', 'peak RSS MB', 'peak heap MB'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const name of names) {
    const r = reports[name];
    main.push([
      name === 'naive' && params.naiveSample > 0 && r.deletedRecords === params.naiveSample ? 'naive (sample)' : MEASUREMENT_LABELS[name],
      fmt(r.deletedRecords),
      fmt(r.deletedBlobs),
      r.seconds.toFixed(2),
      fmt(r.itemsPerSecond),
      r.cpuSeconds.toFixed(2),
      fmt(r.itemsPerCpuSecond),
      fmt(total(r.dynamodbRequests)),
      r.dynamodbRequestsPerRecord.toFixed(4),
      fmt(total(r.s3Requests)),
      r.s3RequestsPerBlob === null ? '-' : r.s3RequestsPerBlob.toFixed(4),
      r.peakRssMb.toFixed(0),
      r.peakHeapUsedMb.toFixed(0),
    ]);
  }
  console.log(`\n${main.toString()}`);
  const lines = [
    reports.naive.deletedRecords < reports.engine.deletedRecords
      ? `naive: a random sample of ${fmt(reports.naive.deletedRecords)} due records, one request at a time; items/s is the sample's.`
      : 'naive: every due record, one request at a time.',
    `floor: blobs ${floor.blobSeconds?.toFixed(2)} s, then records ${floor.recordSeconds?.toFixed(2)} s.`,
    `engine: ${engines.engine.groups} sweep group${engines.engine.groups === 1 ? '' : 's'}; with shredding on, the same world seeded sealed and the engine over the sealed stores (keys table counted).`,
    `S3 requests: ${names.map((m) => `${MEASUREMENT_LABELS[m]} ${describe(reports[m].s3Requests, reports[m].sdkRetries.s3)}`).join('; ')}.`,
    `DynamoDB SDK retries: ${names.map((m) => `${MEASUREMENT_LABELS[m]} ${fmt(total(reports[m].sdkRetries.dynamodb))}`).join(', ')}.`,
    'CPU s and memory are the whole process, emulators included; load average (1 min) before/after: ' +
      names.map((m) => `${MEASUREMENT_LABELS[m]} ${reports[m].loadAverage.join('/')}`).join(', ') +
      ` on ${cpus().length} CPUs.`,
  ];
  console.log(lines.join('\n'));

  const e = reports.engine;
  const es = reports.engineShredding;
  const breakdown = new Table({
    ...plain,
    head: ['engine DynamoDB requests', 'count', 'per deleted record', 'shredding on: count', 'per deleted record', 'floor per record'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
  });
  const floorByTarget = reports.floor.dynamodbRequestsByTarget;
  const targetKeys = [...new Set([...Object.keys(e.dynamodbRequestsByTarget), ...Object.keys(es.dynamodbRequestsByTarget)])].sort();
  for (const key of targetKeys) {
    const off = e.dynamodbRequestsByTarget[key];
    const on = es.dynamodbRequestsByTarget[key];
    const f = floorByTarget[key];
    breakdown.push([
      key,
      off === undefined ? '-' : fmt(off),
      off === undefined ? '-' : (off / e.deletedRecords).toFixed(4),
      on === undefined ? '-' : fmt(on),
      on === undefined ? '-' : (on / es.deletedRecords).toFixed(4),
      f === undefined ? '-' : (f / reports.floor.deletedRecords).toFixed(4),
    ]);
  }
  const keysOn = keysTableRequests(es.dynamodbRequestsByTarget);
  breakdown.push(['of them keys table', '-', '-', fmt(keysOn), (keysOn / es.deletedRecords).toFixed(4), '-']);
  breakdown.push([
    'total',
    fmt(total(e.dynamodbRequestsByTarget)),
    e.dynamodbRequestsPerRecord.toFixed(4),
    fmt(total(es.dynamodbRequestsByTarget)),
    es.dynamodbRequestsPerRecord.toFixed(4),
    reports.floor.dynamodbRequestsPerRecord.toFixed(4),
  ]);
  console.log(`\n${breakdown.toString()}`);

  for (const name of ['engine', 'engineShredding'] as const) {
    const engine = engines[name];
    const phases = new Table({
      ...plain,
      head: [`${MEASUREMENT_LABELS[name]}: phase`, 'chunks', 'DDB requests', 'by command and target', 'seconds (Σ groups)'],
      colAligns: ['left', 'right', 'right', 'left', 'right'],
    });
    const order = ['startRun', 'stage 1', 'stage 2', 'stage 3', 'stage 4', 'completeRun'];
    for (const phase of order) {
      const counts = engine.tally.byPhase[phase];
      if (counts === undefined) continue;
      phases.push([
        phase,
        engine.chunks[phase] === undefined ? '-' : fmt(engine.chunks[phase] as number),
        fmt(total(counts)),
        Object.entries(sorted(counts))
          .map(([k, v]) => `${k}: ${fmt(v)}`)
          .join('\n'),
        engine.stageSeconds[phase]?.toFixed(2) ?? '-',
      ]);
    }
    console.log(`\n${phases.toString()}`);
  }

  const ratioTable = new Table({ ...plain, head: ['ratio', 'value'], colAligns: ['left', 'right'] });
  for (const [k, v] of Object.entries(ratios)) ratioTable.push([k, v === null ? '-' : v.toFixed(3)]);
  console.log(`\n${ratioTable.toString()}`);

  const targetTable = new Table({
    ...plain,
    head: ['target', 'wanted', 'measured', 'result', 'on CPU time'],
    colAligns: ['left', 'right', 'right', 'left', 'right'],
  });
  for (const t of targets) {
    targetTable.push([
      t.name,
      t.target,
      t.measured === null ? '-' : t.measured.toFixed(3),
      t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS',
      t.onCpuTime === undefined ? '' : t.onCpuTime.toFixed(3),
    ]);
  }
  console.log(`\n${targetTable.toString()}`);
}

/** One line of the closing summary. */
interface SummaryRow {
  readonly measurement: string;
  readonly figure: string;
  /** PASS or MISS for a target. */
  readonly result?: string;
}

function ingestSummary(r: IngestReport): SummaryRow[] {
  const { off, on } = r.medianRecordsPerSecond;
  const runs = r.runs.length / 2;
  return [
    { measurement: `ingest (${fmt(r.world.records)} records, bodies of ≤ ${r.world.bodySize}): shredding off`, figure: `${fmt(off)} records/s (median of ${runs}; ${r.dynamodbRequestsPerRecord.off.toFixed(3)} DDB req/record)` },
    {
      measurement: 'ingest: shredding on',
      figure: `${fmt(on)} records/s (median of ${runs}; ${r.dynamodbRequestsPerRecord.on.toFixed(3)} DDB req/record, ${r.keysTableRequestsPerRecord.toFixed(3)} of them keys table)`,
    },
    {
      measurement: 'ingest with crypto-shredding on ≥ 0.85 × off (issue 12)',
      figure: `${r.onOverOff.toFixed(3)} (${r.onOverOffOnCpuTime.toFixed(3)} on CPU time)`,
      result: r.onOverOff >= 0.85 ? 'PASS' : 'MISS',
    },
  ];
}

function erasureSummary(r: ErasureReport): SummaryRow[] {
  const ratio = r.erasureOverFloor;
  return [
    { measurement: `erasure of one subject (${fmt(r.world.subjectRecords)} records): executeErasure`, figure: `${fmt(r.medianErasureRecordsPerSecond)} records/s (median of ${r.runs.length / 2})` },
    { measurement: 'erasure of one subject: floor', figure: `${fmt(r.medianFloorRecordsPerSecond)} records/s (median of ${r.runs.length / 2})` },
    {
      measurement: 'erasure throughput ≥ 0.7 × floor',
      figure: `${ratio.toFixed(3)} (${r.erasureOverFloorOnCpuTime.toFixed(3)} on CPU time)`,
      result: ratio >= 0.7 ? 'PASS' : 'MISS',
    },
    { measurement: 'erasure DynamoDB / S3 requests vs floor', figure: `${r.erasureOverFloorDynamodbRequests.toFixed(3)} / ${r.erasureOverFloorS3FirstAttempts?.toFixed(3) ?? '-'} (S3 first attempts)` },
  ];
}

function bulkSummary(r: BulkReport): SummaryRow[] {
  return [
    {
      measurement: `bulk erasure (${fmt(r.world.matching)} of ${fmt(r.world.customers)} customers match): POST answers`,
      figure: `${fmt(Math.round(r.postMs))} ms (${r.postStatus})`,
      result: r.postMs < 1000 ? 'PASS' : 'MISS',
    },
    { measurement: 'bulk erasure: the first POST of a fresh process (it validates the state machine)', figure: `${fmt(Math.round(r.warmup.firstPostMs))} ms (warm-up, an access request)` },
    { measurement: 'bulk erasure: workflow completes', figure: `${r.completedSeconds.toFixed(1)} s after the POST (${fmt(r.recordsPerSecond)} records/s, ${r.status})` },
  ];
}

function holdSummary(r: HoldReport): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [phase, p, verb, done] of [
    ['POST', r.apply, 'active', 'backstops off'],
    ['DELETE', r.release, 'released', 'backstops back'],
  ] as const) {
    rows.push(
      { measurement: `tenant-wide hold (${fmt(r.world.records)} records): ${phase} answers`, figure: `${fmt(Math.round(p.requestMs))} ms (${p.answeredStatus})`, result: p.requestMs < 1000 ? 'PASS' : 'MISS' },
      { measurement: `tenant-wide hold: ${verb}`, figure: `${p.completedSeconds.toFixed(1)} s after the ${phase} (${fmt(p.counts.records)} ${done}, ${fmt(p.recordsPerSecond)} records/s)` },
    );
  }
  rows.push({ measurement: 'tenant-wide hold: the first POST of a fresh process (it validates the state machine)', figure: `${fmt(Math.round(r.warmup.firstPostMs))} ms (warm-up, a hold on one customer)` });
  return rows;
}

function printSummary(rows: readonly SummaryRow[], seconds: number): void {
  const table = new Table({ style: { head: [], border: [] }, head: ['summary', 'measured', 'target'], colAligns: ['left', 'right', 'left'] });
  for (const r of rows) table.push([r.measurement, r.figure, r.result ?? '']);
  console.log(`\n${table.toString()}\nWhole bench: ${(seconds / 60).toFixed(1)} min.`);
}

function describe(counts: Counts, retries: Counts): string {
  const parts = Object.entries(counts).map(([k, v]) => `${fmt(v)} ${k}`);
  const retried = total(retries);
  return `${parts.join(' + ') || 'none'}${retried > 0 ? ` (${fmt(retried)} of them SDK retries)` : ''}`;
}

function sorted(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function pct(r: number): string {
  return `${(r * 100).toFixed(1)}%`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error('bench crashed:', error);
  process.exitCode = 1;
}
