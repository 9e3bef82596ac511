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

/** Digits an E.164 number has at most (country code included), and the fewest a number kept as written may have. */
export const MAX_E164_DIGITS = 15;
export const MIN_PHONE_DIGITS = 8;

/** Only what people write around a phone number's digits: a leading `+`, spaces, dashes, dots, slashes, brackets. */
const PHONE_CHARACTERS = /^\+?[0-9\s\-.()/]+$/u;
const NOT_A_NUMBER = 'not a phone number: only digits, spaces, + - . / ( ) may be written';

/**
 * A phone number in E.164 (`+14155552671`). Accepts spaces, dashes, dots,
 * brackets, a `00` international prefix, and national numbers when a default
 * region is given. A number libphonenumber knows as valid takes its form (an
 * extension, if written, is not part of the identifier). Any other number that
 * is plausibly E.164 is kept too, since a number can be real before the
 * library's metadata says so (`+14151234567`): written with only phone
 * punctuation, in a country calling code that exists, with 8 to 15 digits; it
 * is kept as `+` and its digits (a national one with its region's country
 * code). Ingest and lookup both call this, so a number is found again however
 * it was spelt.
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
  const phoneShaped = PHONE_CHARACTERS.test(international);
  if (!international.startsWith('+') && options.defaultRegion === undefined) {
    return fail(field, phoneShaped ? 'not a valid phone number (give it with its country code, e.g. +1…)' : NOT_A_NUMBER);
  }
  const parsed = parsePhoneNumberFromString(international, options.defaultRegion);
  if (parsed?.isValid() === true) return ok(parsed.number);

  // Not (yet) in libphonenumber's metadata: kept if it is plausibly a number at all.
  if (!phoneShaped) return fail(field, NOT_A_NUMBER);
  if (parsed === undefined) {
    return fail(field, international.startsWith('+') ? 'not a phone number: no country has its calling code' : 'not a phone number');
  }
  // `+` and the digits as written; a national number, the country code of its region before them.
  const kept = international.startsWith('+') ? `+${international.replace(/[^0-9]/gu, '')}` : parsed.number;
  // Counted on what is kept, so that a kept number normalises to itself again.
  const digits = kept.length - 1;
  if (digits < MIN_PHONE_DIGITS || digits > MAX_E164_DIGITS) {
    return fail(field, `not a phone number: it must have ${MIN_PHONE_DIGITS} to ${MAX_E164_DIGITS} digits with its country code`);
  }
  return ok(kept);
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
