/**
 * The `Mailer` port on Amazon SES (API v2): plain-text messages, UTF-8, one
 * SendEmail per message with every recipient in `To` (in groups of 50, SES's
 * limit, for longer lists).
 */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Mailer, MailMessage } from '../../domain/ports.js';
import { chunk, errorName } from '../retry.js';
import { assertSendable, assertSenderAddress, MailDeliveryError } from './mail-message.js';

/** SES refuses more recipients than this on one message. */
export const SES_MAX_RECIPIENTS = 50;

export interface SesMailerOptions {
  /** Sender; must be a verified SES identity (or an address of a verified domain). */
  readonly from: string;
  /** SES configuration set for event publishing; default none (the account's default set, if one is configured). */
  readonly configurationSetName?: string;
}

export class SesMailer implements Mailer {
  private readonly from: string;
  private readonly configurationSetName: string | undefined;

  constructor(
    private readonly client: SESv2Client,
    options: SesMailerOptions,
  ) {
    assertSenderAddress(options.from);
    if (options.configurationSetName !== undefined && options.configurationSetName.trim() === '') {
      throw new RangeError('configurationSetName must not be empty; leave it out to use none');
    }
    this.from = options.from;
    this.configurationSetName = options.configurationSetName;
  }

  async send(message: MailMessage): Promise<void> {
    assertSendable(message);
    // When a later group fails, the caller's retry repeats the groups already
    // sent: a duplicate alert is better than a lost one.
    for (const recipients of chunk(message.to, SES_MAX_RECIPIENTS)) {
      await this.sendTo(recipients, message);
    }
  }

  private async sendTo(recipients: readonly string[], message: MailMessage): Promise<void> {
    const command = new SendEmailCommand({
      FromEmailAddress: this.from,
      Destination: { ToAddresses: [...recipients] },
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: message.text, Charset: 'UTF-8' } },
        },
      },
      ...(this.configurationSetName !== undefined && { ConfigurationSetName: this.configurationSetName }),
    });
    try {
      await this.client.send(command);
    } catch (error) {
      // The error's name only: SES messages can quote the addresses involved.
      throw new MailDeliveryError(
        `SES did not accept a message for ${recipients.length} recipient(s): ${errorName(error) ?? 'UnknownError'}`,
        { cause: error },
      );
    }
  }
}
