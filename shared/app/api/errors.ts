/**
 * Errors of the HTTP edge. They extend `DomainError`, so the one error-mapping
 * middleware maps them with `instanceof` like the domain's own; their messages
 * are written for the caller and never carry request data.
 */
import { ConflictError, DomainError, ValidationError } from '../../domain/errors.js';

/** One problem with a request: a dotted path into the body, or a path or query parameter's name. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** A request failed validation; `issues` lists every problem, `field` names the first (HTTP 400). */
export class RequestValidationError extends ValidationError {
  override readonly name: string = 'RequestValidationError';
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[]) {
    const first = issues[0] ?? { field: 'body', message: 'is invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(first.field, `${first.field}: ${first.message}${more}`);
    this.issues = issues;
  }
}

/** No token, or one without the claims the API needs (HTTP 401). */
export class UnauthorizedError extends DomainError {
  override readonly name: string = 'UnauthorizedError';

  constructor(message: string) {
    super('unauthorized', message, { field: 'authorization' });
  }
}

/** The token's role or tenant does not allow the call (HTTP 403). */
export class ForbiddenError extends DomainError {
  override readonly name: string = 'ForbiddenError';

  constructor(message: string, options: { readonly field?: string } = {}) {
    super('forbidden', message, { field: options.field ?? 'authorization' });
  }
}

/** The body is larger than the API accepts (HTTP 413). */
export class PayloadTooLargeError extends DomainError {
  override readonly name: string = 'PayloadTooLargeError';

  constructor(limitBytes: number) {
    super('payload_too_large', `body: must be at most ${limitBytes} bytes`, { field: 'body' });
  }
}

/** The path exists with other methods (HTTP 405). */
export class MethodNotAllowedError extends DomainError {
  override readonly name: string = 'MethodNotAllowedError';
  readonly allowed: readonly string[];

  constructor(allowed: readonly string[]) {
    super('method_not_allowed', `method: this path accepts ${allowed.join(', ')}`, { field: 'method' });
    this.allowed = allowed;
  }
}

/** Everything the request would delete is under legal hold (HTTP 409); `holdIds` names the holds. */
export class HeldError extends ConflictError {
  override readonly name: string = 'HeldError';
  readonly holdIds: readonly string[];

  constructor(holdIds: readonly string[], field: string, what = 'everything this request would delete is') {
    super(`${field}: ${what} under legal hold (${holdIds.join(', ') || 'unknown'})`, {
      code: 'held',
      field,
    });
    this.holdIds = holdIds;
  }
}
