/**
 * What the platform scenarios share: one API world per file with the
 * profile under test, the tenant's administrator calling the API, the
 * scheduled sweep through the rendered `Sweep` state machine (production task
 * handlers, emulator-backed stores), and views of what is stored — every
 * record item of a tenant and every blob — to assert both what went and what
 * stayed.
 */
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { ProfileName } from '../../shared/config/profiles.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import type { RecordItem } from '../../shared/domain/records.js';
import { runSweepLocally, sweepHandlers, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { apiWorld, CapturingLogger, registerTenant, SUPER, token, type Answer, type ApiWorld, type Role, type Token } from '../support/api.js';
import type { MemoryExternalProvider, MemoryMailer } from '../support/memory.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** A world with the profile's platform policy and these tenants registered (through the API). */
export async function scenarioWorld(profile: ProfileName, tenants: readonly string[]): Promise<ApiWorld> {
  const w = await apiWorld({ profile });
  for (const t of tenants) await registerTenant(w, t);
  return w;
}

/** Someone of `role` in tenant `t`. */
export const as = (role: Role, t: string): Token => token(role, t, `${role}@${t}`);
export { SUPER };

/** Calls `/v1/tenants/{t}{path}` as `who`. */
export function tenantCall(
  w: ApiWorld,
  t: string,
  who: Token,
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly query?: Readonly<Record<string, string>> } = {},
): Promise<Answer> {
  return w.call({ method, path: `/v1/tenants/${t}${path}`, token: who, ...options });
}

/** Ingests as the tenant's Administrator; fails the test on anything but 200. */
export async function ingestAs(w: ApiWorld, t: string, records: readonly IngestRecordInput[]): Promise<void> {
  const answer = await tenantCall(w, t, as('Administrator', t), 'POST', '/records', { body: { records } });
  expect(answer.status, answer.text).toBe(200);
}

/** Every record item of a tenant, whatever its partition (customers, account, users), read consistently. */
export async function storedItems(w: ApiWorld, t: string): Promise<RecordItem[]> {
  const items: RecordItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await w.stores.doc.send(
      new ScanCommand({ TableName: w.stores.tableNames.records, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...((page.Items ?? []) as RecordItem[]).filter((i) => i.tenantId === t));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Every blob key in the recordings and media buckets. */
export async function storedBlobs(w: ApiWorld): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const bucket of [w.stores.bucketNames.recordings, w.stores.bucketNames.media]) {
    let marker: string | undefined;
    do {
      const page = await w.stores.s3.send(new ListObjectsCommand({ Bucket: bucket, ...(marker !== undefined && { Marker: marker }) }));
      const contents = page.Contents ?? [];
      for (const o of contents) if (o.Key !== undefined) keys.add(o.Key);
      marker = page.IsTruncated === true ? contents.at(-1)?.Key : undefined;
    } while (marker !== undefined);
  }
  return keys;
}

/** An item's address in the table, for set comparisons. */
export const keyOf = (i: Pick<RecordItem, 'pk' | 'sk'>): string => `${i.pk}|${i.sk}`;

/** What the tenant holds: its items by key, and the blobs they point at that exist. */
export interface Snapshot {
  readonly items: readonly RecordItem[];
  readonly keys: ReadonlySet<string>;
  readonly blobs: ReadonlySet<string>;
}

export async function snapshot(w: ApiWorld, t: string): Promise<Snapshot> {
  const [items, blobs] = await Promise.all([storedItems(w, t), storedBlobs(w)]);
  return { items, keys: new Set(items.map(keyOf)), blobs };
}

export interface GoneOptions {
  /** Names the comparison in failure messages. */
  readonly what?: string;
  /** Items that may appear (e.g. analytics events moved out of an erased customer's partition). */
  readonly appeared?: (i: RecordItem) => boolean;
  /** Items that stay but lose their blob (anonymisation). */
  readonly blobGone?: (i: RecordItem) => boolean;
}

/**
 * Asserts that between `before` and `after` exactly the items `gone` picks
 * from `before` went (with their blobs), every other item and blob of the
 * tenant stayed, and nothing new appeared (unless `appeared` says what may).
 * Answers the items that went, for further checks.
 */
export function expectGone(before: Snapshot, after: Snapshot, gone: (i: RecordItem) => boolean, options: GoneOptions = {}): RecordItem[] {
  const what = options.what ?? 'items';
  const expected = before.items.filter(gone);
  const went = before.items.filter((i) => !after.keys.has(keyOf(i)));
  expect(went.map(keyOf).sort(), `${what}: what went`).toEqual(expected.map(keyOf).sort());
  const added = after.items.filter((i) => !before.keys.has(keyOf(i)) && options.appeared?.(i) !== true);
  expect(added.map(keyOf).sort(), `${what}: what appeared`).toEqual([]);
  for (const i of before.items) {
    if (i.blobKey === undefined || !before.blobs.has(i.blobKey)) continue;
    expect(after.blobs.has(i.blobKey), `${what}: blob of ${i.sk}`).toBe(!gone(i) && options.blobGone?.(i) !== true);
  }
  return expected;
}

/** Items of one customer (her partition). */
export const ofCustomer = (customerId: string) => (i: RecordItem): boolean => i.subjectId === customerId;

/** Items of one conversation or call: the record itself and what lives under it. */
export const under = (prefixSk: string) => (i: RecordItem): boolean => i.sk === prefixSk || i.sk.startsWith(`${prefixSk}#`);

let runs = 0;

export interface SweepOptions {
  /** Only these tenants (default: every tenant the sweep lists, as the schedule runs it). */
  readonly tenantIds?: readonly string[];
  /** Stage handler to use instead of the production one (to watch or fail a stage). */
  readonly stage?: (handlers: SweepHandlers) => SweepHandlers['stage'];
}

/**
 * The scheduled sweep: one execution of the `Sweep` state machine as CDK
 * defines it, run by aws-local-stepfunctions with the production handlers.
 * Answers each tenant's receipt of the run.
 */
export async function scheduledSweep(w: ApiWorld, options: SweepOptions = {}): Promise<(tenantId: string) => Promise<Receipt>> {
  runs += 1;
  const runId = `sweep-${runs}-${w.clock.now().getTime()}`;
  const handlers = sweepHandlers(w.runDeps, { stageBudgetMs: 60_000, logger: new CapturingLogger(w.logLines) });
  const used: SweepHandlers = options.stage === undefined ? handlers : { ...handlers, stage: options.stage(handlers) };
  await runSweepLocally(w.runDeps, used, options.tenantIds === undefined ? {} : { tenantIds: [...options.tenantIds] }, { executionName: runId });
  return async (tenantId) => {
    const receipt = await w.stores.control.getReceipt(tenantId, runId);
    expect(receipt, `receipt of ${tenantId}`).toBeDefined();
    return receipt as Receipt;
  };
}

/** The third-party DELETEs sent for a tenant, in order. */
export const providerDeletes = (w: ApiWorld, t: string): string[] =>
  (w.deps.external as MemoryExternalProvider).deleted.filter((d) => d.tenantId === t).map((d) => d.ref);

/** The e-mails sent so far. */
export const mails = (w: ApiWorld) => (w.deps.mailer as MemoryMailer).sent;

/** The sum of a count over a receipt's categories. */
export function total(receipt: Pick<Receipt, 'categories'>, count: 'examined' | 'deleted' | 'held' | 'failed' | 'kept'): number {
  return Object.values(receipt.categories).reduce((n, c) => n + (c?.[count] ?? 0), 0);
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Base64 of a short text, for inline blobs. */
export const blob = b64;
