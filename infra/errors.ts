import type { IConstruct } from 'constructs';

/**
 * Synth-time refusal of bad props or context, named as aws-cdk-lib names its own.
 *
 * aws-cdk-lib exports a `ValidationError` class at run time, but marks it
 * `@internal`: it is not in the published API reference, its constructor takes
 * an internal literal-string type, and its signature has changed between 2.x
 * releases. Only `Errors.isValidationError` is public. So Lethe keeps this small
 * class of its own with the same `name`; bin/app.ts prints its message without a
 * stack trace.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  /** Path of the construct whose props were refused; undefined for app context. */
  readonly constructPath: string | undefined;

  constructor(message: string, scope?: IConstruct, options?: ErrorOptions) {
    super(scope === undefined ? message : `${scope.node.path}: ${message}`, options);
    this.constructPath = scope?.node.path;
  }
}
