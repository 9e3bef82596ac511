/** Anonymisation of a request's subjects: identifying values replaced by random tokens, content deleted. */
import { executeDeletion, type DeletionRoot } from '../deletion/executor.js';
import { ConflictError } from '../errors.js';
import { holdMatcher } from '../holds.js';
import { isIdentifierSk, recordKeyString } from '../records.js';
import { load, tenantOf, type PrivacyDeps } from './deps.js';
import type { PrivacyOutcome } from './request.js';

/** Fields of a record's data that identify a person; anonymisation replaces them. */
const IDENTIFYING_FIELDS = new Set(['name', 'phones', 'emails', 'phone', 'email', 'externalId', 'text', 'notes', 'transcript', 'actor', 'url']);

function token(random: () => string): string {
  return `anon_${random()}`;
}

/**
 * Anonymises the subjects: identifying values become irreversible random
 * tokens, blobs and third-party data are deleted (through the one executor),
 * identifiers removed (so no lookup finds the subject), non-identifying
 * metadata (times, channel, durations) kept. Held records are left as they are.
 */
export async function executeAnonymization(
  deps: PrivacyDeps & { readonly random: () => string },
  tenantId: string,
  requestId: string,
  options: { readonly deadline: Date },
): Promise<PrivacyOutcome> {
  const request = await load(deps, tenantId, requestId);
  const tenant = await tenantOf(deps, tenantId);
  const now = deps.clock.now();
  const isHeld = holdMatcher(await deps.control.listHolds(tenantId), now);
  let held = 0;
  let failed = 0;
  for (const subjectId of request.subjectIds) {
    const items = await deps.records.findBySubject(tenantId, subjectId);
    // Identifiers go; the other records lose their content (blob, third-party data) and keep the rest.
    const roots: DeletionRoot[] = items.map((record) => ({ tenant, record, expand: false, ...(!isIdentifierSk(record.sk) && { contentOnly: true }) }));
    const result = await executeDeletion(deps, { roots, rules: () => ({ isHeld }), dryRun: false, deadline: options.deadline });
    for (const item of items) {
      if (isIdentifierSk(item.sk)) continue;
      const outcome = result.items.get(recordKeyString(item));
      if (outcome?.outcome === 'held') {
        held += 1;
        continue;
      }
      const data = { ...(item.data ?? {}) } as Record<string, unknown>;
      for (const field of Object.keys(data)) {
        if (!IDENTIFYING_FIELDS.has(field)) continue;
        const v = data[field];
        data[field] = Array.isArray(v) ? v.map(() => token(deps.random)) : token(deps.random);
      }
      const set: Record<string, unknown> = { data, anonymizedAt: now.toISOString() };
      const remove: string[] = [];
      // A record loses its pointers only once what they point to is gone.
      if (outcome?.outcome === 'deleted') {
        if (item.blobBucket !== undefined) remove.push('blobBucket', 'blobKey');
        if (item.externalRef !== undefined) remove.push('externalRef');
      } else if (item.blobKey !== undefined || item.externalRef !== undefined) failed += 1;
      await deps.records.update(item, { set, remove });
    }
  }
  if (failed > 0) throw new ConflictError(`${failed} blob(s) or third-party record(s) of request ${requestId} could not be deleted`);
  const outcome: PrivacyOutcome = held > 0 ? { status: 'partially_completed', reason: 'legal_hold' } : { status: 'completed' };
  await deps.privacy.put({ ...request, ...outcome, updatedAt: deps.clock.now().toISOString() });
  return outcome;
}
