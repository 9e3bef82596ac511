/**
 * The sweep's side of the retention watermarks (watermarks.ts): reading a
 * group's at the start of a stage chunk (one batched read), and flagging or
 * raising those of the passes it queried. Neither ever fails a stage: without
 * watermarks every pass queries, and a watermark left unraised stays lower.
 */
import { queryCutoff, ROUNDS, type Pass, type TenantChunk } from './plan.js';
import type { Cutoffs } from './cutoffs.js';
import { IDENTIFIER_PARTITION, indexClock, type DueRecord, type RetentionPartition } from '../records.js';
import type { Stage } from '../catalog.js';
import type { RecordStore } from '../ports.js';
import { afterPass, noneBefore, type RetentionWatermarks, type Watermark, type WatermarkKey } from './watermarks.js';

/** Later than any index clock: the oldest-entry query reads from the start of each shard. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

const keyOf = (k: WatermarkKey): string => `${k.tenantId}\u0000${k.partition}\u0000${k.shard}`;

function keysOf(tenant: TenantChunk, partition: RetentionPartition): WatermarkKey[] {
  return Array.from({ length: tenant.shards }, (_, shard) => ({ tenantId: tenant.tenantId, partition, shard }));
}

/** Reads the watermarks of every pass of the stage for the group's tenants, in one batched read; on failure, none. */
export async function loadWatermarks(store: RetentionWatermarks, tenants: readonly TenantChunk[], stage: Stage): Promise<number> {
  const partitions = [...new Set(ROUNDS[stage].flat().map((p) => p.partition))];
  const wanted = tenants.flatMap((t) => partitions.flatMap((p) => keysOf(t, p)));
  let found: Watermark[];
  try {
    found = await store.getWatermarks(wanted);
  } catch {
    return 0;
  }
  const byKey = new Map(found.map((w) => [keyOf(w), w]));
  for (const t of tenants) t.watermarks = new Map(partitions.map((p) => [p, keysOf(t, p).map((k) => byKey.get(keyOf(k)))]));
  return found.length;
}

/** The oldest index clock left in a partition (every shard, `Limit 1` each); undefined when empty. */
async function oldestLeft(records: Pick<RecordStore, 'findDueForDeletion'>, tenant: TenantChunk, partition: RetentionPartition): Promise<string | undefined> {
  const page = await records.findDueForDeletion(tenant.tenantId, partition, END_OF_TIME, { shards: tenant.shards, limit: tenant.shards });
  let oldest: string | undefined;
  for (const r of page.items as DueRecord[]) {
    const clock = partition === IDENTIFIER_PARTITION ? r.clockStart : indexClock(r);
    if (oldest === undefined || clock < oldest) oldest = clock;
  }
  return oldest;
}

/** Flags, or raises, the watermarks of the passes each tenant queried to the end since the last upkeep. */
export async function upkeepWatermarks(
  deps: { readonly records: Pick<RecordStore, 'findDueForDeletion'>; readonly watermarks: RetentionWatermarks },
  tenants: readonly TenantChunk[],
  now: Date,
): Promise<void> {
  for (const tenant of tenants) {
    const passes: Pass[] = tenant.queriedPasses.splice(0);
    if (tenant.watermarks === undefined) continue;
    for (const pass of passes) {
      const marks = tenant.watermarks.get(pass.partition) ?? [];
      const keys = keysOf(tenant, pass.partition);
      try {
        const decisions = keys.map((_, shard) => afterPass(marks[shard], now));
        const oldest = decisions.includes('raise') ? await oldestLeft(deps.records, tenant, pass.partition) : undefined;
        for (const [shard, key] of keys.entries()) {
          const mark = marks[shard];
          if (decisions[shard] === 'raise' && mark?.flaggedAt !== undefined) {
            await deps.watermarks.raiseWatermark(key, { gen: mark.gen, flaggedAt: mark.flaggedAt }, oldest);
          } else if (decisions[shard] === 'flag') {
            await deps.watermarks.flagWatermark(key, mark?.gen, now.toISOString());
          }
        }
      } catch {
        // The watermark stays as it was: lower than it could be, never higher.
      }
    }
  }
}

/** A tenant of a stage chunk, as the run knows it before the chunk: what its watermarks are judged against. */
export interface StageTenantRef {
  readonly tenantId: string;
  readonly shards: number;
  readonly cutoffs: Cutoffs;
}

/**
 * The stage's watermarks of the group's tenants (one batched read), and the
 * tenants with nothing to look at in the stage: every pass has no cutoff or
 * watermarks ruling it out. On failure: none read, none idle.
 */
export async function readStageWatermarks(
  store: RetentionWatermarks,
  tenants: readonly StageTenantRef[],
  stage: Stage,
): Promise<{ readonly marks: ReadonlyMap<string, ReadonlyMap<RetentionPartition, readonly (Watermark | undefined)[]>>; readonly idle: ReadonlySet<string> }> {
  const passes = ROUNDS[stage].flat();
  const partitions = [...new Set(passes.map((p) => p.partition))];
  const keysFor = (t: StageTenantRef, partition: RetentionPartition): WatermarkKey[] =>
    Array.from({ length: t.shards }, (_, shard) => ({ tenantId: t.tenantId, partition, shard }));
  let found: Watermark[];
  try {
    found = await store.getWatermarks(tenants.flatMap((t) => partitions.flatMap((p) => keysFor(t, p))));
  } catch {
    return { marks: new Map(), idle: new Set() };
  }
  const byKey = new Map(found.map((w) => [keyOf(w), w]));
  const marks = new Map(tenants.map((t) => [t.tenantId, new Map(partitions.map((p) => [p, keysFor(t, p).map((k) => byKey.get(keyOf(k)))]))]));
  const idle = new Set(
    tenants
      .filter((t) =>
        passes.every((pass) => {
          const cutoff = queryCutoff(t.cutoffs, pass);
          return cutoff === null || noneBefore(marks.get(t.tenantId)?.get(pass.partition) ?? [], cutoff);
        }),
      )
      .map((t) => t.tenantId),
  );
  return { marks, idle };
}
