/**
 * Shape validation of an ingest body, record by record, into typed records and
 * `{ index, field, message }` issues (so every invalid record is reported).
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { INGEST_RECORD_TYPES, ingestRecordSchema, MAX_RECORDS_PER_BODY, type IngestBody, type IngestRecord } from './schemas.js';

// ---------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------

/** One problem with a body: the record's index (null for the body itself) and a dotted field path. */
export interface IngestIssue {
  readonly index: number | null;
  readonly field: string;
  readonly message: string;
}

/** A body was rejected; `issues` lists every problem, `field` names the first. */
export class IngestValidationError extends ValidationError {
  override readonly name: string = 'IngestValidationError';
  readonly issues: readonly IngestIssue[];

  constructor(issues: readonly IngestIssue[]) {
    const first = issues[0] ?? { field: 'records', message: 'is invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(first.field, `${first.field} ${first.message}${more}`);
    this.issues = issues;
  }
}

function issueAt(path: readonly PropertyKey[], message: string): IngestIssue {
  const index = path[0] === 'records' && typeof path[1] === 'number' ? path[1] : null;
  const field = path.length === 0 ? 'body' : path.map(String).join('.');
  return { index, field, message };
}

function zodIssues(error: z.ZodError): IngestIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => issueAt([...issue.path, key], 'is not a field of this record type'));
    }
    if (issue.code === 'invalid_union' && issue.path.at(-1) === 'type') {
      return [issueAt(issue.path, `must be one of ${INGEST_RECORD_TYPES.join(', ')}`)];
    }
    return [issueAt(issue.path, issue.message)];
  });
}

const requiredFieldMessages: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

const bodyEnvelopeSchema = z.strictObject({
  records: z
    .array(z.unknown())
    .min(1, 'must hold at least one record')
    .max(MAX_RECORDS_PER_BODY, `must hold at most ${MAX_RECORDS_PER_BODY} records`),
});

export interface ParsedRecords {
  /** Per index: the parsed record, or undefined where it is invalid. */
  readonly records: readonly (IngestRecord | undefined)[];
  /** Ids of conversations and calls among the invalid records, so their children are not blamed too. */
  readonly invalidParents: ReadonlySet<string>;
  readonly issues: IngestIssue[];
}

/** Parses record by record, so every invalid record is reported, and valid ones can still be cross-checked. */
export function parseRecords(body: unknown): ParsedRecords {
  const envelope = bodyEnvelopeSchema.safeParse(body, { error: requiredFieldMessages });
  if (!envelope.success) return { records: [], invalidParents: new Set(), issues: zodIssues(envelope.error) };
  const issues: IngestIssue[] = [];
  const invalidParents = new Set<string>();
  const records = envelope.data.records.map((raw, index) => {
    const parsed = ingestRecordSchema.safeParse(raw, { error: requiredFieldMessages });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) issue.path.unshift('records', index);
    issues.push(...zodIssues(parsed.error));
    const { type, id } = (typeof raw === 'object' && raw !== null ? raw : {}) as { type?: unknown; id?: unknown };
    if ((type === 'conversation' || type === 'call') && typeof id === 'string') invalidParents.add(`${type}:${id}`);
    return undefined;
  });
  return { records, invalidParents, issues };
}

/** Validates the shape of a body (every field of every record); no cross-record checks. */
export function parseIngestBody(
  body: unknown,
): { readonly ok: true; readonly body: IngestBody } | { readonly ok: false; readonly issues: IngestIssue[] } {
  const { records, issues } = parseRecords(body);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, body: { records: records as IngestRecord[] } };
}
