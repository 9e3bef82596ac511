/**
 * `lethe attachment delete`, `lethe anonymize …`, `lethe admin-logs …` and
 * `lethe privacy preview`: one attachment or media item, one communication
 * record, the admin activity logs, and what a bulk erasure would take.
 */
import { Command, Option } from 'commander';
import { SWEEP_ORDER, type Category } from '../shared/domain/catalog.js';
import { CliContext, table, UsageError, type Output } from './context.js';
import { positiveInt, receiptTable } from './operations.js';

interface Counts {
  readonly examined: number;
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  readonly kept?: number;
}

interface DeletionView {
  readonly receiptId: string;
  readonly status: string;
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  readonly categories?: Partial<Record<Category, Counts>>;
  readonly holdIds?: readonly string[];
  readonly selected?: number;
  readonly more?: boolean;
}

const query = (values: Readonly<Record<string, string | number | undefined>>): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) params.set(name, String(value));
  return params.size > 0 ? `?${params.toString()}` : '';
};

function printDeletion(ctx: CliContext, what: string, d: DeletionView): void {
  ctx.print(`${what}: ${d.status} · ${d.deleted} deleted, ${d.held} held, ${d.failed} failed · receipt ${d.receiptId}`);
  if (d.holdIds !== undefined && d.holdIds.length > 0) ctx.print(`kept by legal hold(s): ${d.holdIds.join(', ')}`);
  if (d.categories !== undefined) ctx.print(receiptTable({ categories: d.categories }));
}

// ---------------------------------------------------------------------------
// One attachment or media item
// ---------------------------------------------------------------------------

export function attachmentCommand(output: Output): Command {
  const attachment = new Command('attachment').description("one e-mail attachment or media item of a conversation");
  attachment
    .command('delete')
    .description('delete one attachment or media item (its content and record); the message stays')
    .argument('<conversationId>')
    .argument('<attachmentId>')
    .addOption(new Option('--kind <kind>', 'which one, when an attachment and a media item share the id').choices(['email_attachment', 'inbound_media', 'outbound_media']))
    .action(async (conversationId: string, attachmentId: string, options: { kind?: string }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const path = ctx.tenantPath(`/conversations/${encodeURIComponent(conversationId)}/attachments/${encodeURIComponent(attachmentId)}`);
      const done = await ctx.client().request<DeletionView>('DELETE', `${path}${query({ kind: options.kind })}`);
      ctx.emit(done, () => printDeletion(ctx, `attachment ${attachmentId}`, done));
    });
  return attachment;
}

// ---------------------------------------------------------------------------
// One communication record
// ---------------------------------------------------------------------------

interface AnonymizationView {
  readonly receiptId: string;
  readonly status: string;
  readonly type: string;
  readonly anonymized: number;
  readonly failed: number;
  readonly categories?: Partial<Record<Category, Counts>>;
}

function printAnonymization(ctx: CliContext, a: AnonymizationView): void {
  ctx.print(`${a.type} anonymised: ${a.status} · ${a.anonymized} record(s) kept without personal data, ${a.failed} still to finish · receipt ${a.receiptId}`);
  if (a.failed > 0) ctx.print('a blob or the provider copy could not be deleted yet; run the same command again to finish');
  if (a.categories !== undefined) ctx.print(receiptTable({ categories: a.categories }));
}

export function anonymizeCommand(output: Output): Command {
  const anonymize = new Command('anonymize').description('anonymise one communication record: content deleted, identifying values replaced, the record kept for counts');
  const post = async (command: Command, body: Record<string, string>) => {
    const ctx = CliContext.of(command, output);
    const done = await ctx.client().post<AnonymizationView>(ctx.tenantPath('/communication-records/anonymize'), body);
    ctx.emit(done, () => printAnonymization(ctx, done));
  };
  anonymize
    .command('call')
    .description('a call with its recordings and third-party data')
    .argument('<callId>')
    .action(async (callId: string, _options, command: Command) => {
      const ctx = CliContext.of(command, output);
      const done = await ctx.client().post<AnonymizationView>(ctx.tenantPath(`/calls/${encodeURIComponent(callId)}/anonymize`), undefined);
      ctx.emit(done, () => printAnonymization(ctx, done));
    });
  anonymize
    .command('message')
    .description('a message (or text) with its attachments and media')
    .argument('<conversationId>')
    .argument('<messageId>')
    .action(async (conversationId: string, messageId: string, _options, command: Command) =>
      post(command, { type: 'message', id: messageId, conversationId }),
    );
  anonymize
    .command('form')
    .description('a form submission of a customer')
    .argument('<customerId>')
    .argument('<submissionId>')
    .action(async (customerId: string, id: string, _options, command: Command) => post(command, { type: 'form_submission', id, customerId }));
  anonymize
    .command('session')
    .description('a web session of a customer')
    .argument('<customerId>')
    .argument('<sessionId>')
    .action(async (customerId: string, id: string, _options, command: Command) => post(command, { type: 'web_session', id, customerId }));
  return anonymize;
}

// ---------------------------------------------------------------------------
// Admin activity logs
// ---------------------------------------------------------------------------

interface LogView {
  readonly id: string;
  readonly occurredAt: string;
  readonly held: boolean;
}

interface SelectionOptions {
  readonly actor?: string;
  readonly from?: string;
  readonly to?: string;
}

const selectionOptions = (command: Command): Command =>
  command
    .option('--actor <actor>', 'logs of this admin (exactly as recorded)')
    .option('--from <iso>', 'logs at or after this instant')
    .option('--to <iso>', 'logs before this instant');

export function adminLogsCommand(output: Output): Command {
  const logs = new Command('admin-logs').description("the account admins' activity logs: select and delete");

  selectionOptions(logs.command('ls'))
    .description('the selected logs, oldest first (ids and times only)')
    .option('--limit <n>', 'at most this many per page', (v) => positiveInt(v, '--limit'))
    .option('--all', 'every page')
    .action(async (options: SelectionOptions & { limit?: number; all?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const all: LogView[] = [];
      let cursor: string | undefined;
      let last: { logs: LogView[]; nextCursor?: string };
      do {
        last = await ctx.client().get(ctx.tenantPath('/admin-activity-logs'), { actor: options.actor, from: options.from, to: options.to, limit: options.limit, cursor });
        all.push(...last.logs);
        cursor = last.nextCursor;
      } while (options.all === true && cursor !== undefined);
      const body = options.all === true ? { logs: all } : last;
      ctx.emit(body, () => {
        ctx.print(table(['log', 'occurred', 'held'], all.map((l) => [l.id, l.occurredAt, l.held ? 'held' : ''])));
        if (options.all !== true && cursor !== undefined) ctx.print('more: pass --all for every page');
      });
    });

  selectionOptions(logs.command('delete'))
    .description('delete the selected logs (held ones stay); at least one of --actor, --from, --to, --id')
    .option('--id <logId...>', 'only these logs')
    .option('--all', 'repeat while more logs match than one request takes')
    .action(async (options: SelectionOptions & { id?: string[]; all?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      if (options.actor === undefined && options.from === undefined && options.to === undefined && options.id === undefined) {
        throw new UsageError('select the logs with at least one of --actor, --from, --to, --id');
      }
      const body = {
        ...(options.actor !== undefined && { actor: options.actor }),
        ...(options.from !== undefined && { from: options.from }),
        ...(options.to !== undefined && { to: options.to }),
        ...(options.id !== undefined && { ids: options.id }),
      };
      const done: DeletionView[] = [];
      do {
        done.push(await ctx.client().post<DeletionView>(ctx.tenantPath('/admin-activity-logs/delete'), body));
      } while (options.all === true && done.at(-1)?.more === true);
      ctx.emit(done.length === 1 ? done[0] : done, () => {
        for (const d of done) printDeletion(ctx, `${d.selected ?? 0} admin activity log(s)`, d);
        if (done.at(-1)?.more === true) ctx.print('more logs match: run again (or pass --all)');
      });
    });
  return logs;
}

// ---------------------------------------------------------------------------
// Bulk erasure preview
// ---------------------------------------------------------------------------

interface PreviewView {
  readonly customers: readonly { readonly customerId: string }[];
  readonly skipped: readonly { readonly customerId: string; readonly reason: string }[];
  readonly categories: Partial<Record<Category, { examined: number; wouldDelete: number; held: number }>>;
  readonly nextCursor?: string;
}

/** `lethe privacy preview`: the customers a bulk erasure would take, and what it would delete; nothing is filed. */
export function privacyPreviewCommand(output: Output): Command {
  return new Command('preview')
    .description('the customers a bulk erasure with this filter would take, and what it would delete (nothing is deleted or filed)')
    .option('--bot <botId>', 'customers brought in by this bot')
    .addOption(new Option('--channel <channel>', 'customers on this channel').choices(['chat', 'sms', 'whatsapp', 'email', 'voice']))
    .option('--first-contact-from <iso>', 'first contact at or after')
    .option('--first-contact-to <iso>', 'first contact before')
    .option('--force', 'as an erasure with --force: include customers with an open conversation')
    .option('--limit <n>', 'customers per page', (v) => positiveInt(v, '--limit'))
    .option('--all', 'every page, with the counts added up')
    .action(async (options: Record<string, string | number | boolean | undefined>, command: Command) => {
      const ctx = CliContext.of(command, output);
      const filter = Object.fromEntries(
        (
          [
            ['botId', options.bot],
            ['channel', options.channel],
            ['firstContactFrom', options.firstContactFrom],
            ['firstContactTo', options.firstContactTo],
          ] as const
        ).filter(([, v]) => v !== undefined),
      );
      if (Object.keys(filter).length === 0) throw new UsageError('give a filter: at least one of --bot, --channel, --first-contact-from, --first-contact-to');
      const body = { kind: 'erasure', filter, ...(options.force === true && { force: true }) };
      const customers: { customerId: string }[] = [];
      const skipped: { customerId: string; reason: string }[] = [];
      const totals: Partial<Record<Category, { examined: number; wouldDelete: number; held: number }>> = {};
      let cursor: string | undefined;
      do {
        const page = await ctx
          .client()
          .request<PreviewView>('POST', `${ctx.tenantPath('/privacy-requests/preview')}${query({ limit: options.limit as number | undefined, cursor })}`, body);
        customers.push(...page.customers);
        skipped.push(...page.skipped);
        for (const [category, c] of Object.entries(page.categories) as [Category, { examined: number; wouldDelete: number; held: number }][]) {
          const t = (totals[category] ??= { examined: 0, wouldDelete: 0, held: 0 });
          t.examined += c.examined;
          t.wouldDelete += c.wouldDelete;
          t.held += c.held;
        }
        cursor = page.nextCursor;
      } while (options.all === true && cursor !== undefined);
      const result = { customers, skipped, categories: totals, ...(cursor !== undefined && { nextCursor: cursor }) };
      ctx.emit(result, () => {
        ctx.print(`${customers.length} customer(s) would be erased${cursor !== undefined ? ' on this page (pass --all for every page)' : ''}`);
        ctx.print(table(['customer'], customers.map((c) => [c.customerId])));
        if (skipped.length > 0) ctx.print(`skipped (open conversation; --force includes them): ${skipped.map((s) => s.customerId).join(', ')}`);
        const rows = SWEEP_ORDER.filter((c) => totals[c] !== undefined).map((c) => {
          const v = totals[c] as { examined: number; wouldDelete: number; held: number };
          return [c, v.examined, v.wouldDelete, v.held];
        });
        if (rows.length > 0) ctx.print(table(['category', 'examined', 'would delete', 'held'], rows, [1, 2, 3]));
      });
    });
}
