/**
 * Counts what a sweep with nothing due costs, per group of 25 tenants, with and
 * without retention watermarks (issue 14, item 2). Seeds N small tenants (a
 * recent webhook delivery and admin log each: nothing due) on the embedded
 * emulators, then sweeps them three times, two hours apart (the voice cadence),
 * through the use cases the Sweep state machine calls (list, start, stages 1–4
 * with their continuations, finish, close), counting every DynamoDB request:
 * 1. the first sweep finds no watermark and queries every tenant × partition ×
 *    shard (what every idle sweep cost before watermarks), and flags them;
 * 2. the second raises them (one `Limit 1` query per partition-shard);
 * 3. the third, and every idle sweep after it, skips every pass.
 * Crypto-shredding is off (its keys table is the lead's part of the bench).
 *
 *   npx tsx scripts/idle-sweep-requests.ts [--tenants 10000]
 */
import { parseArgs } from 'node:util';
import { createDynamoClients, createS3Client } from '../shared/adapters/clients.js';
import { provisionBuckets, provisionTables } from '../shared/adapters/provision.js';
import { composeRunDeps } from '../shared/app/compose.js';
import { loadProfile } from '../shared/config/profiles.js';
import { ROUNDS } from '../shared/domain/sweep/plan.js';
import { STAGES, type Stage } from '../shared/domain/catalog.js';
import { keys, retentionKeysOf, type RecordItem } from '../shared/domain/records.js';
import { finishRuns, listSweepTenants, runStages, startRuns, sweepGroups, type RunDeps } from '../shared/domain/runs.js';
import { closeRuns } from '../shared/domain/sweep/close.js';
import type { Clock } from '../shared/domain/ports.js';
import { startEmulators, S3RVER_CREDENTIALS } from '../shared/local/emulators.js';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '10000' } } });
const TENANTS = Number(values.tenants);
if (!Number.isInteger(TENANTS) || TENANTS < 25) throw new Error('--tenants: a whole number, at least 25');
const DAY = 86_400_000;

let now = Date.parse('2026-12-01T00:00:00.000Z');
const clock: Clock = { now: () => new Date(now) };

const emulators = await startEmulators();
const region = 'us-east-1';
const dynamo = createDynamoClients({ region, endpoint: emulators.dynamoEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const s3 = createS3Client({ region, endpoint: emulators.s3Endpoint, credentials: S3RVER_CREDENTIALS });
const tableNames = { records: 'idle-records', control: 'idle-control', keys: 'idle-keys' };
const bucketNames = { recordings: 'idle-recordings', media: 'idle-media', exports: 'idle-exports' };
await provisionTables(dynamo.client, tableNames);
await provisionBuckets(s3, bucketNames);

/** DynamoDB requests by table and operation, counted as the SDK sends them (retries of a request not counted again). */
let counts = new Map<string, number>();
dynamo.doc.middlewareStack.add(
  (next, context) => async (args) => {
    const table = String((args.input as { TableName?: string }).TableName ?? Object.keys((args.input as { RequestItems?: object }).RequestItems ?? {})[0] ?? '?');
    const key = `${table.replace('idle-', '')} ${(context.commandName ?? '?').replace(/Command$/, '')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return next(args);
  },
  { step: 'initialize', name: 'countRequests' },
);

const platform = loadProfile('voice');
const deps: RunDeps = composeRunDeps({
  doc: dynamo.doc,
  s3,
  tableNames,
  bucketNames,
  platform,
  mailer: { send: async () => {} },
  refSecret: 'idle-sweep-requests-0123456789abcdef',
  operatorEmails: [],
  clock,
});

// Seed: N tenants with nothing due.
const started = Date.now();
const tenantIds = Array.from({ length: TENANTS }, (_, i) => `idle${String(i).padStart(5, '0')}`);
for (let i = 0; i < tenantIds.length; i += 50) {
  await Promise.all(
    tenantIds.slice(i, i + 50).map((tenantId) =>
      deps.control.putTenant({ tenantId, name: tenantId, status: 'active', adminEmails: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', lastActivityAt: new Date(now).toISOString() }),
    ),
  );
}
const items: RecordItem[] = tenantIds.flatMap((tenantId) => {
  const at = new Date(now - DAY).toISOString();
  const webhook = { tenantId, pk: keys.accountPk(tenantId), sk: keys.webhookDeliverySk('w1'), category: 'webhook_delivery' as const, id: 'w1', clockStart: at };
  const log = { tenantId, pk: keys.accountPk(tenantId), sk: keys.adminActivitySk(at, 'a1'), category: 'admin_activity_log' as const, id: 'a1', clockStart: at };
  return [webhook, log].map((i) => ({ ...i, ...retentionKeysOf(i, 1) }) as RecordItem);
});
await deps.records.putBatch(items);
console.log(`seeded ${TENANTS} tenants (${items.length} records, nothing due) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

/** One sweep as the state machine runs it, group by group; answers the requests it sent. */
async function sweep(runId: string): Promise<{ counts: Map<string, number>; groups: number; seconds: number }> {
  counts = new Map();
  const t0 = Date.now();
  const tenants = await listSweepTenants(deps);
  const groups = sweepGroups(tenants);
  await Promise.all(
    Array.from({ length: 4 }, async (_, worker) => {
      for (let g = worker; g < groups.length; g += 4) {
        const group = { runId, tenantIds: groups[g] as string[] };
        await startRuns(deps, { ...group, dryRun: false });
        for (const stage of STAGES as readonly Stage[]) {
          let continuation: string | undefined;
          do {
            const r = await runStages(deps, { ...group, stage, ...(continuation !== undefined && { continuation }) }, { budgetMs: 240_000 });
            continuation = r.done ? undefined : r.continuation;
          } while (continuation !== undefined);
        }
        await finishRuns(deps, group);
      }
    }),
  );
  await closeRuns(deps, { runId, tenantIds: tenants.map((t) => t.tenantId), dryRun: false });
  return { counts, groups: groups.length, seconds: (Date.now() - t0) / 1000 };
}

const passes = STAGES.reduce((n, s) => n + ROUNDS[s as Stage].flat().length, 0);
const table = (label: string, r: { counts: Map<string, number>; groups: number; seconds: number }) => {
  const total = [...r.counts.values()].reduce((a, b) => a + b, 0);
  const queries = r.counts.get('records Query') ?? 0;
  console.log(`\n${label}: ${total} DynamoDB requests in ${r.seconds.toFixed(1)} s, ${(total / r.groups).toFixed(1)} per group of 25 (records-index queries ${(queries / r.groups).toFixed(1)} per group)`);
  for (const [k, v] of [...r.counts.entries()].sort()) console.log(`  ${k.padEnd(28)} ${String(v).padStart(8)}  ${(v / r.groups).toFixed(2).padStart(8)} per group`);
};

const first = await sweep('idle-1');
table('sweep 1 (no watermarks yet: queries as every idle sweep did before them, and flags every partition-shard)', first);
now += 2 * 3_600_000;
const second = await sweep('idle-2');
table('sweep 2 (two hours later: raises the watermarks)', second);
now += 2 * 3_600_000;
const third = await sweep('idle-3');
table('sweep 3 (two hours later: nothing due, every pass skipped)', third);

const perGroup = (r: { counts: Map<string, number>; groups: number }, without: readonly string[] = []) =>
  [...r.counts.entries()].filter(([k]) => !without.includes(k)).reduce((a, [, v]) => a + v, 0) / r.groups;
console.log(
  `\nper group of 25 tenants, a sweep with nothing due: ${perGroup(third).toFixed(1)} DynamoDB requests with watermarks` +
    ` (${((third.counts.get('records Query') ?? 0) / third.groups).toFixed(1)} index queries), beside ${perGroup(first, ['control UpdateItem']).toFixed(1)} before them` +
    ` (sweep 1 without its flag writes: ${((first.counts.get('records Query') ?? 0) / first.groups).toFixed(1)} index queries, one per tenant x partition x shard;` +
    ` ${passes} passes a tenant, 25 x ${passes} = ${25 * passes} at most)`,
);
s3.destroy();
dynamo.doc.destroy();
await emulators.close();
