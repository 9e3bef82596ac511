/** `lethe hold …`, `lethe privacy …`, `lethe runs …`, `lethe sweep`, `lethe audit`. */
import { Command, Option } from 'commander';
import { CATALOG, CATEGORIES, SWEEP_ORDER, type Category } from '../shared/domain/catalog.js';
import { ApiError } from './api-client.js';
import { CliContext, CliError, listOf, sleep, table, UsageError, type Output } from './context.js';

// ---------------------------------------------------------------------------
// Legal holds
// ---------------------------------------------------------------------------

interface HoldView {
  readonly holdId: string;
  readonly scope?: Record<string, string>;
  readonly reason?: string;
  readonly createdAt?: string;
  readonly expiresAt?: string;
  readonly releasedAt?: string;
  /** The work on the stored records: applying → active, releasing → released. */
  readonly status?: 'applying' | 'active' | 'releasing' | 'released';
  /** What applying changed, once done. */
  readonly applied?: { readonly records: number; readonly blobHolds: number; readonly blobHoldsUnsupported: number };
}

/** How long `hold add` waits for a narrow hold's work before saying where it stands. */
const HOLD_APPLY_WAIT_MS = 5_000;

/** The hold once its work on the stored records has ended, or as it stands after `waitMs`. */
async function settledHold(ctx: CliContext, created: HoldView, waitMs: number): Promise<HoldView> {
  const deadline = Date.now() + waitMs;
  let hold = created;
  while (hold.status === 'applying' && Date.now() < deadline) {
    await sleep(250);
    const body = await ctx.client().get<unknown>(ctx.tenantPath('/legal-holds'));
    hold = listOf<HoldView>(body, 'holds').find((h) => h.holdId === created.holdId) ?? hold;
  }
  return hold;
}

/**
 * The API places a hold on any id, existing or not (a hold also keeps records
 * ingested later). When applying one on a customer, conversation or call
 * changed no stored record, the id may be wrong: say so.
 */
function nothingHeldWarning(hold: HoldView, scope: Record<string, string>): string | undefined {
  if (hold.status === 'applying' || hold.applied === undefined) return undefined;
  const { records, blobHolds, blobHoldsUnsupported } = hold.applied;
  if (records + blobHolds + blobHoldsUnsupported > 0) return undefined;
  const named = (['customerId', 'conversationId', 'callId'] as const).filter((k) => scope[k] !== undefined).map((k) => `${k} ${scope[k]}`);
  return (
    `applying the hold changed no stored record (no deletion backstop lifted, no blob held): ${named.join(', ')} may not exist. ` +
    'The hold stays in force, also for records ingested later; check the id (lethe customers find --phone/--email/--name) or release it (lethe hold release).'
  );
}

/** In force or not, and where the work on its records stands. */
const holdStatus = (h: HoldView): string =>
  h.releasedAt !== undefined
    ? `released ${h.releasedAt}${h.status === 'releasing' ? ' (restamping)' : ''}`
    : h.status === 'applying'
      ? 'active (applying)'
      : 'active';

const scopeText = (scope: Record<string, string> | undefined) => {
  const parts = Object.entries(scope ?? {}).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'whole tenant' : parts.join(' ');
};

export function holdCommand(output: Output): Command {
  const hold = new Command('hold').description('legal holds: nothing in scope is deleted while a hold is active');

  hold
    .command('add')
    .description('place a hold (no scope option: the whole tenant)')
    .option('--customer <id>', 'every record of one customer')
    .option('--conversation <id>', 'one conversation with its messages and media')
    .option('--call <id>', 'one call with its recordings and third-party data')
    .addOption(new Option('--category <category>', 'one category').choices(CATEGORIES))
    .requiredOption('--reason <text>', 'why (e.g. a case number); kept in the audit trail')
    .option('--expires-at <iso>', 'lapse by itself at this instant')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      const ctx = CliContext.of(command, output);
      const scope = Object.fromEntries(
        (
          [
            ['customerId', options.customer],
            ['conversationId', options.conversation],
            ['callId', options.call],
            ['category', options.category],
          ] as const
        ).filter(([, v]) => v !== undefined),
      );
      const created = await ctx.client().post<HoldView>(ctx.tenantPath('/legal-holds'), {
        scope,
        reason: options.reason,
        ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
      });
      // A hold on one customer, conversation or call applies in moments: wait for it, to tell whether it found anything.
      const narrow = scope.customerId !== undefined || scope.conversationId !== undefined || scope.callId !== undefined;
      const hold = narrow ? await settledHold(ctx, created, HOLD_APPLY_WAIT_MS) : created;
      const warning = narrow ? nothingHeldWarning(hold, scope as Record<string, string>) : undefined;
      ctx.emit({ ...hold, ...(warning !== undefined && { warning }) }, () => {
        ctx.print(
          `hold ${hold.holdId} placed on ${scopeText(hold.scope ?? (scope as Record<string, string>))}` +
            (hold.status === 'applying'
              ? ' (in force now; backstops and blob holds being applied: lethe hold ls)'
              : hold.applied === undefined
                ? ''
                : ` (in force; ${hold.applied.records} record backstop(s) lifted, ${hold.applied.blobHolds + hold.applied.blobHoldsUnsupported} blob(s) held)`),
        );
        if (warning !== undefined) ctx.output.err(`warning: ${warning}`);
      });
    });

  hold
    .command('ls')
    .description("the tenant's holds")
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await ctx.client().get<unknown>(ctx.tenantPath('/legal-holds'));
      const holds = listOf<HoldView>(body, 'holds');
      ctx.emit(body, () =>
        ctx.print(
          table(
            ['hold', 'scope', 'reason', 'created', 'expires', 'status'],
            holds.map((h) => [
              h.holdId,
              scopeText(h.scope),
              h.reason,
              h.createdAt,
              h.expiresAt,
              holdStatus(h),
            ]),
          ),
        ),
      );
    });

  hold
    .command('release')
    .description('release a hold; what it kept becomes due again')
    .argument('<holdId>')
    .action(async (holdId: string, _options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const released = await ctx
        .client()
        .delete<{ holdId: string; releasedAt: string }>(ctx.tenantPath(`/legal-holds/${encodeURIComponent(holdId)}`));
      ctx.emit(released, () => ctx.print(`hold ${released.holdId} released at ${released.releasedAt}`));
    });

  return hold;
}

// ---------------------------------------------------------------------------
// Privacy requests
// ---------------------------------------------------------------------------

interface PrivacyView {
  readonly requestId: string;
  readonly kind?: string;
  readonly status: string;
  /** How the subject was named (customerId, phone, email, name, filter). */
  readonly selector?: string;
  /** How many customers the request resolved to. */
  readonly subjects?: number;
  readonly dueAt?: string;
  readonly receivedAt?: string;
  readonly counts?: Partial<Record<Category, { examined?: number; deleted?: number; held?: number; failed?: number; kept?: number }>>;
  readonly exportUrl?: string;
  readonly reason?: string;
  /** Erasure: subject keys destroyed (crypto-shredding). */
  readonly subjectKeysShredded?: number;
  /** Erasure, anonymisation: earlier access exports of the subjects deleted. */
  readonly exportsDeleted?: number;
  /** Access: when the export was deleted with its subject. */
  readonly exportDeletedAt?: string;
}

const FINAL_PRIVACY = new Set(['completed', 'partially_completed', 'failed', 'rejected']);

/** A 404 for the route itself means this API has no privacy requests yet; say so plainly. */
function explainMissingPrivacyRoutes(error: unknown, endpoint: string): never {
  if (error instanceof ApiError && error.isMissingRoute) {
    throw new CliError(`the API at ${endpoint} does not serve privacy requests (${error.method} ${error.path} has no route)`);
  }
  throw error;
}

const SELECTOR_WORDS: Readonly<Record<string, string>> = {
  customerId: 'no record is stored for that customer id',
  phone: 'no customer has that phone number',
  email: 'no customer has that e-mail address',
  name: 'no customer has that name',
  filter: 'no customer matched the filter',
};
const NOTHING_DONE: Readonly<Record<string, string>> = { erasure: 'nothing was erased', access: 'nothing to export', anonymization: 'nothing was anonymised' };

/** A finished request that found no one: no subject resolved, or nothing stored of the one named. */
export function matchedNobody(r: PrivacyView): boolean {
  if (r.status !== 'completed') return false;
  if (r.subjects === 0) return true;
  const examined = Object.values(r.counts ?? {}).reduce((sum, c) => sum + (c?.examined ?? 0), 0);
  return r.counts !== undefined && examined === 0;
}

/** A request as --json shows it: the API's view, and `outcome: "no_subject_matched"` when it found no one. */
function privacyJson(r: PrivacyView): PrivacyView & { outcome?: string } {
  return matchedNobody(r) ? { ...r, outcome: 'no_subject_matched' } : r;
}

function printPrivacy(ctx: CliContext, r: PrivacyView): void {
  if (matchedNobody(r)) {
    const what = SELECTOR_WORDS[r.selector ?? ''] ?? 'no customer matched';
    ctx.print(`request ${r.requestId}${r.kind === undefined ? '' : ` (${r.kind})`}: no customer matched: ${what}; ${NOTHING_DONE[r.kind ?? ''] ?? 'nothing was done'}`);
    return;
  }
  ctx.print(
    `request ${r.requestId}${r.kind === undefined ? '' : ` (${r.kind})`}: ${r.status}${r.dueAt === undefined ? '' : ` · due ${r.dueAt}`}${
      r.reason === undefined ? '' : ` · ${r.reason}`
    }`,
  );
  const rows = SWEEP_ORDER.filter((c) => r.counts?.[c] !== undefined).map((c) => {
    const v = r.counts?.[c] ?? {};
    return [c, v.examined, v.deleted, v.held, v.failed, v.kept ?? 0];
  });
  if (rows.length > 0) ctx.print(table(['category', 'examined', 'done', 'held', 'failed', 'kept'], rows, [1, 2, 3, 4, 5]));
  if (r.subjectKeysShredded !== undefined) ctx.print(`subject keys destroyed: ${r.subjectKeysShredded} (backups of what they sealed can no longer be read)`);
  if (r.exportsDeleted !== undefined && r.exportsDeleted > 0) ctx.print(`earlier access exports deleted: ${r.exportsDeleted}`);
  if (r.exportUrl !== undefined) ctx.print(`export: ${r.exportUrl}`);
  if (r.exportDeletedAt !== undefined) ctx.print(`export: deleted ${r.exportDeletedAt} with its subject`);
}

async function waitForPrivacy(ctx: CliContext, requestId: string): Promise<PrivacyView> {
  const bar = ctx.progress('privacy request {id} [{bar}] {status}', 1, { id: requestId, status: 'received' });
  try {
    for (;;) {
      const r = await ctx.client().get<PrivacyView>(ctx.tenantPath(`/privacy-requests/${encodeURIComponent(requestId)}`));
      bar.update(FINAL_PRIVACY.has(r.status) ? 1 : 0, { status: r.status });
      if (FINAL_PRIVACY.has(r.status)) return r;
      await sleep(400);
    }
  } finally {
    bar.stop();
  }
}

function privacySubcommand(output: Output, name: string, kind: 'erasure' | 'access' | 'anonymization', description: string): Command {
  const command = new Command(name)
    .description(description)
    .option('--customer <id>', 'the subject by customer id')
    .option('--phone <number>', 'the subject by phone number (any format with its country code)')
    .option('--email <address>', 'the subject by e-mail address')
    .option('--name <name>', 'the subject by name')
    .option('--notify <email>', 'send the confirmation (and an export link) to this address')
    .option('--idempotency-key <key>', 'a retried call with the same key returns the same request')
    .option('--wait', 'wait until the request has finished');
  if (kind === 'erasure') {
    command
      .option('--force', 'close open conversations instead of refusing')
      .option('--bot <botId>', 'bulk: customers brought in by this bot')
      .addOption(new Option('--channel <channel>', 'bulk: customers on this channel').choices(['chat', 'sms', 'whatsapp', 'email', 'voice']))
      .option('--first-contact-from <iso>', 'bulk: first contact at or after')
      .option('--first-contact-to <iso>', 'bulk: first contact before');
  }
  return command.action(async (options: Record<string, string | boolean | undefined>, cmd: Command) => {
    const ctx = CliContext.of(cmd, output);
    const selectors = (['customer', 'phone', 'email', 'name'] as const).filter((k) => options[k] !== undefined);
    const bulk = Object.fromEntries(
      (
        [
          ['botId', options.bot],
          ['channel', options.channel],
          ['firstContactFrom', options.firstContactFrom],
          ['firstContactTo', options.firstContactTo],
        ] as const
      ).filter(([, v]) => v !== undefined),
    );
    const hasBulk = Object.keys(bulk).length > 0;
    if (selectors.length + (hasBulk ? 1 : 0) !== 1) {
      throw new UsageError(`name the subject with exactly one of --customer, --phone, --email, --name${kind === 'erasure' ? ' (or a bulk filter)' : ''}`);
    }
    const selector = selectors[0];
    const field = selector === 'customer' ? 'customerId' : selector;
    const body = {
      kind,
      ...(field !== undefined && { subject: { [field]: options[selector as string] } }),
      ...(hasBulk && { filter: bulk }),
      ...(options.force === true && { force: true }),
      ...(typeof options.notify === 'string' && { notify: { email: options.notify } }),
    };
    const headers = typeof options.idempotencyKey === 'string' ? { 'idempotency-key': options.idempotencyKey } : undefined;
    const accepted = await ctx
      .client()
      .post<PrivacyView>(ctx.tenantPath('/privacy-requests'), body, headers)
      .catch((error: unknown) => explainMissingPrivacyRoutes(error, ctx.options.endpoint));
    const final = options.wait === true ? await waitForPrivacy(ctx, accepted.requestId) : accepted;
    ctx.emit(privacyJson(final), () => printPrivacy(ctx, final));
  });
}

export function privacyCommand(output: Output): Command {
  const privacy = new Command('privacy').description("data subjects' requests: erasure, access export, anonymisation");
  privacy.addCommand(privacySubcommand(output, 'erase', 'erasure', 'erase everything held about a subject'));
  privacy.addCommand(privacySubcommand(output, 'export', 'access', 'export everything held about a subject (access request)'));
  privacy.addCommand(privacySubcommand(output, 'anonymize', 'anonymization', 'replace a subject’s personal data with irreversible tokens'));
  privacy
    .command('status')
    .description('one request, or every request of the tenant')
    .argument('[requestId]')
    .option('--wait', 'wait until the request has finished')
    .action(async (requestId: string | undefined, options: { wait?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      if (requestId === undefined) {
        const body = await ctx
          .client()
          .get<unknown>(ctx.tenantPath('/privacy-requests'))
          .catch((error: unknown) => explainMissingPrivacyRoutes(error, ctx.options.endpoint));
        const requests = listOf<PrivacyView>(body, 'requests').concat(listOf(body, 'privacyRequests'));
        ctx.emit({ requests: requests.map(privacyJson) }, () =>
          ctx.print(
            table(
              ['request', 'kind', 'status', 'customers', 'received', 'due'],
              requests.map((r) => [r.requestId, r.kind, matchedNobody(r) ? `${r.status} (no customer matched)` : r.status, r.subjects, r.receivedAt, r.dueAt]),
            ),
          ),
        );
        return;
      }
      const r =
        options.wait === true
          ? await waitForPrivacy(ctx, requestId)
          : await ctx
              .client()
              .get<PrivacyView>(ctx.tenantPath(`/privacy-requests/${encodeURIComponent(requestId)}`))
              .catch((error: unknown) => explainMissingPrivacyRoutes(error, ctx.options.endpoint));
      ctx.emit(privacyJson(r), () => printPrivacy(ctx, r));
    });
  return privacy;
}

// ---------------------------------------------------------------------------
// Deletion runs
// ---------------------------------------------------------------------------

interface Counts {
  readonly examined: number;
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  /** Examined and kept because something under it failed (or its profile stayed); absent on receipts of older versions. */
  readonly kept?: number;
}

export interface RunView {
  readonly runId: string;
  readonly status: 'running' | 'completed' | 'failed';
  readonly dryRun?: boolean;
  readonly kind?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly policyVersion?: number;
  readonly categories?: Partial<Record<Category, Counts>>;
  readonly completedStages?: readonly number[];
  readonly failedStages?: readonly { readonly stage: number; readonly error: string }[];
  /** Keys the run destroyed (crypto-shredding). */
  readonly shredded?: { readonly subjectKeys: number; readonly epochKeys: number };
  /** An erasure: earlier access exports of its subjects it deleted. */
  readonly exportsDeleted?: number;
}

export function runTotals(run: Pick<RunView, 'categories'>): Counts {
  const total = { examined: 0, deleted: 0, held: 0, failed: 0, kept: 0 };
  for (const c of Object.values(run.categories ?? {}) as Counts[]) {
    total.examined += c.examined;
    total.deleted += c.deleted;
    total.held += c.held;
    total.failed += c.failed;
    total.kept += c.kept ?? 0;
  }
  return total;
}

/** A receipt as a table: one row per category in sweep order, and a total. */
export function receiptTable(run: Pick<RunView, 'categories' | 'dryRun'>): string {
  const rows: unknown[][] = SWEEP_ORDER.filter((c) => run.categories?.[c] !== undefined).map((c) => {
    const v = run.categories?.[c] as Counts;
    return [c, v.examined, v.deleted, v.held, v.failed, v.kept ?? 0];
  });
  const t = runTotals(run);
  rows.push(['total', t.examined, t.deleted, t.held, t.failed, t.kept ?? 0]);
  return table(['category', 'examined', run.dryRun === true ? 'would delete' : 'deleted', 'held', 'failed', 'kept'], rows, [1, 2, 3, 4, 5]);
}

/**
 * A run as `--json` shows it: a dry run deleted nothing, so its receipt says
 * `wouldDelete` (and `wouldDeleteReasons`) where a real run's says `deleted`.
 */
export function runJson<T extends Pick<RunView, 'categories' | 'dryRun'>>(run: T): T {
  if (run.dryRun !== true || run.categories === undefined) return run;
  const categories = Object.fromEntries(
    Object.entries(run.categories).map(([category, counts]) => {
      const { deleted, deletedReasons, ...rest } = counts as Counts & { deletedReasons?: Record<string, number> };
      return [category, { ...rest, wouldDelete: deleted, ...(deletedReasons !== undefined && { wouldDeleteReasons: deletedReasons }) }];
    }),
  );
  return { ...run, categories };
}

function printRun(ctx: CliContext, run: RunView): void {
  const duration = run.durationMs === undefined ? '' : ` in ${(run.durationMs / 1000).toFixed(1)} s`;
  ctx.print(`run ${run.runId}: ${run.status}${run.dryRun === true ? ' (dry run)' : ''}${duration}${run.startedAt === undefined ? '' : ` · started ${run.startedAt}`}`);
  for (const f of run.failedStages ?? []) ctx.print(`  stage ${f.stage} failed: ${f.error}`);
  ctx.print(receiptTable(run));
  const after = [
    ...(run.shredded !== undefined ? [`keys destroyed: ${run.shredded.subjectKeys} subject, ${run.shredded.epochKeys} epoch (what they sealed, backups included, can no longer be read)`] : []),
    ...(run.exportsDeleted !== undefined && run.exportsDeleted > 0 ? [`access exports deleted: ${run.exportsDeleted}`] : []),
  ];
  for (const line of after) ctx.print(line);
}

/** Stages finished: as the receipt says, or else inferred from the latest stage that has counts. */
function stagesDone(run: RunView): number {
  if (run.completedStages !== undefined) return run.completedStages.length;
  const seen = (Object.keys(run.categories ?? {}) as Category[]).map((c) => CATALOG[c]?.stage ?? 1);
  return seen.length === 0 ? 0 : Math.max(...seen) - 1;
}

async function waitForRun(ctx: CliContext, runId: string, dryRun: boolean): Promise<RunView> {
  const bar = ctx.progress(`run {id} [{bar}] {value}/{total} stages | {deleted} ${dryRun ? 'would be deleted' : 'deleted'}`, 4, { id: runId, deleted: 0 });
  try {
    for (;;) {
      const run = await ctx.client().get<RunView>(ctx.tenantPath(`/deletion-runs/${encodeURIComponent(runId)}`));
      bar.update(run.status === 'running' ? Math.min(3, stagesDone(run)) : 4, { deleted: runTotals(run).deleted });
      if (run.status !== 'running') return run;
      await sleep(300);
    }
  } finally {
    bar.stop();
  }
}

async function startRun(ctx: CliContext, options: { dryRun?: boolean; wait?: boolean }): Promise<void> {
  const dryRun = options.dryRun === true;
  const started = await ctx.client().post<RunView>(ctx.tenantPath('/deletion-runs'), { dryRun });
  if (options.wait !== true) {
    ctx.emit(started, () =>
      ctx.print(`run ${started.runId} started${dryRun ? ' (dry run: counts what would be deleted, deletes nothing)' : ''}; follow it with: lethe runs show ${started.runId}`),
    );
    return;
  }
  const run = await waitForRun(ctx, started.runId, dryRun);
  ctx.emit(runJson(run), () => printRun(ctx, run));
  if (run.status === 'failed') throw new CliError(`run ${run.runId} failed; records that could not be deleted are retried by the next run`);
}

export function runsCommand(output: Output): Command {
  const runs = new Command('runs').description('deletion runs and their receipts');

  runs
    .command('ls')
    .description('recent runs, newest first')
    .option('--limit <n>', 'at most this many', (v) => positiveInt(v, '--limit'))
    .action(async (options: { limit?: number }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await ctx.client().get<unknown>(ctx.tenantPath('/deletion-runs'), { limit: options.limit });
      const list = listOf<RunView>(body, 'runs');
      ctx.emit({ runs: list.map(runJson) }, () =>
        ctx.print(
          table(
            ['run', 'kind', 'status', 'dry run', 'started', 'examined', 'deleted', 'would delete', 'held', 'failed', 'kept'],
            list.map((r) => {
              const t = runTotals(r);
              // A dry run deleted nothing: its count goes under "would delete" only.
              const [deleted, wouldDelete] = r.dryRun === true ? [undefined, t.deleted] : [t.deleted, undefined];
              return [r.runId, r.kind, r.status, r.dryRun, r.startedAt, t.examined, deleted, wouldDelete, t.held, t.failed, t.kept];
            }),
            [5, 6, 7, 8, 9, 10],
          ),
        ),
      );
    });

  runs
    .command('show')
    .description("one run's receipt")
    .argument('<runId>')
    .action(async (runId: string, _options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const run = await ctx.client().get<RunView>(ctx.tenantPath(`/deletion-runs/${encodeURIComponent(runId)}`));
      ctx.emit(runJson(run), () => printRun(ctx, run));
    });

  runs
    .command('start')
    .description('start a deletion run for the tenant now')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--wait', 'wait for the run to finish and print its receipt (exit 1 if it failed)')
    .action(async (options: { dryRun?: boolean; wait?: boolean }, command: Command) => {
      await startRun(CliContext.of(command, output), options);
    });

  return runs;
}

export function sweepCommand(output: Output): Command {
  return new Command('sweep')
    .description('run a sweep for the tenant now and wait for its receipt (= runs start --wait)')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .action(async (options: { dryRun?: boolean }, command: Command) => {
      await startRun(CliContext.of(command, output), { ...options, wait: true });
    });
}

// ---------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------

interface AuditEventView {
  readonly eventId?: string;
  readonly at: string;
  readonly action: string;
  readonly actor: string;
  readonly refs?: Record<string, string>;
  readonly before?: unknown;
  readonly after?: unknown;
}

interface AuditPage {
  readonly events: AuditEventView[];
  readonly nextCursor?: string;
}

/**
 * Who did it, as far as the API tells: an admin is recorded as a keyed hash of
 * their token subject (`h:…`, shortened here; --json has it whole), Lethe's
 * own work by name.
 */
export function actorText(actor: string): string {
  if (/^h:/u.test(actor)) return actor.length > 12 ? `${actor.slice(0, 12)}…` : actor;
  return `${actor} (system)`;
}

const MAX_CHANGES_SHOWN = 6;

/** Leaves of a JSON value by dotted path (arrays as one compact value; an empty object has none). */
function leaves(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) leaves(inner, prefix === '' ? key : `${prefix}.${key}`, into);
  } else if (value !== undefined) {
    into.set(prefix === '' ? '(value)' : prefix, JSON.stringify(value));
  }
  return into;
}

/** Before/after in one compact line: the paths that changed (`a.b: 1→2`), or what was recorded when only one side was. */
export function changeText(before: unknown, after: unknown): string {
  const b = leaves(before);
  const a = leaves(after);
  const parts: string[] = [];
  for (const path of new Set([...b.keys(), ...a.keys()])) {
    const from = b.get(path);
    const to = a.get(path);
    if (from === to) continue;
    if (before === undefined) parts.push(`${path}=${to}`);
    else parts.push(`${path}: ${from ?? '∅'}→${to ?? '∅'}`);
  }
  if (parts.length === 0) return before === undefined && after === undefined ? '' : 'no change';
  const more = parts.length - MAX_CHANGES_SHOWN;
  return parts.slice(0, MAX_CHANGES_SHOWN).join(', ') + (more > 0 ? ` (+${more} more; --json shows all)` : '');
}

export function auditCommand(output: Output): Command {
  return new Command('audit')
    .description("the tenant's audit trail, newest first, a page at a time (actor: a keyed hash of the admin's token subject, or Lethe itself)")
    .option('--limit <n>', 'events per page (API default 100, at most 500)', (v) => positiveInt(v, '--limit'))
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .option('--all', 'every page')
    .option('--action <prefix>', 'only events whose action starts with this (e.g. policy, legal_hold.created); filtered here, the API has no filter')
    .option('--since <iso>', 'only events at or after this instant (stops paging there)')
    .action(async (options: { limit?: number; cursor?: string; all?: boolean; action?: string; since?: string }, command: Command) => {
      const ctx = CliContext.of(command, output);
      if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
        throw new UsageError(`--since must be an ISO 8601 instant, e.g. 2026-12-01T00:00:00Z; got "${options.since}"`);
      }
      const since = options.since === undefined ? undefined : new Date(options.since).toISOString();
      const events: AuditEventView[] = [];
      let cursor = options.cursor;
      let reachedSince = false;
      do {
        const page = await ctx.client().get<AuditPage>(ctx.tenantPath('/audit-events'), { limit: options.limit, cursor });
        for (const e of page.events ?? []) {
          if (since !== undefined && e.at < since) {
            reachedSince = true;
            break;
          }
          if (options.action === undefined || e.action.startsWith(options.action)) events.push(e);
        }
        cursor = reachedSince ? undefined : page.nextCursor;
      } while (options.all === true && cursor !== undefined);
      ctx.emit({ events, ...(cursor !== undefined && { nextCursor: cursor }) }, () => {
        const rows = events.map((e) => [
          e.at,
          e.action,
          actorText(e.actor),
          Object.entries(e.refs ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
          changeText(e.before, e.after),
        ]);
        const filtered = options.action !== undefined || since !== undefined;
        if (rows.length > 0) ctx.print(table(['at', 'action', 'actor ref', 'refs', 'change (before→after)'], rows));
        else ctx.print(`no audit events${filtered ? ' match' : ''}${cursor !== undefined ? ' on this page' : ''}`);
        if (cursor !== undefined) ctx.print(`more: lethe audit --cursor ${cursor}${options.limit === undefined ? '' : ` --limit ${options.limit}`} (or --all)`);
      });
    });
}

export function positiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return Number(value);
}
