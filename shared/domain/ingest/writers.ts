/**
 * One writer per ingest record type: each turns a validated record into its
 * records-table items (and blob), reporting its own issues on the batch.
 */
import type { Category } from '../catalog.js';
import { normaliseEmail, normaliseExternalId, normaliseName, normalisePhone } from '../identifiers.js';
import { keys, retentionKeysOf, type IdentifierKind } from '../records.js';
import { compact, type Batch } from './batch.js';
import type { IngestRecord, IngestRecordType } from './schemas.js';

type RecordOf<T extends IngestRecordType> = Extract<IngestRecord, { readonly type: T }>;
// One writer per record type. Each reports its own issues and adds its items.

function writeCustomer(b: Batch, r: RecordOf<'customer'>, index: number): void {
  const at = (field: string) => ({ field: `records.${index}.${field}` });
  const phones = (r.phones ?? []).map((p, j) =>
    b.identifier(index, `phones.${j}`, normalisePhone(p, { ...at(`phones.${j}`), defaultRegion: b.ctx.defaultPhoneRegion })),
  );
  const emails = (r.emails ?? []).map((e, j) => b.identifier(index, `emails.${j}`, normaliseEmail(e, at(`emails.${j}`))));
  const name = r.name === undefined ? undefined : b.identifier(index, 'name', normaliseName(r.name, at('name')));
  const externalId =
    r.externalId === undefined ? undefined : b.identifier(index, 'externalId', normaliseExternalId(r.externalId, at('externalId')));
  // As the record says it; the profile's kept first contact (`firstContactAt` on the item) is lowered by ingest
  // to the earliest of this, the last contact, and the conversations and calls stored (`lowerFirstContact`).
  const firstContactAt = r.firstContactAt;
  if (firstContactAt !== undefined && firstContactAt > r.lastContactAt) b.report(index, 'firstContactAt', 'must not be after lastContactAt');

  const pk = keys.subjectPk(b.tenantId, r.id);
  const profile = b.governed({
    pk,
    sk: keys.profileSk(),
    category: 'customer_profile',
    id: r.id,
    subjectId: r.id,
    clockStart: r.lastContactAt,
    data: {
      name: r.name?.trim(),
      phones: phones.length > 0 ? unique(phones) : undefined,
      emails: emails.length > 0 ? unique(emails) : undefined,
      externalId,
      firstContactAt,
      lastContactAt: r.lastContactAt,
      botId: r.botId,
      address: r.address,
      customAttributes: r.customAttributes,
    },
  });
  if (!b.add(index, profile)) return;

  const identifiers: [IdentifierKind, string | undefined][] = [
    ...unique(phones).map((v): [IdentifierKind, string] => ['PHONE', v]),
    ...unique(emails).map((v): [IdentifierKind, string] => ['EMAIL', v]),
    ['NAME', name],
    ['EXTERNAL', externalId],
  ];
  for (const [kind, normalised] of identifiers) {
    if (normalised === undefined) continue;
    // Identifier items go with their profile: indexed at its clock, on its shard, in the
    // identifiers' own partitions (swept once the profiles are done, and only where the
    // profile is gone), with its TTL backstop, since the identifier itself (in the key) is personal data.
    const identifier = {
      pk,
      sk: keys.identifierSk(kind, normalised),
      tenantId: b.tenantId,
      category: 'customer_profile' as const,
      id: r.id,
      subjectId: r.id,
      parentSk: keys.profileSk(),
      clockStart: profile.clockStart,
    };
    b.add(
      index,
      compact({
        ...identifier,
        expiresAt: profile.expiresAt,
        ...retentionKeysOf(identifier, b.shardCount),
        identifierPk: keys.identifierPk(b.tenantId, kind, normalised),
        identifierSk: r.id,
      }),
    );
  }
}

function writeConversation(b: Batch, r: RecordOf<'conversation'>, index: number): void {
  const category: Category = r.channel === 'whatsapp' ? 'whatsapp_conversation' : 'conversation';
  b.keepsStoredParent('conversation', index, r.id, r.customerId, { startedAt: r.startedAt, category });
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.conversationSk(r.id),
      category,
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.id,
      parentSk: keys.profileSk(),
      clockStart: r.startedAt,
      status: r.status,
      // Locator: finds the conversation's partition from its id alone (admin API, holds).
      identifierPk: keys.identifierPk(b.tenantId, 'CONVERSATION', r.id),
      identifierSk: r.customerId,
      data: { channel: r.channel, botId: r.botId, startedAt: r.startedAt, notes: r.notes },
    }),
  );
}

function writeMessage(b: Batch, r: RecordOf<'message'>, index: number): void {
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.messageSk(r.conversationId, r.sentAt, r.id),
      category: 'message',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: parent.startedAt,
      data: { direction: r.direction, sentAt: r.sentAt, text: r.text },
    }),
  );
}

function writeCommunicationLog(b: Batch, r: RecordOf<'communication_log'>, index: number): void {
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.communicationLogSk(r.conversationId, r.id),
      category: 'communication_log',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: parent.startedAt,
      data: { loggedAt: r.loggedAt, text: r.text },
    }),
  );
}

function writeMedia(b: Batch, r: RecordOf<'media'>, index: number): void {
  const category: Category = r.direction === 'inbound' ? 'inbound_media' : 'outbound_media';
  // Inbound media count from their own date where they have one; outbound media go with their conversation.
  const ownDate = category === 'inbound_media' ? r.sentAt : undefined;
  // Its conversation must be known (in the body or stored), whatever its own date: the sweep
  // finds media due with their conversation through the conversation's clock they carry.
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  const clockStart = ownDate ?? parent.startedAt;
  const blob = b.placeBlob(index, category, r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.mediaSk(r.conversationId, r.id),
      category,
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart,
      blob,
      data: { direction: r.direction, contentType: r.contentType, size: blob.size, sentAt: r.sentAt, messageId: r.messageId },
    }),
  );
}

function writeEmailAttachment(b: Batch, r: RecordOf<'email_attachment'>, index: number): void {
  // The clock starts at the attachment's own date; the conversation's (which must be known) can make it due earlier.
  const parent = b.parent('conversation', index, r.conversationId, r.customerId, true);
  if (parent === undefined) return;
  const blob = b.placeBlob(index, 'email_attachment', r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.attachmentSk(r.conversationId, r.id),
      category: 'email_attachment',
      id: r.id,
      subjectId: r.customerId,
      conversationId: r.conversationId,
      parentSk: keys.conversationSk(r.conversationId),
      parent,
      clockStart: r.sentAt,
      blob,
      data: { contentType: r.contentType, size: blob.size, sentAt: r.sentAt, messageId: r.messageId },
    }),
  );
}

function writeCall(b: Batch, r: RecordOf<'call'>, index: number): void {
  b.keepsStoredParent('call', index, r.id, r.customerId, { startedAt: r.startedAt, category: 'call' });
  const pk = keys.subjectPk(b.tenantId, r.customerId);
  const sk = keys.callSk(r.id);
  const call = b.governed({
    pk,
    sk,
    category: 'call',
    id: r.id,
    subjectId: r.customerId,
    callId: r.id,
    parentSk: keys.profileSk(),
    clockStart: r.startedAt,
    // Locator: finds the call's partition from its id alone (admin API, holds).
    identifierPk: keys.identifierPk(b.tenantId, 'CALL', r.id),
    identifierSk: r.customerId,
    data: { startedAt: r.startedAt, durationSeconds: r.durationSeconds },
  });
  if (!b.add(index, call) || r.thirdPartyRef === undefined) return;
  b.add(
    index,
    b.governed({
      pk,
      sk: keys.thirdPartyCallDataSk(r.id),
      category: 'third_party_call_data',
      id: r.id,
      subjectId: r.customerId,
      callId: r.id,
      parentSk: sk,
      parent: { startedAt: r.startedAt, category: 'call' },
      clockStart: r.startedAt,
      // Top level too: the sweep reads it from byRetention to call the provider.
      externalRef: r.thirdPartyRef,
      data: { ref: r.thirdPartyRef },
    }),
  );
}

function writeRecording(b: Batch, r: RecordOf<'recording'>, index: number): void {
  const parent = b.parent('call', index, r.callId, r.customerId, true);
  if (parent === undefined) return;
  const blob = b.placeBlob(index, 'call_recording', r);
  if (blob === undefined) return;
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.recordingSk(r.callId, r.id),
      category: 'call_recording',
      id: r.id,
      subjectId: r.customerId,
      callId: r.callId,
      parentSk: keys.callSk(r.callId),
      parent,
      clockStart: parent.startedAt,
      blob,
      data: { contentType: r.contentType, size: blob.size },
    }),
  );
}

function writeWebhookDelivery(b: Batch, r: RecordOf<'webhook_delivery'>, index: number): void {
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.webhookDeliverySk(r.id),
      category: 'webhook_delivery',
      id: r.id,
      clockStart: r.deliveredAt,
      data: { deliveredAt: r.deliveredAt, url: r.url, statusCode: r.statusCode },
    }),
  );
}

function writeAnalyticsEvent(b: Batch, r: RecordOf<'analytics_event'>, index: number): void {
  const customer = r.customerId;
  b.add(
    index,
    b.governed({
      pk: customer === undefined ? keys.accountPk(b.tenantId) : keys.subjectPk(b.tenantId, customer),
      sk: keys.analyticsEventSk(r.id),
      category: 'analytics_event',
      id: r.id,
      subjectId: customer,
      parentSk: customer === undefined ? undefined : keys.profileSk(),
      clockStart: r.occurredAt,
      data: { name: r.name, occurredAt: r.occurredAt },
    }),
  );
}

function writeFormSubmission(b: Batch, r: RecordOf<'form_submission'>, index: number): void {
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.formSubmissionSk(r.id),
      category: 'form_submission',
      id: r.id,
      subjectId: r.customerId,
      parentSk: keys.profileSk(),
      clockStart: r.submittedAt,
      data: { submittedAt: r.submittedAt, page: r.page, formName: r.formName, fields: r.fields },
    }),
  );
}

function writeWebSession(b: Batch, r: RecordOf<'web_session'>, index: number): void {
  if (r.endedAt !== undefined && r.endedAt < r.startedAt) b.report(index, 'endedAt', 'must not be before startedAt');
  b.add(
    index,
    b.governed({
      pk: keys.subjectPk(b.tenantId, r.customerId),
      sk: keys.webSessionSk(r.id),
      category: 'web_session',
      id: r.id,
      subjectId: r.customerId,
      parentSk: keys.profileSk(),
      clockStart: r.startedAt,
      data: { startedAt: r.startedAt, endedAt: r.endedAt, landingPage: r.landingPage, referrer: r.referrer, pageCount: r.pageCount },
    }),
  );
}

function writeUser(b: Batch, r: RecordOf<'user'>, index: number): void {
  const email = b.identifier(index, 'email', normaliseEmail(r.email, { field: `records.${index}.email` }));
  b.add(
    index,
    b.governed({
      pk: keys.userPk(b.tenantId, r.id),
      sk: keys.userSk(),
      category: 'user',
      id: r.id,
      clockStart: r.lastSignInAt,
      // Top level too: the sweep keeps users with account access without reading the item.
      hasAccountAccess: r.hasAccountAccess,
      data: { email, lastSignInAt: r.lastSignInAt, hasAccountAccess: r.hasAccountAccess },
    }),
  );
}

function writeAdminActivityLog(b: Batch, r: RecordOf<'admin_activity_log'>, index: number): void {
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.adminActivitySk(r.occurredAt, r.id),
      category: 'admin_activity_log',
      id: r.id,
      clockStart: r.occurredAt,
      data: { occurredAt: r.occurredAt, actor: r.actor, action: r.action },
    }),
  );
}

function writeAccountConfig(b: Batch, r: RecordOf<'account_config'>, index: number): void {
  // The catalog's clock (contract end or account inactivity) is tenant data the sweep
  // applies; the item's own clock is its last change.
  b.add(
    index,
    b.governed({
      pk: keys.accountPk(b.tenantId),
      sk: keys.accountConfigSk(r.kind, r.id),
      category: 'account_config',
      id: r.id,
      clockStart: r.updatedAt,
      data: { kind: r.kind, updatedAt: r.updatedAt },
    }),
  );
}

export const WRITERS: { readonly [T in IngestRecordType]: (b: Batch, r: RecordOf<T>, index: number) => void } = {
  customer: writeCustomer,
  conversation: writeConversation,
  message: writeMessage,
  call: writeCall,
  recording: writeRecording,
  media: writeMedia,
  email_attachment: writeEmailAttachment,
  webhook_delivery: writeWebhookDelivery,
  communication_log: writeCommunicationLog,
  analytics_event: writeAnalyticsEvent,
  form_submission: writeFormSubmission,
  web_session: writeWebSession,
  user: writeUser,
  admin_activity_log: writeAdminActivityLog,
  account_config: writeAccountConfig,
};
function unique(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}
