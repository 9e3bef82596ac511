import { describe, expect, it } from 'vitest';
import { holdCovers, holdMatcher, holdsOn, isHeld, isHoldActive, type HoldTarget } from '../../shared/domain/holds.js';
import { hold } from './_helpers.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');

/** A message of conversation v1 of customer c1, in call-free territory. */
const message: HoldTarget = { tenantId: 'acme', category: 'message', subjectId: 'c1', conversationId: 'v1' };
const recording: HoldTarget = { tenantId: 'acme', category: 'call_recording', subjectId: 'c1', callId: 'k1' };
const webhook: HoldTarget = { tenantId: 'acme', category: 'webhook_delivery' };

describe('legal hold scopes', () => {
  it('holds everything of the tenant with an empty scope', () => {
    const h = hold({ scope: {} });
    expect([message, recording, webhook].every((t) => holdCovers(h, t))).toBe(true);
  });

  it('holds every record of one customer with a customer scope', () => {
    const h = hold({ scope: { customerId: 'c1' } });
    expect(holdCovers(h, message)).toBe(true);
    expect(holdCovers(h, recording)).toBe(true);
  });

  it('does not hold another customer, nor account records, with a customer scope', () => {
    const h = hold({ scope: { customerId: 'c1' } });
    expect(holdCovers(h, { ...message, subjectId: 'c2' })).toBe(false);
    expect(holdCovers(h, webhook)).toBe(false);
  });

  it('holds a conversation and its children with a conversation scope, and nothing else', () => {
    const h = hold({ scope: { conversationId: 'v1' } });
    expect(holdCovers(h, message)).toBe(true);
    expect(holdCovers(h, { tenantId: 'acme', category: 'conversation', subjectId: 'c1', conversationId: 'v1' })).toBe(true);
    expect(holdCovers(h, { ...message, conversationId: 'v2' })).toBe(false);
    expect(holdCovers(h, recording)).toBe(false);
  });

  it('holds a call, its recordings and its third-party data with a call scope', () => {
    const h = hold({ scope: { callId: 'k1' } });
    expect(holdCovers(h, recording)).toBe(true);
    expect(holdCovers(h, { ...recording, category: 'third_party_call_data' })).toBe(true);
    expect(holdCovers(h, { ...recording, category: 'call' })).toBe(true);
    expect(holdCovers(h, { ...recording, callId: 'k2' })).toBe(false);
  });

  it('holds one category across all customers with a category scope', () => {
    const h = hold({ scope: { category: 'call_recording' } });
    expect(holdCovers(h, recording)).toBe(true);
    expect(holdCovers(h, { ...recording, subjectId: 'c9' })).toBe(true);
    expect(holdCovers(h, message)).toBe(false);
  });

  it('combines scope fields with AND', () => {
    const h = hold({ scope: { customerId: 'c1', category: 'call_recording' } });
    expect(holdCovers(h, recording)).toBe(true);
    expect(holdCovers(h, message)).toBe(false);
    expect(holdCovers(h, { ...recording, subjectId: 'c2' })).toBe(false);
  });

  it('never matches a record of another tenant, even with an empty scope', () => {
    const h = hold({ tenantId: 'other', scope: {} });
    expect(holdCovers(h, message)).toBe(false);
    expect(isHeld([h], message, NOW)).toBe(false);
  });
});

describe('legal hold lifetime', () => {
  it('holds while neither released nor expired', () => {
    expect(isHoldActive(hold({ scope: {} }), NOW)).toBe(true);
    expect(isHoldActive(hold({ scope: {}, expiresAt: '2025-06-02T00:00:00.000Z' }), NOW)).toBe(true);
  });

  it('stops holding once released', () => {
    const released = hold({ scope: {}, releasedAt: '2025-05-01T00:00:00.000Z', releasedBy: 'compliance' });
    expect(isHoldActive(released, NOW)).toBe(false);
    expect(isHeld([released], message, NOW)).toBe(false);
  });

  it('stops holding at its expiry instant', () => {
    const expiring = hold({ scope: {}, expiresAt: NOW.toISOString() });
    expect(isHoldActive(expiring, new Date(NOW.getTime() - 1))).toBe(true);
    expect(isHoldActive(expiring, NOW)).toBe(false);
    expect(isHeld([expiring], message, NOW)).toBe(false);
  });

  it('keeps holding when its expiry cannot be read (fails closed)', () => {
    expect(isHoldActive(hold({ scope: {}, expiresAt: 'next tuesday' }), NOW)).toBe(true);
  });
});

describe('hold queries', () => {
  const holds = [
    hold({ holdId: 'customer', scope: { customerId: 'c1' } }),
    hold({ holdId: 'released', scope: {}, releasedAt: '2025-01-02T00:00:00.000Z' }),
    hold({ holdId: 'other-tenant', tenantId: 'other', scope: {} }),
    hold({ holdId: 'calls', scope: { category: 'call' } }),
  ];

  it('lists only the active holds that cover a record', () => {
    expect(holdsOn(holds, message, NOW).map((h) => h.holdId)).toEqual(['customer']);
  });

  it('matches the same records through the precomputed matcher as through isHeld', () => {
    const matches = holdMatcher(holds, NOW);
    for (const t of [message, recording, webhook, { ...message, subjectId: 'c2' }, { tenantId: 'acme', category: 'call' as const }]) {
      expect(matches(t)).toBe(isHeld(holds, t, NOW));
    }
  });

  it('matches nothing without active holds', () => {
    expect(holdMatcher([holds[1]!, holds[2]!], NOW)(message)).toBe(false);
  });
});
