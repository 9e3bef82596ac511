/** Small builders shared by the unit tests of the pure domain. */
import { loadProfile, PROFILE_NAMES, type ProfileName } from '../../shared/config/profiles.js';
import type { Category } from '../../shared/domain/catalog.js';
import type { LegalHold } from '../../shared/domain/holds.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const PROFILES: readonly { readonly name: ProfileName; readonly platform: PlatformPolicy }[] = PROFILE_NAMES.map(
  (name) => ({ name, platform: loadProfile(name) }),
);

export function profile(name: ProfileName): PlatformPolicy {
  return loadProfile(name);
}

/** A copy of a platform policy with some categories' bounds replaced (for rules no shipped profile exercises). */
export function withBounds(
  platform: PlatformPolicy,
  overrides: Partial<Record<Category, Partial<PlatformPolicy['categories'][Category]>>>,
  extra: Partial<Omit<PlatformPolicy, 'categories'>> = {},
): PlatformPolicy {
  const categories = { ...platform.categories };
  for (const [category, bounds] of Object.entries(overrides) as [Category, Partial<PlatformPolicy['categories'][Category]>][]) {
    categories[category] = { ...categories[category], ...bounds };
  }
  return { ...platform, ...extra, categories };
}

export function hold(partial: Partial<LegalHold> & Pick<LegalHold, 'scope'>): LegalHold {
  return {
    tenantId: 'acme',
    holdId: 'hold-1',
    reason: 'litigation',
    createdAt: '2025-01-01T00:00:00.000Z',
    createdBy: 'compliance@acme.test',
    ...partial,
  };
}


export { conversationsV1 } from '../support/profiles.js';
