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

  it.each(['', '   ', '12', '+1 555 555 5555', '+1 212 000 0000', 'call me maybe', '+99 123456789', '1'.repeat(65)])(
    'rejects %j',
    (raw) => {
      expect(normalisePhone(raw, { defaultRegion: 'US' }).ok).toBe(false);
    },
  );

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
