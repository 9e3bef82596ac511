import { describe, expect, it } from 'vitest';
import { createReferences, isOpaqueRef, recordRef, subjectRef } from '../../shared/domain/references.js';

const SECRET = 'unit-test-reference-secret-0123456789abcdef';

describe('record references', () => {
  it('are opaque, stable, and distinct from every other kind of reference to the same text', () => {
    const ref = recordRef(SECRET, 'acme', 'conversation', '+14155552671');

    expect(isOpaqueRef(ref)).toBe(true);
    expect(ref).not.toContain('4155552671');
    expect(recordRef(SECRET, 'acme', 'conversation', '+14155552671')).toBe(ref);
    expect(createReferences(SECRET).record('acme', 'conversation', '+14155552671')).toBe(ref);
    expect(recordRef(SECRET, 'acme', 'call', '+14155552671')).not.toBe(ref);
    expect(recordRef(SECRET, 'other', 'conversation', '+14155552671')).not.toBe(ref);
    expect(subjectRef(SECRET, 'acme', '+14155552671')).not.toBe(ref);
  });
});
