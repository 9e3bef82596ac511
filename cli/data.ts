/** `lethe token`, `lethe tenants …` and `lethe seed`. */
import { Command, Option } from 'commander';
import { CALLER_ROLES, type CallerRole } from '../shared/domain/roles.js';
import { signDevToken } from '../shared/local/dev-token.js';
import { parseDuration } from '../shared/local/scheduler.js';
import { readLocalSecrets } from '../shared/local/secrets.js';
import { generateDemoDataset, ingestDataset } from '../shared/local/seed.js';
import { CliContext, listOf, table, UsageError, type Output } from './context.js';
import { positiveInt } from './operations.js';

export const DEFAULT_DATA_DIR = '.lethe';

export function tokenCommand(output: Output): Command {
  return new Command('token')
    .description(
      'print a dev token for local mode, signed with the data directory’s key (deployed stacks: admin tokens come from Cognito; services sign with IAM). ' +
        '--role Service: a platform service of --tenant, for the /v1/service/ routes (ingest and reads) only',
    )
    .addOption(new Option('--role <role>', 'the role the token carries').choices(CALLER_ROLES).makeOptionMandatory())
    .option('--sub <subject>', 'token subject, recorded (hashed) as the actor in audit events')
    .addOption(new Option('--data-dir <dir>', 'local mode data directory').env('LETHE_DATA_DIR').default(DEFAULT_DATA_DIR))
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 12h, 7d', '12h')
    .action(async (options: { role: CallerRole; sub?: string; dataDir: string; ttl: string }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const tenantId = ctx.options.tenant;
      if (tenantId === undefined && options.role !== 'SuperAdministrator') {
        throw new UsageError(`--role ${options.role} needs --tenant (or LETHE_TENANT)`);
      }
      let ttlMs: number;
      try {
        ttlMs = parseDuration(options.ttl);
      } catch (error) {
        throw new UsageError(`--ttl: ${(error as Error).message}`);
      }
      const secrets = await readLocalSecrets(options.dataDir).catch((error: unknown) => {
        throw new UsageError((error as Error).message);
      });
      const token = await signDevToken(secrets.devTokenKey, {
        roles: [options.role],
        ...(tenantId !== undefined && { tenantId }),
        ...(options.sub !== undefined && { subject: options.sub }),
        expiresInSeconds: Math.round(ttlMs / 1000),
      });
      ctx.emit({ token }, () => ctx.print(token));
    });
}

interface TenantView {
  readonly tenantId: string;
  readonly name?: string;
  readonly status?: string;
  readonly adminEmails?: readonly string[];
  readonly lastActivityAt?: string;
  readonly contractEndsAt?: string;
  readonly retentionShards?: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function tenantsCommand(output: Output): Command {
  const tenants = new Command('tenants').description('register and list tenants (SuperAdministrator)');

  tenants
    .command('ls')
    .description('every tenant')
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await ctx.client().get<unknown>('/v1/tenants');
      const list = listOf<TenantView>(body, 'tenants');
      ctx.emit(body, () =>
        ctx.print(
          table(
            ['tenant', 'name', 'status', 'admin e-mails', 'last activity', 'contract ends', 'shards'],
            list.map((t) => [t.tenantId, t.name, t.status, (t.adminEmails ?? []).join(', '), t.lastActivityAt, t.contractEndsAt, t.retentionShards ?? 1]),
          ),
        ),
      );
    });

  tenants
    .command('put')
    .description('register a tenant or update it')
    .argument('<tenantId>')
    .requiredOption('--name <name>', 'display name')
    .option('--admin-email <address>', 'receives critical-run alerts; repeatable', collect, [])
    .option('--contract-ends-at <iso>', 'account data becomes due after the contract ends')
    .option('--third-party <name=deleteUrl>', 'an external call-data endpoint, `{ref}` in the URL; repeatable', collect, [])
    .option(
      '--retention-shards <n>',
      'write shards of the retention index (1-16; raise for > ~1,000 records/s into one category; can only grow)',
      (v) => positiveInt(v, '--retention-shards'),
    )
    .action(
      async (
        tenantId: string,
        options: { name: string; adminEmail: string[]; contractEndsAt?: string; thirdParty: string[]; retentionShards?: number },
        command: Command,
      ) => {
        const ctx = CliContext.of(command, output);
        const thirdPartyEndpoints = options.thirdParty.map((spec) => {
          const eq = spec.indexOf('=');
          if (eq <= 0) throw new UsageError(`--third-party takes <name>=<deleteUrl>, got "${spec}"`);
          return { name: spec.slice(0, eq), deleteUrl: spec.slice(eq + 1) };
        });
        const saved = await ctx.client().put<TenantView>(`/v1/tenants/${encodeURIComponent(tenantId)}`, {
          name: options.name,
          adminEmails: options.adminEmail,
          ...(options.contractEndsAt !== undefined && { contractEndsAt: options.contractEndsAt }),
          ...(thirdPartyEndpoints.length > 0 && { thirdPartyEndpoints }),
          ...(options.retentionShards !== undefined && { retentionShards: options.retentionShards }),
        });
        ctx.emit(saved, () => ctx.print(`tenant ${saved?.tenantId ?? tenantId} saved`));
      },
    );

  return tenants;
}

export function seedCommand(output: Output): Command {
  return new Command('seed')
    .description('ingest a synthetic demo dataset (every category, obviously invented people) through the API, once per tenant (its conversations are stored with their start dates, which cannot change)')
    .option('--customers <n>', 'number of customers (about 25 records each)', (v) => positiveInt(v, '--customers'), 150)
    .option('--years <n>', 'how far back the data goes', (v) => positiveInt(v, '--years'), 3)
    .option('--seed <n>', 'random seed (same seed, same data)', (v) => positiveInt(v, '--seed'), 42)
    .option('--no-third-party', 'calls without third-party references (for tenants without a call-data endpoint)')
    .action(async (options: { customers: number; years: number; seed: number; thirdParty: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const client = ctx.client();
      const path = ctx.tenantPath('/records');
      const dataset = generateDemoDataset({
        now: new Date(),
        customers: options.customers,
        years: options.years,
        seed: options.seed,
        thirdParty: options.thirdParty,
      });
      const bar = ctx.progress('seeding [{bar}] {value}/{total} records', dataset.recordCount);
      const started = Date.now();
      let accepted: number;
      try {
        accepted = await ingestDataset(
          dataset,
          async (records) => (await client.post<{ accepted: number }>(path, { records })).accepted,
          (done) => bar.update(done),
        );
      } finally {
        bar.stop();
      }
      const counts: Record<string, number> = {};
      for (const bundle of dataset.bundles) for (const r of bundle) counts[r.type] = (counts[r.type] ?? 0) + 1;
      const summary = {
        tenantId: ctx.tenant(),
        accepted,
        blobs: dataset.blobCount,
        thirdPartyRefs: dataset.thirdPartyRefs.length,
        durationMs: Date.now() - started,
        byType: counts,
      };
      ctx.emit(summary, () => {
        ctx.print(table(['record type', 'records'], [...Object.entries(counts), ['total', accepted]], [1]));
        ctx.print(`${accepted} records (${dataset.blobCount} with blobs) ingested into ${summary.tenantId} in ${(summary.durationMs / 1000).toFixed(1)} s`);
      });
    });
}
