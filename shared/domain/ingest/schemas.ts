/**
 * Ingest schemas (DESIGN.md §5): the limits of a body, the zod shape of every
 * record type and of the body of `POST /v1/tenants/{t}/records`. Shapes only;
 * checks across records live in the plan and the writers.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

export const MAX_RECORDS_PER_BODY = 500;
/**
 * Largest blob sent inline as base64 (decoded); larger ones go through an
 * upload URL. 4 MiB is about 5.6 MB of base64 in JSON, under the 6 MB a
 * synchronous Lambda invocation takes (a 5 MiB blob is 6.7 MB: refused by
 * Lambda before the API could answer), and the same locally and in AWS.
 */
export const MAX_INLINE_BLOB_BYTES = 4 * 1024 * 1024;
/** How far in the future a record's date may lie (clock skew); later dates would postpone deletion. */
export const MAX_FUTURE_SKEW_MS = 24 * 3_600_000;
/** Ids go into keys and blob paths: letters, digits and `._:-`, but never only dots (`.`/`..` are path segments). */
export const ID_PATTERN = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;

const MAX_BASE64_CHARS = Math.ceil(MAX_INLINE_BLOB_BYTES / 3) * 4;
const MAX_TEXT_CHARS = 100_000;
const MAX_IDENTIFIERS_PER_KIND = 20;
/** A customer's custom attributes: at most this many, keys and text values bounded, so a profile stays far below an item's 400 KB. */
export const MAX_CUSTOM_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_KEY_CHARS = 128;
export const MAX_ATTRIBUTE_TEXT_CHARS = 2048;
/** A form submission's fields, bounded alike. */
export const MAX_FORM_FIELDS = 100;
export const MAX_ADDRESS_LINES = 4;
const MAX_URL_CHARS = 2048;

// ---------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------

/** A schema-level message that leaves a missing field to the parse-level "is required". */
function unlessMissing(message: string): (issue: { readonly input?: unknown }) => string | undefined {
  return (issue) => (issue.input === undefined ? undefined : message);
}

const recordId = z.string().regex(ID_PATTERN, 'must be 1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-", and not only dots');

/**
 * ISO-8601 UTC instant, re-written in the one canonical form (`toISOString`).
 * Clock starts are compared as strings in `byRetention` (`sk < cutoff`), where
 * `…00Z` would sort after `…00.500Z`; one spelling keeps that comparison honest.
 */
const instant = z.iso
  .datetime({ error: unlessMissing('must be an ISO-8601 UTC date-time ending in Z, e.g. 2025-01-31T09:30:00Z') })
  .transform((value) => new Date(value).toISOString());

const boundedText = (max: number) => z.string().max(max, `must have at most ${max} characters`);
const label = z.string().min(1, 'must not be empty').max(256, 'must have at most 256 characters');

const contentType = z
  .string()
  .max(255, 'must have at most 255 characters')
  .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;\s*[^;\s][^;]*)*$/, 'must be a media type, e.g. audio/wav');

// Checked in two simple steps: one alphabet-and-padding scan and a length rule. A single
// regex with a repeated group overflows the regex engine's stack on megabytes of input.
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_ALPHABET.test(s);

/** Decoded size of a padded base64 string, without decoding it. */
function decodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

const content = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_BASE64_CHARS, { message: 'must decode to at most 4 MiB; leave it out to get an upload URL for larger blobs', abort: true })
  .refine(isBase64, { message: 'must be standard base64 with padding', abort: true })
  .refine((s) => decodedBytes(s) <= MAX_INLINE_BLOB_BYTES, 'must decode to at most 4 MiB; send larger blobs through an upload URL');

const direction = z.enum(['inbound', 'outbound']);

/**
 * Named values (a customer's custom attributes, a form's fields): text,
 * numbers or booleans under non-empty keys, bounded in count and size.
 */
const namedValues = (maxEntries: number) =>
  z
    .record(
      z.string(),
      z.union([boundedText(MAX_ATTRIBUTE_TEXT_CHARS), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean()], {
        error: unlessMissing(`must be text of at most ${MAX_ATTRIBUTE_TEXT_CHARS} characters, a number or a boolean`),
      }),
    )
    .refine((values) => Object.keys(values).length <= maxEntries, `must have at most ${maxEntries} entries`)
    .refine(
      (values) => Object.keys(values).every((key) => key.length >= 1 && key.length <= MAX_ATTRIBUTE_KEY_CHARS),
      `keys must have 1 to ${MAX_ATTRIBUTE_KEY_CHARS} characters`,
    );

/** A postal address: every part optional, each bounded. */
export const addressSchema = z.strictObject({
  lines: z.array(boundedText(256)).max(MAX_ADDRESS_LINES, `must have at most ${MAX_ADDRESS_LINES} lines`).optional(),
  city: boundedText(128).optional(),
  region: boundedText(128).optional(),
  postalCode: boundedText(32).optional(),
  country: boundedText(64).optional(),
});

const page = z.string().min(1, 'must not be empty').max(MAX_URL_CHARS, `must have at most ${MAX_URL_CHARS} characters`);

// ---------------------------------------------------------------------------
// Record schemas (DESIGN.md §5)
// ---------------------------------------------------------------------------

export const customerRecordSchema = z.strictObject({
  type: z.literal('customer'),
  id: recordId,
  name: boundedText(256).optional(),
  phones: z.array(boundedText(64)).max(MAX_IDENTIFIERS_PER_KIND).optional(),
  emails: z.array(boundedText(254)).max(MAX_IDENTIFIERS_PER_KIND).optional(),
  externalId: boundedText(256).optional(),
  lastContactAt: instant,
  /** First contact; defaults to `lastContactAt`. Chatbot bulk erasure filters on it. */
  firstContactAt: instant.optional(),
  /** The bot that brought the customer in (chatbot bulk erasure filters on it). */
  botId: recordId.optional(),
  /** Personal data of the profile, like the name: exported, removed by erasure and anonymisation. */
  address: addressSchema.optional(),
  customAttributes: namedValues(MAX_CUSTOM_ATTRIBUTES).optional(),
});

export const conversationRecordSchema = z.strictObject({
  type: z.literal('conversation'),
  id: recordId,
  customerId: recordId,
  channel: z.enum(['chat', 'sms', 'whatsapp', 'email', 'voice']),
  botId: recordId.optional(),
  startedAt: instant,
  status: z.enum(['open', 'closed']),
  notes: boundedText(MAX_TEXT_CHARS).optional(),
});

export const messageRecordSchema = z.strictObject({
  type: z.literal('message'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  sentAt: instant,
  direction,
  text: boundedText(MAX_TEXT_CHARS),
});

export const callRecordSchema = z.strictObject({
  type: z.literal('call'),
  id: recordId,
  customerId: recordId,
  startedAt: instant,
  durationSeconds: z.number().nonnegative('must not be negative').max(7 * 86_400, 'must be at most 7 days'),
  /** The external provider's reference of the call; yields a `third_party_call_data` marker. */
  thirdPartyRef: z.string().min(1, 'must not be empty').max(512, 'must have at most 512 characters').optional(),
});

/** Without `contentBase64` the blob is expected through an upload URL (see `IngestWrite.uploads`). */
export const recordingRecordSchema = z.strictObject({
  type: z.literal('recording'),
  id: recordId,
  callId: recordId,
  customerId: recordId,
  contentType,
  contentBase64: content.optional(),
});

export const mediaRecordSchema = z.strictObject({
  type: z.literal('media'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  direction,
  contentType,
  contentBase64: content.optional(),
  /** When the media was sent; inbound media without it take their conversation's start. */
  sentAt: instant.optional(),
  /** The message the media belongs to, so deleting the message takes it along. */
  messageId: recordId.optional(),
});

export const emailAttachmentRecordSchema = z.strictObject({
  type: z.literal('email_attachment'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  sentAt: instant,
  contentType,
  contentBase64: content.optional(),
  messageId: recordId.optional(),
});

export const webhookDeliveryRecordSchema = z.strictObject({
  type: z.literal('webhook_delivery'),
  id: recordId,
  deliveredAt: instant,
  url: z.url({ error: unlessMissing('must be an absolute URL') }).max(2048, 'must have at most 2048 characters'),
  statusCode: z.number().int('must be an integer').min(100, 'must be an HTTP status code').max(599, 'must be an HTTP status code'),
});

export const communicationLogRecordSchema = z.strictObject({
  type: z.literal('communication_log'),
  id: recordId,
  conversationId: recordId,
  customerId: recordId,
  loggedAt: instant,
  text: boundedText(MAX_TEXT_CHARS),
});

export const analyticsEventRecordSchema = z.strictObject({
  type: z.literal('analytics_event'),
  id: recordId,
  occurredAt: instant,
  name: label,
  customerId: recordId.optional(),
});

/** A web form a customer submitted: a communication record under the customer, its clock the submission. */
export const formSubmissionRecordSchema = z.strictObject({
  type: z.literal('form_submission'),
  id: recordId,
  customerId: recordId,
  submittedAt: instant,
  /** The page the form was on. */
  page: page.optional(),
  formName: label.optional(),
  fields: namedValues(MAX_FORM_FIELDS),
});

/** A web visitor session of a customer: a communication record under the customer, its clock the session's start. */
export const webSessionRecordSchema = z.strictObject({
  type: z.literal('web_session'),
  id: recordId,
  customerId: recordId,
  startedAt: instant,
  endedAt: instant.optional(),
  landingPage: page,
  referrer: page.optional(),
  pageCount: z.number().int('must be an integer').min(1, 'must be at least 1').max(100_000, 'must be at most 100000'),
});

export const userRecordSchema = z.strictObject({
  type: z.literal('user'),
  id: recordId,
  email: boundedText(254),
  lastSignInAt: instant,
  hasAccountAccess: z.boolean(),
});

export const adminActivityLogRecordSchema = z.strictObject({
  type: z.literal('admin_activity_log'),
  id: recordId,
  occurredAt: instant,
  actor: label,
  action: label,
});

export const accountConfigRecordSchema = z.strictObject({
  type: z.literal('account_config'),
  id: recordId,
  kind: z.enum(['queue', 'routing', 'workflow', 'form', 'setting']),
  updatedAt: instant,
});

export const ingestRecordSchema = z.discriminatedUnion('type', [
  customerRecordSchema,
  conversationRecordSchema,
  messageRecordSchema,
  callRecordSchema,
  recordingRecordSchema,
  mediaRecordSchema,
  emailAttachmentRecordSchema,
  webhookDeliveryRecordSchema,
  communicationLogRecordSchema,
  analyticsEventRecordSchema,
  formSubmissionRecordSchema,
  webSessionRecordSchema,
  userRecordSchema,
  adminActivityLogRecordSchema,
  accountConfigRecordSchema,
]);

export const INGEST_RECORD_TYPES = ingestRecordSchema.options.map((o) => o.shape.type.value);

/** The body of `POST /v1/tenants/{t}/records`. */
export const ingestBodySchema = z.strictObject({
  records: z
    .array(ingestRecordSchema)
    .min(1, 'must hold at least one record')
    .max(MAX_RECORDS_PER_BODY, `must hold at most ${MAX_RECORDS_PER_BODY} records`),
});

/** A record as sent (before defaults and canonical dates). */
export type IngestRecordInput = z.input<typeof ingestRecordSchema>;
/** A record after validation: dates in canonical ISO form. */
export type IngestRecord = z.output<typeof ingestRecordSchema>;
export type IngestRecordType = IngestRecord['type'];
export type IngestBodyInput = z.input<typeof ingestBodySchema>;
export type IngestBody = z.output<typeof ingestBodySchema>;
