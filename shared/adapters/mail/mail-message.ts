/**
 * What every mail adapter checks before sending, and the one error they throw.
 * Neither the error's message nor anything else here repeats a recipient or the
 * body: addresses are personal data and a mail log is a store too.
 */
import type { MailMessage } from '../../domain/ports.js';

/** The message could not be handed over for delivery; `cause` holds the underlying error, if any. */
export class MailDeliveryError extends Error {
  override readonly name = 'MailDeliveryError';

  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

// A bare `local@domain` with no whitespace, control characters or the
// characters that would end an address list or open a display name: enough to
// keep a header intact, not an RFC 5321 validator.
const ADDRESS = /^[^\s@<>,;:"()[\]\\\x00-\x1f\x7f]+@[^\s@<>,;:"()[\]\\\x00-\x1f\x7f]+$/;

export function isMailAddress(value: string): boolean {
  return ADDRESS.test(value);
}

/** Throws a `MailDeliveryError` for a message that no adapter should try to send. */
export function assertSendable(message: MailMessage): void {
  if (message.to.length === 0) throw new MailDeliveryError('A message needs at least one recipient');
  const bad = message.to.findIndex((address) => !isMailAddress(address));
  if (bad >= 0) throw new MailDeliveryError(`Recipient #${bad + 1} is not a bare e-mail address`);
}

/** Throws a `RangeError` at construction for a sender no adapter can use. */
export function assertSenderAddress(from: string): void {
  if (!isMailAddress(from)) throw new RangeError('from must be a bare e-mail address such as alerts@example.com');
}
