import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deleteCallRecordings, deleteConversation, deleteCustomer, deleteMessage, type DeletionOutcome } from '../../shared/app/api/use-cases/deletions.js';
import { CATEGORIES, STAGES, type Category } from '../../shared/domain/catalog.js';
import { ConflictError, NotFoundError } from '../../shared/domain/errors.js';
import { TOMBSTONE } from '../../shared/domain/export.js';
import { holdMatcher } from '../../shared/domain/holds.js';
import { executeErasure } from '../../shared/domain/privacy/erasure.js';
import { receivePrivacyRequest } from '../../shared/domain/privacy/resolve.js';
import type { CategoryCounts, Receipt } from '../../shared/domain/receipt.js';
import { keys, type RecordItem } from '../../shared/domain/records.js';
import { completeRun, completeRuns, runStage, runStages, startRun, startRuns, type RunDeps } from '../../shared/domain/runs.js';
import { expectReconciled, withAncestors } from '../support/deletion-oracle.js';
import { memoryApp, type MemoryApp } from '../support/memory-app.js';
import { memoryWorld, type MemoryWorldDeps } from '../support/memory-world.js';
import { expectedDeletions, worldArb, worldKey, type World } from '../support/worlds.js';

async function setUp(world: World) {
  const deps = await memoryWorld(world);
  return { deps, records: deps.records, blobs: deps.blobs, control: deps.control, external: deps.external, mailer: deps.mailer };
}

/** Runs a whole tenant run the way the state machine does: stages in order, each chunk until done. */
async function runTenant(deps: RunDeps, tenantId: string, runId: string, dryRun: boolean): Promise<Receipt> {
  await startRun(deps, { tenantId, runId, dryRun });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      // A zero budget returns after every page, so continuations are exercised too.
      const chunk = await runStage(deps, { tenantId, runId, stage, continuation }, { budgetMs: 0, pageSize: 3 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRun(deps, { tenantId, runId });
  return (await deps.control.getReceipt(tenantId, runId))!;
}

/** Runs every tenant of the world in one group, as one Sweep group does: shared batches, one chunk for all. */
async function runGroup(deps: RunDeps, tenantIds: string[], runId: string, dryRun: boolean): Promise<Receipt[]> {
  await startRuns(deps, { runId, tenantIds, dryRun });
  for (const stage of STAGES) {
    let continuation: string | undefined;
    do {
      const chunk = await runStages(deps, { runId, tenantIds, stage, continuation }, { budgetMs: 0, pageSize: 3 });
      continuation = chunk.done ? undefined : chunk.continuation;
    } while (continuation !== undefined);
  }
  await completeRuns(deps, { runId, tenantIds });
  return (await deps.control.getReceipts(tenantIds.map((tenantId) => ({ tenantId, runId })))) as Receipt[];
}

/** The world's tenants swept one run each, or all in one group. */
async function sweepAll(deps: RunDeps, world: World, prefix: string, dryRun: boolean, grouped: boolean): Promise<Receipt[]> {
  if (grouped) return runGroup(deps, world.tenants.map((t) => t.tenantId), `${prefix}-group`, dryRun);
  const receipts: Receipt[] = [];
  for (const t of world.tenants) receipts.push(await runTenant(deps, t.tenantId, `${prefix}-${t.tenantId}`, dryRun));
  return receipts;
}

function deletedPerCategory(receipts: Receipt[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of receipts) {
    for (const [c, counts] of Object.entries(r.categories)) out[c] = (out[c] ?? 0) + counts.deleted;
  }
  return out;
}

describe('a scheduled sweep over random worlds', () => {
  it('deletes exactly what is past retention and not held, and its receipts count exactly what the stores lost', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records, blobs, external } = await setUp(world);
        const expected = expectedDeletions(world);

        const receipts = await sweepAll(deps, world, 'run', false, grouped);

        const remaining = new Set(records.items.keys());
        for (const item of world.items) {
          const key = worldKey(item);
          // Nothing inside retention or under a hold is gone; everything due and free is gone.
          expect(remaining.has(key), `${item.sk} (${item.category}) kept?`).toBe(!expected.has(key));
          if (item.blobKey !== undefined) {
            expect(await blobs.get(item.blobBucket!, item.blobKey), `blob of ${item.sk}`).toEqual(
              expected.has(key) ? undefined : expect.anything(),
            );
          }
        }
        const lost: Record<string, number> = {};
        for (const item of world.items) if (expected.has(worldKey(item))) lost[item.category] = (lost[item.category] ?? 0) + 1;
        const counted = Object.fromEntries(Object.entries(deletedPerCategory(receipts)).filter(([, n]) => n > 0));
        expect(counted).toEqual(lost);
        const markersGone = world.items.filter((i) => i.category === 'third_party_call_data' && expected.has(worldKey(i)));
        expect(new Set(external.deleted.map((d) => d.ref))).toEqual(new Set(markersGone.map((m) => m.externalRef)));
        for (const r of receipts) expect(r.status).toBe('completed');
      }),
      { numRuns: 300 },
    );
  });

  it('finishes in one run: a second run finds nothing more to delete', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records } = await setUp(world);
        await sweepAll(deps, world, 'first', false, grouped);
        const afterFirst = records.items.size;
        const second = await sweepAll(deps, world, 'second', false, grouped);
        expect(records.items.size).toBe(afterFirst);
        expect(Object.values(deletedPerCategory(second)).reduce((a, b) => a + b, 0)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('a dry run deletes nothing and predicts exactly what the real run then deletes', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.boolean(), async (world, grouped) => {
        const { deps, records, blobs, external } = await setUp(world);
        const dry = await sweepAll(deps, world, 'dry', true, grouped);
        expect(records.items.size).toBe(world.items.length);
        expect(blobs.deleteLog).toHaveLength(0);
        expect(external.deleted).toHaveLength(0);
        const real = await sweepAll(deps, world, 'real', false, grouped);
        const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, n]) => n > 0));
        expect(nonZero(deletedPerCategory(dry))).toEqual(nonZero(deletedPerCategory(real)));
        for (const r of dry) expect(r.dryRun).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('every receipt names a cutoff for every category and carries no customer id', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const { deps } = await setUp(world);
        for (const t of world.tenants) {
          const receipt = await runTenant(deps, t.tenantId, `r-${t.tenantId}`, false);
          expect(Object.keys(receipt.cutoffs).sort()).toEqual([...CATEGORIES].sort() as Category[]);
          const text = JSON.stringify(receipt);
          for (const item of world.items) {
            if (item.subjectId !== undefined) expect(text).not.toContain(`"${item.subjectId}"`);
          }
        }
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------
// Manual deletes and erasures interleaved with sweeps
// ---------------------------------------------------------------------------

/**
 * The world as ingest would store it for the admin API: conversations and
 * calls carry their locators (found by id alone), and a conversation's media
 * and attachments belong to its messages in turn (`data.messageId`).
 */
function withLocators(world: World): World {
  const messages = new Map<string, string[]>();
  for (const i of world.items) if (i.category === 'message') messages.set(i.conversationId!, [...(messages.get(i.conversationId!) ?? []), i.id]);
  const seen = new Map<string, number>();
  const items = world.items.map((i): RecordItem => {
    if ((i.category === 'conversation' || i.category === 'whatsapp_conversation') && i.sk === keys.conversationSk(i.id)) {
      return { ...i, identifierPk: keys.identifierPk(i.tenantId, 'CONVERSATION', i.id), identifierSk: i.subjectId };
    }
    if (i.category === 'call') return { ...i, identifierPk: keys.identifierPk(i.tenantId, 'CALL', i.id), identifierSk: i.subjectId };
    const own = messages.get(i.conversationId ?? '');
    if (own !== undefined && ['email_attachment', 'inbound_media', 'outbound_media'].includes(i.category)) {
      const n = seen.get(i.conversationId!) ?? 0;
      seen.set(i.conversationId!, n + 1);
      return { ...i, data: { ...i.data, messageId: own[n % own.length] } };
    }
    return i;
  });
  return { ...world, items };
}

type Op =
  | { readonly kind: 'sweep'; readonly grouped: boolean }
  | { readonly kind: 'customer' | 'conversation' | 'message' | 'recording'; readonly pick: number }
  | { readonly kind: 'erasure'; readonly pick: number; readonly force: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('sweep' as const), grouped: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('customer' as const, 'conversation' as const, 'message' as const, 'recording' as const), pick: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('erasure' as const), pick: fc.nat({ max: 7 }), force: fc.boolean() }),
);

const pickOf = <T>(list: readonly T[], pick: number): T | undefined => (list.length === 0 ? undefined : list[pick % list.length]);
const snapshot = (deps: MemoryWorldDeps) => new Map([...deps.records.items].map(([k, i]) => [k, structuredClone(i)]));

/** Runs one op and says what it asked for: the records it may touch, and which of those must go. */
async function runOp(world: World, deps: MemoryWorldDeps, api: MemoryApp, op: Op, n: number, before: ReadonlyMap<string, RecordItem>): Promise<{
  readonly goes: ReadonlySet<string>;
  /** Among `goes`, the analytics events that leave the customer's partition unlinked from her instead of deleted. */
  readonly unlinks?: ReadonlySet<string>;
  readonly tombstone?: string;
  readonly counts: Partial<Record<Category, CategoryCounts>>[];
}> {
  const current = [...before.values()];
  if (op.kind === 'sweep') {
    // Admin writes of earlier ops are account activity: the oracle judges the tenants as they are now.
    const tenants = await Promise.all(world.tenants.map(async (t) => (await deps.control.getTenant(t.tenantId)) ?? t));
    const receipts = await sweepAll(deps, world, `op${n}`, false, op.grouped);
    return { goes: expectedDeletions({ ...world, tenants, items: current }), counts: receipts.map((r) => r.categories) };
  }
  const isHeld = new Map(world.tenants.map((t) => [t.tenantId, holdMatcher(world.holds.filter((h) => h.tenantId === t.tenantId), world.now)]));
  const held = (i: RecordItem) => isHeld.get(i.tenantId)!(i);
  /** A scope goes except its held records, what they keep above them, and a kept profile's identifiers. */
  const goesOf = (scope: readonly RecordItem[]) => {
    const stays = withAncestors(scope, scope.filter(held).map(worldKey));
    return new Set(scope.map(worldKey).filter((k) => !stays.has(k)));
  };
  const customers = current.filter((i) => i.sk === keys.profileSk());
  /** A customer's analytics events are unlinked from her, not deleted, when she is deleted or erased. */
  const unlinksOf = (goes: ReadonlySet<string>) => new Set([...goes].filter((k) => before.get(k)?.category === 'analytics_event'));
  const manual = async (tenantId: string, scope: readonly RecordItem[], call: () => Promise<DeletionOutcome>, refused: boolean, tombstone?: RecordItem) => {
    const goes = goesOf(scope);
    const unlinks = unlinksOf(goes);
    // Nothing of hers can go but analytics events (which would stay, unlinked): the request is refused as held.
    const expectRefusal = refused || (goes.size === unlinks.size && tombstone === undefined && scope.length > 0);
    try {
      const outcome = await call();
      expect(expectRefusal, `${op.kind} answered though it should be refused`).toBe(false);
      const receipt = (await deps.control.getReceipt(tenantId, outcome.receiptId))!;
      return { goes, unlinks, counts: [receipt.categories], ...(tombstone !== undefined && { tombstone: worldKey(tombstone) }) };
    } catch (error) {
      // Refused (open conversation, all held, nothing there): nothing at all is touched.
      if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      expect(expectRefusal || scope.length === 0, `${op.kind} refused: ${(error as Error).name}`).toBe(true);
      return { goes: new Set<string>(), counts: [] };
    }
  };
  const tenantOf = async (tenantId: string) => (await deps.control.getTenant(tenantId))!;

  switch (op.kind) {
    case 'customer': {
      const profile = pickOf(customers, op.pick);
      if (profile === undefined) return { goes: new Set(), counts: [] };
      const scope = current.filter((i) => i.pk === profile.pk);
      const open = scope.some((i) => (i.category === 'conversation' || i.category === 'whatsapp_conversation') && i.status === 'open');
      return manual(profile.tenantId, scope, async () => deleteCustomer(api.app, api.caller(), await tenantOf(profile.tenantId), profile.subjectId!), open);
    }
    case 'conversation': {
      const conversation = pickOf(current.filter((i) => i.identifierPk?.includes('#CONVERSATION#')), op.pick);
      if (conversation === undefined) return { goes: new Set(), counts: [] };
      const scope = current.filter((i) => i.pk === conversation.pk && (i.sk === conversation.sk || i.sk.startsWith(keys.childPrefix(conversation.sk))));
      return manual(conversation.tenantId, scope, async () => deleteConversation(api.app, api.caller(), await tenantOf(conversation.tenantId), conversation.id), false);
    }
    case 'message': {
      const message = pickOf(current.filter((i) => i.category === 'message'), op.pick);
      if (message === undefined) return { goes: new Set(), counts: [] };
      const blobs = current.filter((i) => i.pk === message.pk && i.conversationId === message.conversationId && i.data?.messageId === message.id);
      const call = async () => deleteMessage(api.app, api.caller(), await tenantOf(message.tenantId), message.conversationId!, message.id);
      // The message itself is never deleted, it becomes a tombstone; a held one refuses the request.
      if (held(message)) return manual(message.tenantId, [message, ...blobs], call, true);
      return manual(message.tenantId, blobs, call, false, message);
    }
    case 'recording': {
      const callRecord = pickOf(current.filter((i) => i.category === 'call'), op.pick);
      if (callRecord === undefined) return { goes: new Set(), counts: [] };
      const scope = current.filter((i) => i.category === 'call_recording' && i.pk === callRecord.pk && i.callId === callRecord.id);
      if (scope.length === 0) {
        // A call without recordings is a 404.
        await expect(deleteCallRecordings(api.app, api.caller(), await tenantOf(callRecord.tenantId), callRecord.id)).rejects.toBeInstanceOf(NotFoundError);
        return { goes: new Set(), counts: [] };
      }
      return manual(callRecord.tenantId, scope, async () => deleteCallRecordings(api.app, api.caller(), await tenantOf(callRecord.tenantId), callRecord.id), false);
    }
    case 'erasure': {
      // Any customer the world ever had: erasing one already gone is a request with nothing to do.
      const subject = pickOf(world.items.filter((i) => i.sk === keys.profileSk()), op.pick)!;
      const scope = current.filter((i) => i.pk === subject.pk);
      const requestId = `erase-${n}`;
      await receivePrivacyRequest(api.privacyDeps, {
        tenantId: subject.tenantId,
        requestId,
        requestedBy: 'h:tester',
        body: { kind: 'erasure', subject: { customerId: subject.subjectId! }, ...(op.force && { force: true }) },
      });
      let chunk;
      do chunk = await executeErasure(api.privacyDeps, subject.tenantId, requestId, { deadline: deps.clock.now() });
      while (!chunk.done);
      const request = (await api.privacy.get(subject.tenantId, requestId))!;
      if (!op.force && scope.some((i) => i.status === 'open')) {
        expect(request.status).toBe('rejected');
        return { goes: new Set(), counts: [] };
      }
      const goes = goesOf(scope);
      expect(request.status).toBe(goes.size < scope.length ? 'partially_completed' : 'completed');
      const receipt = (await deps.control.getReceipt(subject.tenantId, request.runIds![0]!))!;
      return { goes, unlinks: unlinksOf(goes), counts: [request.counts, receipt.categories] };
    }
  }
}

describe('manual deletes and erasures interleaved with sweeps, over random worlds', () => {
  it('each deletes exactly what was asked and is not held, touches nothing else, and counts exactly what the stores lost', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, fc.array(opArb, { minLength: 1, maxLength: 6 }), async (generated, ops) => {
        const world = withLocators(generated);
        const deps = await memoryWorld(world);
        const api = memoryApp(deps);
        const blobOwners = world.items.filter((i) => i.blobKey !== undefined);
        const refOwners = world.items.filter((i) => i.externalRef !== undefined);

        for (const [n, op] of ops.entries()) {
          const before = snapshot(deps);
          const { goes, unlinks = new Set<string>(), tombstone, counts } = await runOp(world, deps, api, op, n, before);
          const label = `op ${n} (${op.kind})`;
          const unlinkedKey = (item: RecordItem) => worldKey({ pk: keys.accountPk(item.tenantId), sk: keys.analyticsEventSk(item.id) });

          for (const [key, item] of before) {
            const now = deps.records.items.get(key);
            if (unlinks.has(key)) {
              // Out of her partition, kept as it was but for anything of hers: the same event, clock and backstop.
              expect(now, `${label}: ${item.sk} left the customer's partition`).toBeUndefined();
              const moved = deps.records.items.get(unlinkedKey(item));
              expect(moved, `${label}: ${item.sk} unlinked`).toMatchObject({ category: 'analytics_event', id: item.id, clockStart: item.clockStart, tenantId: item.tenantId });
              expect(moved?.expiresAt).toBe(item.expiresAt);
              expect(moved?.data).toEqual(item.data);
              expect(moved?.retentionPk).toMatch(new RegExp(`^T#${item.tenantId}#analytics_event#`));
              for (const attribute of ['subjectId', 'parentSk', 'conversationId', 'callId']) expect(moved, `${label}: unlinked ${item.sk}`).not.toHaveProperty(attribute);
            } else if (goes.has(key)) {
              expect(now, `${label}: ${item.sk} should be gone`).toBeUndefined();
            } else if (key === tombstone) {
              expect(now, `${label}: the message is a tombstone`).toEqual({ ...item, data: TOMBSTONE, status: 'deleted', deletedAt: world.now.toISOString() });
            } else {
              // Outside what was asked, held, or kept by what is held: not touched at all.
              expect(now, `${label}: ${item.sk} untouched`).toEqual(item);
            }
          }
          const arrived = new Set([...unlinks].map((k) => unlinkedKey(before.get(k)!)).filter((k) => !before.has(k)));
          expect(deps.records.items.size).toBe(before.size - goes.size + arrived.size);
          // No blob without its record and no record without its blob; third-party data goes exactly with its marker.
          for (const owner of blobOwners) {
            expect(await deps.blobs.get(owner.blobBucket!, owner.blobKey!), `${label}: blob of ${owner.sk}`).toEqual(
              deps.records.items.has(worldKey(owner)) ? expect.anything() : undefined,
            );
          }
          const sentRefs = new Set(deps.external.deleted.map((d) => d.ref));
          for (const owner of refOwners) expect(sentRefs.has(owner.externalRef!), `${label}: ref of ${owner.sk}`).toBe(!deps.records.items.has(worldKey(owner)));

          const lost: Partial<Record<Category, number>> = {};
          for (const key of goes) if (!unlinks.has(key)) lost[before.get(key)!.category] = (lost[before.get(key)!.category] ?? 0) + 1;
          if (tombstone !== undefined && deps.records.items.get(tombstone)?.status === 'deleted' && before.get(tombstone)?.status !== 'deleted') lost.message = (lost.message ?? 0) + 1;
          for (const c of counts) {
            expectReconciled(c, label);
            const deleted = Object.fromEntries(Object.entries(c).flatMap(([category, x]) => (x.deleted > 0 ? [[category, x.deleted]] : [])));
            if (op.kind === 'sweep') continue;
            expect(deleted, `${label}: counted deletions`).toEqual(lost);
            expect(c.analytics_event?.keptReasons?.unlinked ?? 0, `${label}: counted unlinks`).toBe(unlinks.size);
          }
          if (op.kind === 'sweep') {
            const deleted: Partial<Record<Category, number>> = {};
            for (const c of counts) for (const [category, x] of Object.entries(c) as [Category, CategoryCounts][]) if (x.deleted > 0) deleted[category] = (deleted[category] ?? 0) + x.deleted;
            expect(deleted, `${label}: counted deletions`).toEqual(lost);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
