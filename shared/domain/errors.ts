/**
 * Domain errors. Each is a class with a stable `name` and a machine-readable
 * `code`; the HTTP edge maps them with `instanceof`, and only their messages
 * (never a stack or a cause) reach a caller.
 */

export interface DomainErrorOptions {
  /** Dotted path of the offending request field, where one is to blame. */
  readonly field?: string;
  readonly cause?: unknown;
}

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly code: string;
  readonly field?: string;

  constructor(code: string, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
  }
}

/** A request body or argument breaks a rule; `field` names it (HTTP 400). */
export class ValidationError extends DomainError {
  override readonly name: string = 'ValidationError';

  constructor(field: string, message: string, options: { readonly cause?: unknown } = {}) {
    super('validation_error', message, { field, cause: options.cause });
  }
}

/** The thing asked for does not exist, or is not visible to the caller (HTTP 404). */
export class NotFoundError extends DomainError {
  override readonly name: string = 'NotFoundError';

  constructor(message: string, options: DomainErrorOptions = {}) {
    super('not_found', message, options);
  }
}

/** The request contradicts the current state, e.g. a conversation is still open (HTTP 409). */
export class ConflictError extends DomainError {
  override readonly name: string = 'ConflictError';

  constructor(message: string, options: DomainErrorOptions & { readonly code?: string } = {}) {
    super(options.code ?? 'conflict', message, options);
  }
}

/**
 * Someone else changed the thing since it was read (optimistic concurrency), e.g.
 * a tenant policy saved with a stale `expectedVersion` (HTTP 409; the caller may
 * re-read and retry).
 */
export class ConcurrentModificationError extends ConflictError {
  override readonly name: string = 'ConcurrentModificationError';

  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, { code: 'concurrent_modification', cause: options.cause });
  }
}
