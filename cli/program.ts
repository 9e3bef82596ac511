/**
 * The `lethe` CLI: the admin tool for local mode and for a deployed stack.
 * Exit codes: 0 success, 1 API, network or run failure, 2 usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { ApiError, NetworkError } from './api-client.js';
import { CliError, DEFAULT_ENDPOINT, processOutput, TOKEN_HINT, UsageError, type Output } from './context.js';
import { conversationCommand, customersCommand, messageCommand, recordingCommand } from './customers.js';
import { seedCommand, tenantsCommand, tokenCommand } from './data.js';
import { recordsCommand } from './ingest.js';
import { loginCommand, logoutCommand, useStoredSession } from './login.js';
import { auditCommand, holdCommand, privacyCommand, runsCommand, sweepCommand } from './operations.js';
import { policyCommand } from './policy.js';
import { adminLogsCommand, anonymizeCommand, attachmentCommand, privacyPreviewCommand } from './records.js';
import { VERSION } from './version.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Whether the command line asks for JSON (known before commander has parsed it, for errors it reports). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export function buildProgram(output: Output = processOutput, json = false): Command {
  const program = new Command('lethe')
    .description('Lethe: data retention and privacy deletion. Talks to the admin API (local mode: npm start).')
    .addOption(new Option('--endpoint <url>', 'API base URL').env('LETHE_ENDPOINT').default(DEFAULT_ENDPOINT))
    .addOption(new Option('--token <jwt>', 'bearer token').env('LETHE_TOKEN'))
    .addOption(new Option('--tenant <id>', 'tenant to act on (default: the token’s tenant)').env('LETHE_TENANT'))
    .option('--json', 'print JSON (for scripts) instead of tables')
    .version(VERSION, '-V, --version', 'print the version of lethe')
    .showHelpAfterError('(run with --help for usage)');
  const streams = {
    writeOut: (s: string) => output.out(s.replace(/\n$/, '')),
    writeErr: (s: string) => output.err(s.replace(/\n$/, '')),
    // Under --json, `main` reports commander's errors as JSON instead.
    outputError: (s: string, write: (s: string) => void) => {
      if (!json) write(s);
    },
  };

  // With no --token / LETHE_TOKEN, a command uses the session `lethe login` stored (refreshed when expired).
  program.hook('preAction', (_program, action) => useStoredSession(program, action));

  for (const command of [
    loginCommand(output),
    logoutCommand(output),
    tokenCommand(output),
    policyCommand(output),
    holdCommand(output),
    privacyCommand(output).addCommand(privacyPreviewCommand(output)),
    customersCommand(output),
    conversationCommand(output),
    messageCommand(output),
    recordingCommand(output),
    attachmentCommand(output),
    anonymizeCommand(output),
    adminLogsCommand(output),
    runsCommand(output),
    sweepCommand(output),
    auditCommand(output),
    recordsCommand(output),
    seedCommand(output),
    tenantsCommand(output),
  ]) {
    program.addCommand(command);
  }
  // Every (sub)command throws instead of exiting, so `main` chooses the exit code, and writes
  // through `output` (commands built with `new Command` inherit neither from the program).
  const override = (command: Command) => {
    command.exitOverride().configureOutput(streams);
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** A failure as the CLI reports it: one line for people, `{"error": {...}}` for scripts. */
export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** The API's HTTP status, for its errors. */
  readonly status?: number;
  readonly exitCode: number;
  /** The rest of what the API or the CLI said (issues, hold ids, counts). */
  readonly details: Readonly<Record<string, unknown>>;
}

export function reportOf(error: unknown): ErrorReport {
  if (error instanceof ApiError) {
    const { code: _code, message: _message, field: _field, ...details } = error.body;
    const message =
      error.status === 401
        ? `the API refused the token (invalid or expired): ${error.message} (${TOKEN_HINT})`
        : error.status === 403
          ? `${error.message} (the token's role may not do this)`
          : error.message;
    return { code: error.code, message, ...(error.field !== undefined && { field: error.field }), status: error.status, exitCode: EXIT.failure, details };
  }
  if (error instanceof CommanderError) {
    return { code: 'usage_error', message: error.message.replace(/^error: /, ''), exitCode: EXIT.usage, details: {} };
  }
  if (error instanceof UsageError) return { code: error.code, message: error.message, exitCode: EXIT.usage, details: {} };
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: EXIT.failure, details: error.details };
  if (error instanceof NetworkError) return { code: 'network_error', message: error.message, exitCode: EXIT.failure, details: {} };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error), exitCode: EXIT.failure, details: {} };
}

/** One line for a failure, as the user should read it. */
export function describeError(error: unknown): string {
  const report = reportOf(error);
  return `error: ${report.message}${report.field === undefined ? '' : ` (field: ${report.field})`}`;
}

/** The JSON a script reads on stderr under --json. */
export function errorJson(error: unknown): string {
  const { exitCode: _exitCode, details, ...report } = reportOf(error);
  return JSON.stringify({ error: { ...report, ...details } });
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  const json = wantsJson(argv);
  const program = buildProgram(output, json);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (error) {
    // Help and version end with exit code 0; commander has already printed what is wrong otherwise (not under --json).
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok;
    if (json) output.err(errorJson(error));
    else if (!(error instanceof CommanderError)) output.err(describeError(error));
    return reportOf(error).exitCode;
  }
}
