/** `lethe policy get|set|preview|history`: the tenant's retention policy (DESIGN.md §1, §5). */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { CATEGORIES, isCategory, SWEEP_ORDER, type Category } from '../shared/domain/catalog.js';
import { CliContext, days, listOf, table, UsageError, type Output } from './context.js';

interface CategoryView {
  readonly days: number | null;
  readonly default: number | null;
  readonly min: number;
  readonly max: number | null;
  readonly extendable: boolean;
  readonly source: 'default' | 'tenant';
}

export interface PolicyView {
  readonly tenantId: string;
  readonly profile: string;
  readonly version: number;
  readonly locked: boolean;
  readonly categories: Partial<Record<Category, CategoryView>>;
}

interface PolicyBody {
  categories: Partial<Record<Category, { days: number | null }>>;
  acknowledgeDataLoss?: boolean;
  lock?: boolean;
}

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

const collect = (value: string, previous: string[] = []) => [...previous, value];

function printPolicy(ctx: CliContext, policy: PolicyView): void {
  ctx.print(
    `Tenant ${policy.tenantId} · profile ${policy.profile} · version ${policy.version} · ${policy.locked ? 'locked (periods may only be extended)' : 'not locked'}`,
  );
  const rows = SWEEP_ORDER.filter((c) => policy.categories[c] !== undefined).map((c) => {
    const v = policy.categories[c] as CategoryView;
    return [c, days(v.days), v.source, days(v.default), v.min, days(v.max), v.extendable];
  });
  ctx.print(table(['category', 'days', 'source', 'default', 'min', 'max', 'extendable'], rows, [1, 3, 4, 5]));
}

/** The request body: a file, and/or --category assignments merged into the tenant's current overrides. */
async function buildBody(ctx: CliContext, options: ChangeOptions): Promise<PolicyBody> {
  let categories: PolicyBody['categories'] = {};
  let fromFile: Partial<PolicyBody> = {};
  if (options.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(options.file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read ${options.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const object = (parsed ?? {}) as Record<string, unknown>;
    // Either a whole body ({categories, acknowledgeDataLoss?, lock?}) or just the categories map.
    fromFile = 'categories' in object ? (object as Partial<PolicyBody>) : { categories: object as PolicyBody['categories'] };
    categories = { ...(fromFile.categories ?? {}) };
  } else if (options.category.length > 0 && options.replace !== true) {
    // PUT replaces every override; keep the ones not named here.
    const current = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
    for (const [c, v] of Object.entries(current.categories ?? {}) as [Category, CategoryView][]) {
      if (v.source === 'tenant') categories[c] = { days: v.days };
    }
  } else if (options.category.length === 0 && options.current === true) {
    // Nothing proposed: the periods in force, so the preview answers "what would a sweep delete now".
    const current = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
    for (const [c, v] of Object.entries(current.categories ?? {}) as [Category, CategoryView][]) categories[c] = { days: v.days };
  }
  for (const [category, value] of options.category.map(parseAssignment)) {
    if (value === undefined) delete categories[category];
    else categories[category] = { days: value };
  }
  if (Object.keys(categories).length === 0) {
    throw new UsageError('name at least one category: --category <category>=<days> (repeatable) or --file policy.json');
  }
  return {
    categories,
    ...((options.acknowledgeDataLoss === true || fromFile.acknowledgeDataLoss === true) && { acknowledgeDataLoss: true }),
    ...((options.lock === true || fromFile.lock === true) && { lock: true }),
  };
}

interface ChangeOptions {
  readonly category: string[];
  readonly file?: string;
  readonly acknowledgeDataLoss?: boolean;
  readonly lock?: boolean;
  readonly replace?: boolean;
  /** Preview only: with no change named, use the periods in force. */
  readonly current?: boolean;
}

function changeOptions(command: Command): Command {
  return command
    .option('-c, --category <category=days>', 'a period in days ("indefinite", or "default" to drop the override); repeatable', collect, [])
    .option('-f, --file <policy.json>', 'a JSON body {categories:{<cat>:{days}}, acknowledgeDataLoss?, lock?} or just the categories map')
    .option('--acknowledge-data-loss', 'confirm that shortening a period deletes data kept today')
    .option('--lock', 'lock the policy: afterwards periods may only be extended')
    .addOption(new Option('--replace', 'send only the categories named here (drops other overrides) instead of merging').conflicts('file'));
}

export function policyCommand(output: Output): Command {
  const policy = new Command('policy').description("the tenant's retention policy");

  policy
    .command('get')
    .description('effective period per category, with the platform bounds')
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const view = await ctx.client().get<PolicyView>(ctx.tenantPath('/retention-policy'));
      ctx.emit(view, () => printPolicy(ctx, view));
    });

  changeOptions(policy.command('set'))
    .description('change periods (merged into the current overrides unless --replace)')
    .action(async (options: ChangeOptions, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await buildBody(ctx, options);
      const saved = await ctx.client().put<PolicyView>(ctx.tenantPath('/retention-policy'), body);
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
      const preview = await ctx
        .client()
        .post<{ categories: Partial<Record<Category, { wouldDelete: number; held: number }>> }>(ctx.tenantPath('/retention-policy/preview'), body);
      ctx.emit(preview, () => {
        let wouldDelete = 0;
        let held = 0;
        const rows: (string | number)[][] = SWEEP_ORDER.filter((c) => preview.categories?.[c] !== undefined).map((c) => {
          const v = preview.categories[c] as { wouldDelete: number; held: number };
          wouldDelete += v.wouldDelete;
          held += v.held;
          return [c, v.wouldDelete, v.held];
        });
        rows.push(['total', wouldDelete, held]);
        ctx.print(table(['category', 'would delete', 'held'], rows, [1, 2]));
      });
    });

  policy
    .command('history')
    .description('every saved version, newest first')
    .action(async (_options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const body = await ctx.client().get<unknown>(ctx.tenantPath('/retention-policy/history'));
      const revisions = listOf<{ version: number; changedAt: string; changedBy: string; policy?: { locked?: boolean; categories?: object } }>(
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
              Object.entries(r.policy?.categories ?? {})
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
