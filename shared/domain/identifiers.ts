/**
 * Normalisers for the identifiers that find a data subject through the
 * `byIdentifier` index (DESIGN.md §3): E.164 phones, lower-case e-mails, folded
 * names and trimmed external ids. Ingest and lookup both go through these, so a
 * customer written as "(415) 555-2671" is found again as "+1 415 555 2671".
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { ValidationError } from './errors.js';
import type { IdentifierKind } from './records.js';

export type { CountryCode } from 'libphonenumber-js';

/** The outcome of normalising one identifier; `error.field` names the offending input. */
export type NormaliseResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: ValidationError };

export interface NormaliseOptions {
  /** Dotted path reported in the error, e.g. `records.3.phones.0` (defaults to the identifier's own name). */
  readonly field?: string;
}

export interface PhoneOptions extends NormaliseOptions {
  /** Region assumed for numbers written without a country code, e.g. 'US'. Without it such numbers are rejected. */
  readonly defaultRegion?: CountryCode;
}

/** Longest raw input accepted, so keys stay far below DynamoDB's key-size limits. */
export const MAX_PHONE_INPUT_LENGTH = 64;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_NAME_LENGTH = 256;
export const MAX_EXTERNAL_ID_LENGTH = 256;

const ok = (value: string): NormaliseResult => ({ ok: true, value });
const fail = (field: string, message: string): NormaliseResult => ({ ok: false, error: new ValidationError(field, message) });

/**
 * A phone number in E.164 (`+14155552671`). Accepts spaces, dashes, dots,
 * brackets, a `00` international prefix, and national numbers when a default
 * region is given; rejects numbers that are not valid for their region.
 * An extension, if written, is not part of the identifier.
 */
export function normalisePhone(raw: string, options: PhoneOptions = {}): NormaliseResult {
  const field = options.field ?? 'phone';
  const trimmed = raw.trim();
  if (trimmed.length === 0) return fail(field, 'a phone number must not be empty');
  if (trimmed.length > MAX_PHONE_INPUT_LENGTH) {
    return fail(field, `a phone number must have at most ${MAX_PHONE_INPUT_LENGTH} characters`);
  }
  // `00` is the international prefix almost everywhere but not in the region
  // libphonenumber would assume (e.g. the US dials 011), so read it as `+`.
  const international = trimmed.replace(/^00(?=\s*[1-9])/, '+');
  const parsed = parsePhoneNumberFromString(international, options.defaultRegion);
  if (parsed === undefined || !parsed.isValid()) {
    const hint = international.startsWith('+') || options.defaultRegion !== undefined ? '' : ' (give it with its country code, e.g. +1…)';
    return fail(field, `not a valid phone number${hint}`);
  }
  return ok(parsed.number);
}

// Deliberately plain: one @, no whitespace, a dotted domain. Deliverability is
// not our business; stable lookup is.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** An e-mail address trimmed and lower-cased; rejects anything not shaped `local@domain.tld`. */
export function normaliseEmail(raw: string, options: NormaliseOptions = {}): NormaliseResult {
  const field = options.field ?? 'email';
  const value = raw.trim().normalize('NFC').toLowerCase();
  if (value.length === 0) return fail(field, 'an e-mail address must not be empty');
  if (value.length > MAX_EMAIL_LENGTH) return fail(field, `an e-mail address must have at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL_SHAPE.test(value)) return fail(field, 'not a valid e-mail address');
  return ok(value);
}

/**
 * A person's name folded for lookup: Unicode NFKC, trimmed, inner whitespace
 * collapsed to one space, lower-cased. Idempotent.
 */
export function normaliseName(raw: string, options: NormaliseOptions = {}): NormaliseResult {
  const field = options.field ?? 'name';
  // NFKC again after lower-casing: a few lower-case mappings leave non-NFKC sequences.
  const value = raw.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase().normalize('NFKC');
  if (value.length === 0) return fail(field, 'a name must not be empty');
  if (value.length > MAX_NAME_LENGTH) return fail(field, `a name must have at most ${MAX_NAME_LENGTH} characters`);
  return ok(value);
}

/** An external id as given by the platform, only trimmed (ids are case-sensitive). */
export function normaliseExternalId(raw: string, options: NormaliseOptions = {}): NormaliseResult {
  const field = options.field ?? 'externalId';
  const value = raw.trim();
  if (value.length === 0) return fail(field, 'an external id must not be empty');
  if (value.length > MAX_EXTERNAL_ID_LENGTH) {
    return fail(field, `an external id must have at most ${MAX_EXTERNAL_ID_LENGTH} characters`);
  }
  return ok(value);
}

/** Normalises an identifier of any kind (the phone region only matters for `PHONE`). */
export function normaliseIdentifier(kind: IdentifierKind, raw: string, options: PhoneOptions = {}): NormaliseResult {
  switch (kind) {
    case 'PHONE':
      return normalisePhone(raw, options);
    case 'EMAIL':
      return normaliseEmail(raw, options);
    case 'NAME':
      return normaliseName(raw, options);
    case 'EXTERNAL':
    case 'CONVERSATION':
    case 'CALL':
      return normaliseExternalId(raw, options);
  }
}

/** The normalised value, or throws the result's `ValidationError`. */
export function orThrow(result: NormaliseResult): string {
  if (!result.ok) throw result.error;
  return result.value;
}
