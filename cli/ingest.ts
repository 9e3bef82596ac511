/**
 * `lethe records ingest --file <ndjson|json>`: posts a file of ingest records
 * through `POST /v1/tenants/{t}/records`, in bodies of at most 500 records
 * and a few MiB, in file order (a record may name a parent stored by an
 * earlier body). The whole file is parsed first: a line that is not a JSON
 * object stops the command before anything is sent. Each body is all or
 * nothing; when one is refused the command stops, says which lines it held
 * and how many records went in before it (`--skip` resumes after them).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { ApiError } from './api-client.js';
import { CliContext, CliError, UsageError, type Output } from './context.js';
import { positiveInt } from './operations.js';

/** The route's limit of records per body. */
export const MAX_RECORDS_PER_REQUEST = 500;
/** Serialized size per body: under the API's 6 MiB body limit with room for the envelope. */
export const MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024;

const recordSchema = z.record(z.string(), z.unknown());

export interface FileRecord {
  readonly record: Record<string, unknown>;
  /** Where it is in the file: `line 12` (NDJSON) or `record 12` (a JSON array, from 1). */
  readonly where: string;
}

/**
 * The records of an NDJSON file (one object a line, blank lines skipped) or of
 * a JSON file (an array of records, or `{"records": [...]}`).
 */
export function parseRecordsFile(text: string, format: 'ndjson' | 'json'): FileRecord[] {
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`the file is not valid JSON: ${(error as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { records?: unknown } | null)?.records;
    if (!Array.isArray(list)) throw new UsageError('a JSON file holds an array of records, or an object {"records": [...]}');
    return list.map((value, i) => {
      const record = recordSchema.safeParse(value);
      if (!record.success || Array.isArray(value)) throw new UsageError(`record ${i + 1} of the file is not a JSON object`);
      return { record: record.data, where: `record ${i + 1}` };
    });
  }
  const out: FileRecord[] = [];
  text.split(/\r?\n/u).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UsageError(`line ${i + 1} of the file is not valid JSON (NDJSON: one record object a line)`);
    }
    const record = recordSchema.safeParse(value);
    if (!record.success || Array.isArray(value)) throw new UsageError(`line ${i + 1} of the file is not a JSON object`);
    out.push({ record: record.data, where: `line ${i + 1}` });
  });
  return out;
}

/** NDJSON for .ndjson/.jsonl, JSON for .json; otherwise JSON when the text is one array or `{"records"}` object. */
export function formatOf(file: string, text: string): 'ndjson' | 'json' {
  const ext = extname(file).toLowerCase();
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  return /^\s*\[/u.test(text) || /^\s*\{\s*"records"\s*:/u.test(text) ? 'json' : 'ndjson';
}

/** Consecutive bodies of at most `maxRecords` records and about `maxBytes` each (a single larger record goes alone). */
export function batchesOf(records: readonly FileRecord[], maxRecords = MAX_RECORDS_PER_REQUEST, maxBytes = MAX_BYTES_PER_REQUEST): FileRecord[][] {
  const batches: FileRecord[][] = [];
  let current: FileRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r.record)) + 1;
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

interface IngestAnswer {
  readonly accepted: number;
  readonly uploads?: readonly { readonly index: number; readonly recordId: string; readonly url: string; readonly method: string; readonly headers: Record<string, string>; readonly expiresAt: string }[];
}

/** An API field `records.<i>.rest` of a body, as the place in the file: `line 12: rest`. */
function fileField(field: string | undefined, batch: readonly FileRecord[]): string | undefined {
  const match = /^records\.(\d+)(?:\.(.+))?$/u.exec(field ?? '');
  if (match === null) return field;
  const where = batch[Number(match[1])]?.where;
  return where === undefined ? field : `${where}${match[2] === undefined ? '' : `, field ${match[2]}`}`;
}

export function recordsCommand(output: Output): Command {
  const records = new Command('records').description('records of the tenant');
  records
    .command('ingest')
    .description('ingest a file of records (NDJSON: one record a line; or JSON: an array) through the API, in bodies of up to 500 records, with a progress bar')
    .requiredOption('-f, --file <path>', 'the file')
    .addOption(new Option('--format <format>', 'how the file is written (default: by its extension, else by its first character)').choices(['ndjson', 'json']))
    .option('--batch-size <n>', `records per request (at most ${MAX_RECORDS_PER_REQUEST})`, (v) => positiveInt(v, '--batch-size'), MAX_RECORDS_PER_REQUEST)
    .option('--skip <n>', 'skip the first n records of the file (resume after a refused body)', (v) => (v === '0' ? 0 : positiveInt(v, '--skip')), 0)
    .action(async (options: { file: string; format?: 'ndjson' | 'json'; batchSize: number; skip: number }, command: Command) => {
      const ctx = CliContext.of(command, output);
      if (options.batchSize > MAX_RECORDS_PER_REQUEST) throw new UsageError(`--batch-size must be at most ${MAX_RECORDS_PER_REQUEST} (the API's limit)`);
      let text: string;
      try {
        text = await readFile(options.file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      const all = parseRecordsFile(text, options.format ?? formatOf(options.file, text));
      if (options.skip > all.length) throw new UsageError(`--skip ${options.skip} is past the end of the file (${all.length} records)`);
      const todo = all.slice(options.skip);
      if (todo.length === 0) throw new UsageError(`no records in ${options.file}`);
      const client = ctx.client();
      const path = ctx.tenantPath('/records');
      const bar = ctx.progress('ingesting [{bar}] {value}/{total} records', todo.length);
      const started = Date.now();
      let accepted = 0;
      let requests = 0;
      const uploads: (NonNullable<IngestAnswer['uploads']>[number] & { where: string })[] = [];
      try {
        for (const batch of batchesOf(todo, options.batchSize)) {
          let answer: IngestAnswer;
          try {
            answer = await client.post<IngestAnswer>(path, { records: batch.map((r) => r.record) });
          } catch (error) {
            throw refusal(error, batch, options.skip + accepted, options.file);
          }
          requests += 1;
          accepted += answer.accepted;
          for (const u of answer.uploads ?? []) uploads.push({ ...u, where: batch[u.index]?.where ?? `record ${u.index}` });
          bar.update(accepted);
        }
      } finally {
        bar.stop();
      }
      const summary = { file: options.file, accepted, skipped: options.skip, requests, durationMs: Date.now() - started, uploads };
      ctx.emit(summary, () => {
        ctx.print(`${accepted} record(s) ingested from ${options.file} in ${requests} request(s), ${(summary.durationMs / 1000).toFixed(1)} s`);
        if (uploads.length > 0) ctx.print(`${uploads.length} blob(s) to upload with PUT before their links expire (--json lists the URLs and headers)`);
      });
    });
  return records;
}

/** A refused body, in terms of the file: which lines, why, and where to resume. */
function refusal(error: unknown, batch: readonly FileRecord[], doneBefore: number, file: string): unknown {
  const first = batch[0]?.where ?? '?';
  const last = batch.at(-1)?.where ?? '?';
  const resume = doneBefore === 0 ? 'nothing was ingested' : `the ${doneBefore} record(s) before them were ingested; fix the file and re-run with --skip ${doneBefore}`;
  if (error instanceof ApiError) {
    const where = fileField(error.field, batch);
    const issues = error.issues.map((i) => ({ where: fileField(i.field, batch), message: i.message }));
    const why = where === undefined || where === error.field ? error.message : `${where} ${error.message.replace(/^records\.\d+(\.\S+)?:?\s*/u, '')}`;
    return new CliError(`${file}: the request with ${first} to ${last} was refused (all or nothing): ${why}; ${resume}`, {
      code: error.code,
      details: { status: error.status, ingestedBefore: doneBefore, firstRefused: first, ...(issues.length > 0 && { issues }) },
      cause: error,
    });
  }
  if (error instanceof Error) {
    // The body may have been stored before the answer was lost; sending it again is safe (a repeat of what is stored is accepted).
    return new CliError(`${file}: ${error.message} (sending ${first} to ${last}; it may have been stored); ${resume}`, {
      code: 'network_error',
      details: { ingestedBefore: doneBefore },
      cause: error,
    });
  }
  return error;
}
