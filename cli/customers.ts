/**
 * `lethe customers find|export|delete`, `lethe conversation delete`,
 * `lethe message delete`, `lethe recording delete`: look a customer up by an
 * identifier, export what is kept about them, and the manual deletions of the
 * admin API (200 done, or 202 `continuing`: the rest goes on in a Deletion
 * workflow whose receipt `--wait` follows).
 */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { Category } from '../shared/domain/catalog.js';
import { ApiError } from './api-client.js';
import { CliContext, CliError, listOf, sleep, table, UsageError, type Output } from './context.js';
import { receiptTable, type RunView } from './operations.js';

interface CustomerSummary {
  readonly customerId: string;
  readonly firstContactAt?: string;
  readonly lastContactAt?: string;
  readonly botId?: string;
  readonly conversations: number;
  readonly openConversations: number;
  readonly calls: number;
}

interface Counts {
  readonly examined: number;
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  readonly kept?: number;
}

export interface DeletionView {
  readonly receiptId: string;
  readonly status: 'completed' | 'failed' | 'continuing';
  readonly deleted: number;
  readonly held: number;
  readonly failed: number;
  readonly categories?: Partial<Record<Category, Counts>>;
  readonly holdIds?: readonly string[];
  /** Roots the request had no time to start; the workflow takes them. */
  readonly remaining?: number;
}

/** A 404 of a route that exists: the thing named is not there. */
const isNotFound = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 404 && !error.isMissingRoute;

/** Explains a refusal (409: open conversation or legal hold) and a 404 in the words of the thing deleted. */
function explainDeletionError(error: unknown, what: string, code: string): never {
  if (isNotFound(error)) throw new CliError(`no such ${what}`, { code, cause: error });
  if (error instanceof ApiError && error.status === 409) {
    const holds = Array.isArray(error.body.holdIds) ? (error.body.holdIds as string[]) : [];
    const why =
      error.code === 'held'
        ? `a legal hold keeps it (${holds.join(', ') || 'hold ids not given'}; lethe hold ls, lethe hold release <holdId>)`
        : error.message;
    throw new CliError(`not deleted: ${why}`, { code: error.code, details: { status: 409, ...(holds.length > 0 && { holdIds: holds }) }, cause: error });
  }
  throw error;
}

/** Follows a continuing deletion's receipt until it ends. */
async function waitForReceipt(ctx: CliContext, receiptId: string): Promise<RunView> {
  const bar = ctx.progress('deletion {id} [{bar}] {status}', 1, { id: receiptId, status: 'continuing' });
  try {
    for (;;) {
      const run = await ctx.client().get<RunView>(ctx.tenantPath(`/deletion-runs/${encodeURIComponent(receiptId)}`));
      bar.update(run.status === 'running' ? 0 : 1, { status: run.status });
      if (run.status !== 'running') return run;
      await sleep(500);
    }
  } finally {
    bar.stop();
  }
}

function printDeletion(ctx: CliContext, what: string, d: DeletionView): void {
  if (d.status === 'continuing') {
    ctx.print(
      `${what}: continuing · ${d.deleted} deleted so far, ${d.held} held, ${d.failed} failed` +
        (d.remaining === undefined ? '' : `, ${d.remaining} not started yet`) +
        ` · the rest goes on in the background (receipt ${d.receiptId}: lethe runs show ${d.receiptId}, or pass --wait)`,
    );
  } else {
    ctx.print(`${what}: ${d.status} · ${d.deleted} deleted, ${d.held} held, ${d.failed} failed · receipt ${d.receiptId}`);
  }
  if (d.holdIds !== undefined && d.holdIds.length > 0) ctx.print(`kept by legal hold(s): ${d.holdIds.join(', ')}`);
  if (d.categories !== undefined && Object.keys(d.categories).length > 0) ctx.print(receiptTable({ categories: d.categories }));
}

/** Sends one manual deletion and prints its answer; with `wait`, follows a continuing one to its end (exit 1 if it failed). */
async function runDeletion(ctx: CliContext, path: string, what: string, notFoundCode: string, wait: boolean): Promise<void> {
  const done = await ctx
    .client()
    .delete<DeletionView>(path)
    .catch((error: unknown) => explainDeletionError(error, what, notFoundCode));
  if (!wait || done.status !== 'continuing') {
    ctx.emit(done, () => printDeletion(ctx, what, done));
    if (done.status === 'failed') throw new CliError(`${what}: the deletion failed (receipt ${done.receiptId}); run the same command again to retry`, { code: 'deletion_failed' });
    return;
  }
  const receipt = await waitForReceipt(ctx, done.receiptId);
  ctx.emit({ ...done, status: receipt.status, receipt }, () => {
    ctx.print(`${what}: ${receipt.status} after continuing in the background · receipt ${done.receiptId}`);
    ctx.print(receiptTable(receipt));
  });
  if (receipt.status === 'failed') throw new CliError(`${what}: the deletion failed (receipt ${done.receiptId})`, { code: 'deletion_failed' });
}

const waitOption = (command: Command): Command =>
  command.option('--wait', 'when the API continues the deletion in the background (202 continuing), wait for its receipt to end');

export function customersCommand(output: Output): Command {
  const customers = new Command('customers').description('find a customer by an identifier, export or delete everything kept about them');

  customers
    .command('find')
    .description('customers with this phone number, e-mail address, name or external id (ids, dates and counts only)')
    .option('--phone <number>', 'a phone number with its country code, any format')
    .option('--email <address>', 'an e-mail address')
    .option('--name <name>', 'a name as ingested')
    .option('--external-id <id>', "the platform's own id of the customer")
    .action(async (options: { phone?: string; email?: string; name?: string; externalId?: string }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const given = (['phone', 'email', 'name', 'externalId'] as const).filter((k) => options[k] !== undefined);
      if (given.length !== 1) throw new UsageError('give exactly one of --phone, --email, --name, --external-id');
      const key = given[0] as 'phone' | 'email' | 'name' | 'externalId';
      const body = await ctx.client().get<unknown>(ctx.tenantPath('/customers'), { [key]: options[key] });
      const found = listOf<CustomerSummary>(body, 'customers');
      ctx.emit({ customers: found }, () => {
        if (found.length === 0) {
          ctx.print('no customer matched');
          return;
        }
        ctx.print(
          table(
            ['customer', 'first contact', 'last contact', 'bot', 'conversations', 'open', 'calls'],
            found.map((c) => [c.customerId, c.firstContactAt, c.lastContactAt, c.botId, c.conversations, c.openConversations, c.calls]),
            [4, 5, 6],
          ),
        );
      });
    });

  customers
    .command('export')
    .description('everything kept about a customer, as JSON (blobs as links valid 15 minutes); the export is audited')
    .argument('<customerId>')
    .option('-o, --out <file>', 'write the export to this file (created readable by you alone) instead of stdout')
    .action(async (customerId: string, options: { out?: string }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const document = await ctx
        .client()
        .get<Record<string, unknown>>(ctx.tenantPath(`/customers/${encodeURIComponent(customerId)}/export`))
        .catch((error: unknown) => {
          if (isNotFound(error)) throw new CliError(`no such customer: nothing is stored for customer id ${customerId}`, { code: 'no_such_customer', cause: error });
          throw error;
        });
      const summary = exportSummary(document);
      if (options.out === undefined) {
        // The document holds personal data: stdout, where the caller sent it; no table instead of it.
        ctx.printJson(document);
        return;
      }
      await writeFile(options.out, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
      ctx.emit({ customerId, file: options.out, ...summary }, () =>
        ctx.print(
          `customer ${customerId} exported to ${options.out}: ${summary.recordCount} record(s) · ` +
            Object.entries(summary.counts)
              .map(([k, n]) => `${n} ${k}`)
              .join(', '),
        ),
      );
    });

  waitOption(customers.command('delete'))
    .description('delete everything of a customer, cascading from the profile (refused while a conversation is open or a legal hold keeps it)')
    .argument('<customerId>')
    .option('--yes', 'confirm: the deletion cannot be undone')
    .action(async (customerId: string, options: { yes?: boolean; wait?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      if (options.yes !== true) {
        throw new UsageError(`deleting customer ${customerId} deletes everything stored of them and cannot be undone; re-run with --yes to confirm`);
      }
      await runDeletion(ctx, ctx.tenantPath(`/customers/${encodeURIComponent(customerId)}`), `customer ${customerId}`, 'no_such_customer', options.wait === true);
    });

  return customers;
}

/** Counts of what an export holds, for a one-line summary (no personal data). */
function exportSummary(document: Record<string, unknown>): { recordCount: number; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  for (const key of ['conversations', 'calls', 'media', 'emailAttachments', 'formSubmissions', 'webSessions', 'analyticsEvents', 'identifiers']) {
    const value = document[key];
    if (Array.isArray(value) && value.length > 0) counts[key] = value.length;
  }
  return { recordCount: typeof document.recordCount === 'number' ? document.recordCount : 0, counts };
}

export function conversationCommand(output: Output): Command {
  const conversation = new Command('conversation').description('one conversation or e-mail thread');
  waitOption(conversation.command('delete'))
    .description('delete a conversation with its messages, logs, media and attachments')
    .argument('<conversationId>')
    .action(async (conversationId: string, options: { wait?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      await runDeletion(ctx, ctx.tenantPath(`/conversations/${encodeURIComponent(conversationId)}`), `conversation ${conversationId}`, 'no_such_conversation', options.wait === true);
    });
  return conversation;
}

export function messageCommand(output: Output): Command {
  const message = new Command('message').description('one message of a conversation');
  waitOption(message.command('delete'))
    .description('delete a message (a tombstone stays in the conversation) with its attachments')
    .argument('<conversationId>')
    .argument('<messageId>')
    .action(async (conversationId: string, messageId: string, options: { wait?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      const path = ctx.tenantPath(`/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}`);
      await runDeletion(ctx, path, `message ${messageId}`, 'no_such_message', options.wait === true);
    });
  return message;
}

export function recordingCommand(output: Output): Command {
  const recording = new Command('recording').description("a call's recordings");
  waitOption(recording.command('delete'))
    .description("delete a call's recordings (the call record stays)")
    .argument('<callId>')
    .action(async (callId: string, options: { wait?: boolean }, command: Command) => {
      const ctx = CliContext.of(command, output);
      await runDeletion(ctx, ctx.tenantPath(`/calls/${encodeURIComponent(callId)}/recording`), `recordings of call ${callId}`, 'no_such_call', options.wait === true);
    });
  return recording;
}
