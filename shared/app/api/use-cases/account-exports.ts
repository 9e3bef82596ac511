/**
 * Account-level exports (issue 13 item 6): `POST /exports` stores a running job
 * and starts it outside the request; `GET /exports/{id}` says how far it got
 * and, once complete, links each NDJSON part (7 days). The job itself is
 * `shared/domain/account-export.ts`.
 */
import {
  AccountExportNotFoundError,
  EXPORT_LINK_SECONDS,
  exportFiles,
  newAccountExport,
  type AccountExportFilter,
  type AccountExportJob,
  type AccountExportStarter,
  type AccountExportStore,
} from '../../../domain/account-export.js';
import { ConflictError } from '../../../domain/errors.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import type { AccountExportBody } from '../schemas.js';

/** This deployment has no account exports wired (a composition root without a job store or starter). */
export class AccountExportsUnavailableError extends ConflictError {
  override readonly name: string = 'AccountExportsUnavailableError';

  constructor() {
    super('exports: account exports are not available in this deployment yet', { field: 'exports' });
  }
}

function wired(app: ApiApp): { readonly jobs: AccountExportStore; readonly starter: AccountExportStarter } {
  const { exportJobs, accountExports } = app.deps;
  if (exportJobs === undefined || accountExports === undefined) throw new AccountExportsUnavailableError();
  return { jobs: exportJobs, starter: accountExports };
}

export async function startAccountExport(app: ApiApp, caller: Caller, tenant: Tenant, body: AccountExportBody): Promise<{ readonly exportId: string; readonly status: 'running' }> {
  const { jobs, starter } = wired(app);
  const filter: AccountExportFilter = {
    ...(body.categories !== undefined && { categories: [...new Set(body.categories)] }),
    ...(body.from !== undefined && { from: body.from }),
    ...(body.to !== undefined && { to: body.to }),
  };
  const job = newAccountExport({ tenantId: tenant.tenantId, exportId: app.ids.next('export'), filter, requestedBy: caller.actor, now: caller.now });
  await jobs.put(job);
  await audit(app, caller, {
    tenantId: tenant.tenantId,
    action: 'account_export.started',
    refs: { exportId: job.exportId },
    after: { categories: filter.categories?.join(',') ?? 'all', from: filter.from ?? null, to: filter.to ?? null },
  });
  await starter.start({ tenantId: tenant.tenantId, exportId: job.exportId });
  return { exportId: job.exportId, status: 'running' };
}

export async function getAccountExport(app: ApiApp, tenant: Tenant, exportId: string) {
  const { jobs } = wired(app);
  const job: AccountExportJob | undefined = await jobs.get(tenant.tenantId, exportId);
  if (job === undefined) throw new AccountExportNotFoundError();
  const files =
    job.status === 'completed'
      ? await Promise.all(exportFiles(job).map(async (f) => ({ category: f.category, key: f.key, url: await app.deps.blobs.presignGet('exports', f.key, EXPORT_LINK_SECONDS) })))
      : [];
  return {
    exportId: job.exportId,
    status: job.status,
    filter: job.filter,
    createdAt: job.createdAt,
    ...(job.completedAt !== undefined && { completedAt: job.completedAt }),
    counts: job.counts,
    files,
  };
}
