import { describe, expect, it } from 'vitest';
import { loadProfile, parsePlatformPolicy, PROFILE_NAMES, UnknownProfileError } from '../../shared/config/profiles.js';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import { backstopCapDays, boundsOf, capDays, effectivePeriod, governance } from '../../shared/domain/policy.js';
import { actionRolesOf } from '../../shared/domain/roles.js';
import { PROFILES } from './_helpers.js';

const MINUTES_PER_DAY = 1440;

describe('shipped platform profiles', () => {
  it.each(PROFILE_NAMES)('loads and validates the %s profile', (name) => {
    const platform = loadProfile(name);
    expect(platform.profile).toBe(name);
    expect(Object.keys(platform.categories).sort()).toEqual([...CATEGORIES].sort());
  });

  it('refuses an unknown profile name', () => {
    expect(() => loadProfile('marketing')).toThrow(UnknownProfileError);
  });

  it('rejects a profile whose default lies outside its bounds', () => {
    const json = JSON.stringify({
      ...loadProfile('voice'),
      categories: { ...loadProfile('voice').categories, call: { defaultDays: 2000, minDays: 0, maxDays: 1095, extendable: true, indefiniteAllowed: false } },
    });
    expect(() => parsePlatformPolicy(json)).toThrow(/defaultDays/);
  });

  it('rejects a profile whose personal categories exceed its personal-data cap', () => {
    const chatbot = loadProfile('chatbot');
    const json = JSON.stringify({
      ...chatbot,
      categories: { ...chatbot.categories, message: { ...chatbot.categories.message, maxDays: 397 } },
    });
    expect(() => parsePlatformPolicy(json)).toThrow(/capped at 396/);
  });
});

describe('conversations profile', () => {
  const p = loadProfile('conversations');

  it('keeps conversations, communication logs and analytics for six months (183 days)', () => {
    for (const c of ['conversation', 'whatsapp_conversation', 'message', 'communication_log', 'analytics_event'] as const) {
      expect(p.categories[c].defaultDays, c).toBe(183);
    }
  });

  it('keeps inbound OTT media for 30 days', () => {
    expect(p.categories.inbound_media.defaultDays).toBe(30);
  });

  it('keeps e-mail attachments for a year', () => {
    expect(p.categories.email_attachment.defaultDays).toBe(365);
  });

  it('caps outbound media at two years', () => {
    expect(p.categories.outbound_media.maxDays).toBe(730);
    expect(CATALOG.outbound_media.clockStartsAt).toBe('conversation_start');
  });

  it('does not let tenants extend media, attachments or analytics', () => {
    for (const c of ['inbound_media', 'outbound_media', 'email_attachment', 'analytics_event'] as const) {
      expect(p.categories[c].extendable, c).toBe(false);
    }
  });

  it('sweeps daily', () => {
    expect(p.sweep.cadenceMinutes).toBe(MINUTES_PER_DAY);
  });

  it('keeps People, agents and account configuration while the account is active, up to 18 months of inactivity', () => {
    expect(p.accountLifetime?.categories).toEqual(['customer_profile', 'user', 'account_config']);
    expect(p.accountLifetime?.inactivityDays).toBeGreaterThanOrEqual(547);
    expect(p.accountLifetime?.inactivityDays).toBeLessThanOrEqual(549);
    expect(capDays(p, 'customer_profile')).toBeNull();
  });
});

describe('voice profile', () => {
  const p = loadProfile('voice');

  it('has one setting for recordings, calls, webhooks and WhatsApp conversations, from 0 to 1095 days', () => {
    expect(p.settings).toHaveLength(1);
    const [setting] = p.settings!;
    expect(setting).toMatchObject({ clock: 'item', minDays: 0, maxDays: 1095, indefiniteAllowed: false });
    for (const c of ['call_recording', 'call', 'webhook_delivery', 'whatsapp_conversation'] as const) expect(setting!.categories, c).toContain(c);
  });

  it('governs the children of calls and WhatsApp conversations through that one setting', () => {
    const g = governance(p);
    expect(g.settingOf.get('third_party_call_data')?.name).toBe('retention');
    expect(g.followed.has('whatsapp_conversation')).toBe(true);
    expect(g.followed.has('call')).toBe(true);
    // A message under a plain conversation keeps its own period: the category is not wholly the setting's.
    expect(g.settingOf.has('message')).toBe(false);
  });

  it('sweeps every 120 minutes with two hours of grace', () => {
    expect(p.sweep.cadenceMinutes).toBe(120);
    expect(p.sweep.graceHours).toBe(2);
  });
});

describe('chatbot profile', () => {
  const p = loadProfile('chatbot');

  it('caps personal data at 13 months (396 days)', () => {
    expect(p.personalDataCapDays).toBe(396);
  });

  it('caps every personal category at no more than 396 days', () => {
    for (const c of CATEGORIES.filter((x) => CATALOG[x].personalData)) {
      expect(p.categories[c].maxDays, c).not.toBeNull();
      expect(p.categories[c].maxDays!, c).toBeLessThanOrEqual(396);
      expect(capDays(p, c), c).toBeLessThanOrEqual(396);
    }
  });

  it('sweeps monthly', () => {
    expect(p.sweep.cadenceMinutes).toBeGreaterThanOrEqual(28 * MINUTES_PER_DAY);
    expect(p.sweep.cadenceMinutes).toBeLessThanOrEqual(31 * MINUTES_PER_DAY);
  });
});

describe('call-tracking profile', () => {
  const p = loadProfile('call-tracking');
  const communication: Category[] = [
    'call',
    'call_recording',
    'third_party_call_data',
    'conversation',
    'whatsapp_conversation',
    'message',
    'communication_log',
    'inbound_media',
    'outbound_media',
    'email_attachment',
  ];

  it('keeps communication records, form submissions and web sessions included, for 25 months (761 days) without extension', () => {
    const g = governance(p);
    for (const c of [...communication, 'form_submission', 'web_session'] as const) {
      expect(g.settingOf.get(c), c).toMatchObject({ defaultDays: 761, maxDays: 761, extendable: false });
      expect(capDays(p, c), c).toBe(761);
    }
  });

  it('lets no legal hold keep data past its cap', () => {
    expect(p.holds?.beyondCap).toBe(false);
  });

  it('keeps consumer contact data (customer profiles) while the account is active', () => {
    expect(p.accountLifetime?.categories).toContain('customer_profile');
    expect(backstopCapDays(p, 'customer_profile')).toBeNull();
  });

  it('keeps users 13 months (396 days) after their last sign-in', () => {
    expect(p.categories.user.defaultDays).toBe(396);
    expect(CATALOG.user.clockStartsAt).toBe('last_sign_in');
  });
});

describe('support-desk profile', () => {
  const p = loadProfile('support-desk');

  it('keeps customer data indefinitely by default, through one subject-clock setting that needs the acknowledgement on every change', () => {
    expect(p.settings).toEqual([
      expect.objectContaining({ categories: ['customer_profile'], clock: 'subject', defaultDays: null, maxDays: null, indefiniteAllowed: true, acknowledge: 'always' }),
    ]);
  });

  it('allows deleting customers no sooner than 365 days after the last contact', () => {
    expect(p.settings![0]!.minDays).toBe(365);
    expect(CATALOG.customer_profile.clockStartsAt).toBe('last_customer_contact');
  });

  it('deletes nothing automatically by default', () => {
    for (const c of CATEGORIES) expect(effectivePeriod(p, undefined, c).days, c).toBeNull();
  });

  it('blocks deletion while a conversation is open', () => {
    expect(p.blockDeletionWhileConversationOpen).toBe(true);
  });

  it('leaves the setting and manual deletion to compliance administrators', () => {
    const roles = actionRolesOf(p);
    for (const a of ['changeRetentionSettings', 'deleteCustomers', 'deleteConversations', 'deleteMessages', 'deleteAttachments', 'deleteRecordings'] as const) {
      expect(roles[a], a).toBe('ComplianceAdministrator');
    }
  });
});

describe('every profile', () => {
  it.each(PROFILES.map((p) => [p.name, p.platform] as const))('%s allows an indefinite period only where the category has no cap', (_, platform) => {
    for (const c of CATEGORIES) {
      const b = boundsOf(platform, c);
      if (b.defaultDays === null) expect(b.indefiniteAllowed, c).toBe(true);
      if (b.indefiniteAllowed) expect(capDays(platform, c), c).toBeNull();
    }
  });
});
