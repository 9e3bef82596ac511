/**
 * A sweep world on the emulators: the stores, a fake third-party provider, an
 * e-mail outbox, and the production sweep handlers bound to them.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { HttpExternalDataProvider } from '../../shared/adapters/http/external-provider.js';
import { OutboxMailer } from '../../shared/adapters/mail/outbox-mailer.js';
import type { RunDeps } from '../../shared/domain/runs.js';
import type { FakeProvider } from '../../shared/local/fake-provider.js';
import { sweepHandlers, type SweepHandlers } from '../../shared/local/sweep-runner.js';
import { TestClock } from './clock.js';
import { EMULATOR_BUCKET_FEATURES, makeStores, type MakeStoresOptions, type Stores } from './env.js';
import { worldKey, WORLD_NOW, type TenantSpec, type World } from './worlds.js';

const DAY = 86_400_000;
export const quietLogger = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

export function spec(overrides: Partial<TenantSpec> = {}): TenantSpec {
  return {
    customers: [
      {
        lastContactAge: 500 * DAY,
        conversations: [
          { age: 400 * DAY, whatsapp: false, open: true, messages: 3, inboundMediaAges: [399 * DAY], outboundMedia: 1, attachmentAges: [10 * DAY], logs: 1 },
          { age: 5 * DAY, whatsapp: true, open: false, messages: 2, inboundMediaAges: [], outboundMedia: 0, attachmentAges: [], logs: 0 },
        ],
        calls: [
          { age: 200 * DAY, recordings: 2, thirdParty: true },
          { age: 20 * DAY, recordings: 1, thirdParty: true },
        ],
        analyticsAges: [300 * DAY, 1 * DAY],
      },
      {
        lastContactAge: 3 * DAY,
        conversations: [{ age: 120 * DAY, whatsapp: false, open: false, messages: 2, inboundMediaAges: [], outboundMedia: 0, attachmentAges: [], logs: 0 }],
        calls: [{ age: 150 * DAY, recordings: 1, thirdParty: true }],
        analyticsAges: [],
      },
    ],
    webhookAges: [100 * DAY, 1 * DAY],
    adminLogAges: [400 * DAY],
    users: [{ age: 400 * DAY, access: false }, { age: 400 * DAY, access: true }],
    configAges: [30 * DAY],
    contractEndAge: undefined,
    lastActivityAge: 0,
    overrides: {},
    holdPicks: [],
    ...overrides,
  };
}

export interface Harness {
  world: World;
  stores: Stores;
  deps: RunDeps;
  handlers: SweepHandlers;
  outbox: string;
}

/** `provider` is where the tenants' endpoint points (the fake provider, or any stand-in with a `deleteUrl` that can hold refs). */
export async function harness(world: World, provider: Pick<FakeProvider, 'deleteUrl' | 'add'>, storeOptions: MakeStoresOptions = {}): Promise<Harness> {
  const clock = new TestClock(WORLD_NOW);
  const stores = await makeStores({ clock, bucketFeatures: EMULATOR_BUCKET_FEATURES, ...storeOptions });
  const outbox = await mkdtemp(join(tmpdir(), 'lethe-outbox-'));
  for (const tenant of world.tenants) {
    await stores.control.putTenant({ ...tenant, thirdPartyEndpoints: [{ name: 'provider', deleteUrl: provider.deleteUrl }] });
  }
  for (const policy of world.policies) {
    await stores.control.savePolicy({ version: 1, policy, changedAt: WORLD_NOW.toISOString(), changedBy: 'test' }, 0);
  }
  for (const hold of world.holds) await stores.control.putHold(hold);
  await stores.records.putBatch(world.items);
  for (const b of world.blobs) await stores.blobs.put(b.bucket, b.key, 'blob', 'application/octet-stream');
  for (const i of world.items) if (i.externalRef !== undefined) provider.add(i.externalRef);
  const deps: RunDeps = {
    records: stores.records,
    control: stores.control,
    blobs: stores.blobs,
    external: new HttpExternalDataProvider({ sleep: async () => {}, allowPrivateNetworks: true }),
    mailer: new OutboxMailer({ directory: outbox, from: 'lethe@example.test', clock }),
    clock,
    platform: world.platform,
    refSecret: 'workflow-test-secret-0123456789abcdef',
    operatorEmails: ['ops@example.test'],
  };
  // A zero budget makes every stage hand back a continuation after each page.
  return { world, stores, deps, handlers: sweepHandlers(deps, { stageBudgetMs: 0, logger: quietLogger }), outbox };
}

export async function remainingKeys(h: Harness): Promise<Set<string>> {
  const out = new Set<string>();
  for (const item of h.world.items) if ((await h.stores.records.get(item)) !== undefined) out.add(worldKey(item));
  return out;
}

export function stagesSeen(handlers: SweepHandlers): { handlers: SweepHandlers; stages: number[] } {
  const stages: number[] = [];
  return {
    stages,
    handlers: {
      ...handlers,
      stage: async (payload) => {
        stages.push((payload as { stage: number }).stage);
        return handlers.stage(payload);
      },
    },
  };
}

