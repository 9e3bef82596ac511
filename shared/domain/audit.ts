/** An audit event: who did what, when, with hashed references only. */
export interface AuditEvent {
  readonly tenantId: string;
  readonly eventId: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  /** Keyed HMACs or opaque ids (policy version, hold id, run id); never raw PII. */
  readonly refs?: Readonly<Record<string, string>>;
  readonly before?: unknown;
  readonly after?: unknown;
}
