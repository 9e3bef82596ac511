/**
 * Anonymisation of one communication record (a call, a message, a form
 * submission, a web session) with what hangs off it (recordings, third-party
 * call data, attachments and media): what points elsewhere — blobs, the
 * provider's copy — goes through the one executor (`contentOnly`), the
 * identifying values of every record become random tokens, and the records
 * stay, so counts and timelines keep them.
 */
import type { CountsByCategory } from '../deletion/counts.js';
import { countOutcome } from '../deletion/counts.js';
import { executeDeletion, type DeletionDeps } from '../deletion/executor.js';
import type { HoldTarget } from '../holds.js';
import { recordKeyString, type RecordItem } from '../records.js';
import type { Tenant } from '../tenant.js';

/**
 * Fields of a record's `data` that can identify a person or carry what they
 * said: anonymisation replaces their values (each element of an array, each
 * value of an object) by random tokens. Times, durations, channels, directions,
 * sizes and counts stay.
 */
export const IDENTIFYING_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'phones',
  'emails',
  'phone',
  'email',
  'externalId',
  'text',
  'notes',
  'transcript',
  'actor',
  'url',
  'address',
  'customAttributes',
  // Form submissions: what was typed in; the page it was typed on (a URL may carry it too).
  'fields',
  'page',
  // Web sessions: URLs with their query strings.
  'landingPage',
  'referrer',
]);

/** The communication records that can be anonymised one at a time. */
export const ANONYMIZABLE_RECORD_TYPES = ['call', 'message', 'form_submission', 'web_session'] as const;
export type AnonymizableRecordType = (typeof ANONYMIZABLE_RECORD_TYPES)[number];

function tokenized(value: unknown, token: () => string): unknown {
  if (Array.isArray(value)) return value.map(() => token());
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.keys(value).map((k) => [k, token()]));
  return token();
}

/** `data` with every identifying value replaced by a token; the rest as it was. */
export function anonymizedData(data: Readonly<Record<string, unknown>> | undefined, token: () => string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(data ?? {}) };
  for (const field of Object.keys(out)) {
    if (IDENTIFYING_FIELDS.has(field) && out[field] !== undefined && out[field] !== null) out[field] = tokenized(out[field], token);
  }
  return out;
}

export interface RecordAnonymizationInput {
  readonly tenant: Tenant;
  /** The record and what hangs off it, all in one partition. */
  readonly items: readonly RecordItem[];
  readonly isHeld: (target: HoldTarget) => boolean;
  /** A fresh random token per call (never derived from the value it replaces). */
  readonly token: () => string;
  readonly now: Date;
  /** No partition is read after it (the items are handed in whole, so none is). */
  readonly deadline: Date;
  /** No third-party call starts after it. */
  readonly callsUntil: Date;
}

export interface RecordAnonymizationResult {
  /** Per category: `deleted` = content gone and identifying values replaced; `failed` = content still there. */
  readonly counts: CountsByCategory;
  /** Records whose identifying values were replaced. */
  readonly anonymized: number;
  /** Records whose blob or third-party copy could not be deleted (their pointers stay, for a repeat). */
  readonly failed: number;
  /** Customers (ids) one of whose records changed. */
  readonly subjects: ReadonlySet<string>;
}

/**
 * Anonymises the items. The caller has refused held ones (a hold keeps the
 * record as it is); any still held here are left untouched and counted held.
 * A record loses its blob or provider pointer only once what it points to is
 * gone, so a repeat finishes what a failed provider left.
 */
export async function anonymizeRecords(deps: DeletionDeps, input: RecordAnonymizationInput): Promise<RecordAnonymizationResult> {
  const { tenant, items } = input;
  const result = await executeDeletion(deps, {
    roots: items.map((record) => ({ tenant, record, expand: false, contentOnly: true })),
    rules: () => ({ isHeld: input.isHeld }),
    dryRun: false,
    deadline: input.deadline,
    callsUntil: input.callsUntil,
  });
  const counts: CountsByCategory = {};
  const subjects = new Set<string>();
  let anonymized = 0;
  let failed = 0;
  for (const item of items) {
    const outcome = result.items.get(recordKeyString(item))?.outcome ?? 'failed';
    if (outcome === 'held') {
      countOutcome(counts, item.category, 'held');
      continue;
    }
    const contentGone = outcome === 'deleted';
    const remove: string[] = [];
    if (contentGone) {
      if (item.blobBucket !== undefined) remove.push('blobBucket', 'blobKey');
      if (item.externalRef !== undefined) remove.push('externalRef');
    }
    const data = anonymizedData(item.data, input.token);
    const written = await deps.records.update(item, { set: { data, anonymizedAt: input.now.toISOString() }, ...(remove.length > 0 && { remove }) });
    if (written) {
      anonymized += 1;
      if (item.subjectId !== undefined) subjects.add(item.subjectId);
    }
    const ok = written && contentGone;
    if (!ok) failed += 1;
    countOutcome(counts, item.category, ok ? 'deleted' : 'failed');
  }
  return { counts, anonymized, failed, subjects };
}
