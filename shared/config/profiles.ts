/**
 * Loads the shipped platform-policy profiles (`profiles/<name>.json`) and
 * validates them against the platform-policy schema. Used by the CDK app, local
 * mode and the Lambda config modules; never by the pure domain.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { platformPolicySchema, type PlatformPolicy } from '../domain/policy.js';

export const PROFILE_NAMES = ['conversations', 'voice', 'chatbot', 'call-tracking', 'support-desk'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
export const DEFAULT_PROFILE: ProfileName = 'conversations';

const PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

export class UnknownProfileError extends Error {
  override readonly name = 'UnknownProfileError';
  constructor(readonly profile: string) {
    super(`unknown profile "${profile}"; choose one of ${PROFILE_NAMES.join(', ')}`);
  }
}

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}

/** Parses a platform policy from JSON text, failing with the schema's message. */
export function parsePlatformPolicy(json: string): PlatformPolicy {
  return platformPolicySchema.parse(JSON.parse(json));
}

/** Loads and validates a shipped profile by name. */
export function loadProfile(name: string): PlatformPolicy {
  if (!isProfileName(name)) throw new UnknownProfileError(name);
  return parsePlatformPolicy(readFileSync(`${PROFILES_DIR}${name}.json`, 'utf8'));
}
