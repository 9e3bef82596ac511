import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { MailDeliveryError } from '../../shared/adapters/mail/mail-message.js';
import { SesMailer } from '../../shared/adapters/mail/ses-mailer.js';

const FROM = 'alerts@lethe.example';

function setup(options: { readonly configurationSetName?: string } = {}) {
  const client = new SESv2Client({ region: 'us-east-1' });
  const ses = mockClient(client);
  const mailer = new SesMailer(client, { from: FROM, ...options });
  return { ses, mailer };
}

describe('SesMailer', () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
    ctx.ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  });

  it('sends one plain-text UTF-8 message to every recipient at once', async () => {
    await ctx.mailer.send({ to: ['a@tenant.example', 'ops@lethe.example'], subject: 'Löschlauf fehlgeschlagen', text: 'Zeile 1\nZeile 2' });

    expect(ctx.ses).toHaveReceivedCommandOnce(SendEmailCommand);
    expect(ctx.ses).toHaveReceivedCommandWith(SendEmailCommand, {
      FromEmailAddress: FROM,
      Destination: { ToAddresses: ['a@tenant.example', 'ops@lethe.example'] },
      Content: {
        Simple: {
          Subject: { Data: 'Löschlauf fehlgeschlagen', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Zeile 1\nZeile 2', Charset: 'UTF-8' } },
        },
      },
    });
  });

  it('names no configuration set unless given one', async () => {
    await ctx.mailer.send({ to: ['a@tenant.example'], subject: 's', text: 't' });

    const input = ctx.ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input).not.toHaveProperty('ConfigurationSetName');
  });

  it('uses the configuration set it was given', async () => {
    const { ses, mailer } = setup({ configurationSetName: 'lethe-alerts' });
    ses.on(SendEmailCommand).resolves({});

    await mailer.send({ to: ['a@tenant.example'], subject: 's', text: 't' });

    expect(ses).toHaveReceivedCommandWith(SendEmailCommand, { ConfigurationSetName: 'lethe-alerts' });
  });

  it('splits a list longer than 50 recipients into groups SES accepts', async () => {
    const to = Array.from({ length: 120 }, (_, i) => `admin${i}@tenant.example`);

    await ctx.mailer.send({ to, subject: 's', text: 't' });

    const groups = ctx.ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses);
    expect(groups.map((g) => g?.length)).toEqual([50, 50, 20]);
    expect(groups.flat()).toEqual(to);
  });

  it('turns an SES failure into a MailDeliveryError that keeps the cause but not the body or addresses', async () => {
    const sesError = Object.assign(new Error('Email address is not verified: a@tenant.example'), { name: 'MessageRejected' });
    ctx.ses.on(SendEmailCommand).rejects(sesError);

    const error = await ctx.mailer
      .send({ to: ['a@tenant.example'], subject: 'Secret subject', text: 'secret body' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MailDeliveryError);
    expect(error).toMatchObject({ name: 'MailDeliveryError', cause: sesError });
    const message = (error as Error).message;
    expect(message).toContain('MessageRejected');
    expect(message).not.toMatch(/secret|a@tenant\.example/i);
  });

  it('refuses a message without recipients before calling SES', async () => {
    await expect(ctx.mailer.send({ to: [], subject: 's', text: 't' })).rejects.toBeInstanceOf(MailDeliveryError);

    expect(ctx.ses).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('refuses a recipient that could break the header, without echoing it', async () => {
    const error = await ctx.mailer
      .send({ to: ['ok@tenant.example', 'evil@x.example\r\nBcc: spy@x.example'], subject: 's', text: 't' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as Error).message).toBe('Recipient #2 is not a bare e-mail address');
    expect(ctx.ses).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('fails at construction on a sender that is not an address', () => {
    const client = new SESv2Client({ region: 'us-east-1' });

    expect(() => new SesMailer(client, { from: 'not an address' })).toThrow(RangeError);
  });
});
