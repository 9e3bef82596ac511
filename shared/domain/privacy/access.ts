/**
 * Access requests: the subjects' export written to the exports bucket (sealed
 * under the subjects' keys where blobs are sealed), its link e-mailed later.
 */
import { buildSubjectExports } from '../export.js';
import { keys } from '../records.js';
import { load, type PrivacyDeps } from './deps.js';
import type { PrivacyOutcome } from './request.js';

/**
 * How long an access export's links work (the document's, and the blob links
 * inside it): 7 days, since they go out by e-mail to someone who may read it
 * days later. The export route's links are shorter (`DEFAULT_EXPORT_LINK_SECONDS`).
 */
export const EXPORT_LINK_SECONDS = 7 * 24 * 3600;

/**
 * Writes the JSON export of every subject of the request (the one export of
 * export.ts, as the export route answers it) to the exports bucket; the
 * document's link and the blob links inside it live `EXPORT_LINK_SECONDS`.
 */
export async function executeAccess(deps: PrivacyDeps, tenantId: string, requestId: string): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  if (request.subjectIds.length === 0) {
    const outcome: PrivacyOutcome = { status: 'completed', reason: 'no_data' };
    await deps.privacy.put({ ...request, ...outcome, updatedAt: deps.clock.now().toISOString() });
    return outcome;
  }
  const subjects = await buildSubjectExports(deps, tenantId, request.subjectIds, { linkSeconds: EXPORT_LINK_SECONDS });
  const document = { requestId, tenantId, generatedAt: deps.clock.now().toISOString(), subjects };
  const exportKey = `exports/${tenantId}/${requestId}.json`;
  // Sealed under the subjects' keys (where blobs are sealed): the erasure of any one of them leaves every copy unreadable.
  const owner = { tenantId, subjectPks: request.subjectIds.map((subjectId) => keys.subjectPk(tenantId, subjectId)) };
  await deps.blobs.put('exports', exportKey, JSON.stringify(document, null, 2), 'application/json', owner);
  // A download link of the API where blobs are sealed (it opens the document; 404 once it or its keys are gone).
  const exportUrl = await deps.blobs.presignGet('exports', exportKey, EXPORT_LINK_SECONDS);
  const outcome: PrivacyOutcome = { status: 'completed' };
  await deps.privacy.put({ ...request, ...outcome, exportKey, exportUrl, updatedAt: deps.clock.now().toISOString() });
  return outcome;
}
