/**
 * Ingest of governed records (`POST /records`): all or nothing. The body is
 * validated whole, with the conversations and calls it refers to looked up
 * beforehand; blobs are stored before the items that point to them; blobs
 * sent without content get a pre-signed upload URL. DESIGN.md §5.
 */
import { watermarkLowers } from '../../../domain/sweep/watermarks.js';
import { forEachLimited } from '../../../domain/deletion/counts.js';
import type { StoredParent } from '../../../domain/ingest/batch.js';
import { IngestValidationError, parseIngestBody, type IngestIssue } from '../../../domain/ingest/parse.js';
import { storedParentsToRead, validateIngest, type ExternalParents, type IngestWrite } from '../../../domain/ingest/plan.js';
import { ID_PATTERN, MAX_RECORDS_PER_BODY } from '../../../domain/ingest/schemas.js';
import type { BlobStore, RecordStore } from '../../../domain/ports.js';
import { holdMatcher, holdsOn, type LegalHold } from '../../../domain/holds.js';
import { earliestContact, isIdentifierSk, keys, recordKeyString, retentionShardsOf, type RecordItem, type RecordKey } from '../../../domain/records.js';
import type { Tenant } from '../../../domain/tenant.js';
import { audit, type ApiApp, type Caller } from '../app.js';
import { HeldError } from '../errors.js';

/**
 * Upload URLs live 15 minutes: an upload is expected at once, and a URL used
 * after its record was deleted only leaves an orphan for the blob guard to
 * delete (shared/app/blob-guard.ts), so it should not be usable for long.
 */
const UPLOAD_URL_SECONDS = 15 * 60;
const CONCURRENCY = 8;

export interface UploadInstruction {
  readonly index: number;
  readonly recordId: string;
  readonly method: 'PUT';
  readonly url: string;
  /** Headers the upload must send: the content type is part of the signature. */
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: string;
}

export interface IngestResult {
  readonly accepted: number;
  readonly uploads?: UploadInstruction[];
}

function decodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

/** The parents named by the records of a body that did not parse, read leniently. */
function parentsNamed(body: unknown): ExternalParents {
  const raw = (body as { records?: unknown } | null)?.records;
  const records = Array.isArray(raw) ? raw.slice(0, MAX_RECORDS_PER_BODY) : [];
  const conversations = new Map<string, { customerId: string; conversationId: string }>();
  const calls = new Map<string, { customerId: string; callId: string }>();
  for (const r of records as Record<string, unknown>[]) {
    if (typeof r !== 'object' || r === null) continue;
    const { customerId, conversationId, callId } = r;
    if (typeof customerId !== 'string' || !ID_PATTERN.test(customerId)) continue;
    if (typeof conversationId === 'string' && ID_PATTERN.test(conversationId)) {
      conversations.set(JSON.stringify([customerId, conversationId]), { customerId, conversationId });
    }
    if (r.type === 'recording' && typeof callId === 'string' && ID_PATTERN.test(callId)) {
      calls.set(JSON.stringify([customerId, callId]), { customerId, callId });
    }
    if (typeof r.id === 'string' && ID_PATTERN.test(r.id)) {
      if (r.type === 'conversation') conversations.set(JSON.stringify([customerId, r.id]), { customerId, conversationId: r.id });
      if (r.type === 'call') calls.set(JSON.stringify([customerId, r.id]), { customerId, callId: r.id });
    }
  }
  return { conversations: [...conversations.values()], calls: [...calls.values()] };
}

/**
 * Writes a body's items so that each profile's activity watermark stays an upper
 * bound of every clock under it: profiles first (keeping their watermark), then
 * the raises (a bound raised early is still a bound; one raised late would leave
 * records uncovered meanwhile), then the other items; a profile not yet tracked
 * (a new one) is tracked last, which reads its partition, so records written
 * before it count. Profiles and users only move forward in time: an older
 * version, delivered out of order, changes nothing.
 *
 * First contacts only move earlier: once the items are written, each
 * customer's is lowered to the earliest contact of the body; a profile not yet
 * tracked also to the earliest conversation or call already in its partition
 * (read after the profile was written, so a conversation written meanwhile is
 * either read or lowers the profile itself). Lowering is idempotent, so a
 * repeated body changes nothing.
 */
export async function writeRecords(records: RecordStore, write: Pick<IngestWrite, 'items' | 'activity' | 'firstContacts'>): Promise<void> {
  const profiles = write.items.filter((i) => i.sk === keys.profileSk());
  const users = write.items.filter((i) => i.sk === keys.userSk());
  let others = write.items.filter((i) => i.sk !== keys.profileSk() && i.sk !== keys.userSk());
  const { untracked, stale } = profiles.length > 0 ? await records.putProfiles(profiles) : { untracked: [], stale: [] };
  if (stale.length > 0) others = await identifiersOfNewerProfiles(records, others, stale);
  if (write.activity.length > 0) await records.raiseActivity(write.activity);
  if (users.length > 0) await records.putLatest(users);
  await records.putBatch(others);
  const lowers = [...write.firstContacts];
  await forEachLimited(untracked, CONCURRENCY, async (k) => {
    await records.trackActivity(k.pk);
    const stored = earliestContact(await records.findByPartition(k.pk, { includeExpired: true }));
    if (stored !== undefined) lowers.push({ pk: k.pk, at: stored });
  });
  if (lowers.length > 0) await records.lowerFirstContact(lowers);
}

/**
 * A customer record older than the stored profile left the profile as it was;
 * its identifiers are still written (an old phone number keeps the customer
 * findable), but at the stored profile's clock and TTL backstop, so they stay
 * exactly as long as the profile does.
 */
async function identifiersOfNewerProfiles(records: RecordStore, items: RecordItem[], stale: readonly RecordKey[]): Promise<RecordItem[]> {
  const stored = new Map((await records.getBatch(stale)).map((p) => [p.pk, p]));
  return items.map((item) => {
    const profile = stored.get(item.pk);
    if (profile === undefined || !isIdentifierSk(item.sk)) return item;
    const { expiresAt: _, ...rest } = item;
    return {
      ...rest,
      clockStart: profile.clockStart,
      ...(profile.expiresAt !== undefined && { expiresAt: profile.expiresAt }),
      ...(item.retentionSk !== undefined && { retentionSk: keys.retentionSk(profile.clockStart, item.id) }),
    };
  });
}

/** JSON with object keys in order, so two equal values compare equal whatever order their keys were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a hold keeps as it is: a record's data, but for a profile's clocks (a contact still moves them). */
function heldContent(item: RecordItem): unknown {
  if (item.category !== 'customer_profile' || item.data === undefined) return item.data ?? null;
  const { lastContactAt: _last, firstContactAt: _first, ...rest } = item.data as Record<string, unknown>;
  return rest;
}

/**
 * Held data stays as it is: a write that would change a stored record a legal
 * hold covers — other content, or other bytes (or an upload URL) for its held
 * blob — is refused whole (409 naming the first such record and the holds),
 * before anything is written. New records under a hold are accepted (and held
 * from the start), as is a repeat of what is stored (its blob is then not
 * written again: no new version beside the held one), and a profile whose
 * clocks move while its data stays. Resolves to the write without those
 * repeated blobs.
 */
async function guardHeldData(
  deps: { readonly records: RecordStore; readonly blobs: BlobStore },
  write: IngestWrite,
  holds: readonly LegalHold[],
  now: Date,
  body: readonly { readonly id: string }[],
): Promise<IngestWrite> {
  const isHeld = holdMatcher(holds, now);
  const candidates = write.items.filter((item) => !isIdentifierSk(item.sk) && isHeld(item));
  if (candidates.length === 0) return write;
  const stored = new Map((await deps.records.getBatch(candidates)).map((item) => [recordKeyString(item), item]));
  const blobKey = (b: { readonly bucket: string; readonly key: string }) => `${b.bucket}/${b.key}`;
  const inline = new Map(write.blobs.map((b) => [blobKey(b), b]));
  const uploads = new Set(write.uploads.map(blobKey));
  const repeatedBlobs = new Set<string>();
  const changed: RecordItem[] = [];
  for (const item of candidates) {
    const before = stored.get(recordKeyString(item));
    if (before === undefined) continue;
    if (canonical(heldContent(before)) !== canonical(heldContent(item))) {
      changed.push(item);
      continue;
    }
    if (item.blobKey === undefined || item.blobBucket === undefined) continue;
    const key = blobKey({ bucket: item.blobBucket, key: item.blobKey });
    if (uploads.has(key)) {
      changed.push(item);
      continue;
    }
    const sent = inline.get(key);
    if (sent === undefined) continue;
    const held = await deps.blobs.get(item.blobBucket, item.blobKey);
    if (held !== undefined && Buffer.from(held).equals(Buffer.from(sent.body))) repeatedBlobs.add(key);
    else changed.push(item);
  }
  if (changed.length > 0) {
    const first = changed[0] as RecordItem;
    const index = body.findIndex((r) => r.id === first.id);
    const holdIds = [...new Set(changed.flatMap((item) => holdsOn(holds, item, now).map((h) => h.holdId)))].sort();
    throw new HeldError(holdIds, index < 0 ? 'records' : `records.${index}`, `${changed.length} stored record(s) this body would change are`);
  }
  return repeatedBlobs.size === 0 ? write : { ...write, blobs: write.blobs.filter((b) => !repeatedBlobs.has(blobKey(b))) };
}

export async function ingestRecords(app: ApiApp, caller: Caller, tenant: Tenant, body: unknown): Promise<IngestResult> {
  const { records, blobs, control, platform, maxInlineBlobBytes } = app.deps;
  const tenantId = tenant.tenantId;
  const parsed = parseIngestBody(body);

  // This deployment's inline limit may be below the schema's (a Lambda request is at most 6 MB).
  const tooLarge: IngestIssue[] = [];
  if (parsed.ok) {
    parsed.body.records.forEach((r, index) => {
      if ('contentBase64' in r && r.contentBase64 !== undefined && decodedBytes(r.contentBase64) > maxInlineBlobBytes) {
        tooLarge.push({
          index,
          field: `records.${index}.contentBase64`,
          message: `must decode to at most ${maxInlineBlobBytes} bytes; leave it out to get an upload URL`,
        });
      }
    });
  }

  // Looked up even when some records are malformed, so the answer lists every issue at once.
  const parents = parsed.ok ? storedParentsToRead(parsed.body) : parentsNamed(body);
  const conversations = new Map<string, StoredParent>();
  const calls = new Map<string, StoredParent>();
  const at = (customerId: string, id: string) => JSON.stringify([customerId, id]);
  // One batched, strongly consistent read for every conversation and call the body names or writes.
  const stored = await records.getBatch([
    ...parents.conversations.map((c) => ({ pk: keys.subjectPk(tenantId, c.customerId), sk: keys.conversationSk(c.conversationId) })),
    ...parents.calls.map((c) => ({ pk: keys.subjectPk(tenantId, c.customerId), sk: keys.callSk(c.callId) })),
  ]);
  const now = caller.now.getTime() / 1000;
  for (const item of stored) {
    if (item.subjectId === undefined) continue;
    // An item past its TTL backstop reads as gone to records under it, as everywhere else.
    const expired = item.expiresAt !== undefined && item.expiresAt <= now;
    const parent: StoredParent = { startedAt: item.clockStart, category: item.category, ...(expired && { expired }) };
    if (item.conversationId !== undefined && item.sk === keys.conversationSk(item.conversationId)) conversations.set(at(item.subjectId, item.conversationId), parent);
    if (item.callId !== undefined && item.sk === keys.callSk(item.callId)) calls.set(at(item.subjectId, item.callId), parent);
  }

  const holds = await control.listHolds(tenantId);
  const outcome = validateIngest(body, {
    tenantId,
    platform,
    holds,
    now: caller.now,
    conversation: (conversationId, customerId) => conversations.get(at(customerId, conversationId)),
    call: (callId, customerId) => calls.get(at(customerId, callId)),
    shardCount: retentionShardsOf(tenant),
  });
  const issues = [...(outcome.ok ? [] : outcome.issues), ...tooLarge];
  if (!outcome.ok || issues.length > 0) {
    throw new IngestValidationError([...issues].sort((a, b) => (a.index ?? -1) - (b.index ?? -1)));
  }
  const write: IngestWrite = await guardHeldData({ records, blobs }, outcome.write, holds, caller.now, parsed.ok ? parsed.body.records : []);

  // Before anything is written (a crash leaves them lower, never higher): retention watermarks above an
  // incoming index clock, or flagged for a raise, stop being trusted, so no sweep skips these records.
  if (app.deps.watermarks !== undefined) await app.deps.watermarks.lowerWatermarks(watermarkLowers(write.items));
  // Blobs first: an item must never point to a blob that is not there. Each is sealed under the keys of the item pointing to it.
  const owners = new Map(write.items.filter((i) => i.blobKey !== undefined).map((i) => [`${i.blobBucket}/${i.blobKey}`, i]));
  await forEachLimited(write.blobs, CONCURRENCY, (b) => blobs.put(b.bucket, b.key, b.body, b.contentType, owners.get(`${b.bucket}/${b.key}`)));
  await writeRecords(records, write);
  if (write.lastActivityAt !== undefined) await control.touchTenantActivity(tenantId, write.lastActivityAt);

  const expiresAt = new Date(caller.now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString();
  const uploads: UploadInstruction[] = [];
  for (const u of write.uploads) {
    uploads.push({
      index: u.index,
      recordId: u.recordId,
      method: 'PUT',
      // Sealing stores point it into quarantine; the blob guard seals the upload into place while its record stands.
      url: await blobs.presignPut(u.bucket, u.key, u.contentType, UPLOAD_URL_SECONDS),
      headers: { 'content-type': u.contentType },
      expiresAt,
    });
  }

  const byType: Record<string, number> = {};
  for (const r of parsed.ok ? parsed.body.records : []) byType[r.type] = (byType[r.type] ?? 0) + 1;
  await audit(app, caller, {
    tenantId,
    action: 'records.ingested',
    after: { accepted: write.accepted, items: write.items.length, blobs: write.blobs.length, uploads: uploads.length, byType },
  });
  return { accepted: write.accepted, ...(uploads.length > 0 && { uploads }) };
}
