/**
 * The bench's synthetic world: tenants of customers with profiles,
 * identifiers, conversations, messages, logs, media, calls, recordings,
 * third-party markers and analytics events, plus account-level webhook
 * deliveries. Keys are built through `keys`/`retentionShard`/`blobKey` exactly
 * as the ingest writer and test/support/worlds.ts do.
 *
 * Customers come in three shapes, with ages placed relative to the profile's
 * cutoffs and at least ten days away from any of them, so the expected result
 * does not depend on how long a run takes:
 * - `gone`: last contact past the profile's period: the whole partition goes;
 * - `aged`: profile inside its period, every conversation, call and event past
 *   theirs: those go with all their children, the profile and its identifiers
 *   stay (only where the profile keeps customers longer than their activity);
 * - `active`: everything younger than the shortest period; nothing goes.
 * Which records a correct sweep deletes is then decided by an oracle written
 * from the rules (own clock past the cutoff, or an ancestor's), not from the
 * shapes. Running ratios pick each unit's shape so that `dueRatio` of the
 * records are due, and give `blobRatio` of the records a blob.
 */
import { CATALOG, type BucketName, type Category } from '../shared/domain/catalog.js';
import { backstopExpiresAt, type PlatformPolicy } from '../shared/domain/policy.js';
import { blobKey, keys, retentionKeysOf, type IdentifierKind, type RecordItem } from '../shared/domain/records.js';
import { sweepCutoff, type TenantRunContext } from '../shared/domain/sweep/cutoffs.js';
import type { Tenant } from '../shared/domain/tenant.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** No clock lies closer than this to its category's cutoff. */
const MARGIN_DAYS = 10;

/** A customer can grow to about this many records; below it a tenant is topped up with webhook deliveries. */
const MAX_CUSTOMER_RECORDS = 48;

/** Categories whose records start activity in a customer's partition (children go with them). */
const ACTIVITY_ROOTS: readonly Category[] = ['conversation', 'whatsapp_conversation', 'call', 'analytics_event'];
/** Every category the world writes. */
const WRITTEN: readonly Category[] = [
  'customer_profile',
  'conversation',
  'whatsapp_conversation',
  'message',
  'communication_log',
  'inbound_media',
  'outbound_media',
  'email_attachment',
  'call',
  'call_recording',
  'third_party_call_data',
  'analytics_event',
  'webhook_delivery',
];

export interface WorldOptions {
  readonly records: number;
  readonly tenants: number;
  /** Share of records that carry a blob, in [0, 0.5]. */
  readonly blobRatio: number;
  /** Share of records past retention at `now`, in [0, 1]. */
  readonly dueRatio: number;
  readonly platform: PlatformPolicy;
  readonly now: Date;
  readonly seed: number;
  /** `byRetention` write shards of every tenant (`Tenant.retentionShards`; default 1). */
  readonly shardCount?: number;
}

export interface BlobRef {
  readonly bucket: BucketName;
  readonly key: string;
}

export interface BenchWorld {
  readonly tenants: Tenant[];
  readonly items: RecordItem[];
  /** `due[i]`: whether a correct sweep deletes `items[i]`. */
  readonly due: boolean[];
  readonly customers: Readonly<Record<CustomerShape, number>>;
}

export type CustomerShape = 'gone' | 'aged' | 'active';

export class WorldShapeError extends Error {
  override readonly name = 'WorldShapeError';
}

/** Deterministic PRNG (mulberry32), so every run of the same parameters seeds the same world. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const keyOf = (k: { readonly pk: string; readonly sk: string }): string => `${k.pk}\u0000${k.sk}`;

export function blobOf(item: RecordItem): BlobRef | undefined {
  return item.blobBucket === undefined || item.blobKey === undefined
    ? undefined
    : { bucket: item.blobBucket, key: item.blobKey };
}

/** Age windows (days before `now`) for each shape, from the profile's cutoffs. */
interface Windows {
  readonly gone?: { readonly lastContact: readonly [number, number] };
  readonly aged?: { readonly lastContact: readonly [number, number] };
  readonly active: { readonly lastContact: readonly [number, number]; readonly spread: number };
  readonly webhook: { readonly due: readonly [number, number] | undefined; readonly kept: readonly [number, number] };
}

function windows(ageOfCutoff: (c: Category) => number | null): Windows {
  const profile = ageOfCutoff('customer_profile');
  const roots = ACTIVITY_ROOTS.map(ageOfCutoff);
  const rootsDueAfter = roots.some((a) => a === null) ? null : Math.max(...(roots as number[]));
  const shortest = Math.min(...WRITTEN.map(ageOfCutoff).filter((a): a is number => a !== null));
  const webhook = ageOfCutoff('webhook_delivery');
  if (shortest < 3 * MARGIN_DAYS) {
    throw new WorldShapeError(`a period of ${shortest.toFixed(1)} days is too short for the bench's ${MARGIN_DAYS}-day margins`);
  }
  const activeSpan = shortest - MARGIN_DAYS;
  // Activity happens before the last contact, so it is at least as old: past its cutoffs whenever the last contact is.
  const aged =
    rootsDueAfter !== null && (profile === null || rootsDueAfter + MARGIN_DAYS < profile - MARGIN_DAYS)
      ? { lastContact: [rootsDueAfter + MARGIN_DAYS, profile === null ? rootsDueAfter + 500 : profile - MARGIN_DAYS] as const }
      : undefined;
  return {
    ...(profile !== null && { gone: { lastContact: [profile + MARGIN_DAYS, profile + 600] as const } }),
    ...(aged !== undefined && { aged }),
    active: { lastContact: [1, activeSpan / 3], spread: activeSpan / 2 },
    webhook: {
      due: webhook === null ? undefined : [webhook + MARGIN_DAYS, webhook + 300],
      kept: [1, webhook === null ? 300 : webhook - MARGIN_DAYS],
    },
  };
}

export function buildWorld(options: WorldOptions): BenchWorld {
  const { platform } = options;
  const now = options.now.getTime();
  const rnd = prng(options.seed);
  const int = (min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
  const chance = (p: number): boolean => rnd() < p;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const daysAgo = ([min, max]: readonly [number, number]): number => now - (min + rnd() * (max - min)) * DAY_MS;

  // Cutoffs are the same for every tenant: no tenant policies, no holds, an active account.
  const probe: TenantRunContext = {
    tenant: { tenantId: 'probe', name: 'probe', status: 'active', adminEmails: [], lastActivityAt: iso(now - DAY_MS), createdAt: iso(now), updatedAt: iso(now) },
    platform,
    policy: undefined,
    holds: [],
  };
  const cutoffsAt = (at: number) =>
    new Map<Category, string | null>(WRITTEN.map((c) => [c, sweepCutoff(probe, c, new Date(at))?.toISOString() ?? null]));
  const cutoffs = cutoffsAt(now);
  // Runs start a little after `now`: the expected set must be the same a day later.
  const cutoffsLater = cutoffsAt(now + DAY_MS);
  let ambiguous = 0;
  const ageOfCutoff = (c: Category): number | null => {
    const cutoff = cutoffs.get(c);
    return cutoff === null || cutoff === undefined ? null : (now - Date.parse(cutoff)) / DAY_MS;
  };
  const w = windows(ageOfCutoff);
  const dueShapes: CustomerShape[] = [...(w.gone ? ['gone' as const] : []), ...(w.aged ? ['aged' as const] : [])];

  const items: RecordItem[] = [];
  const due: boolean[] = [];
  let dueCount = 0;
  let blobCount = 0;
  const customers: Record<CustomerShape, number> = { gone: 0, aged: 0, active: 0 };

  const shards = options.shardCount ?? 1;
  /** An item with its index keys and TTL backstop, placed exactly as the ingest writer places them. */
  const push = (item: Omit<RecordItem, 'expiresAt'>): void => {
    const full: RecordItem = {
      ...item,
      ...retentionKeysOf(item, shards),
      expiresAt: backstopExpiresAt(platform, item.category, new Date(item.clockStart)),
    };
    items.push(full);
    if (full.blobKey !== undefined) blobCount += 1;
  };

  /** The oracle over one finished unit (one partition or one account record): due by its own clock or an ancestor's. */
  const decide = (from: number): void => {
    const unit = items.slice(from);
    const bySk = new Map(unit.map((i) => [i.sk, i]));
    const dueUnder = (at: ReadonlyMap<Category, string | null>, item: RecordItem): boolean => {
      const ownDue = (i: RecordItem): boolean => {
        const cutoff = at.get(i.category);
        return cutoff !== null && cutoff !== undefined && i.clockStart < cutoff;
      };
      return ownDue(item) || ancestorSks(item.sk).some((sk) => {
        const ancestor = bySk.get(sk);
        return ancestor !== undefined && ownDue(ancestor);
      });
    };
    for (const item of unit) {
      const isDue = dueUnder(cutoffs, item);
      if (isDue !== dueUnder(cutoffsLater, item)) ambiguous += 1;
      due.push(isDue);
      if (isDue) dueCount += 1;
    }
  };

  /** Whether the next unit should be due, to keep the running share at `dueRatio`. */
  const nextIsDue = (): boolean => {
    if (options.dueRatio >= 1) return true;
    if (options.dueRatio <= 0) return false;
    return dueCount < options.dueRatio * Math.max(1, items.length);
  };

  const tenants: Tenant[] = [];
  for (let t = 0; t < options.tenants; t++) {
    const tenantId = `bench${String(t).padStart(3, '0')}`;
    tenants.push({
      tenantId,
      ...(shards > 1 && { retentionShards: shards }),
      name: `Bench tenant ${t}`,
      status: 'active',
      adminEmails: [`admin@${tenantId}.example.test`],
      // Active account, no contract end: account data is not due.
      lastActivityAt: iso(now - DAY_MS),
      thirdPartyEndpoints: [{ name: 'bench-provider', deleteUrl: 'https://provider.example.test/calls/{ref}' }],
      createdAt: iso(now - 2000 * DAY_MS),
      updatedAt: iso(now - 2000 * DAY_MS),
    });
    const target = Math.floor(options.records / options.tenants) + (t < options.records % options.tenants ? 1 : 0);
    const start = items.length;
    let customer = 0;
    let webhook = 0;
    const addWebhook = (): void => {
      const from = items.length;
      const id = `w${webhook++}`;
      const window = nextIsDue() && w.webhook.due !== undefined ? w.webhook.due : w.webhook.kept;
      push({ tenantId, pk: keys.accountPk(tenantId), sk: keys.webhookDeliverySk(id), category: 'webhook_delivery', id, clockStart: iso(daysAgo(window)), data: { url: 'https://hooks.example.test/x', statusCode: 200 } });
      decide(from);
    };
    while (target - (items.length - start) > MAX_CUSTOMER_RECORDS) {
      if (chance(0.2)) {
        addWebhook();
        continue;
      }
      const shape: CustomerShape = nextIsDue() && dueShapes.length > 0 ? (dueShapes[int(0, dueShapes.length - 1)] as CustomerShape) : 'active';
      customers[shape] += 1;
      const from = items.length;
      addCustomer(tenantId, `c${customer++}`, shape);
      decide(from);
    }
    while (items.length - start < target) addWebhook();
  }

  function addCustomer(tenantId: string, subjectId: string, shape: CustomerShape): void {
    const pk = keys.subjectPk(tenantId, subjectId);
    const base = { tenantId, pk, subjectId };
    // Last contact, and the window [lastContact − spread, lastContact] in which all activity happened.
    const lastContact = daysAgo(shape === 'active' ? w.active.lastContact : (w[shape]?.lastContact as readonly [number, number]));
    const spread = shape === 'active' ? w.active.spread : 200;
    const activityAt = (): number => lastContact - rnd() * spread * DAY_MS;

    const before = items.length;
    const blobSlots: (() => void)[] = [];

    push({ ...base, sk: keys.profileSk(), category: 'customer_profile', id: subjectId, clockStart: iso(lastContact), data: { name: `Customer ${subjectId}` } });
    const identifiers: [IdentifierKind, string][] = [['PHONE', `+1555${String(items.length).padStart(7, '0')}`]];
    if (chance(0.5)) identifiers.push(['EMAIL', `${subjectId}@${tenantId}.example.test`]);
    for (const [kind, normalised] of identifiers) {
      // Identifiers are indexed at their profile's clock, in their own partitions; they go once it is gone.
      push({
        ...base,
        sk: keys.identifierSk(kind, normalised),
        category: 'customer_profile',
        id: subjectId,
        parentSk: keys.profileSk(),
        clockStart: iso(lastContact),
        identifierPk: keys.identifierPk(tenantId, kind, normalised),
        identifierSk: subjectId,
      });
    }

    const conversations = int(1, 3);
    for (let v = 0; v < conversations; v++) {
      const conversationId = `${subjectId}v${v}`;
      const convSk = keys.conversationSk(conversationId);
      const started = activityAt();
      const category: Category = chance(0.25) ? 'whatsapp_conversation' : 'conversation';
      const child = { ...base, conversationId, parentSk: convSk, parentClock: iso(started), parentCategory: category };
      push({
        ...base,
        conversationId,
        sk: convSk,
        parentSk: keys.profileSk(),
        category,
        id: conversationId,
        clockStart: iso(started),
        // A few old conversations were never closed: the sweep closes them, then deletes them.
        status: chance(shape === 'active' ? 0.2 : 0.02) ? 'open' : 'closed',
        data: { channel: 'chat', notes: 'bench' },
      });
      const messages = int(2, 6);
      for (let m = 0; m < messages; m++) {
        const id = `${conversationId}m${m}`;
        push({ ...child, sk: keys.messageSk(conversationId, iso(started + m * MINUTE_MS), id), category: 'message', id, clockStart: iso(started), data: { text: 'hello there' } });
      }
      if (chance(0.7)) {
        const id = `${conversationId}l0`;
        push({ ...child, sk: keys.communicationLogSk(conversationId, id), category: 'communication_log', id, clockStart: iso(started), data: { text: 'log line' } });
      }
      let mediaCount = 0;
      blobSlots.push(() => {
        const n = mediaCount++;
        const pick = rnd();
        const category: Category = pick < 0.5 ? 'inbound_media' : pick < 0.75 ? 'outbound_media' : 'email_attachment';
        const id = `${conversationId}b${n}`;
        const sk = category === 'email_attachment' ? keys.attachmentSk(conversationId, id) : keys.mediaSk(conversationId, id);
        // Inbound media and attachments start their clock at the communication, a little after the conversation's start.
        const clock = category === 'outbound_media' ? started : started + (n + 1) * MINUTE_MS;
        pushBlob(child, category, id, sk, clock);
      });
    }

    const calls = int(0, 2);
    for (let k = 0; k < calls; k++) {
      const callId = `${subjectId}k${k}`;
      const callSk = keys.callSk(callId);
      const started = iso(activityAt());
      const child = { ...base, callId, parentSk: callSk, parentClock: started, parentCategory: 'call' as const };
      push({ ...base, callId, sk: callSk, parentSk: keys.profileSk(), category: 'call', id: callId, clockStart: started, data: { durationSeconds: 120 } });
      if (chance(0.4)) {
        push({ ...child, sk: keys.thirdPartyCallDataSk(callId), category: 'third_party_call_data', id: `${callId}tpd`, clockStart: started, externalRef: `ref-${tenantId}-${callId}` });
      }
      let recordingCount = 0;
      blobSlots.push(() => {
        const id = `${callId}r${recordingCount++}`;
        pushBlob(child, 'call_recording', id, keys.recordingSk(callId, id), Date.parse(started));
      });
    }

    const events = int(0, 2);
    for (let e = 0; e < events; e++) {
      const id = `${subjectId}e${e}`;
      push({ ...base, sk: keys.analyticsEventSk(id), parentSk: keys.profileSk(), category: 'analytics_event', id, clockStart: iso(activityAt()), data: { name: 'page_view' } });
    }

    // Blobs: as many as keep the running share at blobRatio, on randomly chosen conversations and calls.
    const wanted = Math.max(0, Math.round((options.blobRatio * items.length - blobCount) / (1 - options.blobRatio)));
    for (let b = 0; b < wanted; b++) (blobSlots[Math.floor(rnd() * blobSlots.length)] as () => void)();
    if (items.length - before > MAX_CUSTOMER_RECORDS) throw new Error('bench world: a customer outgrew MAX_CUSTOMER_RECORDS');

    // The profile's activity watermark, as ingest keeps it: the latest clock under it.
    let latest: string | undefined;
    for (const i of items.slice(before)) if (i.sk !== keys.profileSk() && !i.sk.startsWith('ID#') && (latest === undefined || i.clockStart > latest)) latest = i.clockStart;
    const profile = items[before] as RecordItem;
    items[before] = { ...profile, activityTracked: true, ...(latest !== undefined && { activityUntil: latest }) };
  }

  function pushBlob(
    child: { tenantId: string; pk: string; subjectId: string; parentSk: string; parentClock: string; parentCategory: Category; conversationId?: string; callId?: string },
    category: Category,
    id: string,
    sk: string,
    clock: number,
  ): void {
    const store = CATALOG[category].store;
    if (store.kind !== 'blob') throw new Error(`${category} is not a blob category`);
    push({ ...child, sk, category, id, clockStart: iso(clock), blobBucket: store.bucket, blobKey: blobKey(store.prefix, child.tenantId, child.subjectId, id) });
  }

  if (ambiguous > 0) throw new WorldShapeError(`${ambiguous} records would change from kept to due within a day of the bench's now`);
  return { tenants, items, due, customers };
}

/** The `sk`s of every possible ancestor of a record in its partition (its key prefixes, then the profile). */
function ancestorSks(sk: string): string[] {
  if (sk === keys.profileSk()) return [];
  const parts = sk.split('#');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('#'));
  out.push(keys.profileSk());
  return out;
}
