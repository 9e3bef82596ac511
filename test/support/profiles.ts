/**
 * Platform policies for tests of mechanics (the sweep, the writer, holds,
 * the API's plumbing) rather than of a platform's policy.
 */
import { loadProfile } from '../../shared/config/profiles.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';

/**
 * The conversations profile as it was before policy v2 (customer profiles 730
 * days after the last contact, users 365 days after sign-in, account
 * configuration at contract end or after 548 days of inactivity, no account
 * lifetime): every category has a clock and a TTL backstop of its own.
 */
export function conversationsV1(): PlatformPolicy {
  const { accountLifetime: _lifetime, ...rest } = loadProfile('conversations');
  return {
    ...rest,
    accountInactivityDays: 548,
    categories: {
      ...rest.categories,
      customer_profile: { defaultDays: 730, minDays: 30, maxDays: 3650, extendable: true, indefiniteAllowed: false },
      user: { defaultDays: 365, minDays: 30, maxDays: 3650, extendable: true, indefiniteAllowed: false },
      account_config: { defaultDays: 0, minDays: 0, maxDays: 3650, extendable: true, indefiniteAllowed: false },
    },
  };
}
