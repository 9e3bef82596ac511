import { describe, expect, it } from 'vitest';
import { loadProfile, parsePlatformPolicy, PROFILE_NAMES, UnknownProfileError } from '../../shared/config/profiles.js';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import { capDays } from '../../shared/domain/policy.js';
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

  it('deletes account data after 18 months of inactivity', () => {
    expect(p.accountInactivityDays).toBeGreaterThanOrEqual(547);
    expect(p.accountInactivityDays).toBeLessThanOrEqual(549);
  });
});

describe('voice profile', () => {
  const p = loadProfile('voice');

  it('lets recordings, calls, webhooks and WhatsApp conversations range from 0 to 1095 days', () => {
    for (const c of ['call_recording', 'call', 'webhook_delivery', 'whatsapp_conversation'] as const) {
      expect(p.categories[c], c).toMatchObject({ minDays: 0, maxDays: 1095 });
    }
  });

  it('gives recordings, calls, webhooks and WhatsApp conversations one shared default period', () => {
    const defaults = new Set((['call_recording', 'call', 'webhook_delivery', 'whatsapp_conversation'] as const).map((c) => p.categories[c].defaultDays));
    expect(defaults.size).toBe(1);
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

  it('keeps communication records for 25 months (761 days) without extension', () => {
    for (const c of communication) {
      expect(p.categories[c], c).toMatchObject({ defaultDays: 761, extendable: false });
      expect(capDays(p, c), c).toBe(761);
    }
  });

  it('keeps users 13 months (396 days) after their last sign-in', () => {
    expect(p.categories.user.defaultDays).toBe(396);
    expect(CATALOG.user.clockStartsAt).toBe('last_sign_in');
  });
});

describe('support-desk profile', () => {
  const p = loadProfile('support-desk');

  it('keeps customer profiles indefinitely by default', () => {
    expect(p.categories.customer_profile).toMatchObject({ defaultDays: null, maxDays: null, indefiniteAllowed: true });
  });

  it('allows deleting profiles no sooner than 365 days after the last contact', () => {
    expect(p.categories.customer_profile.minDays).toBe(365);
    expect(CATALOG.customer_profile.clockStartsAt).toBe('last_customer_contact');
  });

  it('blocks deletion while a conversation is open', () => {
    expect(p.blockDeletionWhileConversationOpen).toBe(true);
  });

  it('leaves manual deletion to compliance administrators', () => {
    expect(p.manualDeletionRole).toBe('ComplianceAdministrator');
  });
});

describe('every profile', () => {
  it.each(PROFILES.map((p) => [p.name, p.platform] as const))('%s allows an indefinite period only where the category has no cap', (_, platform) => {
    for (const c of CATEGORIES) {
      const b = platform.categories[c];
      if (b.defaultDays === null) expect(b.indefiniteAllowed, c).toBe(true);
      if (b.indefiniteAllowed) expect(capDays(platform, c), c).toBeNull();
    }
  });
});
