import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATEGORIES } from '../../shared/domain/catalog.js';
import { backstopExpiresAt, cutoffFor, defaultTenantPolicy, type TenantPolicy } from '../../shared/domain/policy.js';
import { PROFILE_NAMES } from '../../shared/config/profiles.js';
import { DAY_MS, HOUR_MS, PROFILES, profile, withBounds } from './_helpers.js';

const PROFILE_BY_NAME = Object.fromEntries(PROFILES.map((p) => [p.name, p.platform])) as Record<(typeof PROFILE_NAMES)[number], (typeof PROFILES)[number]['platform']>;

const conversations = profile('conversations'); // grace 0
const voice = profile('voice'); // grace 2 h

/** A tenant whose `call` period is `days`: on its own (conversations), or through voice's one setting. */
function tenant(days: number | null): TenantPolicy {
  return { ...defaultTenantPolicy(conversations, 'acme'), version: 1, categories: { call: { days } }, settings: { retention: { days } } };
}

const cutoff = (now: string, days: number | null, platform = conversations) =>
  cutoffFor(platform, { ...tenant(days), profile: platform.profile }, 'call', new Date(now))?.toISOString() ?? null;

/**
 * The rule of `RecordStore.findDueForDeletion` and the sweep: a record is due when
 * its clock started strictly before the cutoff. Both compare canonical ISO strings
 * (`retentionSk < cutoff`), which order like the instants they name.
 */
const isDue = (clockStart: string, cut: string) => clockStart < cut;

describe('cutoff = now − period − grace, in UTC', () => {
  it('subtracts whole days across the end of January into December', () => {
    expect(cutoff('2025-01-31T00:00:00.000Z', 31)).toBe('2024-12-31T00:00:00.000Z');
  });

  it('counts days, not months, from the end of March back over February', () => {
    expect(cutoff('2025-03-31T10:00:00.000Z', 31)).toBe('2025-02-28T10:00:00.000Z');
    expect(cutoff('2025-03-02T00:00:00.000Z', 30)).toBe('2025-01-31T00:00:00.000Z');
  });

  it('counts the leap day of 2024 but not of 2025', () => {
    expect(cutoff('2024-03-01T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
    expect(cutoff('2025-03-01T00:00:00.000Z', 1)).toBe('2025-02-28T00:00:00.000Z');
    expect(cutoff('2024-03-01T00:00:00.000Z', 366)).toBe('2023-03-01T00:00:00.000Z');
    expect(cutoff('2025-03-01T00:00:00.000Z', 365)).toBe('2024-03-01T00:00:00.000Z');
  });

  it('lands on and steps over the leap day of 2028', () => {
    expect(cutoff('2028-03-01T00:00:00.000Z', 1)).toBe('2028-02-29T00:00:00.000Z');
    expect(cutoff('2028-02-29T00:00:00.000Z', 365)).toBe('2027-03-01T00:00:00.000Z');
    expect(cutoff('2029-02-28T00:00:00.000Z', 365)).toBe('2028-02-29T00:00:00.000Z');
    expect(cutoff('2028-02-29T12:00:00.000Z', 1)).toBe('2028-02-28T12:00:00.000Z');
  });

  it('ignores daylight-saving changes: a day is always 24 hours of UTC', () => {
    // Europe and the US move their clocks on these nights; the cutoff does not care.
    expect(cutoff('2025-03-31T01:30:00.000Z', 1)).toBe('2025-03-30T01:30:00.000Z');
    expect(cutoff('2025-11-03T06:30:00.000Z', 1)).toBe('2025-11-02T06:30:00.000Z');
    expect(Date.parse(cutoff('2025-10-27T00:00:00.000Z', 7)!)).toBe(Date.parse('2025-10-27T00:00:00.000Z') - 7 * DAY_MS);
  });

  it('makes a 0-day period nothing: without a grace, everything started before now is due', () => {
    expect(cutoff('2025-06-01T12:00:00.000Z', 0)).toBe('2025-06-01T12:00:00.000Z');
  });

  it('adds the platform grace period on top of the period', () => {
    expect(cutoff('2025-06-01T12:00:00.000Z', 1, voice)).toBe('2025-05-31T10:00:00.000Z');
    // voice: 0 days = due once the 2-hour grace has passed, 2 hours in all.
    expect(cutoff('2025-06-01T12:00:00.000Z', 0, voice)).toBe('2025-06-01T10:00:00.000Z');
  });

  it('has no cutoff for an indefinite period', () => {
    expect(cutoff('2025-06-01T12:00:00.000Z', null)).toBeNull();
  });

  it('uses the platform default where the tenant has no override', () => {
    const now = new Date('2025-06-01T00:00:00.000Z');
    expect(cutoffFor(conversations, undefined, 'inbound_media', now)!.toISOString()).toBe('2025-05-02T00:00:00.000Z');
  });

  it('does not treat a record exactly at the cutoff as due (strict <)', () => {
    const cut = cutoff('2025-06-01T12:00:00.000Z', 30)!;
    expect(isDue(cut, cut)).toBe(false);
    expect(isDue(new Date(Date.parse(cut) - 1).toISOString(), cut)).toBe(true);
  });

  it('moves the cutoff forward by exactly as much as the clock moves (monotonic)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROFILE_NAMES),
        fc.constantFrom(...CATEGORIES),
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2090-01-01T00:00:00Z') }),
        fc.integer({ min: 0, max: 400 * DAY_MS }),
        (name, category, t, dt) => {
          const platform = PROFILE_BY_NAME[name];
          const a = cutoffFor(platform, undefined, category, new Date(t));
          const b = cutoffFor(platform, undefined, category, new Date(t + dt));
          if (a === null) {
            expect(b).toBeNull();
            return;
          }
          expect(b!.getTime() - a.getTime()).toBe(dt);
          expect(a.getTime()).toBeLessThanOrEqual(t);
        },
      ),
    );
  });

  it('never makes a longer period reach further forward than a shorter one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3650 }), fc.integer({ min: 0, max: 3650 }), (d1, d2) => {
        const [short, long] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const now = '2026-01-01T00:00:00.000Z';
        expect(Date.parse(cutoff(now, long)!)).toBeLessThanOrEqual(Date.parse(cutoff(now, short)!));
      }),
    );
  });
});

describe('TTL backstop (expiresAt)', () => {
  const start = new Date('2025-01-01T00:00:00.000Z');
  const epoch = (iso: string) => Date.parse(iso) / 1000;

  it('is the clock start plus the category cap, in epoch seconds', () => {
    // conversations: inbound media capped at 30 days, no grace
    expect(backstopExpiresAt(conversations, 'inbound_media', start)).toBe(epoch('2025-01-31T00:00:00.000Z'));
  });

  it('adds the grace period', () => {
    // voice: calls capped at 1095 days, 2 h grace
    expect(backstopExpiresAt(voice, 'call', start)).toBe(epoch('2028-01-01T02:00:00.000Z'));
  });

  it('is narrowed by the personal-data cap', () => {
    const capped = withBounds(conversations, {}, { personalDataCapDays: 10 });
    expect(backstopExpiresAt(capped, 'call', start)).toBe(epoch('2025-01-11T00:00:00.000Z'));
  });

  it('is not narrowed by the personal-data cap for non-personal categories', () => {
    const capped = withBounds(conversations, {}, { personalDataCapDays: 10 });
    expect(backstopExpiresAt(capped, 'webhook_delivery', start)).toBe(epoch('2034-12-30T00:00:00.000Z'));
  });

  it('is the grace alone for a 0-day cap', () => {
    const zeroCap = withBounds(voice, { admin_activity_log: { defaultDays: 0, minDays: 0, maxDays: 0 } });
    expect(backstopExpiresAt(zeroCap, 'admin_activity_log', start)).toBe(epoch('2025-01-01T02:00:00.000Z'));
  });

  it('is undefined for a category without a cap', () => {
    expect(backstopExpiresAt(profile('support-desk'), 'customer_profile', start)).toBeUndefined();
  });

  it('never comes before the cutoff would make the record due', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROFILE_NAMES), fc.constantFrom(...CATEGORIES), (name, category) => {
        const platform = PROFILE_BY_NAME[name];
        const expires = backstopExpiresAt(platform, category, start);
        if (expires === undefined) return;
        // At the backstop instant the record is at least as old as any allowed period + grace.
        const cut = cutoffFor(platform, undefined, category, new Date(expires * 1000));
        expect(cut === null || cut.getTime() >= start.getTime()).toBe(true);
        expect(expires * 1000 - start.getTime()).toBeGreaterThanOrEqual(platform.sweep.graceHours * HOUR_MS);
      }),
    );
  });
});
