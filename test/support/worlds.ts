/**
 * Random worlds for property tests of the sweep: tenants, policies, holds,
 * customers with conversations, messages, media, calls, recordings,
 * third-party data, form submissions and web sessions, account data and users
 * — under a shipped profile or a random one (settings over several categories
 * with item clocks, a subject clock, an account lifetime, holds that may not
 * pass a cap) — plus an independent oracle that says which records a correct
 * run deletes.
 */
import fc from 'fast-check';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import type { HoldScope, LegalHold } from '../../shared/domain/holds.js';
import { holdMatcher } from '../../shared/domain/holds.js';
import { platformPolicySchema, validatePolicyChange, type PlatformPolicy, type Setting, type TenantPolicy } from '../../shared/domain/policy.js';
import { blobKey, keys, retentionKeysOf, type RecordItem } from '../../shared/domain/records.js';
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
  formAges: fc.array(ageMs, { maxLength: 1 }),
  sessionAges: fc.array(ageMs, { maxLength: 1 }),
  /** Whether every contact stored under her is no later than her last contact (as a platform that reports contacts keeps it). */
  contactsReported: fc.boolean(),
});

const tenantArb = fc.record({
  customers: fc.array(customerArb, { minLength: 1, maxLength: 4 }),
  webhookAges: fc.array(ageMs, { maxLength: 3 }),
  adminLogAges: fc.array(ageMs, { maxLength: 2 }),
  users: fc.array(fc.record({ age: ageMs, access: fc.boolean() }), { maxLength: 3 }),
  shards: fc.constantFrom(1, 1, 2, 4),
  configAges: fc.array(ageMs, { maxLength: 2 }),
  /** Days since the contract ended (negative: it ends in the future); mostly still running. */
  contractEndAge: fc.option(fc.oneof({ arbitrary: fc.integer({ min: -800, max: -1 }), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 800 }), weight: 1 }), { nil: undefined }),
  /** Days since the account's last activity; mostly recent. */
  lastActivityAge: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 60 }), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 800 }), weight: 1 }),
  overrides: fc.dictionary(fc.constantFrom(...CATEGORIES), fc.double({ min: 0, max: 1, noNaN: true }), { maxKeys: 5 }),
  /** Per setting (by position), a point inside its range, or null (indefinite, where allowed). */
  settingPicks: fc.array(fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }), { maxLength: 3 }),
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

// ---------------------------------------------------------------------------
// Random profiles (policy v2)
// ---------------------------------------------------------------------------

const daysArb = fc.constantFrom(0, 1, 30, 90, 183, 365, 396, 730, 761, 1095);
const boundsArb = fc
  .record({ a: daysArb, b: daysArb, c: daysArb, extendable: fc.boolean(), indefinite: fc.boolean() })
  .map(({ a, b, c, extendable, indefinite }) => {
    const [minDays, defaultDays, maxDays] = [a, b, c].sort((x, y) => x - y) as [number, number, number];
    return { minDays, defaultDays: indefinite && extendable ? null : defaultDays, maxDays: indefinite ? null : maxDays, extendable, indefiniteAllowed: indefinite };
  });

/** Where a category may go in a random profile: a setting (by index), or nowhere. */
const slotArb = fc.constantFrom<number | undefined>(undefined, 0, 1, 2);
const STANDALONE: readonly Category[] = ['webhook_delivery', 'analytics_event', 'form_submission', 'web_session', 'admin_activity_log', 'user'];
const CONTAINER_CHILDREN: readonly Category[] = ['message', 'communication_log', 'inbound_media', 'outbound_media', 'email_attachment', 'call_recording', 'third_party_call_data'];

const randomProfileArb = fc
  .record({
    base: fc.constantFrom(...PROFILE_NAMES),
    subject: fc.boolean(),
    subjectBounds: boundsArb,
    containers: fc.record({ conversation: slotArb, whatsapp_conversation: slotArb, call: slotArb }),
    children: fc.dictionary(fc.constantFrom(...CONTAINER_CHILDREN), slotArb),
    standalone: fc.dictionary(fc.constantFrom(...STANDALONE), slotArb),
    settingBounds: fc.array(boundsArb, { minLength: 3, maxLength: 3 }),
    acknowledge: fc.constantFrom<'shorten' | 'always'>('shorten', 'always'),
    lifetime: fc.option(fc.record({ profile: fc.boolean(), user: fc.boolean(), inactivityDays: fc.constantFrom(100, 365, 548, 800) }), { nil: undefined }),
    beyondCap: fc.boolean(),
  })
  .map((r): PlatformPolicy => {
    const base = loadProfile(r.base);
    const named = new Map<number, Set<Category>>();
    const put = (slot: number | undefined, c: Category) => {
      if (slot === undefined) return;
      if (!named.has(slot)) named.set(slot, new Set());
      named.get(slot)!.add(c);
    };
    const settings: Setting[] = [];
    let profileInLifetime = r.lifetime?.profile === true;
    if (r.subject) {
      // Everything of a customer follows her last contact; account-level categories may have settings of their own.
      profileInLifetime = false;
      settings.push({ name: 'customer_data', description: 'customers', categories: ['customer_profile'], clock: 'subject', ...r.subjectBounds, acknowledge: r.acknowledge });
      for (const c of ['webhook_delivery', 'admin_activity_log', 'user'] as const) put(r.standalone[c], c);
    } else {
      const conv = r.containers.conversation;
      // Conversations and WhatsApp conversations share their children: one setting, or one of them alone.
      const whatsapp = conv !== undefined && r.containers.whatsapp_conversation !== undefined ? conv : r.containers.whatsapp_conversation;
      put(conv, 'conversation');
      put(whatsapp, 'whatsapp_conversation');
      put(r.containers.call, 'call');
      const taken = new Set<Category>([
        ...(conv !== undefined || whatsapp !== undefined ? CATALOG.conversation.cascadesTo : []),
        ...(r.containers.call !== undefined ? CATALOG.call.cascadesTo : []),
      ]);
      for (const [c, slot] of Object.entries(r.children) as [Category, number | undefined][]) if (!taken.has(c)) put(slot, c);
      for (const [c, slot] of Object.entries(r.standalone) as [Category, number | undefined][]) put(slot, c);
    }
    for (const [slot, categories] of [...named].sort(([a], [b]) => a - b)) {
      if (profileInLifetime) categories.delete('user');
      if (categories.size === 0) continue;
      settings.push({ name: `setting_${slot}`, description: `setting ${slot}`, categories: [...categories], clock: 'item', ...r.settingBounds[slot]!, acknowledge: r.acknowledge });
    }
    const inSettings = new Set(settings.flatMap((s) => s.categories));
    const lifetimeCategories: Category[] = ['account_config'];
    if (r.lifetime !== undefined && profileInLifetime) lifetimeCategories.push('customer_profile');
    if (r.lifetime !== undefined && r.lifetime.user && !inSettings.has('user')) lifetimeCategories.push('user');
    const { accountInactivityDays: _v1, accountLifetime: _lifetime, holds: _holds, settings: _settings, ...rest } = base;
    return platformPolicySchema.parse({
      ...rest,
      profile: `random-${r.base}`,
      personalDataCapDays: null,
      settings,
      ...(r.lifetime === undefined ? { accountInactivityDays: 548 } : { accountLifetime: { categories: lifetimeCategories, inactivityDays: r.lifetime.inactivityDays } }),
      holds: { beyondCap: r.beyondCap },
    });
  });

/** A shipped profile, or (as often) a random one with settings, clocks, an account lifetime and capped holds. */
export const platformArb: fc.Arbitrary<PlatformPolicy> = fc.oneof(fc.constantFrom(...PROFILE_NAMES).map((name) => loadProfile(name)), randomProfileArb);

export const worldArb: fc.Arbitrary<World> = fc
  .record({ platform: platformArb, tenants: fc.array(tenantArb, { minLength: 1, maxLength: 2 }) })
  .map(({ platform, tenants }) => buildWorld(platform, tenants));

type GeneratedTenant = typeof tenantArb extends fc.Arbitrary<infer T> ? T : never;
type GeneratedCustomer = GeneratedTenant['customers'][number];
type OptionalCustomerFields = 'activity' | 'formAges' | 'sessionAges' | 'contactsReported';
/**
 * A tenant to build; hand-written specs may leave out the write shards (1), the
 * setting picks (none), and the customers' watermark (exact), form submissions
 * and web sessions (none) and whether their contacts are reported (no).
 */
export type TenantSpec = Omit<GeneratedTenant, 'shards' | 'customers' | 'settingPicks'> & {
  readonly shards?: number;
  readonly settingPicks?: GeneratedTenant['settingPicks'];
  readonly customers: (Omit<GeneratedCustomer, OptionalCustomerFields> & Partial<Pick<GeneratedCustomer, OptionalCustomerFields>>)[];
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

    // A valid tenant policy: each override a point inside its allowed range (one the policy refuses is left out).
    const pointIn = (bounds: { minDays: number; maxDays: number | null; defaultDays: number | null; extendable: boolean }, f: number, personal: boolean) => {
      const upper = bounds.extendable ? (bounds.maxDays ?? 3650) : (bounds.defaultDays ?? bounds.maxDays ?? 3650);
      const cap = platform.personalDataCapDays !== null && personal ? Math.min(upper, platform.personalDataCapDays) : upper;
      return Math.round(bounds.minDays + f * Math.max(0, cap - bounds.minDays));
    };
    const valid = (change: Parameters<typeof validatePolicyChange>[2]) => validatePolicyChange(platform, undefined, { ...change, acknowledgeDataLoss: true }).length === 0;
    const categories: Partial<Record<Category, { days: number | null }>> = {};
    for (const [category, f] of Object.entries(spec.overrides) as [Category, number][]) {
      const days = pointIn(platform.categories[category], f, CATALOG[category].personalData);
      if (valid({ categories: { [category]: { days } } })) categories[category] = { days };
    }
    const settings: Record<string, { days: number | null }> = {};
    (platform.settings ?? []).forEach((setting, i) => {
      const pick = spec.settingPicks?.[i];
      if (pick === undefined && (spec.settingPicks?.length ?? 0) <= i) return;
      const days = pick === undefined ? null : pointIn(setting, pick, true);
      if (valid({ settings: { [setting.name]: { days } } })) settings[setting.name] = { days };
    });
    policies.push({ tenantId, profile: platform.profile, version: 1, locked: false, categories, ...(Object.keys(settings).length > 0 && { settings }) });

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
      // A contact reported on the profile is no later than her last contact.
      const contactAge = (a: number) => (c.contactsReported === true ? Math.max(a, c.lastContactAge) : a);
      c.conversations.forEach((conv, vi) => {
        const conversationId = `${subjectId}v${vi}`;
        convIds.push(conversationId);
        const convSk = keys.conversationSk(conversationId);
        const start = now - contactAge(conv.age);
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
        const start = iso(now - contactAge(call.age));
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
      (c.formAges ?? []).forEach((a, i) => {
        const id = `${subjectId}f${i}`;
        b.items.push(indexed({ ...base, sk: keys.formSubmissionSk(id), parentSk: keys.profileSk(), category: 'form_submission', id, clockStart: iso(now - contactAge(a)) }));
      });
      (c.sessionAges ?? []).forEach((a, i) => {
        const id = `${subjectId}s${i}`;
        b.items.push(indexed({ ...base, sk: keys.webSessionSk(id), parentSk: keys.profileSk(), category: 'web_session', id, clockStart: iso(now - contactAge(a)) }));
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

// ---------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------

const CONTAINER_CATEGORIES: readonly Category[] = ['conversation', 'whatsapp_conversation', 'call'];
const CONTACTS: ReadonlySet<Category> = new Set<Category>(['conversation', 'whatsapp_conversation', 'call', 'form_submission', 'web_session']);

/** Every category of a customer's partition besides the profile: the profile's cascade, transitively. */
function partitionCategories(): Set<Category> {
  const out = new Set<Category>();
  const visit = (c: Category) => {
    for (const child of CATALOG[c].cascadesTo) if (!out.has(child)) (out.add(child), visit(child));
  };
  visit('customer_profile');
  return out;
}
const PARTITION = partitionCategories();

/**
 * A tenant's rules, re-derived from the profile and the tenant as the design
 * states them (DESIGN.md §1, README's policy section), not from the code.
 */
function oracleRules(world: World, tenant: Tenant) {
  const { platform, now } = world;
  const policy = world.policies.find((p) => p.tenantId === tenant.tenantId);
  const settings = platform.settings ?? [];
  const grace = platform.sweep.graceHours * 3_600_000;
  const ms = (days: number) => days * DAY;
  const subject = settings.find((s) => s.clock === 'subject');
  const keyParents = (c: Category) => CONTAINER_CATEGORIES.filter((p) => CATALOG[p].cascadesTo.includes(c));
  const named = (c: Category) => settings.find((s) => s.categories.includes(c));
  const settingFor = (c: Category): Setting | undefined => {
    const own = named(c) ?? (subject !== undefined && PARTITION.has(c) ? subject : undefined);
    if (own !== undefined) return own;
    const parents = keyParents(c).map((p) => settingFor(p));
    return parents.length > 0 && parents.every((p) => p !== undefined && p === parents[0]) ? parents[0] : undefined;
  };
  const lifetime = platform.accountLifetime ?? undefined;
  const lastActivity = Date.parse(tenant.lastActivityAt ?? tenant.createdAt);
  const contractEnd = tenant.contractEndsAt === undefined ? undefined : Date.parse(tenant.contractEndsAt);
  const ended =
    lifetime !== undefined &&
    ((contractEnd !== undefined && contractEnd + grace < now.getTime()) || lastActivity + ms(lifetime.inactivityDays) + grace < now.getTime());
  const period = (c: Category): number | null => {
    const s = settingFor(c);
    if (s !== undefined) return policy?.settings?.[s.name] !== undefined ? policy.settings[s.name]!.days : s.defaultDays;
    return policy?.categories[c] !== undefined ? policy.categories[c]!.days : platform.categories[c].defaultDays;
  };
  const cutoff = (c: Category): string | null => {
    if (ended) return now.toISOString();
    if (lifetime?.categories.includes(c) === true) return null;
    if (subject !== undefined && c !== 'customer_profile' && PARTITION.has(c)) return null;
    const d = period(c);
    if (d === null) return null;
    if (c === 'account_config' && lifetime === undefined) {
      const over = (contractEnd !== undefined && contractEnd + ms(d) + grace < now.getTime()) || lastActivity + ms(platform.accountInactivityDays!) + grace < now.getTime();
      return over ? now.toISOString() : null;
    }
    return new Date(now.getTime() - ms(d) - grace).toISOString();
  };
  // How long past its own clock a record may ever be kept (where no hold may keep data past it).
  const settingCap = (s: Setting) => s.maxDays;
  const cap = (c: Category): number | null => {
    if (lifetime?.categories.includes(c) === true) return null;
    const s = settingFor(c);
    if (s?.clock === 'subject') return null;
    let out = s !== undefined ? settingCap(s) : platform.categories[c].maxDays;
    for (const p of keyParents(c)) {
      const ps = settingFor(p);
      if (ps === undefined || ps === s) continue;
      if (ps.clock === 'subject' || out === null || settingCap(ps) === null) return null;
      out = Math.max(out, settingCap(ps)!);
    }
    return out;
  };
  const capCutoff = (c: Category) => {
    const d = cap(c);
    return d === null ? undefined : new Date(now.getTime() - ms(d) - grace).toISOString();
  };
  const pastCap = (i: RecordItem) => {
    if (platform.holds?.beyondCap !== false) return false;
    const own = capCutoff(i.category);
    if (own !== undefined && i.clockStart < own) return true;
    const parent = i.parentCategory === undefined ? undefined : capCutoff(i.parentCategory);
    return parent !== undefined && i.parentClock !== undefined && i.parentClock < parent;
  };
  return { cutoff, ended, subject, followed: (c: Category) => settingFor(c) !== undefined, pastCap };
}

/**
 * The oracle, written from the rules rather than from the code: a record is due
 * by its own clock when it started before its category's cutoff (users only
 * without account access, unless the account is over), or when an ancestor is
 * due (cascade); under a container a setting governs, only when the container
 * is. Under a subject clock a customer is due when her last contact — and
 * every contact stored under her — is past the cutoff. A due record goes unless
 * it is held (a hold does not keep a record past its cap where the profile lets
 * no hold pass it) or one of its descendants stays; a customer's identifiers
 * stay as long as the profile does.
 */
export function expectedDeletions(world: World): Set<string> {
  const byKey = new Map(world.items.map((i) => [keyOf(i), i]));
  const rulesOf = new Map(world.tenants.map((t) => [t.tenantId, oracleRules(world, t)]));
  const byPartition = new Map<string, RecordItem[]>();
  for (const i of world.items) byPartition.set(i.pk, [...(byPartition.get(i.pk) ?? []), i]);
  const ownDue = (i: RecordItem): boolean => {
    const rules = rulesOf.get(i.tenantId)!;
    if (i.retentionSk === undefined) return false;
    if (i.category === 'user' && i.hasAccountAccess === true && !rules.ended) return false;
    if (i.parentCategory !== undefined && rules.followed(i.parentCategory)) return false;
    const cutoff = rules.cutoff(i.category);
    if (cutoff === null || i.clockStart >= cutoff) return false;
    if (rules.subject !== undefined && !rules.ended && i.sk === 'PROFILE') {
      return !(byPartition.get(i.pk) ?? []).some((x) => CONTACTS.has(x.category) && x.clockStart >= cutoff);
    }
    return true;
  };
  const matchers = new Map(world.tenants.map((t) => [t.tenantId, holdMatcher(world.holds.filter((h) => h.tenantId === t.tenantId), world.now)]));
  const held = (i: RecordItem) => matchers.get(i.tenantId)!(i) && !rulesOf.get(i.tenantId)!.pastCap(i);

  const due = (i: RecordItem) => ownDue(i) || ancestors(i, byKey).some(ownDue);
  const staying = new Set<string>();
  for (const i of world.items) {
    if (!due(i) || held(i)) {
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
