/**
 * Policy v2 in the pure domain: the platform schema (settings that may not
 * overlap, clock kinds, the account lifetime, a v1 profile still loading),
 * and what the sweep makes of it — children that follow a governed parent,
 * 0 days meaning the grace alone, a subject clock, an account that is over,
 * holds that may not pass a cap, TTL backstops — and the validation of a
 * tenant's change against settings.
 */
import { describe, expect, it } from 'vitest';
import { CATEGORIES, PROFILE_DESCENDANTS } from '../../shared/domain/catalog.js';
import {
  backstopCapDays,
  backstopExpiresAt,
  cutoffFor,
  defaultTenantPolicy,
  governance,
  holdCapDays,
  periodMs,
  platformPolicySchema,
  validatePolicyChange,
  type PlatformPolicy,
  type Setting,
  type TenantPolicy,
} from '../../shared/domain/policy.js';
import { isDue, pastCap, runAccountEnd, runCutoffs, sweepRules, V1_RULES } from '../../shared/domain/sweep/cutoffs.js';
import { TenantChunk } from '../../shared/domain/sweep/plan.js';
import { accountEnd, tenantStatusAt, type Tenant } from '../../shared/domain/tenant.js';
import { conversationsV1, DAY_MS, hold, HOUR_MS, profile } from './_helpers.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

const voice = profile('voice');
const desk = profile('support-desk');
const conversations = profile('conversations');
const callTracking = profile('call-tracking');

function tenantOf(partial: Partial<Tenant> = {}): Tenant {
  return { tenantId: 'acme', name: 'Acme', status: 'active', adminEmails: ['a@acme.test'], lastActivityAt: ago(DAY_MS), createdAt: ago(1000 * DAY_MS), updatedAt: ago(1000 * DAY_MS), ...partial };
}

function policyWith(platform: PlatformPolicy, settings: TenantPolicy['settings'] = {}, categories: TenantPolicy['categories'] = {}): TenantPolicy {
  return { ...defaultTenantPolicy(platform, 'acme'), version: 1, settings, categories };
}

const cutoffsOf = (platform: PlatformPolicy, policy?: TenantPolicy, tenant = tenantOf()) => runCutoffs({ tenant, platform, policy, holds: [] }, NOW);

/** A profile JSON with some fields replaced, parsed by the schema. */
function parse(platform: PlatformPolicy, changes: Record<string, unknown>) {
  return platformPolicySchema.safeParse({ ...platform, ...changes });
}

const setting = (partial: Partial<Setting> & Pick<Setting, 'name' | 'categories'>): Setting => ({
  description: 'a setting',
  clock: 'item',
  defaultDays: 90,
  minDays: 0,
  maxDays: 1095,
  extendable: true,
  indefiniteAllowed: false,
  acknowledge: 'shorten',
  ...partial,
});

describe('the platform schema', () => {
  it('still loads a profile without settings, account lifetime or holds (policy v1): every category is its own setting', () => {
    const v1 = conversationsV1();
    expect(platformPolicySchema.safeParse(v1).success).toBe(true);
    const g = governance(v1);
    expect(g.settingOf.size).toBe(0);
    expect(g.followed.size).toBe(0);
    expect(g.accountLifetime.size).toBe(0);
    expect(g.holdsBeyondCap).toBe(true);
    expect(g.inactivityDays).toBe(548);
  });

  it('refuses a category governed by two settings, named twice or through a governed parent', () => {
    const named = parse(voice, { settings: [setting({ name: 'a', categories: ['call'] }), setting({ name: 'b', categories: ['call', 'webhook_delivery'] })] });
    const throughParent = parse(voice, { settings: [setting({ name: 'a', categories: ['whatsapp_conversation'] }), setting({ name: 'b', categories: ['message'] })] });

    expect(named.success).toBe(false);
    // call, and the recordings and third-party data under it.
    expect(named.error?.issues.map((i) => i.message)).toEqual([
      'call is governed by the setting a already',
      'call_recording is governed by the setting a already',
      'third_party_call_data is governed by the setting a already',
    ]);
    expect(named.error?.issues[0]?.path).toEqual(['settings', 1, 'categories']);
    expect(throughParent.error?.issues).toEqual([expect.objectContaining({ message: 'message is governed by the setting a already' })]);
  });

  it('refuses a setting name used twice, and more than one subject clock', () => {
    expect(parse(voice, { settings: [setting({ name: 'a', categories: ['call'] }), setting({ name: 'a', categories: ['user'] })] }).error?.issues[0]?.path).toEqual(['settings', 1, 'name']);
    const twoSubjects = [setting({ name: 'a', categories: ['customer_profile'], clock: 'subject' }), setting({ name: 'b', categories: ['customer_profile'], clock: 'subject' })];
    expect(parse(voice, { settings: twoSubjects }).success).toBe(false);
  });

  it('ties customer_profile to a subject clock, and a subject clock to customer_profile', () => {
    expect(parse(voice, { settings: [setting({ name: 'a', categories: ['customer_profile'] })] }).error?.issues[0]?.message).toMatch(/only be governed by a subject-clock setting/);
    expect(parse(voice, { settings: [setting({ name: 'a', categories: ['call'], clock: 'subject' })] }).error?.issues[0]?.message).toMatch(/governs customer_profile/);
  });

  it('keeps account configuration to the account: no setting, and in every account lifetime', () => {
    expect(parse(voice, { settings: [setting({ name: 'a', categories: ['account_config'] })] }).success).toBe(false);
    const { accountInactivityDays: _, ...noV1 } = voice;
    expect(platformPolicySchema.safeParse({ ...noV1, accountLifetime: { categories: ['customer_profile'], inactivityDays: 548 } }).error?.issues[0]?.message).toMatch(/account_config/);
  });

  it('refuses an account-lifetime category that a setting governs', () => {
    const { accountInactivityDays: _, ...noV1 } = voice;
    const result = platformPolicySchema.safeParse({ ...noV1, accountLifetime: { categories: ['call', 'account_config'], inactivityDays: 548 } });
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['accountLifetime', 'categories'], message: 'call is governed by the setting retention' })]);
  });

  it('takes the inactivity period from one place: the account lifetime, or the v1 field', () => {
    expect(parse(conversations, { accountInactivityDays: 548 }).error?.issues[0]?.path).toEqual(['accountInactivityDays']);
    const { accountInactivityDays: _, ...noV1 } = voice;
    expect(platformPolicySchema.safeParse(noV1).error?.issues[0]?.path).toEqual(['accountInactivityDays']);
  });

  it('refuses a subject clock under a personal-data cap, and a setting over personal data beyond it', () => {
    const subject = setting({ name: 'a', categories: ['customer_profile'], clock: 'subject', maxDays: 300 });
    expect(parse(profile('chatbot'), { settings: [subject] }).error?.issues.some((i) => /subject clock cannot keep personal data/.test(i.message))).toBe(true);
    expect(parse(profile('chatbot'), { settings: [setting({ name: 'a', categories: ['call'], maxDays: 400 })] }).error?.issues[0]?.message).toBe('personal data is capped at 396 days');
  });
});

describe('a child of a governed parent follows it', () => {
  const kept = policyWith(voice, { retention: { days: 365 } });
  const cutoffs = cutoffsOf(voice, kept);
  const rules = sweepRules(voice, NOW.toISOString());

  it('is not due by its own clock under a kept WhatsApp conversation or call', () => {
    const underWhatsapp = { category: 'message' as const, clockStart: ago(100 * DAY_MS), parentClock: ago(100 * DAY_MS), parentCategory: 'whatsapp_conversation' as const };
    const recording = { category: 'call_recording' as const, clockStart: ago(100 * DAY_MS), parentClock: ago(100 * DAY_MS), parentCategory: 'call' as const };
    const thirdParty = { ...recording, category: 'third_party_call_data' as const };

    // Messages keep their own 90 days elsewhere: without the rule this one would be due.
    expect(isDue(cutoffs, underWhatsapp, V1_RULES)).toBe(true);
    expect(isDue(cutoffs, underWhatsapp, rules)).toBe(false);
    expect(isDue(cutoffs, recording, rules)).toBe(false);
    expect(isDue(cutoffs, thirdParty, rules)).toBe(false);
  });

  it('is due exactly when the parent is, even when its own clock is young', () => {
    const young = { category: 'message' as const, clockStart: ago(HOUR_MS), parentClock: ago(400 * DAY_MS), parentCategory: 'whatsapp_conversation' as const };
    expect(isDue(cutoffs, young, rules)).toBe(true);
  });

  it('keeps its own period under a container no setting governs', () => {
    const underPlain = { category: 'message' as const, clockStart: ago(100 * DAY_MS), parentClock: ago(100 * DAY_MS), parentCategory: 'conversation' as const };
    expect(isDue(cutoffs, underPlain, rules)).toBe(true);
  });

  it('has the TTL backstop of the longer of its own cap and the setting it follows', () => {
    const own = withMessageCap(voice, 30);
    expect(backstopCapDays(own, 'message')).toBe(1095);
    expect(backstopCapDays(voice, 'call_recording')).toBe(1095);
  });
});

function withMessageCap(platform: PlatformPolicy, maxDays: number): PlatformPolicy {
  return { ...platform, categories: { ...platform.categories, message: { ...platform.categories.message, defaultDays: maxDays, maxDays } } };
}

describe('0 days', () => {
  it('is nothing: the grace alone remains (voice: 2 hours in all)', () => {
    expect(periodMs(0)).toBe(0);
    const cutoffs = cutoffsOf(voice, policyWith(voice, { retention: { days: 0 } }));
    expect(cutoffs.call).toBe(ago(2 * HOUR_MS));
    expect(cutoffs.whatsapp_conversation).toBe(ago(2 * HOUR_MS));
    expect(isDue(cutoffs, { category: 'call', clockStart: ago(3 * HOUR_MS) })).toBe(true);
    expect(isDue(cutoffs, { category: 'call', clockStart: ago(HOUR_MS) })).toBe(false);
  });
});

describe('a subject clock (support-desk)', () => {
  it('deletes nothing under the default: every cutoff is null', () => {
    expect(Object.values(cutoffsOf(desk)).every((c) => c === null)).toBe(true);
  });

  it('times a customer by her last contact alone: nothing under her is due by its own clock', () => {
    const cutoffs = cutoffsOf(desk, policyWith(desk, { customer_data: { days: 365 } }));
    expect(cutoffs.customer_profile).toBe(ago(365 * DAY_MS));
    for (const c of PROFILE_DESCENDANTS) expect(cutoffs[c], c).toBeNull();
    const rules = sweepRules(desk, NOW.toISOString());
    expect(rules.subjectClock).toBe(true);
    expect(isDue(cutoffs, { category: 'call', clockStart: ago(5000 * DAY_MS) }, rules)).toBe(false);
    expect(isDue(cutoffs, { category: 'customer_profile', clockStart: ago(400 * DAY_MS) }, rules)).toBe(true);
    expect(isDue(cutoffs, { category: 'customer_profile', clockStart: ago(100 * DAY_MS) }, rules)).toBe(false);
  });

  it('sets no TTL backstop under a customer (her last contact moves)', () => {
    for (const c of ['customer_profile', ...PROFILE_DESCENDANTS] as const) expect(backstopExpiresAt(desk, c, new Date(ago(4000 * DAY_MS))), c).toBeUndefined();
  });
});

describe('the account lifetime (conversations)', () => {
  it('keeps People, agents and configuration while the account is active', () => {
    const cutoffs = cutoffsOf(conversations);
    expect([cutoffs.customer_profile, cutoffs.user, cutoffs.account_config]).toEqual([null, null, null]);
    expect(cutoffs.conversation).toBe(ago(183 * DAY_MS));
    expect(backstopCapDays(conversations, 'customer_profile')).toBeNull();
  });

  it('is over once the contract has ended, or after 548 days without activity; the contract wins when both hold', () => {
    expect(accountEnd(tenantOf({ contractEndsAt: ago(HOUR_MS) }), conversations, NOW)).toBe('contract_ended');
    expect(accountEnd(tenantOf({ contractEndsAt: ago(-HOUR_MS) }), conversations, NOW)).toBeUndefined();
    expect(accountEnd(tenantOf({ lastActivityAt: ago(549 * DAY_MS) }), conversations, NOW)).toBe('inactive');
    expect(accountEnd(tenantOf({ lastActivityAt: ago(547 * DAY_MS) }), conversations, NOW)).toBeUndefined();
    expect(accountEnd(tenantOf({ lastActivityAt: ago(549 * DAY_MS), contractEndsAt: ago(DAY_MS) }), conversations, NOW)).toBe('contract_ended');
  });

  it('makes everything of an account that is over due at the next sweep, users with access included', () => {
    const tenant = tenantOf({ contractEndsAt: ago(DAY_MS) });
    const cutoffs = cutoffsOf(conversations, undefined, tenant);
    expect(new Set(Object.values(cutoffs))).toEqual(new Set([NOW.toISOString()]));
    const reason = runAccountEnd({ tenant, platform: conversations }, NOW);
    const rules = sweepRules(conversations, NOW.toISOString(), reason);
    expect(isDue(cutoffs, { category: 'user', clockStart: ago(HOUR_MS), hasAccountAccess: true }, rules)).toBe(true);
    expect(isDue(cutoffs, { category: 'user', clockStart: ago(HOUR_MS), hasAccountAccess: true })).toBe(false);
  });

  it('shows on the tenant as its status, computed (a stored suspension wins)', () => {
    expect(tenantStatusAt(tenantOf({ lastActivityAt: ago(600 * DAY_MS) }), conversations, NOW)).toBe('inactive');
    expect(tenantStatusAt(tenantOf({ contractEndsAt: ago(DAY_MS) }), conversations, NOW)).toBe('contract_ended');
    expect(tenantStatusAt(tenantOf(), conversations, NOW)).toBe('active');
    expect(tenantStatusAt(tenantOf({ status: 'suspended', contractEndsAt: ago(DAY_MS) }), conversations, NOW)).toBe('suspended');
  });

  it('deletes only account configuration of an account that is over under a profile without lifetime (v1)', () => {
    const tenant = tenantOf({ contractEndsAt: ago(DAY_MS) });
    expect(runAccountEnd({ tenant, platform: voice }, NOW)).toBeUndefined();
    const cutoffs = cutoffsOf(voice, undefined, tenant);
    expect(cutoffs.account_config).toBe(NOW.toISOString());
    expect(cutoffs.call).toBe(ago(90 * DAY_MS + 2 * HOUR_MS));
  });
});

describe('holds and caps (call-tracking: no hold beyond 25 months)', () => {
  const rules = sweepRules(callTracking, NOW.toISOString());
  const oldCall = { tenantId: 'acme', category: 'call' as const, subjectId: 'c1', callId: 'k1', clockStart: ago(792 * DAY_MS) };
  const youngCall = { ...oldCall, callId: 'k2', clockStart: ago(100 * DAY_MS) };

  it('finds a record past its cap, by its own clock or its container’s', () => {
    expect(pastCap(rules, oldCall)).toBe(true);
    expect(pastCap(rules, youngCall)).toBe(false);
    expect(pastCap(rules, { category: 'call_recording', clockStart: ago(HOUR_MS), parentClock: oldCall.clockStart, parentCategory: 'call' })).toBe(true);
    expect(pastCap(sweepRules(voice, NOW.toISOString()), { category: 'call', clockStart: ago(5000 * DAY_MS) })).toBe(false);
  });

  it('lets a hold keep only what is inside the cap', () => {
    const chunk = new TenantChunk(
      { tenant: tenantOf(), holds: [hold({ scope: { customerId: 'c1' } })], cutoffs: cutoffsOf(callTracking), runStartedAt: NOW.toISOString(), rules },
      [0],
    );
    expect(chunk.isHeld(oldCall)).toBe(false);
    expect(chunk.deletedOverHold({ ...oldCall, pk: 'p', sk: 's', id: 'k1' })).toBe(true);
    expect(chunk.isHeld(youngCall)).toBe(true);
  });

  it('says what a hold covers: data inside the cap of each capped category in its scope', () => {
    expect(holdCapDays(callTracking)).toMatchObject({ longest: 761, byCategory: expect.objectContaining({ call: 761, user: 396 }) });
    expect(holdCapDays(callTracking, 'call')).toEqual({ longest: 761, byCategory: { call: 761 } });
    // Customer profiles live as long as the account: no cap, a hold keeps them.
    expect(holdCapDays(callTracking, 'customer_profile')).toBeUndefined();
    expect(holdCapDays(voice)).toBeUndefined();
  });
});

describe('a tenant’s change under settings', () => {
  it('refuses a category a setting governs, naming the setting to use', () => {
    for (const category of ['call', 'call_recording', 'third_party_call_data'] as const) {
      expect(validatePolicyChange(voice, undefined, { categories: { [category]: { days: 10 } } })).toEqual([
        { field: `categories.${category}.days`, message: `${category} is governed by the setting retention: set settings.retention.days instead` },
      ]);
    }
  });

  it('refuses a category kept for the account’s lifetime', () => {
    const [violation] = validatePolicyChange(conversations, undefined, { categories: { customer_profile: { days: 100 } } });
    expect(violation).toMatchObject({ field: 'categories.customer_profile.days', message: expect.stringMatching(/kept while the account is active/) });
  });

  it('refuses an unknown setting, naming the field and the profile’s settings', () => {
    expect(validatePolicyChange(voice, undefined, { settings: { calls: { days: 10 } } })).toEqual([
      { field: 'settings.calls', message: 'no such setting under the voice profile; its settings: retention' },
    ]);
    expect(validatePolicyChange(conversations, undefined, { settings: { any: { days: 10 } } })[0]?.message).toMatch(/has no settings/);
  });

  it('asks for the acknowledgement on every change of a setting that always asks, longer ones included', () => {
    const at400 = policyWith(desk, { customer_data: { days: 400 } });
    expect(validatePolicyChange(desk, at400, { settings: { customer_data: { days: 500 } } })).toEqual([
      expect.objectContaining({ field: 'acknowledgeDataLoss', message: expect.stringMatching(/customer_data/) }),
    ]);
    expect(validatePolicyChange(desk, at400, { settings: { customer_data: { days: 500 } }, acknowledgeDataLoss: true })).toEqual([]);
    expect(validatePolicyChange(desk, undefined, { settings: { customer_data: { days: 364 } }, acknowledgeDataLoss: true })[0]?.field).toBe('settings.customer_data.days');
  });

  it('moves every category a setting governs with it', () => {
    const policy = policyWith(voice, { retention: { days: 30 } });
    for (const c of CATEGORIES.filter((x) => governance(voice).settingOf.get(x)?.name === 'retention')) {
      expect(cutoffFor(voice, policy, c, NOW)?.toISOString(), c).toBe(ago(30 * DAY_MS + 2 * HOUR_MS));
    }
  });
});
