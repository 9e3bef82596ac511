/**
 * Opaque references to people for receipts and audit events (DESIGN.md §3:
 * "subject references are keyed HMACs"). A reference is stable for one secret,
 * so two receipts about the same subject can be correlated by whoever holds the
 * secret, while the control table never stores a raw id, phone or e-mail.
 */
import { createHmac } from 'node:crypto';
import type { IdentifierKind } from './records.js';

/** A reference as stored: `h:` followed by 22 base64url characters (128 bits of HMAC-SHA256). */
export type OpaqueRef = `h:${string}`;

/** Secrets shorter than this would make the references guessable by brute force over known ids. */
export const MIN_SECRET_BYTES = 32;

const REF_PATTERN = /^h:[A-Za-z0-9_-]{22}$/;
const REF_BYTES = 16;

/** Thrown for a secret that is missing or too short: a deployment mistake, never a client one. */
export class WeakReferenceSecretError extends Error {
  override readonly name = 'WeakReferenceSecretError';
  constructor(bytes: number) {
    super(`the reference secret has ${bytes} bytes; it needs at least ${MIN_SECRET_BYTES}`);
  }
}

export type ReferenceSecret = string | Uint8Array;

function secretBytes(secret: ReferenceSecret): number {
  return typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.byteLength;
}

/**
 * HMAC-SHA256 over a purpose label and the parts, encoded unambiguously (a JSON
 * array), so `("a#b","c")` and `("a","b#c")` never share a reference and a
 * subject id never collides with an identifier of the same spelling.
 */
function opaqueRef(secret: ReferenceSecret, purpose: string, parts: readonly string[]): OpaqueRef {
  const bytes = secretBytes(secret);
  if (bytes < MIN_SECRET_BYTES) throw new WeakReferenceSecretError(bytes);
  const mac = createHmac('sha256', secret).update(JSON.stringify(['lethe/v1', purpose, ...parts]), 'utf8').digest();
  return `h:${mac.subarray(0, REF_BYTES).toString('base64url')}`;
}

/** Reference to a data subject (end customer) of a tenant. */
export function subjectRef(secret: ReferenceSecret, tenantId: string, subjectId: string): OpaqueRef {
  return opaqueRef(secret, 'subject', [tenantId, subjectId]);
}

/** Reference to an agent or admin user of a tenant. */
export function userRef(secret: ReferenceSecret, tenantId: string, userId: string): OpaqueRef {
  return opaqueRef(secret, 'user', [tenantId, userId]);
}

/** Reference to a normalised identifier (phone, e-mail, name, external id), e.g. the subject of a privacy request. */
export function identifierRef(
  secret: ReferenceSecret,
  tenantId: string,
  kind: IdentifierKind,
  normalised: string,
): OpaqueRef {
  return opaqueRef(secret, 'identifier', [tenantId, kind, normalised]);
}

/**
 * Reference to a governed record by its kind and id (a conversation, message or
 * call id), for audit events: platform ids may embed personal data (a WhatsApp
 * conversation id is often a phone number), so they are never stored raw.
 */
export function recordRef(secret: ReferenceSecret, tenantId: string, kind: string, id: string): OpaqueRef {
  return opaqueRef(secret, 'record', [tenantId, kind, id]);
}

/** Reference to an actor (an e-mail or token subject) who changed something, for audit events. */
export function actorRef(secret: ReferenceSecret, actor: string): OpaqueRef {
  return opaqueRef(secret, 'actor', [actor]);
}

export function isOpaqueRef(value: unknown): value is OpaqueRef {
  return typeof value === 'string' && REF_PATTERN.test(value);
}

/** The reference functions bound to one secret, for injection into use cases. */
export interface References {
  subject(tenantId: string, subjectId: string): OpaqueRef;
  user(tenantId: string, userId: string): OpaqueRef;
  identifier(tenantId: string, kind: IdentifierKind, normalised: string): OpaqueRef;
  record(tenantId: string, kind: string, id: string): OpaqueRef;
  actor(actor: string): OpaqueRef;
}

/** Binds the reference functions to a secret; fails at once on a weak secret. */
export function createReferences(secret: ReferenceSecret): References {
  const bytes = secretBytes(secret);
  if (bytes < MIN_SECRET_BYTES) throw new WeakReferenceSecretError(bytes);
  return {
    subject: (tenantId, subjectId) => subjectRef(secret, tenantId, subjectId),
    user: (tenantId, userId) => userRef(secret, tenantId, userId),
    identifier: (tenantId, kind, normalised) => identifierRef(secret, tenantId, kind, normalised),
    record: (tenantId, kind, id) => recordRef(secret, tenantId, kind, id),
    actor: (actor) => actorRef(secret, actor),
  };
}
