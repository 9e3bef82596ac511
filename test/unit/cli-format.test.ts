/**
 * The CLI's own formatting and file handling: before/after in one line, the
 * actor ref, a dry run's receipt in JSON, an erasure that found nobody, and
 * the records file split into request bodies.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/context.js';
import { batchesOf, formatOf, parseRecordsFile } from '../../cli/ingest.js';
import { actorText, changeText, matchedNobody, runJson } from '../../cli/operations.js';

describe('changeText', () => {
  it('lists the paths that changed, old→new', () => {
    const before = { version: 1, categories: { conversation: { days: 183 }, message: { days: 90 } } };
    const after = { version: 2, categories: { conversation: { days: 90 }, message: { days: 90 } } };

    expect(changeText(before, after)).toBe('version: 1→2, categories.conversation.days: 183→90');
  });

  it('shows what was recorded when there is no before, and marks paths that appeared or went', () => {
    expect(changeText(undefined, { dryRun: true })).toBe('dryRun=true');
    expect(changeText({ a: 1 }, { b: 2 })).toBe('a: 1→∅, b: ∅→2');
    expect(changeText(undefined, undefined)).toBe('');
    expect(changeText({ categories: {}, settings: {} }, { categories: { conversation: { days: 90 } } })).toBe('categories.conversation.days: ∅→90');
  });

  it('stops after six changes and says how many more', () => {
    const before = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i]));
    const after = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i + 1]));

    expect(changeText(before, after)).toMatch(/k5: 5→6 \(\+3 more; --json shows all\)$/u);
  });
});

describe('actorText', () => {
  it('shortens a hashed actor ref and names Lethe’s own work as system', () => {
    expect(actorText('h:eBfe0p45Sv3XCiXqxkryRA')).toBe('h:eBfe0p45Sv…');
    expect(actorText('lethe:expiry')).toBe('lethe:expiry (system)');
  });
});

describe('runJson', () => {
  it('says wouldDelete instead of deleted for a dry run, and leaves a real run as it is', () => {
    const counts = { examined: 5, deleted: 3, held: 1, failed: 0, kept: 1, deletedReasons: { cap_over_hold: 1 } };

    expect(runJson({ dryRun: true, categories: { message: counts } }).categories).toEqual({
      message: { examined: 5, wouldDelete: 3, held: 1, failed: 0, kept: 1, wouldDeleteReasons: { cap_over_hold: 1 } },
    });
    expect(runJson({ dryRun: false, categories: { message: counts } }).categories).toEqual({ message: counts });
  });
});

describe('matchedNobody', () => {
  it('is a completed request that resolved no customer or found nothing stored of the one named', () => {
    expect(matchedNobody({ requestId: 'r', status: 'completed', subjects: 0, counts: {} })).toBe(true);
    expect(matchedNobody({ requestId: 'r', status: 'completed', subjects: 1, counts: {} })).toBe(true);
    expect(matchedNobody({ requestId: 'r', status: 'completed', subjects: 1, counts: { message: { examined: 2, deleted: 2 } } })).toBe(false);
    expect(matchedNobody({ requestId: 'r', status: 'running', subjects: 0, counts: {} })).toBe(false);
  });
});

describe('records files', () => {
  it('reads NDJSON a line at a time, skipping blank lines, and names a bad line', () => {
    expect(parseRecordsFile('{"id":"a"}\n\n{"id":"b"}\n', 'ndjson').map((r) => r.where)).toEqual(['line 1', 'line 3']);
    expect(() => parseRecordsFile('{"id":"a"}\n[1]\n', 'ndjson')).toThrow(new UsageError('line 2 of the file is not a JSON object'));
  });

  it('reads a JSON array or {"records": [...]}', () => {
    expect(parseRecordsFile('[{"id":"a"}]', 'json').map((r) => r.record)).toEqual([{ id: 'a' }]);
    expect(parseRecordsFile('{"records":[{"id":"a"},{"id":"b"}]}', 'json').map((r) => r.where)).toEqual(['record 1', 'record 2']);
    expect(() => parseRecordsFile('{"id":"a"}', 'json')).toThrow(UsageError);
  });

  it('tells the format by extension, else by the first character', () => {
    expect(formatOf('a.jsonl', '[')).toBe('ndjson');
    expect(formatOf('a.json', '{}')).toBe('json');
    expect(formatOf('a.txt', '  [{}]')).toBe('json');
    expect(formatOf('a.txt', '{"id":1}\n{"id":2}')).toBe('ndjson');
  });

  it('splits records into bodies by count and by size, in file order', () => {
    const records = Array.from({ length: 5 }, (_, i) => ({ record: { id: String(i), pad: 'x'.repeat(40) }, where: `line ${i + 1}` }));

    expect(batchesOf(records, 2).map((b) => b.length)).toEqual([2, 2, 1]);
    expect(batchesOf(records, 500, 120).map((b) => b.map((r) => r.record.id))).toEqual([['0', '1'], ['2', '3'], ['4']]);
  });
});
