import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOG, CATEGORIES, type Category } from '../../shared/domain/catalog.js';
import {
  applyPolicyChange,
  capDays,
  cutoffFor,
  defaultTenantPolicy,
  effectivePeriod,
  MAX_POLICY_DAYS,
  periodMs,
  policyChangeSchema,
  validatePolicyChange,
  ZERO_DAY_PERIOD_MS,
  type PlatformPolicy,
  type PolicyChange,
  type TenantPolicy,
} from '../../shared/domain/policy.js';
import { HOUR_MS, PROFILES, profile, withBounds } from './_helpers.js';

const NOW = new Date('2025-03-15T12:00:00.000Z');
// Each cell prints as `profile/category` in a fast-check counterexample, not as a whole profile.
const cells = PROFILES.flatMap(({ name, platform }) =>
  CATEGORIES.map((category) => ({ name, platform, category, [fc.toStringMethod]: () => `${name}/${category}` })),
);
const label = (c: { name: string; category: Category }) => `${c.name}/${c.category}`;

function change(category: Category, days: number | null, extra: Partial<PolicyChange> = {}): PolicyChange {
  return { categories: { [category]: { days } }, ...extra };
}

function tenantWith(platform: PlatformPolicy, categories: TenantPolicy['categories'], locked = false): TenantPolicy {
  return { ...defaultTenantPolicy(platform, 'acme'), version: 1, locked, categories };
}

describe('tenant policy bounds, for every category of every profile', () => {
  it('rejects a period below the minimum, naming the category, the minimum and the field', () => {
    for (const cell of cells) {
      const { minDays } = cell.platform.categories[cell.category];
      if (minDays === 0) continue; // nothing is below 0: the schema rejects negatives (tested below)
      const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, minDays - 1, { acknowledgeDataLoss: true }));
      const v = violations.find((x) => x.field === `categories.${cell.category}.days`);
      expect(v, label(cell)).toBeDefined();
      expect(v!.message, label(cell)).toContain(cell.category);
      expect(v!.message, label(cell)).toContain(`${minDays} days (minimum)`);
    }
  });

  it('rejects a period above the cap, naming the category, the cap and the field', () => {
    for (const cell of cells) {
      const cap = capDays(cell.platform, cell.category);
      if (cap === null) continue;
      const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, cap + 1));
      const v = violations.find((x) => x.field === `categories.${cell.category}.days` && x.message.includes('(maximum)'));
      expect(v, label(cell)).toBeDefined();
      expect(v!.message, label(cell)).toContain(cell.category);
      expect(v!.message, label(cell)).toContain(`${cap} days (maximum)`);
    }
  });

  it('accepts the minimum and the cap themselves', () => {
    for (const cell of cells) {
      const b = cell.platform.categories[cell.category];
      const atMin = validatePolicyChange(cell.platform, undefined, change(cell.category, b.minDays, { acknowledgeDataLoss: true }));
      expect(atMin, label(cell)).toEqual([]);
      const cap = capDays(cell.platform, cell.category);
      if (cap !== null && b.extendable) {
        expect(validatePolicyChange(cell.platform, undefined, change(cell.category, cap, { acknowledgeDataLoss: true })), label(cell)).toEqual([]);
      }
    }
  });

  it('turns 0 days into an effective two hours wherever the minimum allows 0', () => {
    let checked = 0;
    for (const cell of cells) {
      if (cell.platform.categories[cell.category].minDays !== 0) continue;
      checked++;
      const c = change(cell.category, 0, { acknowledgeDataLoss: true });
      expect(validatePolicyChange(cell.platform, undefined, c), label(cell)).toEqual([]);
      const tenant = applyPolicyChange(defaultTenantPolicy(cell.platform, 'acme'), c, NOW.toISOString(), 'admin');
      expect(periodMs(effectivePeriod(cell.platform, tenant, cell.category).days)).toBe(2 * HOUR_MS);
      const graceMs = cell.platform.sweep.graceHours * HOUR_MS;
      expect(cutoffFor(cell.platform, tenant, cell.category, NOW)!.getTime(), label(cell)).toBe(NOW.getTime() - 2 * HOUR_MS - graceMs);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('accepts an indefinite period only where the profile allows it', () => {
    for (const cell of cells) {
      const b = cell.platform.categories[cell.category];
      const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, null));
      if (b.indefiniteAllowed) {
        expect(violations, label(cell)).toEqual([]);
      } else {
        expect(violations.map((v) => v.field), label(cell)).toContain(`categories.${cell.category}.days`);
        expect(violations[0]!.message, label(cell)).toContain('indefinitely');
      }
    }
  });

  it('rejects extending a non-extendable category beyond its default', () => {
    let checked = 0;
    for (const cell of cells) {
      const b = cell.platform.categories[cell.category];
      if (b.extendable || b.defaultDays === null) continue;
      checked++;
      const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, b.defaultDays + 1));
      const v = violations.find((x) => x.message.includes('cannot be extended'));
      expect(v, label(cell)).toMatchObject({ field: `categories.${cell.category}.days` });
      expect(v!.message).toContain(`${b.defaultDays} days`);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('rejects shortening below the effective period without acknowledgeDataLoss, explaining why', () => {
    let checked = 0;
    for (const cell of cells) {
      const b = cell.platform.categories[cell.category];
      const shorter = b.minDays;
      if (b.defaultDays !== null && shorter >= b.defaultDays) continue;
      checked++;
      const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, shorter));
      expect(violations, label(cell)).toEqual([
        expect.objectContaining({ field: 'acknowledgeDataLoss', message: expect.stringContaining(cell.category) }),
      ]);
      expect(violations[0]!.message).toMatch(/due for deletion/);
      expect(violations[0]!.message).toMatch(/acknowledgeDataLoss: true/);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('accepts shortening when the data loss is acknowledged', () => {
    for (const cell of cells) {
      const b = cell.platform.categories[cell.category];
      if (b.defaultDays !== null && b.minDays >= b.defaultDays) continue;
      expect(validatePolicyChange(cell.platform, undefined, change(cell.category, b.minDays, { acknowledgeDataLoss: true })), label(cell)).toEqual([]);
    }
  });
});

describe('tenant policy changes', () => {
  const voice = profile('voice');

  it('treats dropping an earlier extension as shortening', () => {
    const current = tenantWith(voice, { call: { days: 400 } });
    const violations = validatePolicyChange(voice, current, { categories: { message: { days: 90 } } });
    expect(violations).toEqual([expect.objectContaining({ field: 'acknowledgeDataLoss', message: expect.stringContaining('call') })]);
  });

  it('needs no acknowledgement to extend a period', () => {
    expect(validatePolicyChange(voice, undefined, change('call', 1000))).toEqual([]);
  });

  it('versions and stamps each applied change', () => {
    const next = applyPolicyChange(defaultTenantPolicy(voice, 'acme'), change('call', 200), NOW.toISOString(), 'admin@acme.test');
    expect(next).toMatchObject({ version: 1, locked: false, categories: { call: { days: 200 } }, updatedAt: NOW.toISOString(), updatedBy: 'admin@acme.test' });
  });

  describe('once locked', () => {
    const locked = applyPolicyChange(
      tenantWith(voice, {}),
      change('call', 200, { lock: true }),
      NOW.toISOString(),
      'admin',
    );

    it('is locked by a change that asks for it', () => {
      expect(locked.locked).toBe(true);
    });

    it('rejects a later shortening even when acknowledged', () => {
      const violations = validatePolicyChange(voice, locked, change('call', 100, { acknowledgeDataLoss: true }));
      expect(violations).toEqual([
        expect.objectContaining({ field: 'categories.call.days', message: expect.stringContaining('locked') }),
      ]);
    });

    it('accepts an extension', () => {
      expect(validatePolicyChange(voice, locked, change('call', 300))).toEqual([]);
    });

    it('stays locked after a change that does not mention the lock', () => {
      expect(applyPolicyChange(locked, change('call', 300), NOW.toISOString(), 'admin').locked).toBe(true);
    });

    it('rejects unlocking', () => {
      const violations = validatePolicyChange(voice, locked, change('call', 300, { lock: false }));
      expect(violations).toEqual([expect.objectContaining({ field: 'lock', message: expect.stringContaining('cannot be unlocked') })]);
    });
  });

  it('rejects an indefinite period for a non-extendable category even where indefinite is allowed', () => {
    const platform = withBounds(profile('support-desk'), {
      call: { defaultDays: 365, minDays: 1, maxDays: null, extendable: false, indefiniteAllowed: true },
    });
    const violations = validatePolicyChange(platform, undefined, change('call', null));
    expect(violations).toEqual([expect.objectContaining({ field: 'categories.call.days', message: expect.stringContaining('cannot be extended') })]);
  });

  it('rejects an indefinite period for a category under the personal-data cap', () => {
    const platform = withBounds(
      profile('support-desk'),
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
  const arbitraryCell = fc.constantFrom(...cells);

  it('never accepts a period outside [min, cap] for any profile and category', () => {
    fc.assert(
      fc.property(arbitraryCell, fc.integer({ min: 0, max: MAX_POLICY_DAYS }), fc.boolean(), (cell, days, ack) => {
        const violations = validatePolicyChange(cell.platform, undefined, change(cell.category, days, { acknowledgeDataLoss: ack }));
        const b = cell.platform.categories[cell.category];
        const cap = capDays(cell.platform, cell.category);
        if (days < b.minDays || (cap !== null && days > cap)) {
          expect(violations.some((v) => v.field === `categories.${cell.category}.days`)).toBe(true);
        }
      }),
    );
  });

  it('accepts every acknowledged period inside the bounds that does not extend a non-extendable default', () => {
    fc.assert(
      fc.property(arbitraryCell, fc.integer({ min: 0, max: MAX_POLICY_DAYS }), (cell, days) => {
        const b = cell.platform.categories[cell.category];
        const cap = capDays(cell.platform, cell.category);
        fc.pre(days >= b.minDays && (cap === null || days <= cap));
        fc.pre(b.extendable || b.defaultDays === null || days <= b.defaultDays);
        expect(validatePolicyChange(cell.platform, undefined, change(cell.category, days, { acknowledgeDataLoss: true }))).toEqual([]);
      }),
    );
  });

  it('asks for acknowledgement exactly when a period gets shorter', () => {
    fc.assert(
      fc.property(arbitraryCell, fc.integer({ min: 0, max: 3650 }), fc.integer({ min: 0, max: 3650 }), (cell, before, after) => {
        const current = tenantWith(cell.platform, { [cell.category]: { days: before } });
        const violations = validatePolicyChange(cell.platform, current, change(cell.category, after));
        const asked = violations.some((v) => v.field === 'acknowledgeDataLoss');
        expect(asked).toBe(periodMs(after) < periodMs(before));
      }),
    );
  });

  it('keeps the zero-day period at two hours', () => {
    expect(periodMs(0)).toBe(ZERO_DAY_PERIOD_MS);
    expect(ZERO_DAY_PERIOD_MS).toBe(2 * HOUR_MS);
  });
});
