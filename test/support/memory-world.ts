/** A random or hand-built world loaded into the in-memory fakes, with the run dependencies over them. */
import type { RunDeps } from '../../shared/domain/runs.js';
import { FixedClock, MemoryBlobStore, MemoryControlStore, MemoryExternalProvider, MemoryMailer, MemoryRecordStore } from './memory.js';
import type { World } from './worlds.js';

export interface MemoryWorldDeps<R extends MemoryRecordStore = MemoryRecordStore> extends RunDeps {
  readonly records: R;
  readonly blobs: MemoryBlobStore;
  readonly control: MemoryControlStore;
  readonly external: MemoryExternalProvider;
  readonly mailer: MemoryMailer;
  readonly clock: FixedClock;
}

/** Stores holding the world's records, blobs, tenants, policies and holds; the clock at the world's now. */
export async function memoryWorld<R extends MemoryRecordStore = MemoryRecordStore>(world: World, records?: R): Promise<MemoryWorldDeps<R>> {
  const deps = {
    records: records ?? (new MemoryRecordStore() as R),
    blobs: new MemoryBlobStore(),
    control: new MemoryControlStore(),
    external: new MemoryExternalProvider(),
    mailer: new MemoryMailer(),
    clock: new FixedClock(world.now),
    platform: world.platform,
    refSecret: 'test-secret-key-0123456789abcdef',
    operatorEmails: ['ops@example.test'],
  };
  await deps.records.putBatch(world.items);
  for (const b of world.blobs) await deps.blobs.put(b.bucket, b.key, 'x', 'application/octet-stream');
  for (const t of world.tenants) await deps.control.putTenant(t);
  for (const p of world.policies) deps.control.policies.set(p.tenantId, p);
  for (const h of world.holds) await deps.control.putHold(h);
  return deps;
}
