/**
 * Random worlds for property tests of the sweep: tenants, policies, holds,
 * customers with conversations, messages, media, calls, recordings and
 * third-party data, account data and users — plus an independent oracle that
 * says which records a correct run deletes.
 */
import fc from 'fast-check';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import type { HoldScope, LegalHold } from '../../shared/domain/holds.js';
import { holdMatcher } from '../../shared/domain/holds.js';
import type { PlatformPolicy, TenantPolicy } from '../../shared/domain/policy.js';
import { blobKey, keys, retentionKeysOf, type RecordItem } from '../../shared/domain/records.js';
import { sweepCutoff, type TenantRunContext } from '../../shared/domain/sweep/cutoffs.js';
import type { Tenant } from '../../shared/domain/tenant.js';
import { loadProfile, PROFILE_NAMES } from '../../shared/config/profiles.js';

const DAY = 86_400_000;
export const WORLD_NOW = new Date('2026-11-22T10:00:00.000Z');

export interface World {
  readonly platform: PlatformPolicy;
  readonly tenants: Tenant[];
  readonly policies: TenantPolicy[];
  readonly holds: LegalHold[];
  readonly items: RecordItem[];
  readonly blobs: { bucket: 'recordings' | 'media'; key: string }[];
  readonly now: Date;
}

interface Builder {
  items: RecordItem[];
  blobs: World['blobs'];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The write shards of each tenant being built (as `Tenant.retentionShards`). */
const shardsOf = new Map<string, number>();

/** An item with its `byRetention` keys, exactly as the ingest writer places them. */
function indexed(item: Omit<RecordItem, 'retentionPk' | 'retentionSk'>): RecordItem {
  return { ...item, ...retentionKeysOf(item, shardsOf.get(item.tenantId) ?? 1) };
}

/** Ages in days, biased to land on both sides of typical periods and exactly on boundaries. */
const age = fc.oneof(
  fc.integer({ min: 0, max: 1500 }),
  fc.constantFrom(0, 1, 29, 30, 31, 89, 90, 91, 182, 183, 184, 364, 365, 366, 396, 397, 729, 730, 731, 760, 761, 762, 1095, 1096),
);
const ageMs = fc.tuple(age, fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 })).map(([d, jitter]) => d * DAY + jitter);

const customerArb = fc.record({
  lastContactAge: ageMs,
  /**
   * The profile's activity watermark: exact (as ingest keeps it), untracked
   * (a profile whose earlier records were never read), or later than needed.
   */
  activity: fc.constantFrom('exact', 'exact', 'exact', 'untracked', 'later'),
  conversations: fc.array(
    fc.record({
      age: ageMs,
      whatsapp: fc.boolean(),
      open: fc.boolean(),
      messages: fc.integer({ min: 0, max: 3 }),
      inboundMediaAges: fc.array(ageMs, { maxLength: 2 }),
      outboundMedia: fc.integer({ min: 0, max: 1 }),
      attachmentAges: fc.array(ageMs, { maxLength: 2 }),
      logs: fc.integer({ min: 0, max: 1 }),
    }),
    { maxLength: 3 },
  ),
  calls: fc.array(
    fc.record({ age: ageMs, recordings: fc.integer({ min: 0, max: 2 }), thirdParty: fc.boolean() }),
    { maxLength: 2 },
  ),
  analyticsAges: fc.array(ageMs, { maxLength: 2 }),
});

const tenantArb = fc.record({
  customers: fc.array(customerArb, { minLength: 1, maxLength: 4 }),
  webhookAges: fc.array(ageMs, { maxLength: 3 }),
  adminLogAges: fc.array(ageMs, { maxLength: 2 }),
  users: fc.array(fc.record({ age: ageMs, access: fc.boolean() }), { maxLength: 3 }),
  shards: fc.constantFrom(1, 1, 2, 4),
  configAges: fc.array(ageMs, { maxLength: 2 }),
  contractEndAge: fc.option(fc.integer({ min: -100, max: 800 }), { nil: undefined }),
  lastActivityAge: fc.integer({ min: 0, max: 800 }),
  overrides: fc.dictionary(fc.constantFrom(...CATEGORIES), fc.double({ min: 0, max: 1, noNaN: true }), { maxKeys: 5 }),
  holdPicks: fc.array(
    fc.record({
      kind: fc.constantFrom('tenant', 'customer', 'conversation', 'call', 'category', 'customer+category'),
      pick: fc.nat(),
      category: fc.constantFrom(...CATEGORIES),
      released: fc.boolean(),
      expiredAgo: fc.option(fc.integer({ min: -10, max: 10 }), { nil: undefined }),
    }),
    { maxLength: 2 },
  ),
});

export const worldArb: fc.Arbitrary<World> = fc
  .record({ profile: fc.constantFrom(...PROFILE_NAMES), tenants: fc.array(tenantArb, { minLength: 1, maxLength: 2 }) })
  .map(({ profile, tenants }) => buildWorld(loadProfile(profile), tenants));

type GeneratedTenant = typeof tenantArb extends fc.Arbitrary<infer T> ? T : never;
type GeneratedCustomer = GeneratedTenant['customers'][number];
/** A tenant to build; hand-written specs may leave out the write shards (1) and the customers' watermark (exact). */
export type TenantSpec = Omit<GeneratedTenant, 'shards' | 'customers'> & {
  readonly shards?: number;
  readonly customers: (Omit<GeneratedCustomer, 'activity'> & { readonly activity?: GeneratedCustomer['activity'] })[];
};

export function buildWorld(platform: PlatformPolicy, specs: TenantSpec[]): World {
  const now = WORLD_NOW.getTime();
  const b: Builder = { items: [], blobs: [] };
  const tenants: Tenant[] = [];
  const policies: TenantPolicy[] = [];
  const holds: LegalHold[] = [];

  specs.forEach((spec, ti) => {
    const tenantId = `t${ti}`;
    const shards = spec.shards ?? 1;
    shardsOf.set(tenantId, shards);
    tenants.push({
      ...(shards > 1 && { retentionShards: shards }),
      tenantId,
      name: `Tenant ${ti}`,
      status: 'active',
      adminEmails: [`admin${ti}@example.test`],
      lastActivityAt: iso(now - spec.lastActivityAge * DAY),
      contractEndsAt: spec.contractEndAge === undefined ? undefined : iso(now - spec.contractEndAge * DAY),
      thirdPartyEndpoints: [{ name: 'provider', deleteUrl: 'https://provider.test/calls/{ref}' }],
      createdAt: iso(now - 2000 * DAY),
      updatedAt: iso(now - 2000 * DAY),
    });

    // A valid tenant policy: each override a point inside the category's allowed range.
    const categories: Partial<Record<Category, { days: number | null }>> = {};
    for (const [category, f] of Object.entries(spec.overrides) as [Category, number][]) {
      const bounds = platform.categories[category];
      const upper = bounds.extendable ? (bounds.maxDays ?? 3650) : (bounds.defaultDays ?? bounds.maxDays ?? 3650);
      const cap = platform.personalDataCapDays !== null && CATALOG[category].personalData ? Math.min(upper, platform.personalDataCapDays) : upper;
      categories[category] = { days: Math.round(bounds.minDays + f * Math.max(0, cap - bounds.minDays)) };
    }
    policies.push({ tenantId, profile: platform.profile, version: 1, locked: false, categories });

    const convIds: string[] = [];
    const callIds: string[] = [];
    const customerIds: string[] = [];
    spec.customers.forEach((c, ci) => {
      const subjectId = `c${ci}`;
      customerIds.push(subjectId);
      const pk = keys.subjectPk(tenantId, subjectId);
      const base = { tenantId, pk, subjectId };
      const profileAt = b.items.length;
      b.items.push(
        indexed({ ...base, sk: keys.profileSk(), category: 'customer_profile', id: subjectId, clockStart: iso(now - c.lastContactAge), data: { name: `Name ${ci}` } }),
      );
      b.items.push(
        indexed({
          ...base,
          sk: keys.identifierSk('PHONE', `+1555000${ti}${ci}`),
          category: 'customer_profile',
          id: subjectId,
          parentSk: keys.profileSk(),
          clockStart: iso(now - c.lastContactAge),
          identifierPk: keys.identifierPk(tenantId, 'PHONE', `+1555000${ti}${ci}`),
          identifierSk: subjectId,
        }),
      );
      c.conversations.forEach((conv, vi) => {
        const conversationId = `${subjectId}v${vi}`;
        convIds.push(conversationId);
        const convSk = keys.conversationSk(conversationId);
        const start = now - conv.age;
        const child = {
          ...base,
          conversationId,
          parentSk: convSk,
          parentClock: iso(start),
          parentCategory: (conv.whatsapp ? 'whatsapp_conversation' : 'conversation') as Category,
        };
        b.items.push(
          indexed({ ...base, conversationId, sk: convSk, parentSk: keys.profileSk(), category: conv.whatsapp ? 'whatsapp_conversation' : 'conversation', id: conversationId, clockStart: iso(start), status: conv.open ? 'open' : 'closed' }),
        );
        for (let m = 0; m < conv.messages; m++) {
          const id = `${conversationId}m${m}`;
          b.items.push(indexed({ ...child, sk: keys.messageSk(conversationId, iso(start + m * 60_000), id), category: 'message', id, clockStart: iso(start), data: { text: 'hello' } }));
        }
        for (let l = 0; l < conv.logs; l++) {
          const id = `${conversationId}l${l}`;
          b.items.push(indexed({ ...child, sk: keys.communicationLogSk(conversationId, id), category: 'communication_log', id, clockStart: iso(start) }));
        }
        const blobChild = (category: Category, id: string, clock: number, sk: string) => {
          const store = CATALOG[category].store;
          if (store.kind !== 'blob') throw new Error('not a blob category');
          const key = blobKey(store.prefix, tenantId, subjectId, id);
          b.blobs.push({ bucket: store.bucket as 'media', key });
          b.items.push(indexed({ ...child, sk, category, id, clockStart: iso(clock), blobBucket: store.bucket, blobKey: key }));
        };
        conv.inboundMediaAges.forEach((a, i) => {
          const id = `${conversationId}in${i}`;
          blobChild('inbound_media', id, Math.max(start, now - a), keys.mediaSk(conversationId, id));
        });
        for (let o = 0; o < conv.outboundMedia; o++) {
          const id = `${conversationId}out${o}`;
          blobChild('outbound_media', id, start, keys.mediaSk(conversationId, id));
        }
        conv.attachmentAges.forEach((a, i) => {
          const id = `${conversationId}att${i}`;
          blobChild('email_attachment', id, Math.max(start, now - a), keys.attachmentSk(conversationId, id));
        });
      });
      c.calls.forEach((call, ki) => {
        const callId = `${subjectId}k${ki}`;
        callIds.push(callId);
        const callSk = keys.callSk(callId);
        const start = iso(now - call.age);
        const underCall = { parentClock: start, parentCategory: 'call' as const };
        b.items.push(indexed({ ...base, callId, sk: callSk, parentSk: keys.profileSk(), category: 'call', id: callId, clockStart: start }));
        for (let r = 0; r < call.recordings; r++) {
          const id = `${callId}r${r}`;
          const key = blobKey('recordings', tenantId, subjectId, id);
          b.blobs.push({ bucket: 'recordings', key });
          b.items.push(indexed({ ...base, ...underCall, callId, parentSk: callSk, sk: keys.recordingSk(callId, id), category: 'call_recording', id, clockStart: start, blobBucket: 'recordings', blobKey: key }));
        }
        if (call.thirdParty) {
          b.items.push(indexed({ ...base, ...underCall, callId, parentSk: callSk, sk: keys.thirdPartyCallDataSk(callId), category: 'third_party_call_data', id: `${callId}tpd`, clockStart: start, externalRef: `ref-${tenantId}-${callId}` }));
        }
      });
      c.analyticsAges.forEach((a, i) => {
        const id = `${subjectId}e${i}`;
        b.items.push(indexed({ ...base, sk: keys.analyticsEventSk(id), parentSk: keys.profileSk(), category: 'analytics_event', id, clockStart: iso(now - a) }));
      });
      // The watermark covers every clock under the profile, as ingest keeps it (or is missing, or later).
      const under = b.items.slice(profileAt).filter((i) => i.sk !== keys.profileSk() && !i.sk.startsWith('ID#'));
      const latest = under.reduce<string | undefined>((m, i) => (m === undefined || i.clockStart > m ? i.clockStart : m), undefined);
      const profile = b.items[profileAt] as RecordItem;
      if ((c.activity ?? 'exact') !== 'untracked') {
        const until = c.activity === 'later' ? iso(now + DAY) : latest;
        b.items[profileAt] = { ...profile, activityTracked: true, ...(until !== undefined && { activityUntil: until }) };
      }
    });

    const account = keys.accountPk(tenantId);
    spec.webhookAges.forEach((a, i) => {
      b.items.push(indexed({ tenantId, pk: account, sk: keys.webhookDeliverySk(`w${i}`), category: 'webhook_delivery', id: `w${i}`, clockStart: iso(now - a) }));
    });
    spec.adminLogAges.forEach((a, i) => {
      b.items.push(indexed({ tenantId, pk: account, sk: keys.adminActivitySk(iso(now - a), `a${i}`), category: 'admin_activity_log', id: `a${i}`, clockStart: iso(now - a) }));
    });
    spec.configAges.forEach((a, i) => {
      b.items.push(indexed({ tenantId, pk: account, sk: keys.accountConfigSk('queue', `q${i}`), category: 'account_config', id: `q${i}`, clockStart: iso(now - a) }));
    });
    spec.users.forEach((u, i) => {
      b.items.push(indexed({ tenantId, pk: keys.userPk(tenantId, `u${i}`), sk: keys.userSk(), category: 'user', id: `u${i}`, clockStart: iso(now - u.age), hasAccountAccess: u.access }));
    });

    spec.holdPicks.forEach((h, hi) => {
      const pickOf = <T>(list: T[]): T | undefined => (list.length === 0 ? undefined : list[h.pick % list.length]);
      let scope: HoldScope | undefined;
      if (h.kind === 'tenant') scope = {};
      if (h.kind === 'customer') scope = pickOf(customerIds) === undefined ? undefined : { customerId: pickOf(customerIds) };
      if (h.kind === 'conversation') scope = pickOf(convIds) === undefined ? undefined : { conversationId: pickOf(convIds) };
      if (h.kind === 'call') scope = pickOf(callIds) === undefined ? undefined : { callId: pickOf(callIds) };
      if (h.kind === 'category') scope = { category: h.category };
      if (h.kind === 'customer+category') scope = { customerId: pickOf(customerIds), category: h.category };
      if (scope === undefined) return;
      holds.push({
        tenantId,
        holdId: `h${hi}`,
        scope,
        reason: 'litigation',
        createdAt: iso(now - DAY),
        createdBy: 'tester',
        releasedAt: h.released ? iso(now - 3_600_000) : undefined,
        expiresAt: h.expiredAgo === undefined ? undefined : iso(now - h.expiredAgo * DAY),
      });
    });
  });

  return { platform, tenants, policies, holds, items: b.items, blobs: b.blobs, now: new Date(now) };
}

const keyOf = (i: { pk: string; sk: string }) => `${i.pk}\u0000${i.sk}`;

function ancestors(item: RecordItem, byKey: Map<string, RecordItem>): RecordItem[] {
  if (item.sk === 'PROFILE') return [];
  const parts = item.sk.split('#');
  const out: RecordItem[] = [];
  for (let i = 1; i < parts.length; i++) {
    const a = byKey.get(keyOf({ pk: item.pk, sk: parts.slice(0, i).join('#') }));
    if (a !== undefined) out.push(a);
  }
  const profile = byKey.get(keyOf({ pk: item.pk, sk: 'PROFILE' }));
  if (profile !== undefined) out.push(profile);
  return out;
}

/**
 * The oracle, written from the rules rather than from the code: a record is due
 * by its own clock when it started before its category's cutoff (users only
 * without account access), or when an ancestor is due (cascade). A due record
 * goes unless it is held or one of its descendants stays; a customer's
 * identifiers stay as long as the profile does.
 */
export function expectedDeletions(world: World): Set<string> {
  const byKey = new Map(world.items.map((i) => [keyOf(i), i]));
  const ctxOf = new Map<string, TenantRunContext>();
  for (const tenant of world.tenants) {
    ctxOf.set(tenant.tenantId, {
      tenant,
      platform: world.platform,
      policy: world.policies.find((p) => p.tenantId === tenant.tenantId),
      holds: world.holds.filter((h) => h.tenantId === tenant.tenantId),
    });
  }
  const ownDue = (i: RecordItem): boolean => {
    if (i.retentionSk === undefined) return false;
    if (i.category === 'user' && i.hasAccountAccess === true) return false;
    const cutoff = sweepCutoff(ctxOf.get(i.tenantId)!, i.category, world.now);
    return cutoff !== null && i.clockStart < cutoff.toISOString();
  };
  const held = new Map<string, (t: RecordItem) => boolean>();
  for (const [t, ctx] of ctxOf) held.set(t, holdMatcher(ctx.holds, world.now));

  const due = (i: RecordItem) => ownDue(i) || ancestors(i, byKey).some(ownDue);
  const staying = new Set<string>();
  for (const i of world.items) {
    if (!due(i) || held.get(i.tenantId)!(i)) {
      staying.add(keyOf(i));
      for (const a of ancestors(i, byKey)) staying.add(keyOf(a));
    }
  }
  // A customer's identifiers go only together with the profile.
  for (const i of world.items) {
    if (i.sk.startsWith('ID#') && staying.has(keyOf({ pk: i.pk, sk: 'PROFILE' }))) staying.add(keyOf(i));
  }
  return new Set(world.items.map(keyOf).filter((k) => !staying.has(k)));
}

export { keyOf as worldKey };
