import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import {
  normaliseEmail,
  normaliseExternalId,
  normaliseIdentifier,
  normaliseName,
  normalisePhone,
  orThrow,
  type NormaliseResult,
} from '../../shared/domain/identifiers.js';

const value = (r: NormaliseResult) => (r.ok ? r.value : `rejected: ${r.error.message}`);

describe('phone numbers', () => {
  it.each([
    ['+14155552671', undefined],
    ['+1 415 555 2671', undefined],
    ['+1-415-555-2671', undefined],
    ['+1 (415) 555-2671', undefined],
    ['+1.415.555.2671', undefined],
    ['  +1 415 555 2671  ', undefined],
    ['001 415 555 2671', undefined],
    ['(415) 555-2671', 'US'],
    ['415-555-2671', 'US'],
  ] as const)('turns %j (region %s) into E.164', (raw, region) => {
    expect(value(normalisePhone(raw, { defaultRegion: region }))).toBe('+14155552671');
  });

  it('reads a 00 international prefix even where the default region dials 011', () => {
    expect(value(normalisePhone('0044 20 7946 0958', { defaultRegion: 'US' }))).toBe('+442079460958');
  });

  it('reads a national number with a trunk zero in its region', () => {
    expect(value(normalisePhone('020 7946 0958', { defaultRegion: 'GB' }))).toBe('+442079460958');
    expect(value(normalisePhone('030 1234567', { defaultRegion: 'DE' }))).toBe('+49301234567');
  });

  it('rejects a national number without a default region, hinting at the country code', () => {
    const r = normalisePhone('(415) 555-2671');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/country code/);
  });

  it.each(['', '   ', '12', 'call me maybe', '+99 123456789', '+1 800 FLOWERS', '+1 415 123 4567 #DROP', '+1234567', '+1234567890123456', '1'.repeat(65)])(
    'rejects %j, which is not a phone number',
    (raw) => {
      expect(normalisePhone(raw, { defaultRegion: 'US' }).ok).toBe(false);
    },
  );

  it.each([
    ['+14151234567', '+14151234567'],
    ['+1 (415) 123-4567', '+14151234567'],
    ['001 415 123 4567', '+14151234567'],
    ['+1 555 555 5555', '+15555555555'],
    ['+1 212 000 0000', '+12120000000'],
  ])('keeps %j, plausibly E.164 though libphonenumber calls it invalid, as %j', (raw, stored) => {
    expect(value(normalisePhone(raw))).toBe(stored);
  });

  it('keeps the seed page example +14151234567 and finds it again however it is spelt', () => {
    const stored = value(normalisePhone('+14151234567'));
    expect(stored).toBe('+14151234567');
    for (const spelling of ['+1 415 123 4567', '+1-415-123-4567', '+1.415.123.4567', ' +1 (415) 123 4567 ', '0014151234567']) {
      expect(value(normalisePhone(spelling))).toBe(stored);
    }
    expect(value(normalisePhone('(415) 123-4567', { defaultRegion: 'US' }))).toBe(stored);
  });

  it('keeps a number of an existing calling code that libphonenumber cannot size, as + and its digits', () => {
    // Twelve digits after +1: too long for the North American plan, still within E.164's fifteen.
    expect(value(normalisePhone('+1 234 5678 90123'))).toBe('+1234567890123');
  });

  it('says why a string is not a phone number, without repeating it', () => {
    const letters = normalisePhone('+1 800 FLOWERS', { field: 'records.0.phones.0' });
    const noCountry = normalisePhone('+99 123456789');
    const short = normalisePhone('+1 234 567');
    expect(letters.ok ? '' : letters.error.message).toMatch(/only digits/);
    expect(letters.ok ? '' : letters.error.field).toBe('records.0.phones.0');
    expect(noCountry.ok ? '' : noCountry.error.message).toMatch(/calling code/);
    expect(short.ok ? '' : short.error.message).toMatch(/8 to 15 digits/);
    for (const r of [letters, noCountry, short]) expect(r.ok ? '' : r.error.message).not.toMatch(/FLOWERS|123/);
  });

  it('is idempotent on every number it keeps', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('+', '00', ''),
        fc.array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '(', ')', '.'), { minLength: 1, maxLength: 20 }),
        fc.constantFrom(undefined, 'US', 'GB', 'DE'),
        (prefix, body, region) => {
          const once = normalisePhone(`${prefix}${body.join('')}`, { defaultRegion: region });
          if (!once.ok) return;
          expect(once.value).toMatch(/^\+[1-9][0-9]{5,16}$/);
          expect(value(normalisePhone(once.value))).toBe(once.value);
          expect(value(normalisePhone(once.value, { defaultRegion: region }))).toBe(once.value);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('names the field in the validation error', () => {
    const r = normalisePhone('12', { field: 'records.3.phones.0' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(ValidationError);
      expect(r.error.field).toBe('records.3.phones.0');
      expect(r.error.code).toBe('validation_error');
    }
  });

  it('is idempotent on what it produces', () => {
    const once = orThrow(normalisePhone('(415) 555-2671', { defaultRegion: 'US' }));
    expect(orThrow(normalisePhone(once))).toBe(once);
  });
});

describe('e-mail addresses', () => {
  it('trims and lower-cases', () => {
    expect(value(normaliseEmail('  Ada.Lovelace@Example.COM '))).toBe('ada.lovelace@example.com');
  });

  it.each(['', 'ada', 'ada@', '@example.com', 'ada@example', 'ada@@example.com', 'ada lovelace@example.com', 'ada@example..com'])(
    'rejects %j',
    (raw) => {
      expect(normaliseEmail(raw).ok).toBe(false);
    },
  );

  it('defaults the field name to email', () => {
    const r = normaliseEmail('nope');
    expect(r.ok ? undefined : r.error.field).toBe('email');
  });
});

describe('names', () => {
  it('trims, collapses whitespace and lower-cases', () => {
    expect(value(normaliseName('  Ada \t  LOVELACE\n'))).toBe('ada lovelace');
  });

  it('folds compatibility characters with NFKC', () => {
    // Fullwidth letters, a ligature and a non-breaking space.
    expect(value(normaliseName('Ａｄａ\u00a0Lovelace'))).toBe('ada lovelace');
    expect(value(normaliseName('ﬁona'))).toBe('fiona');
  });

  it('treats composed and decomposed accents alike', () => {
    expect(value(normaliseName('Jos\u00e9'))).toBe(value(normaliseName('Jose\u0301')));
  });

  it('rejects an empty name', () => {
    expect(normaliseName(' \t ').ok).toBe(false);
  });

  it('is idempotent for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (raw) => {
        const once = normaliseName(raw);
        if (!once.ok) return;
        expect(value(normaliseName(once.value))).toBe(once.value);
      }),
    );
  });
});

describe('external ids', () => {
  it('keeps the id as given apart from surrounding whitespace', () => {
    expect(value(normaliseExternalId('  CRM-00042/Ab '))).toBe('CRM-00042/Ab');
  });

  it('rejects an empty id', () => {
    expect(normaliseExternalId('  ').ok).toBe(false);
  });
});

describe('identifier dispatch', () => {
  it('normalises each kind with its own rule', () => {
    expect(value(normaliseIdentifier('PHONE', '+1 415 555 2671'))).toBe('+14155552671');
    expect(value(normaliseIdentifier('EMAIL', 'A@B.CO'))).toBe('a@b.co');
    expect(value(normaliseIdentifier('NAME', ' A  B '))).toBe('a b');
    expect(value(normaliseIdentifier('EXTERNAL', ' X '))).toBe('X');
  });

  it('throws the validation error from orThrow', () => {
    expect(() => orThrow(normaliseEmail('nope', { field: 'subject.email' }))).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'subject.email' }),
    );
  });
});
