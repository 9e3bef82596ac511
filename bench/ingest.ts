/**
 * Ingest throughput with crypto-shredding off and on (issue 12): the same
 * bodies posted to `POST /v1/tenants/{t}/records` through the production
 * handler (`benchApi`), on fresh emulators each run, the runs alternating
 * off/on; the figures are the medians. With shredding on, the API composes
 * the sealed stores as deployed (a key wrapper given): personal data sealed
 * under subject and epoch keys, identifiers under blind indexes, and the keys
 * table's requests counted with the rest.
 *
 * The bodies are a realistic mix of a week's traffic: customers (name, phone,
 * half of them an e-mail), their conversations, messages of about 100
 * characters, calls (some with a provider's reference) and a few small inline
 * media. A customer's records travel in one body, bodies hold up to
 * `bodySize` records, and several are in flight at once across tenants.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { DynamoControlStore } from '../shared/adapters/dynamodb/control-store.js';
import { mapConcurrent } from '../shared/adapters/retry.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock } from '../shared/domain/ports.js';
import type { Tenant } from '../shared/domain/tenant.js';
import { benchApi } from './api.js';
import { median } from './erasure.js';
import { provisionStage, startHarness, type Harness, type Stage } from './harness.js';
import { collectGarbage, total, type Counts } from './instrument.js';
import { timed } from './measure.js';
import { keyCensus } from './shredding.js';
import { prng } from './world.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Area codes of the synthetic phones: each with the 100 fictional numbers 555-0100…0199. */
const AREA_CODES = ['201', '212', '213', '305', '312', '415', '503', '512', '617', '646', '702', '713', '718', '773', '808', '818', '917', '925', '949', '971'];
const WORDS = (
  'thanks for getting back to me about the order I placed last week it has not arrived yet could you check the tracking number and ' +
  'let me know when it should be delivered also the invoice shows the wrong address please update it to the new one we moved recently'
).split(' ');

export interface IngestBenchOptions {
  /** Records posted per run (every run posts the same bodies). */
  readonly records: number;
  /** Most records in one body (the API takes up to 500). */
  readonly bodySize: number;
  readonly tenants: number;
  /** Runs of each variant, off and on alternating. */
  readonly runs: number;
  /** Bodies in flight at once. */
  readonly concurrency: number;
  /** Share of records that are inline media of about 1 KiB. */
  readonly blobRatio: number;
  readonly platform: PlatformPolicy;
  /** The bench's "now": records date from the week before it. */
  readonly now: Date;
  readonly clock: Clock;
  readonly s3Base: string;
  readonly seed: number;
  readonly keyWrapper: KeyWrapper;
}

type Variant = 'off' | 'on';

export interface IngestRun {
  readonly shredding: Variant;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly cpuSeconds: number;
  readonly recordsPerCpuSecond: number;
  readonly loadAverage: readonly [number, number];
  readonly medianBodyMs: number;
  readonly dynamodbRequests: number;
  readonly keysTableRequests: number;
  readonly dynamodbRequestsByTarget: Counts;
  readonly dynamodbRetries: number;
  readonly s3Requests: number;
  /** Items the records table holds afterwards (profiles, identifiers, markers and the records). */
  readonly storedItems: number;
}

export interface IngestReport {
  readonly world: {
    readonly records: number;
    readonly bodies: number;
    readonly bodySize: number;
    readonly tenants: number;
    readonly customers: number;
    readonly byType: Readonly<Record<string, number>>;
    readonly concurrency: number;
  };
  readonly runs: IngestRun[];
  readonly medianRecordsPerSecond: Readonly<Record<Variant, number>>;
  readonly medianRecordsPerCpuSecond: Readonly<Record<Variant, number>>;
  /** Median throughput with shredding on over off: the target is ≥ 0.85 (encryption costs ≤ 15 %). */
  readonly onOverOff: number;
  readonly onOverOffOnCpuTime: number;
  readonly dynamodbRequestsPerRecord: Readonly<Record<Variant, number>>;
  /** Of them, to the keys table (shredding on). */
  readonly keysTableRequestsPerRecord: number;
  readonly medianBodyMs: Readonly<Record<Variant, number>>;
}

interface Body {
  readonly tenantId: string;
  readonly records: readonly Record<string, unknown>[];
}

export interface IngestWorld {
  readonly tenants: Tenant[];
  readonly bodies: Body[];
  readonly customers: number;
  readonly byType: Record<string, number>;
  /** One customer per tenant whose stored data is read back after a run: its id and its message texts. */
  readonly probes: { readonly tenantId: string; readonly customerId: string; readonly texts: readonly string[] }[];
}

/** Builds the same bodies for every run, deterministically from the seed. */
export function buildIngestWorld(options: Pick<IngestBenchOptions, 'records' | 'bodySize' | 'tenants' | 'blobRatio' | 'now' | 'seed'>): IngestWorld {
  const rnd = prng(options.seed + 104_729);
  const int = (min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
  const now = options.now.getTime();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const text = (min: number, max: number): string => {
    const length = int(min, max);
    let out = '';
    while (out.length < length) out += `${out === '' ? '' : ' '}${WORDS[int(0, WORDS.length - 1)]}`;
    return out.slice(0, length);
  };
  const media = Buffer.alloc(768, 0x2a).toString('base64');
  const byType: Record<string, number> = {};
  const tenants: Tenant[] = [];
  const bodies: Body[][] = [];
  const probes: { tenantId: string; customerId: string; texts: string[] }[] = [];
  let customers = 0;
  let records = 0;
  for (let t = 0; t < options.tenants; t++) {
    const tenantId = `ingest${String(t).padStart(3, '0')}`;
    tenants.push({
      tenantId,
      name: `Ingest tenant ${t}`,
      status: 'active',
      adminEmails: [`admin@${tenantId}.example.test`],
      lastActivityAt: iso(now - DAY_MS),
      createdAt: iso(now - 400 * DAY_MS),
      updatedAt: iso(now - 400 * DAY_MS),
    });
    const target = Math.floor(options.records / options.tenants) + (t < options.records % options.tenants ? 1 : 0);
    const mine: Body[] = [];
    let body: Record<string, unknown>[] = [];
    let written = 0;
    let c = 0;
    while (written < target) {
      const customerId = `c${c}`;
      const unit: Record<string, unknown>[] = [];
      let latest = 0;
      const conversations = int(1, 3);
      for (let v = 0; v < conversations; v++) {
        const conversationId = `${customerId}v${v}`;
        const started = now - rnd() * 7 * DAY_MS;
        unit.push({
          type: 'conversation',
          id: conversationId,
          customerId,
          channel: (['chat', 'sms', 'whatsapp', 'email'] as const)[int(0, 3)],
          startedAt: iso(started),
          status: rnd() < 0.2 ? 'open' : 'closed',
          ...(rnd() < 0.3 && { notes: text(40, 80) }),
        });
        const messages = int(2, 8);
        for (let m = 0; m < messages; m++) {
          const sentAt = started + (m + 1) * MINUTE_MS;
          latest = Math.max(latest, sentAt);
          unit.push({ type: 'message', id: `${conversationId}m${m}`, conversationId, customerId, sentAt: iso(sentAt), direction: m % 2 === 0 ? 'inbound' : 'outbound', text: text(80, 120) });
        }
        // About 7 records per conversation: one medium on this share of them makes blobRatio of the records.
        if (rnd() < options.blobRatio * 7) {
          unit.push({ type: 'media', id: `${conversationId}b0`, conversationId, customerId, direction: 'inbound', contentType: 'image/png', contentBase64: media, sentAt: iso(started + MINUTE_MS) });
        }
      }
      const calls = int(0, 2);
      for (let k = 0; k < calls; k++) {
        const started = now - rnd() * 7 * DAY_MS;
        latest = Math.max(latest, started);
        unit.push({ type: 'call', id: `${customerId}k${k}`, customerId, startedAt: iso(started), durationSeconds: int(20, 900), ...(rnd() < 0.4 && { thirdPartyRef: `ref-${customerId}-${k}` }) });
      }
      const phone = `+1${AREA_CODES[c % AREA_CODES.length]}55501${String(Math.floor(c / AREA_CODES.length) % 100).padStart(2, '0')}`;
      unit.unshift({
        type: 'customer',
        id: customerId,
        name: `Customer ${tenantId} ${c}`,
        phones: [phone],
        ...(rnd() < 0.5 && { emails: [`${customerId}@${tenantId}.example.test`] }),
        lastContactAt: iso(latest === 0 ? now - DAY_MS : latest),
      });
      // The last customer of a tenant is cut to what is left of its share.
      const kept = unit.slice(0, Math.max(1, target - written));
      if (body.length + kept.length > options.bodySize) {
        mine.push({ tenantId, records: body });
        body = [];
      }
      body.push(...kept);
      for (const r of kept) byType[r.type as string] = (byType[r.type as string] ?? 0) + 1;
      if (c === 0) probes.push({ tenantId, customerId, texts: kept.filter((r) => r.type === 'message').map((r) => r.text as string) });
      written += kept.length;
      records += kept.length;
      customers += 1;
      c += 1;
    }
    if (body.length > 0) mine.push({ tenantId, records: body });
    bodies.push(mine);
  }
  // Tenants' bodies interleaved, as traffic from several tenants arrives.
  const interleaved: Body[] = [];
  for (let i = 0; interleaved.length < bodies.reduce((n, b) => n + b.length, 0); i++) {
    for (const mine of bodies) if (mine[i] !== undefined) interleaved.push(mine[i] as Body);
  }
  if (records !== options.records) throw new Error(`ingest world: built ${records} records, wanted ${options.records}`);
  return { tenants, bodies: interleaved, customers, byType, probes };
}

export async function ingestSection(options: IngestBenchOptions, log: (line: string) => void): Promise<{ report: IngestReport; failures: string[] }> {
  const world = buildIngestWorld(options);
  log(
    `Ingest: ${fmt(options.records)} records (${Object.entries(world.byType).map(([t, n]) => `${fmt(n)} ${t}`).join(', ')}) of ${fmt(world.customers)} customers ` +
      `over ${options.tenants} tenants, in ${fmt(world.bodies.length)} bodies of up to ${options.bodySize} records, ${options.concurrency} in flight; ` +
      `${options.runs} run${options.runs === 1 ? '' : 's'} each with crypto-shredding off and on, alternating, fresh emulators each run`,
  );
  const failures: string[] = [];
  const runs: IngestRun[] = [];
  for (let r = 0; r < options.runs; r++) {
    const order: Variant[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const variant of order) {
      const { run, problems } = await ingestRun(options, world, variant);
      runs.push(run);
      failures.push(...problems.map((p) => `ingest shredding ${variant} run ${r + 1}: ${p}`));
      log(
        `shredding ${variant.padEnd(3)} run ${r + 1}: ${run.seconds.toFixed(2)} s, ${fmt(run.recordsPerSecond)} records/s (${fmt(run.recordsPerCpuSecond)}/CPU s), ` +
          `body median ${run.medianBodyMs.toFixed(0)} ms; ${(run.dynamodbRequests / options.records).toFixed(3)} DDB req/record` +
          (variant === 'on' ? ` (keys table ${(run.keysTableRequests / options.records).toFixed(3)})` : '') +
          `; load ${run.loadAverage.join('/')}` +
          (problems.length === 0 ? `; verified: ${fmt(run.storedItems)} items stored${variant === 'on' ? ', all sealed, read back' : ''}` : '; VERIFICATION FAILED'),
      );
      for (const p of problems) log(`    ${p}`);
    }
  }
  const stored = new Set(runs.map((r) => r.storedItems));
  if (stored.size > 1) failures.push(`ingest: runs stored different numbers of items: ${[...stored].join(', ')}`);
  const of = (v: Variant) => runs.filter((r) => r.shredding === v);
  const med = (v: Variant, f: (r: IngestRun) => number) => median(of(v).map(f));
  const rate = { off: Math.round(med('off', (r) => r.recordsPerSecond)), on: Math.round(med('on', (r) => r.recordsPerSecond)) };
  const cpuRate = { off: Math.round(med('off', (r) => r.recordsPerCpuSecond)), on: Math.round(med('on', (r) => r.recordsPerCpuSecond)) };
  const report: IngestReport = {
    world: {
      records: options.records,
      bodies: world.bodies.length,
      bodySize: options.bodySize,
      tenants: options.tenants,
      customers: world.customers,
      byType: world.byType,
      concurrency: options.concurrency,
    },
    runs,
    medianRecordsPerSecond: rate,
    medianRecordsPerCpuSecond: cpuRate,
    onOverOff: round(rate.on / rate.off, 3),
    onOverOffOnCpuTime: round(cpuRate.on / cpuRate.off, 3),
    dynamodbRequestsPerRecord: {
      off: round(med('off', (r) => r.dynamodbRequests) / options.records, 4),
      on: round(med('on', (r) => r.dynamodbRequests) / options.records, 4),
    },
    keysTableRequestsPerRecord: round(med('on', (r) => r.keysTableRequests) / options.records, 4),
    medianBodyMs: { off: round(med('off', (r) => r.medianBodyMs), 1), on: round(med('on', (r) => r.medianBodyMs), 1) },
  };
  return { report, failures };
}

export async function ingestRun(options: IngestBenchOptions, world: IngestWorld, variant: Variant): Promise<{ run: IngestRun; problems: string[] }> {
  collectGarbage();
  const directory = await mkdtemp(join(options.s3Base, `lethe-bench-ingest-${variant}-`));
  const h = await startHarness(directory);
  try {
    const stage = await provisionStage(h, `ingest-${variant}`);
    const control = new DynamoControlStore({ doc: h.doc, tableName: stage.tableNames.control });
    await Promise.all(world.tenants.map((t) => control.putTenant(t)));
    const api = benchApi(h, stage, { platform: options.platform, clock: options.clock, ...(variant === 'on' && { keyWrapper: options.keyWrapper }) });
    const problems: string[] = [];
    const bodyMs: number[] = [];
    let accepted = 0;
    const run = await timed(h, () =>
      mapConcurrent(world.bodies, options.concurrency, async (body, i) => {
        const answer = await api.call(body.tenantId, 'POST', `/v1/tenants/${body.tenantId}/records`, { records: body.records });
        bodyMs.push(answer.ms);
        if (answer.status !== 200) {
          if (problems.length < 5) problems.push(`body ${i} answered ${answer.status}: ${JSON.stringify(answer.body?.error ?? answer.body).slice(0, 300)}`);
          return;
        }
        accepted += Number(answer.body?.accepted ?? 0);
      }),
    );
    if (accepted !== options.records) problems.push(`${accepted} records accepted of ${options.records} posted`);
    const scanned = await scanRecords(h, stage);
    if (variant === 'on') problems.push(...(await checkSealed(h, stage, world, scanned, api.runDeps.records)));
    const dynamodbRequests = total(run.tally.dynamodb);
    const keysTableRequests = Object.entries(run.tally.dynamodb)
      .filter(([key]) => key.endsWith(' keys'))
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      run: {
        shredding: variant,
        seconds: round(run.seconds, 3),
        recordsPerSecond: Math.round(options.records / run.seconds),
        cpuSeconds: round(run.cpuSeconds, 3),
        recordsPerCpuSecond: Math.round(options.records / run.cpuSeconds),
        loadAverage: [round(run.loadAverage[0], 2), round(run.loadAverage[1], 2)],
        medianBodyMs: round(median(bodyMs), 1),
        dynamodbRequests,
        keysTableRequests,
        dynamodbRequestsByTarget: Object.fromEntries(Object.entries(run.tally.dynamodb).sort(([a], [b]) => a.localeCompare(b))),
        dynamodbRetries: total(run.tally.retries.dynamodb),
        s3Requests: total(run.tally.s3),
        storedItems: scanned.length,
      },
      problems,
    };
  } finally {
    await h.close();
    await rm(directory, { recursive: true, force: true });
  }
}

interface ScannedItem {
  readonly pk: string;
  readonly sk: string;
  readonly data?: unknown;
}

async function scanRecords(h: Harness, stage: Stage): Promise<ScannedItem[]> {
  const out: ScannedItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await h.doc.send(
      new ScanCommand({
        TableName: stage.tableNames.records,
        ProjectionExpression: '#pk, #sk, #data',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#data': 'data' },
        ConsistentRead: true,
        ...(start !== undefined && { ExclusiveStartKey: start }),
      }),
    );
    out.push(...((page.Items ?? []) as ScannedItem[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return out;
}

/**
 * With shredding on: no item holds data in the clear, no identifier is stored
 * under its value, every customer has a subject key, and a customer's messages
 * read back (through the API's own sealed store) as they were sent.
 */
async function checkSealed(
  h: Harness,
  stage: Stage,
  world: IngestWorld,
  scanned: readonly ScannedItem[],
  records: { findBySubject(tenantId: string, subjectId: string): Promise<readonly { readonly category: string; readonly data?: Readonly<Record<string, unknown>> }[]> },
): Promise<string[]> {
  const problems: string[] = [];
  const plain = scanned.filter((i) => i.data !== undefined && !(i.data instanceof Uint8Array)).length;
  if (plain > 0) problems.push(`${plain} stored items hold data in the clear`);
  const unblinded = scanned.filter((i) => /^ID#(PHONE|EMAIL|NAME|EXTERNAL)#(?!~)/.test(i.sk)).length;
  if (unblinded > 0) problems.push(`${unblinded} identifiers stored under their value`);
  const census = await keyCensus(h, stage);
  if (census.keks !== world.tenants.length) problems.push(`${census.keks} tenant KEKs for ${world.tenants.length} tenants`);
  if (census.subjects.size !== world.customers) problems.push(`${census.subjects.size} subject keys for ${world.customers} customers`);
  for (const probe of world.probes) {
    const items = await records.findBySubject(probe.tenantId, probe.customerId);
    const texts = new Set(items.filter((i) => i.category === 'message').map((i) => i.data?.text));
    const missing = probe.texts.filter((t) => !texts.has(t)).length;
    if (missing > 0 || probe.texts.length === 0) problems.push(`${missing} of ${probe.texts.length} messages of a probed customer of ${probe.tenantId} do not read back as sent`);
  }
  return problems;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
