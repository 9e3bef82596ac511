/**
 * The `lethe` CLI: the admin tool for local mode and for a deployed stack.
 * Exit codes: 0 success, 1 API, network or run failure, 2 usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { ApiError, NetworkError } from './api-client.js';
import { CliError, DEFAULT_ENDPOINT, processOutput, UsageError, type Output } from './context.js';
import { seedCommand, tenantsCommand, tokenCommand } from './data.js';
import { auditCommand, holdCommand, privacyCommand, runsCommand, sweepCommand } from './operations.js';
import { policyCommand } from './policy.js';
import { adminLogsCommand, anonymizeCommand, attachmentCommand, privacyPreviewCommand } from './records.js';
import { VERSION } from './version.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function buildProgram(output: Output = processOutput): Command {
  const program = new Command('lethe')
    .description('Lethe: data retention and privacy deletion. Talks to the admin API (local mode: npm start).')
    .addOption(new Option('--endpoint <url>', 'API base URL').env('LETHE_ENDPOINT').default(DEFAULT_ENDPOINT))
    .addOption(new Option('--token <jwt>', 'bearer token').env('LETHE_TOKEN'))
    .addOption(new Option('--tenant <id>', 'tenant to act on (default: the token’s tenant)').env('LETHE_TENANT'))
    .option('--json', 'print JSON (for scripts) instead of tables')
    .version(VERSION, '-V, --version', 'print the version of lethe')
    .showHelpAfterError('(run with --help for usage)');
  const streams = { writeOut: (s: string) => output.out(s.replace(/\n$/, '')), writeErr: (s: string) => output.err(s.replace(/\n$/, '')) };

  for (const command of [
    tokenCommand(output),
    policyCommand(output),
    holdCommand(output),
    privacyCommand(output).addCommand(privacyPreviewCommand(output)),
    attachmentCommand(output),
    anonymizeCommand(output),
    adminLogsCommand(output),
    runsCommand(output),
    sweepCommand(output),
    auditCommand(output),
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

/** One line for a failure, as the user should read it. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const field = error.field === undefined ? '' : ` (field: ${error.field})`;
    return `error: ${error.message}${field}`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  const program = buildProgram(output);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with exit code 0; commander has already printed what is wrong otherwise.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    output.err(describeError(error));
    if (error instanceof UsageError) return EXIT.usage;
    if (error instanceof ApiError || error instanceof NetworkError || error instanceof CliError) return EXIT.failure;
    return EXIT.failure;
  }
}
