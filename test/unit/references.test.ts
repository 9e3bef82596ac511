import { describe, expect, it } from 'vitest';
import {
  actorRef,
  createReferences,
  identifierRef,
  isOpaqueRef,
  subjectRef,
  userRef,
  WeakReferenceSecretError,
} from '../../shared/domain/references.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const OTHER_SECRET = 'another-test-secret-of-32-bytes-or-more';

describe('opaque references', () => {
  it('look like h: followed by 22 base64url characters', () => {
    const ref = subjectRef(SECRET, 'acme', 'customer-1');
    expect(ref).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
    expect(isOpaqueRef(ref)).toBe(true);
  });

  it('are stable for the same secret, tenant and subject', () => {
    expect(subjectRef(SECRET, 'acme', 'customer-1')).toBe(subjectRef(SECRET, 'acme', 'customer-1'));
  });

  it('differ between subjects, tenants and secrets', () => {
    const refs = new Set([
      subjectRef(SECRET, 'acme', 'customer-1'),
      subjectRef(SECRET, 'acme', 'customer-2'),
      subjectRef(SECRET, 'globex', 'customer-1'),
      subjectRef(OTHER_SECRET, 'acme', 'customer-1'),
    ]);
    expect(refs.size).toBe(4);
  });

  it('do not collide when a separator moves between tenant and subject', () => {
    expect(subjectRef(SECRET, 'a#b', 'c')).not.toBe(subjectRef(SECRET, 'a', 'b#c'));
  });

  it('differ by purpose for the same spelling', () => {
    expect(subjectRef(SECRET, 'acme', 'x')).not.toBe(userRef(SECRET, 'acme', 'x'));
  });

  it('never contain the raw id, phone or e-mail', () => {
    const refs = [
      subjectRef(SECRET, 'acme', 'customer-1'),
      identifierRef(SECRET, 'acme', 'PHONE', '+14155552671'),
      identifierRef(SECRET, 'acme', 'EMAIL', 'ada@example.com'),
      actorRef(SECRET, 'admin@acme.test'),
    ];
    for (const ref of refs) {
      expect(ref).not.toContain('customer');
      expect(ref).not.toContain('4155552671');
      expect(ref).not.toContain('example');
      expect(ref).not.toContain('acme');
    }
  });

  it('refuse a secret shorter than 32 bytes', () => {
    expect(() => subjectRef('short', 'acme', 'c')).toThrow(WeakReferenceSecretError);
    expect(() => createReferences(new Uint8Array(31))).toThrow(WeakReferenceSecretError);
  });

  it('accept a binary secret', () => {
    const key = new Uint8Array(32).fill(7);
    expect(isOpaqueRef(subjectRef(key, 'acme', 'c'))).toBe(true);
  });

  it('come out the same through the bound helpers', () => {
    const refs = createReferences(SECRET);
    expect(refs.subject('acme', 'c1')).toBe(subjectRef(SECRET, 'acme', 'c1'));
    expect(refs.user('acme', 'u1')).toBe(userRef(SECRET, 'acme', 'u1'));
    expect(refs.identifier('acme', 'EMAIL', 'a@b.co')).toBe(identifierRef(SECRET, 'acme', 'EMAIL', 'a@b.co'));
    expect(refs.actor('x')).toBe(actorRef(SECRET, 'x'));
  });

  it('recognise only well-formed references', () => {
    expect(isOpaqueRef('h:short')).toBe(false);
    expect(isOpaqueRef('customer-1')).toBe(false);
    expect(isOpaqueRef(42)).toBe(false);
  });
});
