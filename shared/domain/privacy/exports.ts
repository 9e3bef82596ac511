/**
 * Access exports die with their subjects: an erasure or anonymisation deletes
 * the export documents earlier access requests wrote about the same customers
 * (the exports bucket is not versioned, so the object is gone and its link
 * answers 404), and the access request stops showing the link and says when
 * and by which request the export went.
 */
import type { PrivacyDeps } from './deps.js';
import type { PrivacyRequest } from './request.js';

/** What deleting the exports of some subjects did. */
export interface ExportDeletion {
  /** Export documents deleted. */
  readonly deleted: number;
  /** Export documents whose deletion failed (their requests still point to them; a re-run tries again). */
  readonly failed: number;
}

type ExportDeps = Pick<PrivacyDeps, 'privacy' | 'blobs' | 'clock'>;

/**
 * The tenant's access requests whose export document is still stored, to be
 * matched against each batch of an erasure (read once per execution chunk).
 */
export async function storedAccessExports(deps: Pick<PrivacyDeps, 'privacy'>, tenantId: string): Promise<PrivacyRequest[]> {
  return (await deps.privacy.list(tenantId)).filter((r) => r.kind === 'access' && r.exportKey !== undefined);
}

/**
 * Deletes the export of every access request in `exports` that names one of
 * `subjectIds` (the whole document: it is one file, whoever else it covers),
 * then marks each request: no `exportKey`/`exportUrl`, `exportDeletedAt` now,
 * `exportDeletedBy` the erasing request. The object goes first, so a crash in
 * between leaves a request that a retry deletes (a no-op) and marks. The
 * requests handled are taken out of `exports`.
 */
export async function deleteAccessExports(
  deps: ExportDeps,
  exports: PrivacyRequest[],
  subjectIds: Iterable<string>,
  byRequestId: string,
): Promise<ExportDeletion> {
  const subjects = new Set(subjectIds);
  const targets = exports.filter((r) => r.subjectIds.some((s) => subjects.has(s)));
  if (targets.length === 0) return { deleted: 0, failed: 0 };
  const result = await deps.blobs.deleteBatch('exports', targets.map((r) => r.exportKey as string));
  const gone = new Set(result.succeeded);
  let deleted = 0;
  let failed = 0;
  for (const target of targets) {
    if (!gone.has(target.exportKey as string)) {
      failed += 1;
      continue;
    }
    exports.splice(exports.indexOf(target), 1);
    // Read again: the access request's own notify step may have written it since the list.
    const current = await deps.privacy.get(target.tenantId, target.requestId);
    deleted += 1;
    if (current === undefined) continue;
    const { exportKey: _key, exportUrl: _url, ...rest } = current;
    const at = deps.clock.now().toISOString();
    await deps.privacy.put({ ...rest, exportDeletedAt: at, exportDeletedBy: byRequestId, updatedAt: at });
  }
  return { deleted, failed };
}
