import { describe, expect, it } from 'vitest';
import { privacyRequestBodySchema } from '../../shared/domain/privacy/request.js';

const issuesOf = (body: unknown) => {
  const r = privacyRequestBodySchema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the privacy request body', () => {
  it('accepts a subject named by exactly one identifier', () => {
    for (const subject of [{ customerId: 'c1' }, { phone: '+14155550100' }, { email: 'a@b.test' }, { name: 'Ann' }]) {
      expect(issuesOf({ kind: 'erasure', subject })).toEqual([]);
    }
  });

  it('rejects a subject named twice, or not at all', () => {
    expect(issuesOf({ kind: 'access', subject: { customerId: 'c1', phone: '+14155550100' } })[0]).toMatch(/^subject: name exactly one/);
    expect(issuesOf({ kind: 'access', subject: {} })[0]).toMatch(/^subject:/);
    expect(issuesOf({ kind: 'access' })[0]).toMatch(/^subject: give either a subject or a bulk filter/);
  });

  it('allows a bulk filter for erasure only, with at least one criterion', () => {
    expect(issuesOf({ kind: 'erasure', filter: { botId: 'bot-1', firstContactFrom: '2026-01-01T00:00:00Z' } })).toEqual([]);
    expect(issuesOf({ kind: 'access', filter: { botId: 'bot-1' } })).toContain('filter: a bulk filter is for erasure only');
    expect(issuesOf({ kind: 'erasure', filter: {} })).toContain('filter: a bulk filter needs at least one criterion');
  });

  it('names the field of an unknown kind, a bad notify address and unknown fields', () => {
    expect(issuesOf({ kind: 'delete', subject: { customerId: 'c1' } })[0]).toMatch(/^kind:/);
    expect(issuesOf({ kind: 'erasure', subject: { customerId: 'c1' }, notify: { email: 'not-an-address' } })[0]).toMatch(/^notify.email:/);
    expect(issuesOf({ kind: 'erasure', subject: { customerId: 'c1' }, extra: true })[0]).toMatch(/extra|Unrecognized/);
  });
});
