/**
 * Issue 11's ingest data, pure: a customer's address and custom attributes,
 * form submissions and web sessions under a customer, and the first contacts
 * a body lowers.
 */
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../shared/domain/catalog.js';
import { firstContactLowers, toRecordItems, validateIngest, type IngestWrite } from '../../shared/domain/ingest/plan.js';
import { MAX_ATTRIBUTE_TEXT_CHARS, MAX_CUSTOM_ATTRIBUTES, type IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { earliestContact, firstContactOf, keys, type RecordItem } from '../../shared/domain/records.js';
import { context, examples, TENANT } from './_ingest-fixtures.js';

const write = (records: IngestRecordInput[]): IngestWrite => toRecordItems({ records }, context());
const only = (w: IngestWrite, sk: string): RecordItem => {
  const found = w.items.filter((i) => i.sk === sk);
  expect(found, `exactly one item with sk ${sk}`).toHaveLength(1);
  return found[0]!;
};
function issues(records: unknown[]) {
  const outcome = validateIngest({ records }, context());
  return outcome.ok ? [] : outcome.issues;
}

const address = { lines: ['1 Market Street', 'Suite 200'], city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' };
const customAttributes = { loyaltyTier: 'gold', lifetimeOrders: 12, vip: true };

describe('a customer with an address and custom attributes', () => {
  it('keeps both in the profile data, beside the other personal data', () => {
    const profile = only(write([{ ...examples.customer, address, customAttributes }]), keys.profileSk());
    expect(profile.data).toMatchObject({ address, customAttributes });
    expect(profile).not.toHaveProperty('address');
  });

  it('writes no identifier for either (they find nobody)', () => {
    const w = write([{ ...examples.customer, address, customAttributes }]);
    expect(w.items.filter((i) => i.identifierPk !== undefined)).toHaveLength(4);
  });

  it('refuses an unknown address part, naming it', () => {
    expect(issues([{ ...examples.customer, address: { ...address, planet: 'Earth' } }])).toEqual([
      { index: 0, field: 'records.0.address.planet', message: 'is not a field of this record type' },
    ]);
  });

  it('refuses more than four address lines and an over-long city', () => {
    const found = issues([{ ...examples.customer, address: { lines: ['a', 'b', 'c', 'd', 'e'], city: 'x'.repeat(129) } }]);
    expect(found.map((i) => i.field).sort()).toEqual(['records.0.address.city', 'records.0.address.lines']);
  });

  it(`refuses more than ${MAX_CUSTOM_ATTRIBUTES} custom attributes`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_CUSTOM_ATTRIBUTES + 1 }, (_, i) => [`k${i}`, i]));
    expect(issues([{ ...examples.customer, customAttributes: many }])).toEqual([
      { index: 0, field: 'records.0.customAttributes', message: `must have at most ${MAX_CUSTOM_ATTRIBUTES} entries` },
    ]);
  });

  it('refuses a custom attribute that is an object, a list, null or too long, naming its key', () => {
    const found = issues([
      { ...examples.customer, customAttributes: { nested: { a: 1 }, list: [1], none: null, long: 'x'.repeat(MAX_ATTRIBUTE_TEXT_CHARS + 1), fine: 'ok' } },
    ]);
    expect(found.map((i) => i.field).sort()).toEqual([
      'records.0.customAttributes.list',
      'records.0.customAttributes.long',
      'records.0.customAttributes.nested',
      'records.0.customAttributes.none',
    ]);
  });

  it('refuses an empty custom attribute key', () => {
    expect(issues([{ ...examples.customer, customAttributes: { '': 1 } }])).toEqual([
      { index: 0, field: 'records.0.customAttributes', message: 'keys must have 1 to 128 characters' },
    ]);
  });
});

describe('form submissions and web sessions', () => {
  const w = write([examples.customer, examples.form_submission, examples.web_session]);

  it('writes a form submission under its customer, its clock at the submission', () => {
    expect(only(w, keys.formSubmissionSk('f1'))).toMatchObject({
      pk: keys.subjectPk(TENANT, 'c1'),
      category: 'form_submission',
      subjectId: 'c1',
      parentSk: keys.profileSk(),
      clockStart: '2025-05-08T00:00:00.000Z',
      data: { submittedAt: '2025-05-08T00:00:00.000Z', page: 'https://acme.test/contact', formName: 'contact', fields: { message: 'please call me back', callback: true, seats: 3 } },
    });
  });

  it('writes a web session under its customer, its clock at the session start', () => {
    expect(only(w, keys.webSessionSk('s1'))).toMatchObject({
      pk: keys.subjectPk(TENANT, 'c1'),
      category: 'web_session',
      subjectId: 'c1',
      parentSk: keys.profileSk(),
      clockStart: '2025-05-09T00:00:00.000Z',
      data: { startedAt: '2025-05-09T00:00:00.000Z', endedAt: '2025-05-09T00:12:00.000Z', landingPage: 'https://acme.test/pricing', referrer: 'https://search.example/', pageCount: 4 },
    });
  });

  it('indexes both under their own categories, which the catalog sweeps', () => {
    for (const [sk, category] of [[keys.formSubmissionSk('f1'), 'form_submission'], [keys.webSessionSk('s1'), 'web_session']] as const) {
      expect(CATALOG[category].parent).toBe('customer_profile');
      expect(only(w, sk).retentionPk).toMatch(new RegExp(`^T#${TENANT}#${category}#`));
    }
  });

  it('raises the customer activity watermark to the latest of them', () => {
    expect(w.activity).toEqual([{ pk: keys.subjectPk(TENANT, 'c1'), until: '2025-05-09T00:00:00.000Z' }]);
  });

  it('refuses a session that ends before it starts, and a page count below one', () => {
    const found = issues([{ ...examples.web_session, endedAt: '2025-05-08T00:00:00Z', pageCount: 0 }]);
    expect(found.map((i) => i.field).sort()).toEqual(['records.0.pageCount']);
    expect(issues([{ ...examples.web_session, endedAt: '2025-05-08T00:00:00Z' }])).toEqual([
      { index: 0, field: 'records.0.endedAt', message: 'must not be before startedAt' },
    ]);
  });

  it('refuses a form submission without fields, naming them', () => {
    const { fields: _, ...noFields } = examples.form_submission;
    expect(issues([noFields])).toEqual([{ index: 0, field: 'records.0.fields', message: 'is required' }]);
  });
});

describe('first contacts a body lowers', () => {
  const pk = keys.subjectPk(TENANT, 'c1');

  it('lowers to the earliest conversation or call of the customer when her record does not say', () => {
    const w = write([examples.customer, examples.conversation, examples.call]);
    expect(w.firstContacts).toEqual([{ pk, at: '2025-04-01T10:00:00.000Z' }]);
  });

  it('lowers to the first contact her record gives when that is the earliest', () => {
    const w = write([{ ...examples.customer, firstContactAt: '2024-01-01T00:00:00Z' }, examples.conversation]);
    expect(w.firstContacts).toEqual([{ pk, at: '2024-01-01T00:00:00.000Z' }]);
  });

  it('lowers to her last contact when the body has nothing earlier', () => {
    expect(write([examples.customer]).firstContacts).toEqual([{ pk, at: '2025-05-20T08:00:00.000Z' }]);
  });

  it('counts neither messages nor analytics events nor web sessions as a first contact', () => {
    const w = write([
      { ...examples.message, conversationId: 'v1', sentAt: '2025-05-01T09:05:00Z' },
      { ...examples.conversation, startedAt: '2025-05-01T09:00:00Z' },
      { ...examples.analytics_event, customerId: 'c1', occurredAt: '2020-01-01T00:00:00Z' },
      { ...examples.web_session, startedAt: '2020-01-01T00:00:00Z', endedAt: undefined },
    ]);
    expect(w.firstContacts).toEqual([{ pk, at: '2025-05-01T09:00:00.000Z' }]);
  });

  it('gives each customer her own', () => {
    const lowers = firstContactLowers(
      write([
        { ...examples.conversation, id: 'a', customerId: 'c1', startedAt: '2025-01-01T00:00:00Z' },
        { ...examples.conversation, id: 'b', customerId: 'c2', startedAt: '2025-02-01T00:00:00Z' },
      ]).items,
    );
    expect(lowers).toEqual([
      { pk: keys.subjectPk(TENANT, 'c1'), at: '2025-01-01T00:00:00.000Z' },
      { pk: keys.subjectPk(TENANT, 'c2'), at: '2025-02-01T00:00:00.000Z' },
    ]);
  });
});

describe('reading a first contact', () => {
  const profile = (over: Partial<RecordItem>): RecordItem =>
    ({ pk: 'p', sk: keys.profileSk(), tenantId: TENANT, category: 'customer_profile', id: 'c1', clockStart: '2025-05-01T00:00:00.000Z', ...over }) as RecordItem;

  it('takes the kept first contact, else what the record said, else the last contact', () => {
    expect(firstContactOf(profile({ firstContactAt: '2024-01-01T00:00:00.000Z', data: { firstContactAt: '2024-06-01T00:00:00.000Z' } }))).toBe('2024-01-01T00:00:00.000Z');
    expect(firstContactOf(profile({ firstContactAt: '2024-06-01T00:00:00.000Z', data: { firstContactAt: '2024-01-01T00:00:00.000Z' } }))).toBe('2024-01-01T00:00:00.000Z');
    expect(firstContactOf(profile({ data: { lastContactAt: '2025-05-01T00:00:00.000Z' } }))).toBe('2025-05-01T00:00:00.000Z');
  });

  it('finds the earliest conversation or call of a partition, not a record under one', () => {
    const w = write([examples.conversation, { ...examples.message, sentAt: '2025-05-01T09:00:00Z' }, examples.call]);
    expect(earliestContact(w.items)).toBe('2025-04-01T10:00:00.000Z');
    expect(earliestContact(w.items.filter((i) => i.category === 'message'))).toBeUndefined();
  });
});
