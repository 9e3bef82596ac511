/**
 * Account-level export (issue 13 item 6): every live record of a tenant — or
 * those of some categories, or whose clock started in a date range — written
 * to the exports bucket as NDJSON per category, with the blobs they point to,
 * under one folder per job:
 *
 *   account-exports/<tenant>/<exportId>/<category>/part-00001.ndjson
 *   account-exports/<tenant>/<exportId>/blobs/<category>/<record id>
 *
 * It runs a step at a time (`accountExportStep`): each step reads one page
 * of a category's index entries (the `byRetention` index, every shard, with
 * an open cutoff), reads those records whole through the `RecordStore` (the
 * sealed store opens them), writes one part and its blobs, and saves the
 * job's position and counts. Memory is bounded by a page; a step interrupted
 * half-way writes the same part again (same key) on the next, so the job
 * resumes where its last saved position was, and scales to millions of
 * records by looping. The export's objects are sealed as access exports are:
 * a part under the subject keys of the customers and users in it (so erasing
 * any of them makes it unreadable, and never leaves her data readable), one
 * of account records only under the first record's keys, a blob under its
 * record's own keys; the exports bucket expires them after 7 days.
 * Job state and logs carry ids, categories and counts only.
 */
import { CATALOG, CATEGORIES, type Category } from './catalog.js';
import { NotFoundError } from './errors.js';
import type { BlobOwner, BlobStore, Clock, ControlStore, Mailer, RecordStore } from './ports.js';
import { keys, retentionShardsOf, type RecordItem } from './records.js';

/** Records a part holds at most (one index page). */
export const EXPORT_PAGE_SIZE = 1000;

/** How long the links the job's GET hands out and its e-mail promises stay valid. */
export const EXPORT_LINK_SECONDS = 7 * 24 * 3600;

const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

export interface AccountExportFilter {
  /** Only these categories (default: every category). */
  readonly categories?: readonly Category[];
  /** Only records whose clock started at or after this instant (ISO-8601). */
  readonly from?: string;
  /** Only records whose clock started before this instant. */
  readonly to?: string;
}

export interface AccountExportCounts {
  records: number;
  parts: number;
  blobs: number;
  /** Blobs a record points to that were not there (not uploaded yet, or their keys shredded). */
  blobsMissing: number;
}

export interface AccountExportJob {
  readonly tenantId: string;
  readonly exportId: string;
  readonly status: 'running' | 'completed' | 'failed';
  readonly filter: AccountExportFilter;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Keyed hash of the admin who asked (as audit events name actors). */
  readonly requestedBy: string;
  /** Where the next step starts: index into the job's categories, the index cursor, the next part's number. */
  readonly position?: { readonly category: number; readonly cursor?: string; readonly part: number };
  readonly counts: Partial<Record<Category, AccountExportCounts>>;
  readonly completedAt?: string;
  /** When the link e-mail went to the tenant's admins. */
  readonly notifiedAt?: string;
}

/** Where export jobs are kept (the control table). */
export interface AccountExportStore {
  put(job: AccountExportJob): Promise<void>;
  get(tenantId: string, exportId: string): Promise<AccountExportJob | undefined>;
  list(tenantId: string, options?: { readonly limit?: number }): Promise<AccountExportJob[]>;
}

/** Starts the asynchronous part of an export (the privacy/export workflow; in-process locally). */
export interface AccountExportStarter {
  start(input: { readonly tenantId: string; readonly exportId: string }): Promise<void>;
}

export interface AccountExportDeps {
  readonly records: RecordStore;
  readonly blobs: BlobStore;
  readonly control: ControlStore;
  readonly exportJobs: AccountExportStore;
  readonly mailer: Mailer;
  readonly clock: Clock;
}

export class AccountExportNotFoundError extends NotFoundError {
  override readonly name: string = 'AccountExportNotFoundError';

  constructor() {
    super('id: no such export', { field: 'id' });
  }
}

/** The job's folder in the exports bucket. */
export const exportPrefix = (tenantId: string, exportId: string): string => `account-exports/${tenantId}/${exportId}`;
export const partKey = (tenantId: string, exportId: string, category: Category, part: number): string =>
  `${exportPrefix(tenantId, exportId)}/${category}/part-${String(part).padStart(5, '0')}.ndjson`;
export const exportBlobKey = (tenantId: string, exportId: string, category: Category, recordId: string): string =>
  `${exportPrefix(tenantId, exportId)}/blobs/${category}/${encodeURIComponent(recordId)}`;

/** The categories a job exports, in catalog order. */
export function exportCategories(filter: AccountExportFilter): Category[] {
  const wanted = filter.categories === undefined ? undefined : new Set(filter.categories);
  // Third-party call data lives with the provider: Lethe holds only the marker record, which is exported like any other.
  return CATEGORIES.filter((c) => wanted === undefined || wanted.has(c));
}

/** A fresh job, running, at its start. */
export function newAccountExport(input: { readonly tenantId: string; readonly exportId: string; readonly filter: AccountExportFilter; readonly requestedBy: string; readonly now: Date }): AccountExportJob {
  const at = input.now.toISOString();
  return {
    tenantId: input.tenantId,
    exportId: input.exportId,
    status: 'running',
    filter: input.filter,
    createdAt: at,
    updatedAt: at,
    requestedBy: input.requestedBy,
    position: { category: 0, part: 1 },
    counts: {},
  };
}

/** One exported line: the record's ids, category and clocks beside its data; never internal keys. */
function lineOf(item: RecordItem, blob: string | undefined): Record<string, unknown> {
  return {
    category: item.category,
    id: item.id,
    ...(item.subjectId !== undefined && { customerId: item.subjectId }),
    ...(item.conversationId !== undefined && { conversationId: item.conversationId }),
    ...(item.callId !== undefined && { callId: item.callId }),
    clockStart: item.clockStart,
    ...(item.status !== undefined && { status: item.status }),
    data: item.data ?? null,
    ...(blob !== undefined && { blob }),
  };
}

const isSubjectPartition = (item: RecordItem): boolean => item.pk !== keys.accountPk(item.tenantId);

/** Whose keys seal a part: the subjects in it; a part of account records alone, its first record. */
function partOwner(tenantId: string, items: readonly RecordItem[]): BlobOwner {
  const subjectPks = [...new Set(items.filter(isSubjectPartition).map((i) => i.pk))];
  return subjectPks.length > 0 ? { tenantId, subjectPks } : (items[0] as RecordItem);
}

/** Whether a record is live and inside the filter: not past its backstop, its clock in the range. */
function wanted(item: RecordItem, filter: AccountExportFilter, now: Date): boolean {
  if (item.expiresAt !== undefined && item.expiresAt * 1000 <= now.getTime()) return false;
  if (filter.from !== undefined && item.clockStart < filter.from) return false;
  if (filter.to !== undefined && item.clockStart >= filter.to) return false;
  return true;
}

export interface StepOptions {
  /** No new page starts after it (at least one does, so every step makes progress). */
  readonly deadline: Date;
  /** @default EXPORT_PAGE_SIZE */
  readonly pageSize?: number;
}

/**
 * Exports pages until the deadline or the end, saving the position after each
 * part; at the end, completes the job and e-mails the tenant's admins.
 * Resolves `done` when there is nothing left to do.
 */
export async function accountExportStep(deps: AccountExportDeps, tenantId: string, exportId: string, options: StepOptions): Promise<{ readonly done: boolean; readonly status: AccountExportJob['status'] }> {
  const stored = await deps.exportJobs.get(tenantId, exportId);
  if (stored === undefined) throw new AccountExportNotFoundError();
  let job: AccountExportJob = stored;
  if (job.status !== 'running') return { done: true, status: job.status };
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === undefined) throw new NotFoundError('t: no such tenant', { field: 't' });
  const categories = exportCategories(job.filter);
  const filter = job.filter;
  const to = job.filter.to === undefined ? END_OF_TIME : new Date(job.filter.to);
  let pages = 0;
  while (job.position !== undefined && job.position.category < categories.length) {
    if (pages > 0 && deps.clock.now().getTime() >= options.deadline.getTime()) return { done: false, status: 'running' };
    pages += 1;
    const position: NonNullable<AccountExportJob['position']> = job.position;
    const category = categories[position.category] as Category;
    // The index clock is the earlier of the record's and its container's: every record whose own clock is before `to` is found, and judged by its own.
    const page = await deps.records.findDueForDeletion(tenantId, category, to, {
      shards: retentionShardsOf(tenant),
      limit: options.pageSize ?? EXPORT_PAGE_SIZE,
      ...(position.cursor !== undefined && { cursor: position.cursor }),
    });
    const now = deps.clock.now();
    const items = (await deps.records.getBatch(page.items.map((r) => ({ pk: r.pk, sk: r.sk }))))
      .filter((i) => i.category === category && i.sk !== undefined && wanted(i, filter, now))
      .sort((a, b) => (a.pk + a.sk < b.pk + b.sk ? -1 : a.pk + a.sk > b.pk + b.sk ? 1 : 0));
    const counts: AccountExportCounts = { ...(job.counts[category] ?? { records: 0, parts: 0, blobs: 0, blobsMissing: 0 }) };
    if (items.length > 0) {
      const lines: string[] = [];
      for (const item of items) {
        let blob: string | undefined;
        if (item.blobBucket !== undefined && item.blobKey !== undefined && CATALOG[category].store.kind === 'blob') {
          const stored = await deps.blobs.read(item.blobBucket, item.blobKey);
          if (stored === undefined) counts.blobsMissing += 1;
          else {
            blob = exportBlobKey(tenantId, exportId, category, item.id);
            await deps.blobs.put('exports', blob, stored.body, stored.contentType, item);
            counts.blobs += 1;
          }
        }
        lines.push(JSON.stringify(lineOf(item, blob)));
      }
      await deps.blobs.put('exports', partKey(tenantId, exportId, category, position.part), `${lines.join('\n')}\n`, 'application/x-ndjson', partOwner(tenantId, items));
      counts.records += items.length;
      counts.parts += 1;
    }
    const next: NonNullable<AccountExportJob['position']> =
      page.cursor === undefined
        ? { category: position.category + 1, part: 1 }
        : { category: position.category, cursor: page.cursor, part: items.length > 0 ? position.part + 1 : position.part };
    job = { ...job, position: next, counts: { ...job.counts, ...(counts.records > 0 || job.counts[category] !== undefined ? { [category]: counts } : {}) }, updatedAt: now.toISOString() };
    await deps.exportJobs.put(job);
  }
  const { position: _done, ...finished } = job;
  const completed: AccountExportJob = { ...finished, status: 'completed', completedAt: deps.clock.now().toISOString(), updatedAt: deps.clock.now().toISOString() };
  await deps.exportJobs.put(completed);
  await notifyAdmins(deps, completed, tenant.adminEmails ?? []);
  return { done: true, status: 'completed' };
}

/** The e-mail to the tenant's admins: ids and counts, and where the links are; never data. */
async function notifyAdmins(deps: AccountExportDeps, job: AccountExportJob, to: readonly string[]): Promise<void> {
  if (to.length === 0 || job.notifiedAt !== undefined) return;
  const total = Object.values(job.counts).reduce((n, c) => n + c.records, 0);
  const files = Object.values(job.counts).reduce((n, c) => n + c.parts + c.blobs, 0);
  await deps.mailer.send({
    to,
    subject: `[Lethe] Account export ${job.exportId} is ready: tenant ${job.tenantId}`,
    text: [
      `The account export ${job.exportId} of tenant ${job.tenantId} is complete: ${total} records in ${files} files.`,
      '',
      `Download links: GET /v1/tenants/${job.tenantId}/exports/${job.exportId} (each link is valid for 7 days; the files expire after 7 days).`,
    ].join('\n'),
  });
  await deps.exportJobs.put({ ...job, notifiedAt: deps.clock.now().toISOString() });
}

/** The job's files: one per part and blob, in category order. */
export function exportFiles(job: AccountExportJob): { readonly category: Category; readonly key: string; readonly kind: 'ndjson' }[] {
  const out: { category: Category; key: string; kind: 'ndjson' }[] = [];
  for (const category of exportCategories(job.filter)) {
    const parts = job.counts[category]?.parts ?? 0;
    for (let p = 1; p <= parts; p += 1) out.push({ category, key: partKey(job.tenantId, job.exportId, category, p), kind: 'ndjson' });
  }
  return out;
}
