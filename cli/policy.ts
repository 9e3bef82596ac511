/**
 * `lethe policy get|set|preview|history`: the tenant's retention policy
 * (DESIGN.md §1, §5): the profile's settings (`--setting <name>=<days>`) and the
 * categories in no setting (`--category <category>=<days>`).
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { CATEGORIES, isCategory, SWEEP_ORDER, type Category } from '../shared/domain/catalog.js';
import { ApiError } from './api-client.js';
import { CliContext, CliError, days, listOf, table, UsageError, type Output } from './context.js';

interface PeriodView {
  readonly days: number | null;
  readonly default: number | null;
  readonly min: number;
  readonly max: number | null;
  readonly extendable: boolean;
  readonly source: 'default' | 'tenant';
}

interface CategoryView extends PeriodView {
  /** What decides for the category (absent from servers before settings: its own period). */
  readonly governedBy?: 'category' | 'setting' | 'account_lifetime';
  readonly setting?: string;
  readonly followsUnder?: Partial<Record<Category, string>>;
}

interface SettingView extends PeriodView {
  readonly description?: string;
  readonly categories?: readonly Category[];
  readonly clock?: 'item' | 'subject';
  readonly acknowledge?: 'shorten' | 'always';
}

export interface PolicyView {
  readonly tenantId: string;
  readonly profile: string;
  readonly version: number;
  readonly locked: boolean;
  readonly settings?: Readonly<Record<string, SettingView>>;
  readonly categories: Partial<Record<Category, CategoryView>>;
  readonly accountLifetime?: { readonly categories: readonly Category[]; readonly inactivityDays: number } | null;
  readonly holds?: { readonly beyondCap: boolean };
}

interface PolicyBody {
  settings?: Record<string, { days: number | null }>;
  categories?: Partial<Record<Category, { days: number | null }>>;
  acknowledgeDataLoss?: boolean;
  lock?: boolean;
}

/** A category's period is the tenant's to set on its own (not a setting's, not the account's). */
const ownPeriod = (v: CategoryView): boolean => v.governedBy === undefined || v.governedBy === 'category';

/** `undefined` removes a tenant override (back to the platform default). */
type Assignment = [Category, number | null | undefined];

/** Parses `conversation=90`, `customer_profile=indefinite`, `message=default`. */
export function parseAssignment(text: string): Assignment {
  const eq = text.indexOf('=');
  if (eq < 0) throw new UsageError(`--category takes <category>=<days>, e.g. conversation=90; got "${text}"`);
  const category = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim().toLowerCase();
  if (!isCategory(category)) throw new UsageError(`unknown category "${category}"; one of ${CATEGORIES.join(', ')}`);
  if (value === 'default') return [category, undefined];
  if (value === 'indefinite' || value === 'null') return [category, null];
  if (!/^\d+$/.test(value)) throw new UsageError(`days for ${category} must be a whole number, "indefinite" or "default"; got "${value}"`);
  return [category, Number(value)];
}

/** Parses `retention=365`, `customer_data=indefinite`, `retention=default`: a setting of the profile by name. */
export function parseSettingAssignment(text: string): [string, number | null | undefined] {
  const eq = text.indexOf('=');
  if (eq < 0) throw new UsageError(`--setting takes <name>=<days>, e.g. retention=365; got "${text}"`);
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim().toLowerCase();
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) throw new UsageError(`"${name}" is not a setting name (lower-case letters, digits and _); \`lethe policy get\` lists them`);
  if (value === 'default') return [name, undefined];
  if (value === 'indefinite' || value === 'null') return [name, null];
  if (!/^\d+$/.test(value)) throw new UsageError(`days for ${name} must be a whole number, "indefinite" or "default"; got "${value}"`);
  return [name, Number(value)];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function decidedBy(v: CategoryView): string {
  if (v.governedBy === 'setting') return `setting ${v.setting ?? '?'}`;
  if (v.governedBy === 'account_lifetime') return 'account lifetime';
  const under = Object.entries(v.followsUnder ?? {}).map(([parent, setting]) => `${setting} under ${parent}`);
  return under.length === 0 ? 'own period' : `own period; ${under.join(', ')}`;
}

function printPolicy(ctx: CliContext, policy: PolicyView): void {
  ctx.print(
    `Tenant ${policy.tenantId} · profile ${policy.profile} · version ${policy.version} · ${policy.locked ? 'locked (periods may only be extended)' : 'not locked'}`,
  );
  const settings = Object.entries(policy.settings ?? {});
  if (settings.length > 0) {
    const rows = settings.map(([name, v]) => [name, days(v.days), v.source, days(v.default), v.min, days(v.max), v.extendable, v.clock ?? 'item', v.acknowledge ?? 'shorten', (v.categories ?? []).join(' ')]);
    ctx.print(table(['setting', 'days', 'source', 'default', 'min', 'max', 'extendable', 'clock', 'acknowledge', 'categories'], rows, [1, 3, 4, 5]));
  }
  if (policy.accountLifetime !== undefined && policy.accountLifetime !== null) {
    ctx.print(
      `Kept while the account is active: ${policy.accountLifetime.categories.join(', ')} (deleted with all account data on contract end or after ${policy.accountLifetime.inactivityDays} days of inactivity)`,
    );
  }
  if (policy.holds?.beyondCap === false) ctx.print('Legal holds do not keep data past its cap.');
  const rows = SWEEP_ORDER.filter((c) => policy.categories[c] !== undefined).map((c) => {
    const v = policy.categories[c] as CategoryView;
    return [c, days(v.days), v.source, days(v.default), v.min, days(v.max), v.extendable, decidedBy(v)];
  });
  ctx.print(table(['category', 'days', 'source', 'default', 'min', 'max', 'extendable', 'decided by'], rows, [1, 3, 4, 5]));
}

/** The request body: a file, and/or --setting and --category assignments merged into the tenant's current choices. */
async function buildBody(ctx: CliContext, options: ChangeOptions): Promise<PolicyBody> {
  let categories: NonNullable<PolicyBody['categories']> = {};
  let settings: NonNullable<PolicyBody['settings']> = {};
  let fromFile: Partial<PolicyBody> = {};
  const named = options.category.length + options.setting.length;
  if (options.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(options.file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read ${options.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const object = (parsed ?? {}) as Record<string, unknown>;
    // Either a whole body ({settings?, categories?, acknowledgeDataLoss?, lock?}) or just the categories map.
    fromFile = 'categories' in object || 'settings' in object ? (object as Partial<PolicyBody>) : { categories: object as PolicyBody['categories'] };
    categories = { ...(fromFile.categories ?? {}) };
    settings = { ...(fromFile.settings ?? {}) };
  } else if (named > 0 && options.replace !== true) {
    // PUT replaces every choice; keep the ones not named here.
    const current = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
    for (const [name, v] of Object.entries(current.settings ?? {})) if (v.source === 'tenant') settings[name] = { days: v.days };
    for (const [c, v] of Object.entries(current.categories ?? {}) as [Category, CategoryView][]) {
      if (v.source === 'tenant' && ownPeriod(v)) categories[c] = { days: v.days };
    }
  } else if (named === 0 && options.current === true) {
    // Nothing proposed: the periods in force, so the preview answers "what would a sweep delete now".
    const current = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
    for (const [name, v] of Object.entries(current.settings ?? {})) settings[name] = { days: v.days };
    for (const [c, v] of Object.entries(current.categories ?? {}) as [Category, CategoryView][]) if (ownPeriod(v)) categories[c] = { days: v.days };
  }
  for (const [category, value] of options.category.map(parseAssignment)) {
    if (value === undefined) delete categories[category];
    else categories[category] = { days: value };
  }
  for (const [name, value] of options.setting.map(parseSettingAssignment)) {
    if (value === undefined) delete settings[name];
    else settings[name] = { days: value };
  }
  if (Object.keys(categories).length + Object.keys(settings).length === 0) {
    throw new UsageError('name at least one setting or category: --setting <name>=<days> or --category <category>=<days> (repeatable), or --file policy.json');
  }
  return {
    ...(Object.keys(settings).length > 0 && { settings }),
    ...(Object.keys(categories).length > 0 && { categories }),
    ...((options.acknowledgeDataLoss === true || fromFile.acknowledgeDataLoss === true) && { acknowledgeDataLoss: true }),
    ...((options.lock === true || fromFile.lock === true) && { lock: true }),
  };
}

interface PreviewCounts {
  readonly wouldDelete: number;
  readonly held: number;
}

interface PreviewView {
  readonly reason?: string;
  readonly settings?: Record<string, PreviewCounts>;
  readonly categories: Partial<Record<Category, PreviewCounts>>;
}

/** The API refused the change for want of the acknowledgement alone (any other issue is shown as the API put it). */
function needsOnlyAcknowledgement(error: unknown): error is ApiError {
  if (!(error instanceof ApiError) || error.status !== 400) return false;
  const fields = error.issues.length > 0 ? error.issues.map((i) => i.field) : [error.field];
  return fields.length === 1 && fields[0] === 'acknowledgeDataLoss';
}

/**
 * The refusal in the CLI's words: why (the API's reason without its wire
 * wording), what the next sweep would delete under the change (the preview's
 * counts), and the flag that confirms it.
 */
async function acknowledgementRefusal(ctx: CliContext, body: PolicyBody, error: ApiError): Promise<CliError> {
  const issue = error.issues.find((i) => i.field === 'acknowledgeDataLoss')?.message ?? error.message;
  const why = issue
    .replace(/^acknowledgeDataLoss:\s*/u, '')
    .replace(/;?\s*send acknowledgeDataLoss: true to confirm\.?$/u, '')
    .trim();
  const preview = await ctx
    .client()
    .post<PreviewView>(ctx.tenantPath('/retention-policy/preview'), { ...body, acknowledgeDataLoss: undefined })
    .catch(() => undefined);
  const wouldDelete = Object.fromEntries(
    SWEEP_ORDER.filter((c) => (preview?.categories?.[c]?.wouldDelete ?? 0) > 0).map((c) => [c, preview?.categories[c]?.wouldDelete ?? 0]),
  ) as Partial<Record<Category, number>>;
  const total = Object.values(wouldDelete).reduce((sum, n) => sum + (n ?? 0), 0);
  const listed = Object.entries(wouldDelete).map(([c, n]) => `${c} ${n}`).join(', ');
  const loss =
    preview === undefined
      ? 'the preview of what it would delete could not be read (lethe policy preview with the same options shows it)'
      : total === 0
        ? 'under the new periods the next sweep would delete nothing today'
        : `under the new periods the next sweep would delete ${total} item(s) (${listed}; customer_profile counts customers)`;
  return new CliError(`not saved: ${why === '' ? 'this change can delete data kept today' : why}; ${loss}. Re-run with --acknowledge-data-loss to confirm.`, {
    code: 'acknowledgement_required',
    details: { field: 'acknowledgeDataLoss', flag: '--acknowledge-data-loss', ...(preview !== undefined && { wouldDelete, wouldDeleteTotal: total }) },
    cause: error,
  });
}

interface ChangeOptions {
  readonly category: string[];
  readonly setting: string[];
  readonly file?: string;
  readonly acknowledgeDataLoss?: boolean;
  readonly lock?: boolean;
  readonly replace?: boolean;
  /** Preview only: with no change named, use the periods in force. */
  readonly current?: boolean;
}

function changeOptions(command: Command): Command {
  return command
    .option('-s, --setting <name=days>', 'a setting of the profile, in days ("indefinite", or "default" to drop the choice; 0 = until the grace has passed); repeatable', collect, [])
    .option('-c, --category <category=days>', 'a period in days for a category in no setting ("indefinite", or "default" to drop the override); repeatable', collect, [])
    .option('-f, --file <policy.json>', 'a JSON body {settings?:{<name>:{days}}, categories?:{<cat>:{days}}, acknowledgeDataLoss?, lock?} or just the categories map')
    .option('--acknowledge-data-loss', 'confirm that shortening a period (or changing a setting that always asks) deletes data kept today')
    .option('--lock', 'lock the policy: afterwards periods may only be extended')
    .addOption(new Option('--replace', 'send only the settings and categories named here (drops other choices) instead of merging').conflicts('file'));
}

export function policyCommand(output: Output): Command {
  const policy = new Command('policy').description("the tenant's retention policy");

  policy
    .command('get')
    .description("the profile's settings and every category's effective period, with the platform bounds and what decides for it")
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const view = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
      ctx.emit(view, () => printPolicy(ctx, view));
    });

  changeOptions(policy.command('set'))
    .description('change settings and periods (merged into the current choices unless --replace)')
    .action(async (options: ChangeOptions, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await buildBody(ctx, options);
      const saved = await ctx
        .client()
        .put<PolicyView>(ctx.tenantPath('/retention-policy'), body)
        .catch(async (error: unknown) => {
          if (needsOnlyAcknowledgement(error)) throw await acknowledgementRefusal(ctx, body, error);
          throw error;
        });
      ctx.emit(saved, () => {
        if (saved?.categories !== undefined) printPolicy(ctx, saved);
        else ctx.print(`policy saved (version ${saved?.version ?? '?'})`);
      });
    });

  changeOptions(policy.command('preview'))
    .description('what a sweep would delete and hold under the proposed periods, or the current ones when none is named (nothing is saved)')
    .action(async (options: ChangeOptions, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await buildBody(ctx, { ...options, current: true });
      const preview = await ctx.client().post<PreviewView>(ctx.tenantPath('/retention-policy/preview'), body);
      ctx.emit(preview, () => {
        if (preview.reason !== undefined) ctx.print(`The account is over (${preview.reason}): everything of it would go.`);
        const settingRows = Object.entries(preview.settings ?? {}).map(([name, v]) => [name, v.wouldDelete, v.held]);
        if (settingRows.length > 0) ctx.print(table(['setting', 'would delete', 'held'], settingRows, [1, 2]));
        let wouldDelete = 0;
        let held = 0;
        const rows: (string | number)[][] = SWEEP_ORDER.filter((c) => preview.categories?.[c] !== undefined).map((c) => {
          const v = preview.categories[c] as { wouldDelete: number; held: number };
          wouldDelete += v.wouldDelete;
          held += v.held;
          return [c, v.wouldDelete, v.held];
        });
        rows.push(['total', wouldDelete, held]);
        // customer_profile counts customers (not their identifier items).
        ctx.print(table(['category', 'would delete', 'held'], rows, [1, 2]));
      });
    });

  policy
    .command('history')
    .description('every saved version, newest first')
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await ctx.client().get<unknown>(ctx.tenantPath('/retention-policy/history'));
      const revisions = listOf<{ version: number; changedAt: string; changedBy: string; policy?: { locked?: boolean; settings?: object; categories?: object } }>(
        body,
        'history',
      ).concat(listOf(body, 'revisions'));
      ctx.emit(body, () =>
        ctx.print(
          table(
            ['version', 'changed at', 'changed by', 'locked', 'overrides'],
            revisions.map((r) => [
              r.version,
              r.changedAt,
              r.changedBy,
              r.policy?.locked,
              Object.entries({ ...(r.policy?.settings ?? {}), ...(r.policy?.categories ?? {}) })
                .map(([c, v]) => `${c}=${days((v as { days: number | null }).days)}`)
                .join(' '),
            ]),
            [0],
          ),
        ),
      );
    });

  return policy;
}
