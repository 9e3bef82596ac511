import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import {
  applyPolicyChange,
  capDays,
  cutoffFor,
  defaultTenantPolicy,
  effectivePeriod,
  effectiveSetting,
  governance,
  MAX_POLICY_DAYS,
  periodMs,
  policyChangeSchema,
  settingCapDays,
  validatePolicyChange,
  ZERO_DAY_PERIOD_MS,
  type Bounds,
  type PlatformPolicy,
  type PolicyChange,
  type Setting,
  type TenantPolicy,
} from '../../shared/domain/policy.js';
import { HOUR_MS, PROFILES, profile, withBounds } from './_helpers.js';

const NOW = new Date('2025-03-15T12:00:00.000Z');

/**
 * One thing a tenant chooses a period for: a setting of a profile, or a
 * category in none of its settings (nor in its account lifetime).
 */
interface Knob {
  readonly name: string;
  readonly platform: PlatformPolicy;
  readonly key: string;
  readonly bounds: Bounds;
  readonly cap: number | null;
  /** The body field its violations name. */
  readonly field: string;
  /** How messages name it. */
  readonly what: string;
  readonly acknowledge: 'shorten' | 'always';
  change(days: number | null, extra?: Partial<PolicyChange>): PolicyChange;
  tenantWith(days: number | null, locked?: boolean): TenantPolicy;
  effective(tenant: TenantPolicy | undefined): number | null;
}

const tenantBase = (platform: PlatformPolicy, locked = false): TenantPolicy => ({ ...defaultTenantPolicy(platform, 'acme'), version: 1, locked });

function settingKnob(name: string, platform: PlatformPolicy, setting: Setting): Knob {
  return {
    name,
    platform,
    key: setting.name,
    bounds: setting,
    cap: settingCapDays(platform, setting),
    field: `settings.${setting.name}.days`,
    what: setting.name,
    acknowledge: setting.acknowledge,
    change: (days, extra = {}) => ({ settings: { [setting.name]: { days } }, ...extra }),
    tenantWith: (days, locked) => ({ ...tenantBase(platform, locked), settings: { [setting.name]: { days } } }),
    effective: (tenant) => effectiveSetting(setting, tenant).days,
  };
}

function categoryKnob(name: string, platform: PlatformPolicy, category: Category): Knob {
  return {
    name,
    platform,
    key: category,
    bounds: platform.categories[category],
    cap: capDays(platform, category),
    field: `categories.${category}.days`,
    what: category,
    acknowledge: 'shorten',
    change: (days, extra = {}) => ({ categories: { [category]: { days } }, ...extra }),
    tenantWith: (days, locked) => ({ ...tenantBase(platform, locked), categories: { [category]: { days } } }),
    effective: (tenant) => effectivePeriod(platform, tenant, category).days,
  };
}

// Each knob prints as `profile/key` in a fast-check counterexample, not as a whole profile.
const knobs: Knob[] = PROFILES.flatMap(({ name, platform }) => {
  const g = governance(platform);
  return [
    ...(platform.settings ?? []).map((s) => settingKnob(name, platform, s)),
    ...CATEGORIES.filter((c) => !g.settingOf.has(c) && !g.accountLifetime.has(c)).map((c) => categoryKnob(name, platform, c)),
  ].map((k) => Object.assign(k, { [fc.toStringMethod]: () => `${name}/${k.key}` }));
});
const label = (k: Knob) => `${k.name}/${k.key}`;

function change(category: Category, days: number | null, extra: Partial<PolicyChange> = {}): PolicyChange {
  return { categories: { [category]: { days } }, ...extra };
}

function tenantWith(platform: PlatformPolicy, categories: TenantPolicy['categories'], locked = false): TenantPolicy {
  return { ...defaultTenantPolicy(platform, 'acme'), version: 1, locked, categories };
}

describe('tenant policy bounds, for every setting and every category outside the settings of every profile', () => {
  it('covers settings and categories of every profile', () => {
    expect(knobs.some((k) => k.field.startsWith('settings.'))).toBe(true);
    expect(new Set(knobs.map((k) => k.name)).size).toBe(PROFILES.length);
  });

  it('rejects a period below the minimum, naming it, the minimum and the field', () => {
    for (const knob of knobs) {
      const { minDays } = knob.bounds;
      if (minDays === 0) continue; // nothing is below 0: the schema rejects negatives (tested below)
      const violations = validatePolicyChange(knob.platform, undefined, knob.change(minDays - 1, { acknowledgeDataLoss: true }));
      const v = violations.find((x) => x.field === knob.field);
      expect(v, label(knob)).toBeDefined();
      expect(v!.message, label(knob)).toContain(knob.what);
      expect(v!.message, label(knob)).toContain(`${minDays} days (minimum)`);
    }
  });

  it('rejects a period above the cap, naming it, the cap and the field', () => {
    for (const knob of knobs) {
      if (knob.cap === null) continue;
      const violations = validatePolicyChange(knob.platform, undefined, knob.change(knob.cap + 1));
      const v = violations.find((x) => x.field === knob.field && x.message.includes('(maximum)'));
      expect(v, label(knob)).toBeDefined();
      expect(v!.message, label(knob)).toContain(knob.what);
      expect(v!.message, label(knob)).toContain(`${knob.cap} days (maximum)`);
    }
  });

  it('accepts the minimum and the cap themselves', () => {
    for (const knob of knobs) {
      const atMin = validatePolicyChange(knob.platform, undefined, knob.change(knob.bounds.minDays, { acknowledgeDataLoss: true }));
      expect(atMin, label(knob)).toEqual([]);
      if (knob.cap !== null && knob.bounds.extendable) {
        expect(validatePolicyChange(knob.platform, undefined, knob.change(knob.cap, { acknowledgeDataLoss: true })), label(knob)).toEqual([]);
      }
    }
  });

  it('turns 0 days into the grace alone wherever the minimum allows 0', () => {
    let checked = 0;
    for (const knob of knobs) {
      if (knob.bounds.minDays !== 0) continue;
      checked++;
      const c = knob.change(0, { acknowledgeDataLoss: true });
      expect(validatePolicyChange(knob.platform, undefined, c), label(knob)).toEqual([]);
      const tenant = applyPolicyChange(defaultTenantPolicy(knob.platform, 'acme'), c, NOW.toISOString(), 'admin');
      expect(periodMs(knob.effective(tenant))).toBe(0);
      const graceMs = knob.platform.sweep.graceHours * HOUR_MS;
      const category = knob.field.startsWith('settings.') ? (knob.platform.settings!.find((s) => s.name === knob.key)!.categories[0] as Category) : (knob.key as Category);
      expect(cutoffFor(knob.platform, tenant, category, NOW)!.getTime(), label(knob)).toBe(NOW.getTime() - graceMs);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('accepts an indefinite period only where the profile allows it', () => {
    for (const knob of knobs) {
      const violations = validatePolicyChange(knob.platform, undefined, knob.change(null, { acknowledgeDataLoss: true }));
      if (knob.bounds.indefiniteAllowed) {
        expect(violations, label(knob)).toEqual([]);
      } else {
        expect(violations.map((v) => v.field), label(knob)).toContain(knob.field);
        expect(violations[0]!.message, label(knob)).toContain('indefinitely');
      }
    }
  });

  it('rejects extending a non-extendable period beyond its default', () => {
    let checked = 0;
    for (const knob of knobs) {
      const b = knob.bounds;
      if (b.extendable || b.defaultDays === null) continue;
      checked++;
      const violations = validatePolicyChange(knob.platform, undefined, knob.change(b.defaultDays + 1));
      const v = violations.find((x) => x.message.includes('cannot be extended'));
      expect(v, label(knob)).toMatchObject({ field: knob.field });
      expect(v!.message).toContain(`${b.defaultDays} days`);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('rejects shortening below the effective period without acknowledgeDataLoss, explaining why', () => {
    let checked = 0;
    for (const knob of knobs) {
      const b = knob.bounds;
      const shorter = b.minDays;
      if (b.defaultDays !== null && shorter >= b.defaultDays) continue;
      checked++;
      const violations = validatePolicyChange(knob.platform, undefined, knob.change(shorter));
      expect(violations, label(knob)).toEqual([
        expect.objectContaining({ field: 'acknowledgeDataLoss', message: expect.stringContaining(knob.what) }),
      ]);
      expect(violations[0]!.message).toMatch(/due for deletion/);
      expect(violations[0]!.message).toMatch(/acknowledgeDataLoss: true/);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('accepts shortening when the data loss is acknowledged', () => {
    for (const knob of knobs) {
      const b = knob.bounds;
      if (b.defaultDays !== null && b.minDays >= b.defaultDays) continue;
      expect(validatePolicyChange(knob.platform, undefined, knob.change(b.minDays, { acknowledgeDataLoss: true })), label(knob)).toEqual([]);
    }
  });
});

describe('tenant policy changes', () => {
  const voice = profile('voice');
  const retention = (days: number | null, extra: Partial<PolicyChange> = {}): PolicyChange => ({ settings: { retention: { days } }, ...extra });

  it('treats dropping an earlier extension as shortening', () => {
    const current: TenantPolicy = { ...tenantWith(voice, {}), settings: { retention: { days: 400 } } };
    const violations = validatePolicyChange(voice, current, { categories: { message: { days: 90 } } });
    expect(violations).toEqual([expect.objectContaining({ field: 'acknowledgeDataLoss', message: expect.stringContaining('retention') })]);
  });

  it('needs no acknowledgement to extend a period', () => {
    expect(validatePolicyChange(voice, undefined, retention(1000))).toEqual([]);
  });

  it('versions and stamps each applied change', () => {
    const next = applyPolicyChange(defaultTenantPolicy(voice, 'acme'), retention(200), NOW.toISOString(), 'admin@acme.test');
    expect(next).toMatchObject({ version: 1, locked: false, settings: { retention: { days: 200 } }, categories: {}, updatedAt: NOW.toISOString(), updatedBy: 'admin@acme.test' });
  });

  describe('once locked', () => {
    const locked = applyPolicyChange(tenantWith(voice, {}), retention(200, { lock: true }), NOW.toISOString(), 'admin');

    it('is locked by a change that asks for it', () => {
      expect(locked.locked).toBe(true);
    });

    it('rejects a later shortening even when acknowledged', () => {
      const violations = validatePolicyChange(voice, locked, retention(100, { acknowledgeDataLoss: true }));
      expect(violations).toEqual([expect.objectContaining({ field: 'settings.retention.days', message: expect.stringContaining('locked') })]);
    });

    it('rejects a later shortening of a category outside the settings even when acknowledged', () => {
      const violations = validatePolicyChange(voice, locked, { settings: { retention: { days: 200 } }, categories: { message: { days: 30 } }, acknowledgeDataLoss: true });
      expect(violations).toEqual([expect.objectContaining({ field: 'categories.message.days', message: expect.stringContaining('locked') })]);
    });

    it('accepts an extension', () => {
      expect(validatePolicyChange(voice, locked, retention(300))).toEqual([]);
    });

    it('stays locked after a change that does not mention the lock', () => {
      expect(applyPolicyChange(locked, retention(300), NOW.toISOString(), 'admin').locked).toBe(true);
    });

    it('rejects unlocking', () => {
      const violations = validatePolicyChange(voice, locked, retention(300, { lock: false }));
      expect(violations).toEqual([expect.objectContaining({ field: 'lock', message: expect.stringContaining('cannot be unlocked') })]);
    });
  });

  it('rejects an indefinite period for a non-extendable category even where indefinite is allowed', () => {
    const platform = withBounds(profile('chatbot'), {
      call: { defaultDays: 365, minDays: 1, maxDays: null, extendable: false, indefiniteAllowed: true },
    }, { personalDataCapDays: null });
    const violations = validatePolicyChange(platform, undefined, change('call', null));
    expect(violations).toEqual([expect.objectContaining({ field: 'categories.call.days', message: expect.stringContaining('cannot be extended') })]);
  });

  it('rejects an indefinite period for a category under the personal-data cap', () => {
    const platform = withBounds(
      profile('chatbot'),
      { call: { defaultDays: 365, minDays: 1, maxDays: 396, extendable: true, indefiniteAllowed: true } },
      { personalDataCapDays: 396 },
    );
    const violations = validatePolicyChange(platform, undefined, change('call', null));
    expect(violations).toEqual([expect.objectContaining({ field: 'categories.call.days', message: expect.stringContaining('396 days (maximum)') })]);
  });

  it('narrows a category cap to the personal-data cap', () => {
    const platform = withBounds(profile('conversations'), {}, { personalDataCapDays: 100 });
    expect(capDays(platform, 'call')).toBe(100);
    expect(capDays(platform, 'webhook_delivery')).toBe(platform.categories.webhook_delivery.maxDays);
    expect(CATALOG.webhook_delivery.personalData).toBe(false);
  });
});

describe('policy change schema', () => {
  const body = (categories: unknown) => ({ categories });

  it('accepts a well-formed change', () => {
    expect(policyChangeSchema.safeParse(body({ call: { days: 30 } })).success).toBe(true);
  });

  it('rejects an unknown category', () => {
    expect(policyChangeSchema.safeParse(body({ calls: { days: 30 } })).success).toBe(false);
  });

  it('rejects negative days', () => {
    expect(policyChangeSchema.safeParse(body({ call: { days: -1 } })).success).toBe(false);
  });

  it('rejects fractional days', () => {
    expect(policyChangeSchema.safeParse(body({ call: { days: 1.5 } })).success).toBe(false);
  });

  it('rejects days beyond a hundred years', () => {
    expect(policyChangeSchema.safeParse(body({ call: { days: MAX_POLICY_DAYS + 1 } })).success).toBe(false);
    expect(policyChangeSchema.safeParse(body({ call: { days: Number.MAX_SAFE_INTEGER } })).success).toBe(false);
  });

  it('rejects an empty change', () => {
    expect(policyChangeSchema.safeParse(body({})).success).toBe(false);
  });

  it('rejects unknown top-level fields', () => {
    expect(policyChangeSchema.safeParse({ ...body({ call: { days: 1 } }), force: true }).success).toBe(false);
  });
});

describe('policy validation, by property', () => {
  const arbitraryKnob = fc.constantFrom(...knobs);

  it('never accepts a period outside [min, cap] for any profile and setting or category', () => {
    fc.assert(
      fc.property(arbitraryKnob, fc.integer({ min: 0, max: MAX_POLICY_DAYS }), fc.boolean(), (knob, days, ack) => {
        const violations = validatePolicyChange(knob.platform, undefined, knob.change(days, { acknowledgeDataLoss: ack }));
        if (days < knob.bounds.minDays || (knob.cap !== null && days > knob.cap)) {
          expect(violations.some((v) => v.field === knob.field)).toBe(true);
        }
      }),
    );
  });

  it('accepts every acknowledged period inside the bounds that does not extend a non-extendable default', () => {
    fc.assert(
      fc.property(arbitraryKnob, fc.integer({ min: 0, max: MAX_POLICY_DAYS }), (knob, days) => {
        const b = knob.bounds;
        fc.pre(days >= b.minDays && (knob.cap === null || days <= knob.cap));
        fc.pre(b.extendable || b.defaultDays === null || days <= b.defaultDays);
        expect(validatePolicyChange(knob.platform, undefined, knob.change(days, { acknowledgeDataLoss: true }))).toEqual([]);
      }),
    );
  });

  it('asks for acknowledgement exactly when a period gets shorter, or on any change of a setting that always asks', () => {
    fc.assert(
      fc.property(arbitraryKnob, fc.integer({ min: 0, max: 3650 }), fc.integer({ min: 0, max: 3650 }), (knob, before, after) => {
        const violations = validatePolicyChange(knob.platform, knob.tenantWith(before), knob.change(after));
        const asked = violations.some((v) => v.field === 'acknowledgeDataLoss');
        expect(asked).toBe(periodMs(after) < periodMs(before) || (knob.acknowledge === 'always' && after !== before));
      }),
    );
  });

  it('makes the zero-day period nothing: the grace alone remains', () => {
    expect(periodMs(0)).toBe(ZERO_DAY_PERIOD_MS);
    expect(ZERO_DAY_PERIOD_MS).toBe(0);
  });
});
