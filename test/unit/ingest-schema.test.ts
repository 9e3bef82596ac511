import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIngestBody } from '../../shared/domain/ingest/parse.js';
import { validateIngest } from '../../shared/domain/ingest/plan.js';
import { ID_PATTERN, INGEST_RECORD_TYPES, ingestRecordSchema, MAX_INLINE_BLOB_BYTES } from '../../shared/domain/ingest/schemas.js';
import { context, examples, type ExampleType } from './_ingest-fixtures.js';

const body = (...records: unknown[]) => ({ records });
const issuesOf = (input: unknown) => {
  const parsed = parseIngestBody(input);
  return parsed.ok ? [] : parsed.issues;
};

describe('ingest record schemas', () => {
  it('covers the fifteen record types of the design', () => {
    expect([...INGEST_RECORD_TYPES].sort()).toEqual(Object.keys(examples).sort());
    expect(INGEST_RECORD_TYPES).toHaveLength(15);
  });

  it.each(Object.keys(examples) as ExampleType[])('accepts a valid %s record', (type) => {
    expect(ingestRecordSchema.safeParse(examples[type]).success).toBe(true);
  });

  it('rewrites dates in one canonical ISO form', () => {
    const parsed = ingestRecordSchema.parse(examples.call);
    expect(parsed.type === 'call' && parsed.startedAt).toBe('2025-04-01T10:00:00.000Z');
  });

  it('names an unknown record type at its type field', () => {
    expect(issuesOf(body({ type: 'fax', id: 'x' }))).toEqual([
      { index: 0, field: 'records.0.type', message: expect.stringContaining('customer, conversation') },
    ]);
  });

  it('names a missing required field as required', () => {
    const { lastContactAt: _, ...customer } = examples.customer;
    expect(issuesOf(body(customer))).toEqual([{ index: 0, field: 'records.0.lastContactAt', message: 'is required' }]);
  });

  it('rejects fields the record type does not have', () => {
    expect(issuesOf(body({ ...examples.call, contractEndsAt: '2026-01-01T00:00:00Z' }))).toEqual([
      { index: 0, field: 'records.0.contractEndsAt', message: 'is not a field of this record type' },
    ]);
  });

  it('reports every invalid record with its index, not just the first', () => {
    const issues = issuesOf(body(examples.call, { ...examples.message, direction: 'sideways' }, examples.user, { ...examples.call, id: '' }));
    expect(issues.map((i) => [i.index, i.field])).toEqual([
      [1, 'records.1.direction'],
      [3, 'records.3.id'],
    ]);
  });

  it('accepts the optional chatbot fields on a customer', () => {
    const parsed = ingestRecordSchema.safeParse({ ...examples.customer, botId: 'bot-7', firstContactAt: '2025-01-01T00:00:00Z' });
    expect(parsed.success).toBe(true);
  });

  it('accepts a messageId on media and e-mail attachments', () => {
    expect(ingestRecordSchema.safeParse({ ...examples.media, messageId: 'm1' }).success).toBe(true);
    expect(ingestRecordSchema.safeParse({ ...examples.email_attachment, messageId: 'm1' }).success).toBe(true);
  });
});

describe('record ids', () => {
  it.each(['a', 'A-z_0.9:x', 'x'.repeat(128)])('accepts %j', (id) => {
    expect(ingestRecordSchema.safeParse({ ...examples.call, id }).success).toBe(true);
  });

  it.each(['', 'x'.repeat(129), 'a#b', 'a/b', 'a b', 'ä', 'a\n'])('rejects %j', (id) => {
    expect(issuesOf(body({ ...examples.call, id })).map((i) => i.field)).toEqual(['records.0.id']);
  });

  it('accepts exactly the strings of the id pattern, also in references to other records', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 130 }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/)), (id) => {
        expect(ingestRecordSchema.safeParse({ ...examples.message, conversationId: id }).success).toBe(ID_PATTERN.test(id));
      }),
    );
  });
});

describe('record dates', () => {
  const withStart = (startedAt: string) => issuesOf(body({ ...examples.call, startedAt }));

  it.each(['2025-04-01T10:00:00Z', '2025-04-01T10:00:00.123Z', '2028-02-29T00:00:00Z'])('accepts the UTC instant %s', (at) => {
    expect(withStart(at)).toEqual([]);
  });

  it.each(['2025-04-01', '2025-04-01T10:00:00', '2025-04-01T10:00:00+02:00', '2025-02-29T00:00:00Z', '2025-13-01T00:00:00Z', 'yesterday'])(
    'rejects %j with a message asking for UTC ISO-8601',
    (at) => {
      expect(withStart(at)).toEqual([{ index: 0, field: 'records.0.startedAt', message: expect.stringContaining('ISO-8601 UTC') }]);
    },
  );
});

describe('inline content', () => {
  const withContent = (contentBase64: string) => issuesOf(body({ ...examples.recording, contentBase64 }));

  it('accepts content of exactly 4 MiB (about 5.6 MB of base64, under Lambda\'s 6 MB)', () => {
    expect(withContent(Buffer.alloc(MAX_INLINE_BLOB_BYTES, 1).toString('base64'))).toEqual([]);
  });

  it('rejects content one byte over 4 MiB, pointing to upload URLs', () => {
    expect(withContent(Buffer.alloc(MAX_INLINE_BLOB_BYTES + 1, 1).toString('base64'))).toEqual([
      { index: 0, field: 'records.0.contentBase64', message: expect.stringContaining('upload URL') },
    ]);
  });

  it('rejects content far over 4 MiB without scanning it', () => {
    expect(withContent('A'.repeat(20 * 1024 * 1024)).map((i) => i.field)).toEqual(['records.0.contentBase64']);
  });

  it.each(['not base64!', 'aGVsbG8', 'aGVs bG8=', 'aGVsbG8_'])('rejects %j as not base64', (content) => {
    expect(withContent(content).map((i) => i.field)).toEqual(['records.0.contentBase64']);
  });

  it('rejects empty content', () => {
    expect(withContent('').map((i) => i.field)).toEqual(['records.0.contentBase64']);
  });

  it('lets content be left out, for an upload URL', () => {
    const { contentBase64: _, ...recording } = examples.recording;
    expect(issuesOf(body(recording))).toEqual([]);
  });
});

describe('ingest body', () => {
  it('rejects a body without records', () => {
    expect(issuesOf(body())).toEqual([{ index: null, field: 'records', message: expect.stringContaining('at least one') }]);
  });

  it('accepts 500 records', () => {
    const records = Array.from({ length: 500 }, (_, i) => ({ ...examples.analytics_event, id: `e${i}` }));
    expect(issuesOf(body(...records))).toEqual([]);
  });

  it('rejects 501 records', () => {
    const records = Array.from({ length: 501 }, (_, i) => ({ ...examples.analytics_event, id: `e${i}` }));
    expect(issuesOf(body(...records))).toEqual([{ index: null, field: 'records', message: expect.stringContaining('at most 500') }]);
  });

  it.each([null, [], 'records', { records: 'x' }, { records: [], extra: 1 }])('rejects %j as a body', (input) => {
    const outcome = validateIngest(input, context());
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.issues.every((i) => i.index === null)).toBe(true);
  });
});
