/** Anonymisation of a request's subjects: identifying values replaced by random tokens, content deleted. */
import { executeDeletion, type DeletionRoot } from '../deletion/executor.js';
import { ConflictError } from '../errors.js';
import { makeEvent, publishEvents, type EventOrigin } from '../events.js';
import { holdMatcher } from '../holds.js';
import { isIdentifierSk, recordKeyString, type RecordItem } from '../records.js';
import { load, tenantOf, type PrivacyDeps } from './deps.js';
import { deleteAccessExports, storedAccessExports } from './exports.js';
import type { PrivacyOutcome } from './request.js';

/** Fields of a record's data that identify a person; anonymisation replaces them. */
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
  // Form submissions and web sessions: what was typed, and pages whose address may carry it.
  'page',
  'landingPage',
  'referrer',
]);

/** Fields of a record's data that hold a person's data with no use once she is anonymous; anonymisation removes them. */
export const REMOVED_FIELDS: ReadonlySet<string> = new Set(['address', 'customAttributes', 'fields']);

/**
 * A record's data anonymised: identifying values replaced by random tokens
 * (a list by as many tokens), personal data without use removed, the rest
 * (times, channel, durations, counts) kept.
 */
export function anonymisedData(data: Readonly<Record<string, unknown>>, random: () => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(data)) {
    if (REMOVED_FIELDS.has(field)) continue;
    out[field] = !IDENTIFYING_FIELDS.has(field) ? v : Array.isArray(v) ? v.map(() => token(random)) : token(random);
  }
  return out;
}

function token(random: () => string): string {
  return `anon_${random()}`;
}

/**
 * Anonymises the subjects: identifying values become irreversible random
 * tokens, personal data without use (address, custom attributes, form fields)
 * removed, blobs and third-party data deleted (through the one executor),
 * identifiers removed (so no lookup finds the subject), analytics events
 * unlinked from the subject, non-identifying metadata (times, channel,
 * durations) kept. Held records are left as they are. Earlier access exports
 * of the subjects are deleted (counted on the request's `exportsDeleted`).
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
  const origin: EventOrigin = { kind: 'anonymisation', requestId };
  const anonymised: string[] = [];
  for (const subjectId of request.subjectIds) {
    const heldBefore = held;
    const failedBefore = failed;
    const items = await deps.records.findBySubject(tenantId, subjectId);
    // Identifiers go, analytics events are unlinked from her; the other records lose their
    // content (blob, third-party data) and keep the rest.
    const stays = (record: RecordItem) => !isIdentifierSk(record.sk) && record.category !== 'analytics_event';
    const roots: DeletionRoot[] = items.map((record) => ({ tenant, record, expand: false, ...(stays(record) && { contentOnly: true }) }));
    const result = await executeDeletion(deps, { roots, rules: () => ({ isHeld }), dryRun: false, deadline: options.deadline, unlinkAnalytics: true, origin });
    for (const item of items) {
      const outcome = result.items.get(recordKeyString(item));
      if (outcome?.outcome === 'held') {
        if (!isIdentifierSk(item.sk)) held += 1;
        continue;
      }
      if (!stays(item)) {
        if (outcome?.outcome === 'failed') failed += 1;
        continue;
      }
      const data = anonymisedData(item.data ?? {}, deps.random);
      const set: Record<string, unknown> = { data, anonymizedAt: now.toISOString() };
      const remove: string[] = [];
      // A record loses its pointers only once what they point to is gone.
      if (outcome?.outcome === 'deleted') {
        if (item.blobBucket !== undefined) remove.push('blobBucket', 'blobKey');
        if (item.externalRef !== undefined) remove.push('externalRef');
      } else if (item.blobKey !== undefined || item.externalRef !== undefined) failed += 1;
      await deps.records.update(item, { set, remove });
    }
    if (held === heldBefore && failed === failedBefore) anonymised.push(subjectId);
  }
  // After the records are written: what cannot be published fails nothing (the adapter logs it).
  await publishEvents(
    deps.events,
    anonymised.map((customerId) => makeEvent('SubjectAnonymised', tenantId, deps.clock.now(), { origin, customerId }, [requestId, customerId])),
  );
  // Her earlier access exports hold her identifiers as they were: they go too.
  const exportDeletion = await deleteAccessExports(deps, await storedAccessExports(deps, tenantId), request.subjectIds, requestId);
  failed += exportDeletion.failed;
  if (failed > 0) throw new ConflictError(`${failed} blob(s), third-party record(s) or analytics event(s) of request ${requestId} could not be deleted or unlinked`);
  const outcome: PrivacyOutcome = held > 0 ? { status: 'partially_completed', reason: 'legal_hold' } : { status: 'completed' };
  await deps.privacy.put({ ...request, ...outcome, exportsDeleted: (request.exportsDeleted ?? 0) + exportDeletion.deleted, updatedAt: deps.clock.now().toISOString() });
  return outcome;
}
