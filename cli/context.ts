/**
 * What every CLI command shares: the global options (endpoint, token, tenant,
 * JSON output), the API client they imply, output helpers (tables for people,
 * JSON for scripts, progress bars on stderr) and the CLI's own errors.
 */
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { CLAIMS } from '../shared/app/api/contract.js';
import { peekClaims } from '../shared/local/dev-token.js';
import { ApiClient } from './api-client.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4400';

/** A mistake in how the CLI was called: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage_error';
}

export interface CliErrorOptions {
  /** A machine-readable code for `--json` (default `cli_error`). */
  readonly code?: string;
  /** Counts or ids worth a script's attention, shown under `--json` beside the message. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/** A failure the CLI detected itself, or an API answer it explains in its own words: exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'cli_error';
    this.details = options.details ?? {};
  }
}

/** How to get a token, for messages about a missing or refused one. */
export const TOKEN_HINT =
  'local mode: export LETHE_TOKEN=$(npx lethe token --tenant <t> --role ComplianceAdministrator); deployed: npx lethe login';

export interface GlobalOptions {
  readonly endpoint: string;
  readonly token?: string;
  readonly tenant?: string;
  readonly json: boolean;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn only there). */
  readonly interactive: boolean;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interactive: process.stderr.isTTY === true,
};

export class CliContext {
  constructor(
    readonly options: GlobalOptions,
    readonly output: Output,
  ) {}

  static of(command: Command, output: Output): CliContext {
    const o = command.optsWithGlobals<GlobalOptions>();
    return new CliContext(
      { endpoint: o.endpoint || DEFAULT_ENDPOINT, token: o.token || undefined, tenant: o.tenant || undefined, json: o.json === true },
      output,
    );
  }

  get json(): boolean {
    return this.options.json;
  }

  client(): ApiClient {
    return new ApiClient({ endpoint: this.options.endpoint, token: this.token() });
  }

  private token(): string {
    if (this.options.token === undefined) throw new UsageError(`no token: pass --token or set LETHE_TOKEN (${TOKEN_HINT})`);
    return this.options.token;
  }

  /** The tenant to act on: --tenant / LETHE_TENANT, else the token's own tenant. */
  tenant(): string {
    if (this.options.tenant !== undefined) return this.options.tenant;
    const claims = peekClaims(this.token());
    // Every token the API accepts is a JWT: one that does not even decode is refused whatever the route.
    if (claims === undefined) throw new CliError(`the token is invalid: it is not a JWT (${TOKEN_HINT})`, { code: 'invalid_token' });
    const claimed = claims[CLAIMS.tenant];
    if (typeof claimed === 'string' && claimed !== '') return claimed;
    throw new UsageError('no tenant: the token names none (a SuperAdministrator token); pass --tenant or set LETHE_TENANT');
  }

  /** `/v1/tenants/<tenant>` + rest. */
  tenantPath(rest = ''): string {
    return `/v1/tenants/${encodeURIComponent(this.tenant())}${rest}`;
  }

  printJson(value: unknown): void {
    this.output.out(JSON.stringify(value ?? null, null, 2));
  }

  print(text: string): void {
    this.output.out(text);
  }

  /** JSON for scripts, or what `human` prints for people. */
  emit(value: unknown, human: () => void): void {
    if (this.json) this.printJson(value);
    else human();
  }

  /** A progress bar on stderr, drawn only on a terminal and never in JSON mode. */
  progress(format: string, total: number, payload: Record<string, unknown> = {}): ProgressBar {
    if (this.json || !this.output.interactive) return silentBar;
    const bar = new SingleBar({ format, hideCursor: true, clearOnComplete: false, stream: process.stderr, etaBuffer: 20 });
    bar.start(total, 0, payload);
    return {
      update: (value, more) => bar.update(value, more ?? {}),
      setTotal: (n) => bar.setTotal(n),
      stop: () => bar.stop(),
    };
  }
}

export interface ProgressBar {
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}

const silentBar: ProgressBar = { update: () => undefined, setTotal: () => undefined, stop: () => undefined };

/** A cli-table3 table as text. */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[], alignRight: readonly number[] = []): string {
  const colour = process.stdout.isTTY === true;
  const t = new Table({
    head: [...head],
    // No rule between rows: long receipts stay readable; colours only on a terminal.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: { head: colour ? ['cyan'] : [], border: colour ? ['grey'] : [] },
    colAligns: head.map((_, i) => (alignRight.includes(i) ? 'right' : 'left')),
  });
  for (const row of rows) t.push(row.map(cell));
  // Without row rules cli-table3 drops the header rule too; put that one back.
  const lines = t.toString().split('\n');
  const top = lines[0] ?? '';
  lines.splice(2, 0, top.replace('┌', '├').replaceAll('┬', '┼').replace('┐', '┤'));
  return lines.join('\n');
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A list out of a response that is either an array or `{ <key>: [...] }`. */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const inner = (body as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

/** Days for display: `null` is indefinite. */
export function days(value: number | null | undefined): string {
  if (value === undefined) return '-';
  return value === null ? 'indefinite' : String(value);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
