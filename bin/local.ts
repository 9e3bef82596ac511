/**
 * `npm start`: Lethe on one machine. Embedded DynamoDB and S3 persisted under
 * the data directory, the admin API on 127.0.0.1, the Sweep state machine on a
 * schedule, e-mails in an outbox folder. On an empty store it registers a
 * demo tenant, announces the API, then seeds the tenant in the background,
 * sweeps it and prints the receipt. Ctrl-C stops it; the next start reuses the
 * data.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Role } from '../shared/app/api/contract.js';
import { DEFAULT_PROFILE, PROFILE_NAMES } from '../shared/config/profiles.js';
import { governedCategories, type PlatformPolicy } from '../shared/domain/policy.js';
import type { Receipt } from '../shared/domain/receipt.js';
import { ApiClient } from '../cli/api-client.js';
import { DEFAULT_ENDPOINT } from '../cli/context.js';
import { DEFAULT_DATA_DIR } from '../cli/data.js';
import { receiptTable } from '../cli/operations.js';
import { receiptTotals, startLocalRuntime, type LocalRuntime, type SweepProgress } from '../shared/local/runtime.js';
import { formatDuration, MAX_PERIOD_MS, parseDuration, startScheduler, type Scheduler } from '../shared/local/scheduler.js';
import { generateDemoDataset, ingestDataset } from '../shared/local/seed.js';

// Local mode runs on whatever Node the developer has; the SDK's end-of-support notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEMO_TENANT = 'demo';
const PRINTED_TOKEN_TTL_SECONDS = 24 * 3600;

interface StartOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly profile: string;
  readonly seed: boolean;
  readonly sweepEvery?: number;
  readonly eventsWebhook?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return port;
}

function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // falls through
  }
  throw new InvalidArgumentError('must be an http(s) URL');
}

function parsePeriod(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  if (ms > MAX_PERIOD_MS) throw new InvalidArgumentError(`a sweep period must be at most ${formatDuration(MAX_PERIOD_MS)}, got "${value}"`);
  return ms;
}

/** Where the scheduler keeps its last tick, so a restart neither skips nor repeats a sweep. */
const scheduleFile = (dataDir: string) => join(dataDir, 'schedule.json');

async function readLastFiredAt(dataDir: string): Promise<Date | undefined> {
  try {
    const { lastFiredAt } = JSON.parse(await readFile(scheduleFile(dataDir), 'utf8')) as { lastFiredAt?: unknown };
    const at = typeof lastFiredAt === 'string' ? new Date(lastFiredAt) : undefined;
    return at !== undefined && Number.isFinite(at.getTime()) ? at : undefined;
  } catch {
    return undefined;
  }
}

async function writeLastFiredAt(dataDir: string, at: Date): Promise<void> {
  const file = scheduleFile(dataDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify({ lastFiredAt: at.toISOString() })}\n`);
  await rename(`${file}.tmp`, file);
}

const print = (text = '') => process.stdout.write(`${text}\n`);

/** A change the profile accepts, to try the preview with: the setting that governs conversations, or their own period. */
function previewExample(platform: PlatformPolicy): string {
  const setting = (platform.settings ?? []).find((s) => governedCategories(s).includes('conversation'));
  if (setting === undefined) return '--category conversation=90';
  return `--setting ${setting.name}=${Math.max(setting.minDays, 30)}`;
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A progress bar on a terminal; a start and an end line otherwise (logs, tests). */
function progress(label: string, total: number, unit: string) {
  if (process.stdout.isTTY !== true) {
    print(`${label}…`);
    return { update: (_value: number, _payload?: object) => undefined, stop: () => undefined };
  }
  const bar = new SingleBar({
    format: `${label.padEnd(9)} [{bar}] {value}/{total} ${unit}{extra}`,
    hideCursor: true,
    stream: process.stdout,
    barsize: 30,
  });
  bar.start(total, 0, { extra: '' });
  return { update: (value: number, payload?: object) => bar.update(value, payload ?? {}), stop: () => bar.stop() };
}

/** The demo tenant and its dataset, registered before the API is announced; its records go in afterwards (`seedDemoData`). */
interface DemoSeed {
  readonly client: ApiClient;
  readonly dataset: ReturnType<typeof generateDemoDataset>;
}

async function registerDemoTenant(runtime: LocalRuntime): Promise<DemoSeed> {
  const client = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ roles: ['SuperAdministrator'], subject: 'local-seed' }) });
  await client.put(`/v1/tenants/${DEMO_TENANT}`, {
    name: 'Demo Tenant (synthetic data)',
    adminEmails: ['compliance@demo-tenant.example.com'],
    thirdPartyEndpoints: [{ name: 'demo-call-provider', deleteUrl: runtime.fakeProviderDeleteUrl }],
  });
  const dataset = generateDemoDataset({ now: new Date() });
  runtime.fakeProvider.add(...dataset.thirdPartyRefs);
  return { client, dataset };
}

async function seedDemoData({ client, dataset }: DemoSeed): Promise<void> {
  const started = Date.now();
  const bar = progress('Seeding', dataset.recordCount, 'records');
  try {
    await ingestDataset(
      dataset,
      async (records) => (await client.post<{ accepted: number }>(`/v1/tenants/${DEMO_TENANT}/records`, { records })).accepted,
      (accepted) => bar.update(accepted),
    );
  } finally {
    bar.stop();
  }
  print(
    `Seeded tenant "${DEMO_TENANT}": ${dataset.recordCount} records over 3 years, every category, ${dataset.blobCount} blobs (${seconds(Date.now() - started)})`,
  );
}

async function firstSweep(runtime: LocalRuntime): Promise<Receipt[]> {
  const runId = sweepName(new Date());
  const bar = progress('Sweeping', 4, 'stages');
  try {
    return await runtime.runSweep({ runId }, (p: SweepProgress) => {
      bar.update(p.stagesDone, { extra: ` | ${p.deleted} deleted` });
    });
  } finally {
    bar.stop();
  }
}

/** Execution name of a scheduled sweep, like `sweep-20260301T120000Z`. */
function sweepName(at: Date): string {
  return `sweep-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

function printReceipts(receipts: readonly Receipt[]): void {
  for (const receipt of receipts) {
    const duration = receipt.durationMs === undefined ? '' : ` in ${seconds(receipt.durationMs)}`;
    print(`Receipt ${receipt.runId} · tenant ${receipt.tenantId} · ${receipt.status}${duration}`);
    for (const f of receipt.failedStages ?? []) print(`  stage ${f.stage} failed: ${f.error}`);
    print(receiptTable(receipt));
  }
}

async function printAccess(runtime: LocalRuntime): Promise<void> {
  const tenants = await runtime.deps.control.listTenants();
  const tenant = tenants.find((t) => t.tenantId === DEMO_TENANT)?.tenantId ?? tenants[0]?.tenantId;
  const token = (roles: Role[], tenantId?: string) =>
    runtime.issueToken({ roles, expiresInSeconds: PRINTED_TOKEN_TTL_SECONDS, ...(tenantId !== undefined && { tenantId }) });
  const superToken = await token(['SuperAdministrator']);
  print();
  print(`API:    ${runtime.url}   (OpenAPI: ${runtime.url}/v1/openapi.json)`);
  print(`Outbox: ${runtime.outboxDir}`);
  print();
  const endpoint = runtime.url === DEFAULT_ENDPOINT ? '' : `export LETHE_ENDPOINT=${runtime.url}\n  `;
  const dataDirFlag = runtime.dataDir === resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${runtime.dataDir}`;
  if (tenant !== undefined) {
    const adminToken = await token(['ComplianceAdministrator'], tenant);
    print(`Dev token, ComplianceAdministrator of "${tenant}" (24 h):`);
    print(`  ${adminToken}`);
    print('Dev token, SuperAdministrator (24 h):');
    print(`  ${superToken}`);
    print();
    print('Try:');
    print(`  ${endpoint}export LETHE_TOKEN=${adminToken}`);
    print('  npx lethe policy get');
    print(`  npx lethe policy preview ${previewExample(runtime.platform)} --acknowledge-data-loss`);
    print('  npx lethe runs ls');
  } else {
    print('Dev token, SuperAdministrator (24 h):');
    print(`  ${superToken}`);
    print();
    print('No tenant yet. Try:');
    print(`  ${endpoint}export LETHE_TOKEN=${superToken}`);
    print('  npx lethe tenants put acme --name "Acme" --admin-email compliance@acme.example.com');
    print(`  export LETHE_TOKEN=$(npx lethe token --tenant acme --role ComplianceAdministrator${dataDirFlag})`);
    print('  npx lethe seed && npx lethe sweep');
  }
  print(`More tokens: npx lethe token --tenant <t> --role <Administrator|ComplianceAdministrator|SuperAdministrator>${dataDirFlag}`);
}

async function start(options: StartOptions): Promise<void> {
  const logger = new Logger({
    serviceName: 'lethe-local',
    logLevel: (process.env.LETHE_LOG_LEVEL ?? 'WARN').toUpperCase() as 'WARN',
  });
  let runtime: LocalRuntime | undefined;
  let scheduler: Scheduler | undefined;
  let stopping = false;
  let seedPhase: 'seeding' | 'sweeping' | undefined;
  /** Whether the demo seed got all its records in (it may end while a stop waits for work in flight). */
  let seedCompleted = false;
  let firstSignalAt = 0;

  const stop = async (signal: string) => {
    if (stopping) {
      // A terminal's Ctrl-C reaches this process twice: directly and relayed by tsx/npm. Only a later one forces.
      if (Date.now() - firstSignalAt < 1_000) return;
      print('Forced stop.');
      process.exit(1);
    }
    stopping = true;
    firstSignalAt = Date.now();
    const seedingAtSignal = seedPhase === 'seeding';
    print(`\n${signal}: stopping Lethe…`);
    void scheduler?.stop();
    try {
      await runtime?.close({ graceMs: 10_000 });
      // Judged once stopped: a seed may end during the grace period.
      const seedInterrupted = seedingAtSignal && !seedCompleted;
      print('Stopped. The data stays in the data directory; work still running (a sweep, an erasure, a hold) resumes at the next start.');
      if (seedInterrupted) print('The demo seed was interrupted and is not resumed: start with a fresh --data-dir for a complete one.');
      process.exit(0);
    } catch (error) {
      process.stderr.write(`error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  print(`Starting Lethe: profile ${options.profile}, data in ${options.dataDir}`);
  runtime = await startLocalRuntime({
    dataDir: options.dataDir,
    port: options.port,
    profile: options.profile,
    logger,
    ...(options.eventsWebhook !== undefined && { eventsWebhookUrl: options.eventsWebhook }),
  });
  if (stopping) return;

  if (runtime.createdWithProfile !== runtime.platform.profile) {
    print(
      `Note: this data directory was created with the ${runtime.createdWithProfile} profile; tenant policies are now checked against ${runtime.platform.profile}.`,
    );
  }
  // A fresh store gets the demo tenant now and its data once the API is announced: seeding (about
  // 4,000 records through the API) and the first sweep take most of a fresh start, and the API can
  // answer meanwhile.
  let demo: DemoSeed | undefined;
  try {
    if (await runtime.isEmpty()) {
      if (options.seed) demo = await registerDemoTenant(runtime);
      else print('Empty store, not seeded (--no-seed).');
    } else {
      print(`Reusing the data in ${runtime.dataDir} (no reseed).`);
    }
  } catch (error) {
    if (!stopping) await runtime.close({ graceMs: 2_000 }).catch(() => undefined);
    throw error;
  }
  if (stopping) return;

  const { resumed } = runtime;
  if (resumed.sweeps + resumed.privacyRequests + resumed.holds + resumed.deletions > 0) {
    print(
      `Resumed unfinished work of the last run: ${resumed.sweeps} sweep(s), ${resumed.privacyRequests} privacy request(s), ` +
        `${resumed.holds} hold(s), ${resumed.deletions} manual deletion(s).`,
    );
  }
  const periodMs = options.sweepEvery ?? runtime.platform.sweep.cadenceMinutes * 60_000;
  const live = runtime;
  const lastFiredAt = await readLastFiredAt(live.dataDir);
  // A fresh data directory's first tick counts from now (its seed sweep just ran).
  if (lastFiredAt === undefined) await writeLastFiredAt(live.dataDir, new Date());
  scheduler = startScheduler({
    periodMs,
    lastFiredAt: lastFiredAt ?? new Date(),
    onFired: (firedAt) => writeLastFiredAt(live.dataDir, firedAt),
    isBusy: () => live.sweepsInFlight() > 0,
    run: async (firedAt) => {
      const receipts = await live.runSweep({ runId: sweepName(firedAt) });
      const totals = receipts.map(receiptTotals).reduce((a, t) => ({ deleted: a.deleted + t.deleted, failed: a.failed + t.failed }), { deleted: 0, failed: 0 });
      const failedRuns = receipts.filter((r) => r.status === 'failed').length;
      print(
        `[${new Date().toISOString()}] scheduled sweep ${sweepName(firedAt)}: ${receipts.length} tenant(s), ${totals.deleted} deleted, ${totals.failed} failed${failedRuns > 0 ? `, ${failedRuns} run(s) failed` : ''}`,
      );
    },
    onSkip: (firedAt) => print(`[${firedAt.toISOString()}] scheduled sweep skipped: the previous one is still running`),
    onError: (error) => logger.error('scheduled sweep failed', { error: error instanceof Error ? error.name : 'unknown' }),
  });

  await printAccess(runtime);
  print(`Sweep every ${formatDuration(periodMs)} (next at ${scheduler.nextAt.toISOString()}); e-mails go to the outbox. Ctrl-C stops.`);
  if (demo !== undefined) {
    print(
      `Seeding "${DEMO_TENANT}" in the background: ${demo.dataset.recordCount} records, then a first sweep and its receipt; ` +
        'until then the API answers with what is in so far.',
    );
  }
  print(`Lethe is ready at ${runtime.url} (started in ${seconds(performance.now())})`);
  if (demo !== undefined) {
    const seed = demo;
    seedPhase = 'seeding';
    void (async () => {
      try {
        await seedDemoData(seed);
        seedCompleted = true;
        if (stopping) return;
        seedPhase = 'sweeping';
        printReceipts(await firstSweep(live));
        print(`Demo tenant "${DEMO_TENANT}" seeded and swept (${seconds(performance.now())} after start).`);
      } catch (error) {
        // Stopping closes the API under the seed; anything else is worth saying, and the API stays up.
        if (!stopping) process.stderr.write(`error: seeding the demo tenant failed: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        seedPhase = undefined;
      }
    })();
  }
}

const program = new Command('npm start')
  .description('Run Lethe locally with embedded emulators')
  .addOption(new Option('--port <port>', 'API port on 127.0.0.1').default(4400).argParser(parsePort))
  .option('--data-dir <dir>', 'where the data, secrets and outbox live', DEFAULT_DATA_DIR)
  .addOption(new Option('--profile <name>', 'platform policy profile').choices(PROFILE_NAMES).default(DEFAULT_PROFILE))
  .option('--no-seed', 'do not seed a demo tenant into an empty store')
  .addOption(new Option('--sweep-every <duration>', "sweep period, e.g. 5m or 2h (default: the profile's cadence)").argParser(parsePeriod))
  .addOption(
    new Option('--events-webhook <url>', 'POST every deletion event to this URL too (they are always appended to <data-dir>/events/)').env('LETHE_EVENTS_WEBHOOK').argParser(parseUrl),
  )
  .action(async (options: StartOptions) => {
    try {
      await start(options);
    } catch (error) {
      process.stderr.write(`error: ${describeStartError(error, options)}\n`);
      process.exit(1);
    }
  });

function describeStartError(error: unknown, options: StartOptions): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${options.port} is in use (another Lethe?); pick another with --port`;
  const message = error instanceof Error ? error.message : String(error);
  if (/LOCK|lock/.test(message)) return `the data directory ${options.dataDir} is in use by another Lethe process (${message})`;
  return message;
}

await program.parseAsync(process.argv);
