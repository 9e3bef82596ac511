/** A valid example of every ingest record type, and a writer context with an injected clock. */
import type { LegalHold } from '../../shared/domain/holds.js';
import type { IngestContext } from '../../shared/domain/ingest/batch.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import { conversationsV1 } from './_helpers.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');
export const TENANT = 'acme';
export const HELLO_BASE64 = Buffer.from('hello').toString('base64');

export const examples = {
  customer: {
    type: 'customer',
    id: 'c1',
    name: '  Ada   Lovelace ',
    phones: ['+1 (415) 555-2671'],
    emails: [' Ada@Example.COM '],
    externalId: ' CRM-42 ',
    lastContactAt: '2025-05-20T08:00:00Z',
  },
  conversation: {
    type: 'conversation',
    id: 'v1',
    customerId: 'c1',
    channel: 'chat',
    startedAt: '2025-05-01T09:00:00Z',
    status: 'closed',
    notes: 'asked about the invoice',
  },
  message: {
    type: 'message',
    id: 'm1',
    conversationId: 'v1',
    customerId: 'c1',
    sentAt: '2025-05-01T09:05:00Z',
    direction: 'inbound',
    text: 'my card number is 4111…',
  },
  call: { type: 'call', id: 'k1', customerId: 'c1', startedAt: '2025-04-01T10:00:00Z', durationSeconds: 125 },
  recording: { type: 'recording', id: 'r1', callId: 'k1', customerId: 'c1', contentType: 'audio/wav', contentBase64: HELLO_BASE64 },
  media: {
    type: 'media',
    id: 'p1',
    conversationId: 'v1',
    customerId: 'c1',
    direction: 'inbound',
    contentType: 'image/png',
    contentBase64: HELLO_BASE64,
  },
  email_attachment: {
    type: 'email_attachment',
    id: 'a1',
    conversationId: 'v1',
    customerId: 'c1',
    sentAt: '2025-05-02T00:00:00Z',
    contentType: 'application/pdf',
    contentBase64: HELLO_BASE64,
  },
  webhook_delivery: {
    type: 'webhook_delivery',
    id: 'w1',
    deliveredAt: '2025-05-03T00:00:00Z',
    url: 'https://hooks.example.com/in?phone=%2B14155552671',
    statusCode: 200,
  },
  communication_log: {
    type: 'communication_log',
    id: 'l1',
    conversationId: 'v1',
    customerId: 'c1',
    loggedAt: '2025-05-01T10:00:00Z',
    text: 'transcript: …',
  },
  analytics_event: { type: 'analytics_event', id: 'e1', occurredAt: '2025-05-04T00:00:00Z', name: 'conversation.closed' },
  form_submission: {
    type: 'form_submission',
    id: 'f1',
    customerId: 'c1',
    submittedAt: '2025-05-08T00:00:00Z',
    page: 'https://acme.test/contact',
    formName: 'contact',
    fields: { message: 'please call me back', callback: true, seats: 3 },
  },
  web_session: {
    type: 'web_session',
    id: 's1',
    customerId: 'c1',
    startedAt: '2025-05-09T00:00:00Z',
    endedAt: '2025-05-09T00:12:00Z',
    landingPage: 'https://acme.test/pricing',
    referrer: 'https://search.example/',
    pageCount: 4,
  },
  user: { type: 'user', id: 'u1', email: 'Agent@ACME.test', lastSignInAt: '2025-05-05T00:00:00Z', hasAccountAccess: true },
  admin_activity_log: {
    type: 'admin_activity_log',
    id: 'g1',
    occurredAt: '2025-05-06T00:00:00Z',
    actor: 'admin@acme.test',
    action: 'policy.update',
  },
  account_config: { type: 'account_config', id: 'q1', kind: 'queue', updatedAt: '2025-05-07T00:00:00Z' },
} as const satisfies Record<string, IngestRecordInput>;

export type ExampleType = keyof typeof examples;

export function context(overrides: Partial<IngestContext> & { platform?: PlatformPolicy; holds?: LegalHold[] } = {}): IngestContext {
  return {
    tenantId: TENANT,
    platform: conversationsV1(),
    holds: [],
    now: NOW,
    conversation: () => undefined,
    call: () => undefined,
    ...overrides,
  };
}
