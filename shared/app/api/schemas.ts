/**
 * The admin API's request and response schemas (zod). Requests are validated
 * with them at the edge; the OpenAPI document is generated from them; tests
 * parse responses with them. DESIGN.md §5.
 */
import { z } from 'zod';
import { CATEGORIES } from '../../domain/catalog.js';
import { addressSchema, ID_PATTERN, ingestBodySchema, MAX_ATTRIBUTE_TEXT_CHARS } from '../../domain/ingest/schemas.js';
import { normaliseEmail, normaliseName, normalisePhone, type NormaliseResult } from '../../domain/identifiers.js';
import { policyChangeSchema } from '../../domain/policy.js';
import { ANONYMIZABLE_RECORD_TYPES } from '../../domain/privacy/record-anonymization.js';
import { PRIVACY_KINDS, PRIVACY_STATUSES, privacyRequestBodySchema } from '../../domain/privacy/request.js';
import { KEPT_REASONS } from '../../domain/receipt.js';
import { MAX_RETENTION_SHARDS } from '../../domain/records.js';
import { DOWNLOAD_TOKEN_PATTERN } from '../download-links.js';
import type { FieldIssue } from './errors.js';

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

export const ID_MESSAGE = 'must be 1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"';
/**
 * An id in a path: the ingest pattern, but never `.` or `..` alone, which
 * proxies and clients may resolve as path segments before the API sees them.
 */
export const idSchema = z
  .string()
  .regex(ID_PATTERN, ID_MESSAGE)
  .refine((s) => !/^\.+$/u.test(s), 'must not consist of dots only');

/** ISO-8601 UTC instant, stored in the one canonical spelling (`toISOString`). */
export const instantSchema = z.iso
  .datetime({ error: 'must be an ISO-8601 UTC date-time ending in Z, e.g. 2025-01-31T09:30:00Z' })
  .transform((value) => new Date(value).toISOString());

export const emailSchema = z
  .string()
  .max(254, 'must have at most 254 characters')
  .transform((value, ctx) => {
    const result = normaliseEmail(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.error.message });
    return z.NEVER;
  });

const categorySchema = z.enum(CATEGORIES, { error: `must be one of ${CATEGORIES.join(', ')}` });

/** Counts per category of a run or a manual deletion: examined = deleted + held + failed + kept. */
export const categoryCountsSchema = z.object({
  examined: z.number().int(),
  deleted: z.number().int(),
  held: z.number().int(),
  failed: z.number().int(),
  kept: z
    .number()
    .int()
    .optional()
    .describe('Records neither deleted, held nor failed themselves, kept because of something under them (or, identifiers, their profile). Absent on receipts written before it was counted.'),
  keptReasons: z
    .partialRecord(z.enum(KEPT_REASONS), z.number().int())
    .optional()
    .describe(
      'The kept records by reason: child_failed (something under it failed), profile_kept (an identifier whose profile stayed), unlinked (an analytics event of a customer being erased, anonymised or deleted, kept without her until its own period ends).',
    ),
  deletedReasons: z
    .record(z.string(), z.number().int())
    .optional()
    .describe('Deleted records that something would have kept, by reason (cap_over_hold: a legal hold covered it, but the profile lets no hold keep data past its cap); counted in deleted too.'),
});
const countsByCategory = z.partialRecord(categorySchema, categoryCountsSchema);

/** A query parameter holding a positive integer. */
const positiveIntParam = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, `must be an integer from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n <= max, `must be an integer from 1 to ${max}`);

export const noQuery = z.strictObject({});

// ---------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------

export const noParams = z.strictObject({});
export const tenantParams = z.strictObject({ t: idSchema });
export const tenantIdParams = z.strictObject({ t: idSchema, id: idSchema });
export const holdParams = z.strictObject({ t: idSchema, holdId: idSchema });
export const messageParams = z.strictObject({ t: idSchema, id: idSchema, msgId: idSchema });
/** A download link's token: `<payload>.<signature>`, base64url (download-links.ts). */
export const downloadParams = z.strictObject({
  token: z.string().regex(DOWNLOAD_TOKEN_PATTERN, 'must be the token of a download link Lethe made'),
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      field: z.string().optional(),
      issues: z
        .array(z.object({ field: z.string(), message: z.string(), index: z.number().int().nullable().optional() }))
        .optional(),
      holdIds: z.array(z.string()).optional(),
    }),
  });

// ---------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------

export const thirdPartyEndpointSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must have at most 64 characters'),
  deleteUrl: z
    .url({ protocol: /^https?$/u, error: 'must be an absolute http(s) URL' })
    .max(2048, 'must have at most 2048 characters')
    .refine((u) => u.includes('{ref}'), 'must contain {ref}, where the call reference goes')
    .refine((u) => {
      try {
        const url = new URL(u.replaceAll('{ref}', 'ref'));
        return url.username === '' && url.password === '';
      } catch {
        return true;
      }
    }, 'must not carry credentials'),
});

export const tenantBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(256, 'must have at most 256 characters'),
  adminEmails: z.array(emailSchema).min(1, 'must name at least one address').max(20, 'must name at most 20 addresses'),
  contractEndsAt: instantSchema.optional(),
  thirdPartyEndpoints: z.array(thirdPartyEndpointSchema).max(10, 'must name at most 10 endpoints').optional(),
  /**
   * Write shards of the tenant's retention index (default 1): raise it for a tenant that
   * ingests more than about 1,000 records a second into one category. It can only grow.
   */
  retentionShards: z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_RETENTION_SHARDS, `must be at most ${MAX_RETENTION_SHARDS}`)
    .optional(),
});
export type TenantBody = z.output<typeof tenantBody>;

export const tenantResponse = z
  .object({
    tenantId: z.string(),
    name: z.string(),
    status: z
      .enum(['active', 'suspended', 'offboarded', 'contract_ended', 'inactive'])
      .describe(
        'active, suspended or offboarded as registered; an active account whose contract has ended reads contract_ended, one without activity for the profile\'s inactivity period reads inactive (computed at every read: the next sweep deletes its account-lifetime data with the rest of the account).',
      ),
    adminEmails: z.array(z.string()),
    lastActivityAt: z
      .string()
      .optional()
      .describe('The account\'s last activity: the latest customer-facing activity ingested, and every admin API write (policy, holds, privacy requests, deletions, runs).'),
    contractEndsAt: z.string().optional(),
    thirdPartyEndpoints: z.array(z.object({ name: z.string(), deleteUrl: z.string() })).optional(),
    retentionShards: z.number().int().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  });
export const tenantListResponse = z.object({ tenants: z.array(tenantResponse) });

// ---------------------------------------------------------------------------
// Retention policy
// ---------------------------------------------------------------------------

export const policyBody = policyChangeSchema.extend({
  /** The version the change was made against; a stale one is a 409. Default: the stored version. */
  expectedVersion: z.number().int().min(0).optional(),
});
export type PolicyBody = z.output<typeof policyBody>;

const periodDays = z.number().int().nullable();
const periodView = {
  days: periodDays.describe('The effective period in days; null = kept indefinitely; 0 = deleted once the grace has passed.'),
  default: periodDays,
  min: z.number().int(),
  max: periodDays,
  extendable: z.boolean(),
  indefiniteAllowed: z.boolean(),
  source: z.enum(['default', 'tenant']),
};
export const policyResponse = z.object({
  tenantId: z.string(),
  profile: z.string(),
  version: z.number().int(),
  locked: z.boolean(),
  updatedAt: z.string().optional(),
  settings: z
    .record(
      z.string(),
      z.object({
        ...periodView,
        description: z.string(),
        categories: z.array(categorySchema).describe('The categories the setting names.'),
        governs: z.array(categorySchema).describe('Every category it decides for: the ones it names and what lives under them (due exactly when their parent is).'),
        clock: z.enum(['item', 'subject']).describe('item: each record by its own clock; subject: everything of a customer by her last contact.'),
        acknowledge: z.enum(['shorten', 'always']).describe('When a change needs acknowledgeDataLoss: true.'),
      }),
    )
    .describe('The profile\'s retention settings, by name; change one with settings.<name>.days.'),
  categories: z
    .record(
      categorySchema,
      z.object({
        ...periodView,
        governedBy: z.enum(['category', 'setting', 'account_lifetime']),
        setting: z.string().optional().describe('The setting that decides for every record of the category.'),
        followsUnder: z
          .partialRecord(categorySchema, z.string())
          .optional()
          .describe('Under these containers, the category follows their setting (due exactly when the container is); elsewhere its own period applies.'),
        clock: z.enum(['item', 'subject', 'account']),
      }),
    )
    .describe('The effective result for every category.'),
  accountLifetime: z
    .object({ categories: z.array(categorySchema), inactivityDays: z.number().int() })
    .nullable()
    .describe('Categories kept while the account is active; deleted with all account data once its contract has ended or after inactivityDays without activity.'),
  holds: z.object({ beyondCap: z.boolean().describe('Whether a legal hold may keep data past its cap.') }),
});

const previewCounts = z.object({ wouldDelete: z.number().int(), held: z.number().int(), examined: z.number().int() });
export const previewResponse = z.object({
  tenantId: z.string(),
  at: z.string(),
  reason: z.enum(['contract_ended', 'inactive']).optional().describe('Set when the account is over: everything of it would go.'),
  settings: z.record(z.string(), previewCounts).describe('Per setting: the categories it decides for wholly, added up.'),
  categories: z.partialRecord(categorySchema, previewCounts).describe('Per category; customer_profile counts customers (their identifier items are not profiles).'),
});

const tenantPolicySchema = z.object({
  tenantId: z.string(),
  profile: z.string(),
  version: z.number().int(),
  locked: z.boolean(),
  settings: z.record(z.string(), z.object({ days: periodDays })).optional(),
  categories: z.partialRecord(categorySchema, z.object({ days: periodDays })),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
});
export const historyResponse = z.object({
  revisions: z.array(
    z.object({
      version: z.number().int(),
      changedAt: z.string(),
      changedBy: z.string(),
      policy: tenantPolicySchema,
      previous: tenantPolicySchema.optional(),
    }),
  ),
});

// ---------------------------------------------------------------------------
// Legal holds
// ---------------------------------------------------------------------------

export const holdScopeSchema = z.strictObject({
  customerId: idSchema.optional(),
  conversationId: idSchema.optional(),
  callId: idSchema.optional(),
  category: categorySchema.optional(),
});

export const holdBody = z.strictObject({
  /** The fields combine with AND; an empty scope holds the whole tenant. */
  scope: holdScopeSchema,
  reason: z.string().trim().min(1, 'must not be empty').max(1000, 'must have at most 1000 characters'),
  expiresAt: instantSchema.optional(),
});
export type HoldBody = z.output<typeof holdBody>;

const holdWorkCounts = z.object({
  /** Records whose TTL backstop was taken off (applying: in scope, and their ancestors) or stamped back (releasing). */
  records: z.number().int(),
  /** Blobs whose Object Lock legal hold was set or cleared. */
  blobHolds: z.number().int(),
  /** Blobs in buckets without Object Lock (held by the sweep's hold check alone). */
  blobHoldsUnsupported: z.number().int(),
});

export const holdResponse = z
  .object({
    holdId: z.string(),
    tenantId: z.string(),
    scope: z.object({
      customerId: z.string().optional(),
      conversationId: z.string().optional(),
      callId: z.string().optional(),
      category: categorySchema.optional(),
    }),
    reason: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string().optional(),
    releasedAt: z.string().optional(),
    releasedBy: z.string().optional(),
    active: z.boolean(),
    coversOnlyInsideCapDays: z
      .number()
      .int()
      .optional()
      .describe(
        'Set where the profile lets no legal hold keep data past its cap (call-tracking): the hold covers only data inside the cap (days from each record\'s clock, the longest cap in its scope); the sweep deletes what is past its cap whatever the hold, and its receipt counts it deleted (deletedReasons.cap_over_hold).',
      ),
    capDaysByCategory: z.partialRecord(categorySchema, z.number().int()).optional().describe('With coversOnlyInsideCapDays: the cap of each capped category in scope.'),
    /**
     * The work on the stored records, in the Hold workflow: `applying` (TTL
     * backstops coming off, blob holds going on) → `active`; `releasing` →
     * `released`. The hold is in force from creation to release whatever this says.
     */
    status: z.enum(['applying', 'active', 'releasing', 'released']).optional(),
    /** What applying did, once done. */
    applied: holdWorkCounts.optional(),
    /** What releasing did, once done. */
    releasedCounts: holdWorkCounts.optional(),
  });

export const holdCreatedResponse = holdResponse;
export const holdListResponse = z.object({ holds: z.array(holdResponse) });
export const holdReleasedResponse = z.object({
  holdId: z.string(),
  releasedAt: z.string(),
  status: z.enum(['applying', 'active', 'releasing', 'released']).optional(),
});

// ---------------------------------------------------------------------------
// Customers, conversations, messages, recordings
// ---------------------------------------------------------------------------

const LOOKUP_KEYS = ['phone', 'email', 'name', 'externalId'] as const;
export const lookupQuery = z
  .strictObject({
    phone: z.string().max(64, 'must have at most 64 characters').optional(),
    email: z.string().max(254, 'must have at most 254 characters').optional(),
    name: z.string().max(256, 'must have at most 256 characters').optional(),
    externalId: z.string().max(256, 'must have at most 256 characters').optional(),
  })
  .refine((q) => LOOKUP_KEYS.filter((k) => q[k] !== undefined).length === 1, {
    message: `give exactly one of ${LOOKUP_KEYS.join(', ')}`,
    path: ['query'],
  });
export type LookupQuery = z.output<typeof lookupQuery>;

export const customerSummary = z.object({
  customerId: z.string(),
  firstContactAt: z.string().optional(),
  lastContactAt: z.string().optional(),
  botId: z.string().optional(),
  conversations: z.number().int(),
  openConversations: z.number().int(),
  calls: z.number().int(),
});
export const lookupResponse = z.object({ customers: z.array(customerSummary) });

/** A custom attribute's or a form field's value, as ingest bounds it. */
const namedValue = z.union([z.string().max(MAX_ATTRIBUTE_TEXT_CHARS), z.number(), z.boolean()]);

/**
 * A record with a blob. While the blob exists, `url` links to it; a record kept
 * after its blob was deleted (anonymisation deletes blobs and keeps the
 * metadata) has no `url` and says `contentDeleted: true` instead.
 */
const blobEntry = z.object({
  id: z.string(),
  url: z.string().optional().describe('Pre-signed link to the content; absent when the blob was deleted and the record kept (then contentDeleted is true).'),
  contentDeleted: z.literal(true).optional().describe('Present (true) when the blob was deleted and the record kept, e.g. by an anonymisation.'),
  contentType: z.string().optional(),
  size: z.number().optional(),
});
export const deletedItem = z.object({ id: z.string(), deleted: z.literal(true), text: z.string() });
/** The one subject export (`domain/export.ts`): this route's answer, and each subject of an access request's document. */
export const exportResponse = z.object({
  exportedAt: z.string(),
  /** `customerId` and the profile's fields. */
  customer: z
    .object({
      customerId: z.string(),
      firstContactAt: z
        .string()
        .optional()
        .describe("The customer's first contact: the earliest of what her records said and the conversations and calls stored of her."),
      address: addressSchema.optional(),
      customAttributes: z.record(z.string(), namedValue).optional(),
    })
    .catchall(z.unknown()),
  identifiers: z.array(z.object({ kind: z.string(), value: z.string() })),
  conversations: z.array(
    z
      .object({
        id: z.string(),
        messages: z.array(z.union([deletedItem, z.record(z.string(), z.unknown())])),
        communicationLogs: z.array(z.record(z.string(), z.unknown())),
      })
      .catchall(z.unknown()),
  ),
  calls: z.array(
    z
      .object({
        id: z.string(),
        recordings: z.array(blobEntry),
        thirdPartyRef: z.string().optional().describe("The provider's reference of the call's third-party data."),
      })
      .catchall(z.unknown()),
  ),
  media: z.array(
    blobEntry.extend({ conversationId: z.string(), direction: z.string().optional(), sentAt: z.string().optional(), messageId: z.string().optional() }),
  ),
  emailAttachments: z.array(blobEntry.extend({ conversationId: z.string(), sentAt: z.string().optional(), messageId: z.string().optional() })),
  analyticsEvents: z.array(z.record(z.string(), z.unknown())),
  formSubmissions: z.array(
    z
      .object({
        id: z.string(),
        submittedAt: z.string(),
        page: z.string().optional(),
        formName: z.string().optional(),
        fields: z.record(z.string(), namedValue).optional().describe('Absent once anonymised.'),
      })
      .catchall(z.unknown()),
  ),
  webSessions: z.array(
    z
      .object({
        id: z.string(),
        startedAt: z.string(),
        endedAt: z.string().optional(),
        landingPage: z.string(),
        referrer: z.string().optional(),
        pageCount: z.number().int(),
      })
      .catchall(z.unknown()),
  ),
  /** References to call data third-party providers hold (not the data itself). */
  thirdPartyCallData: z.array(z.object({ id: z.string(), callId: z.string(), ref: z.string() })),
  recordCount: z.number().int().describe('Stored records the export covers, identifiers included.'),
});

export const deletionResponse = z.object({
  receiptId: z.string(),
  status: z
    .enum(['completed', 'failed', 'continuing'])
    .describe('continuing: the rest goes on in a Deletion workflow; the receipt (receiptId) follows it to completed or failed.'),
  deleted: z.number().int(),
  held: z.number().int(),
  failed: z.number().int(),
  categories: countsByCategory,
  holdIds: z.array(z.string()).optional(),
  remaining: z.number().int().optional().describe('Roots the request had no time to start; the workflow takes them.'),
});

// ---------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------

export { ingestBodySchema as ingestBody };

export const ingestResponse = z.object({
  accepted: z.number().int(),
  uploads: z
    .array(
      z.object({
        index: z.number().int(),
        recordId: z.string(),
        method: z.literal('PUT'),
        url: z.string(),
        headers: z.record(z.string(), z.string()),
        expiresAt: z.string(),
      }),
    )
    .optional(),
});

// ---------------------------------------------------------------------------
// Deletion runs
// ---------------------------------------------------------------------------

export const runBody = z.strictObject({ dryRun: z.boolean().optional() });
export const runStartedResponse = z.object({ runId: z.string(), status: z.literal('running'), dryRun: z.boolean() });
export const runResponse = z
  .object({
    runId: z.string(),
    kind: z.enum(['sweep', 'manual', 'privacy_request']),
    status: z.enum(['running', 'completed', 'failed']),
    dryRun: z.boolean(),
    profile: z.string(),
    policyVersion: z.number().int(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    durationMs: z.number().optional(),
    categories: countsByCategory,
    cutoffs: z.partialRecord(categorySchema, z.string().nullable()),
    subjects: z.number().int(),
    failedStages: z.array(z.object({ stage: z.number().int(), error: z.string() })),
    continuedBy: z
      .array(z.string())
      .optional()
      .describe('A manual deletion that went on in a Deletion workflow: the receipts of its attempts, oldest first (the status is running until the last).'),
    continuationOf: z.string().optional().describe('An attempt of a manual deletion: the receipt of the request it continues.'),
    exportsDeleted: z.number().int().optional().describe('An erasure: earlier access exports of its subjects it deleted from the exports bucket.'),
    shredded: z
      .object({ subjectKeys: z.number().int(), epochKeys: z.number().int() })
      .optional()
      .describe(
        'Keys destroyed (crypto-shredding): subject keys of subjects of whom nothing is left, epoch keys of days of which no record is left. What they sealed, in backups and old object versions too, can no longer be read.',
      ),
    eventsUnpublished: z
      .number()
      .int()
      .optional()
      .describe('Deletion events about this run that could not be published after retries (the deletions stand; a sweep with any is critical and alerts).'),
  });
export const runListQuery = z.strictObject({ limit: positiveIntParam(100).optional() });
export const runListResponse = z.object({ runs: z.array(runResponse) });

// ---------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------

export const auditQuery = z.strictObject({
  limit: positiveIntParam(500).optional(),
  cursor: z.string().max(512, 'must have at most 512 characters').optional(),
});
export const auditResponse = z.object({
  events: z.array(
    z.object({
      eventId: z.string(),
      at: z.string(),
      actor: z.string(),
      action: z.string(),
      refs: z.record(z.string(), z.string()).optional(),
      before: z.unknown().optional(),
      after: z.unknown().optional(),
    }),
  ),
  nextCursor: z.string().optional(),
});

// ---------------------------------------------------------------------------
// Privacy requests
// ---------------------------------------------------------------------------

const SUBJECT_IDENTIFIERS: readonly (readonly ['phone' | 'email' | 'name', (raw: string) => NormaliseResult])[] = [
  ['phone', (raw) => normalisePhone(raw)],
  ['email', (raw) => normaliseEmail(raw)],
  ['name', (raw) => normaliseName(raw)],
];

/**
 * The body of `POST /privacy-requests`: the domain's schema, plus the
 * identifier normalisers at the edge, so a bad phone, e-mail or name is a 400
 * naming `subject.phone` (etc.) before anything is looked up or stored.
 */
export const privacyRequestBody = privacyRequestBodySchema.superRefine((body, ctx) => {
  for (const [key, normalise] of SUBJECT_IDENTIFIERS) {
    const raw = body.subject?.[key];
    if (raw === undefined) continue;
    const result = normalise(raw);
    if (!result.ok) ctx.addIssue({ code: 'custom', path: ['subject', key], message: result.error.message });
  }
});
export type PrivacyBody = z.output<typeof privacyRequestBody>;

/** The header that makes a retried POST return the request the first one created. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const privacyRequestHeaders = z.object({
  [IDEMPOTENCY_KEY_HEADER]: z
    .string()
    .regex(/^[\x21-\x7E](?:[\x20-\x7E]{0,253}[\x21-\x7E])?$/u, 'must be 1 to 255 printable ASCII characters, without leading or trailing spaces')
    .optional(),
});

export const privacyAcceptedResponse = z.object({
  requestId: z.string(),
  /** `received` for a new request; a retried POST with the same Idempotency-Key gets the request's current status. */
  status: z.enum(PRIVACY_STATUSES),
  dueAt: z.string(),
});

/** A privacy request as the API shows it: ids, dates, counts and outcome; never the subject or the notify address. */
export const privacyRequestResponse = z.object({
  requestId: z.string(),
  kind: z.enum(PRIVACY_KINDS),
  status: z.enum(PRIVACY_STATUSES),
  /** How the subject was named (phone, email…), never the value. */
  selector: z.enum(['customerId', 'phone', 'email', 'name', 'filter']),
  /** How many customers the request resolved to. */
  subjects: z.number().int(),
  receivedAt: z.string(),
  dueAt: z.string(),
  updatedAt: z.string(),
  counts: countsByCategory,
  reason: z.string().optional(),
  /** Access requests: the export's pre-signed link (valid 7 days from completion), until the export is deleted. */
  exportUrl: z.string().optional(),
  exportDeletedAt: z
    .string()
    .optional()
    .describe('Access requests: when the export was deleted because a later erasure or anonymisation took its subject (the link answers 404 since).'),
  exportDeletedBy: z.string().optional().describe('Access requests: the erasure or anonymisation request that deleted the export.'),
  exportsDeleted: z.number().int().optional().describe('Erasure and anonymisation: earlier access exports of the subjects that the request deleted.'),
  subjectKeysShredded: z
    .number()
    .int()
    .optional()
    .describe('Erasure: subject keys destroyed (crypto-shredding), so no backup or old copy of the subjects\' data can be read.'),
});
export const privacyListQuery = z.strictObject({ limit: positiveIntParam(100).optional() });
export const privacyListResponse = z.object({ requests: z.array(privacyRequestResponse) });

// ---------------------------------------------------------------------------
// One attachment, admin activity logs, one record's anonymisation, bulk-erasure preview
// ---------------------------------------------------------------------------

export const ATTACHMENT_KINDS = ['email_attachment', 'inbound_media', 'outbound_media'] as const;
export const attachmentParams = z.strictObject({ t: idSchema, id: idSchema, attachmentId: idSchema });
export const attachmentQuery = z.strictObject({
  /** Which one, when an e-mail attachment and a media item of the conversation share the id. */
  kind: z.enum(ATTACHMENT_KINDS, { error: `must be one of ${ATTACHMENT_KINDS.join(', ')}` }).optional(),
});

const actorSchema = z.string().min(1, 'must not be empty').max(256, 'must have at most 256 characters');

/** `to` after `from` where both are given (an empty range selects nothing and is a mistake). */
function rangeInOrder(r: { readonly from?: string; readonly to?: string }, ctx: z.RefinementCtx): void {
  if (r.from !== undefined && r.to !== undefined && r.to <= r.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
}

export const adminLogQuery = z
  .strictObject({
    /** The actor exactly as ingested. */
    actor: actorSchema.optional(),
    /** At or after this instant. */
    from: instantSchema.optional(),
    /** Before this instant. */
    to: instantSchema.optional(),
    limit: positiveIntParam(500).optional(),
    cursor: z.string().max(512, 'must have at most 512 characters').optional(),
  })
  .superRefine(rangeInOrder);

export const MAX_ADMIN_LOG_IDS = 1000;
export const adminLogDeleteBody = z
  .strictObject({
    actor: actorSchema.optional(),
    from: instantSchema.optional(),
    to: instantSchema.optional(),
    /** Only these logs (e.g. the ones picked from a listing). */
    ids: z
      .array(idSchema)
      .min(1, 'must name at least one log')
      .max(MAX_ADMIN_LOG_IDS, `must name at most ${MAX_ADMIN_LOG_IDS} logs`)
      .optional(),
  })
  .superRefine((b, ctx) => {
    if (b.actor === undefined && b.from === undefined && b.to === undefined && b.ids === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'name at least one of actor, from, to, ids (nothing selects every log)' });
    }
    rangeInOrder(b, ctx);
  });

export const adminLogListResponse = z.object({
  logs: z.array(
    z.object({
      id: z.string(),
      occurredAt: z.string(),
      held: z.boolean().describe('Whether a legal hold keeps it (a delete leaves it).'),
    }),
  ),
  nextCursor: z.string().optional(),
});
export const adminLogDeletionResponse = deletionResponse.extend({
  selected: z.number().int().describe('Logs the selection matched and this request took.'),
  more: z.boolean().describe('Whether more logs matched than one request takes; repeat the request for the next ones.'),
});

export const anonymizeBody = z
  .strictObject({
    type: z.enum(ANONYMIZABLE_RECORD_TYPES, { error: `must be one of ${ANONYMIZABLE_RECORD_TYPES.join(', ')}` }),
    id: idSchema,
    /** Required for form submissions and web sessions; for the others, checked when given. */
    customerId: idSchema.optional(),
    /** Required for a message. */
    conversationId: idSchema.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.type === 'message' && b.conversationId === undefined) ctx.addIssue({ code: 'custom', path: ['conversationId'], message: 'is required for a message' });
    if (b.type !== 'message' && b.conversationId !== undefined) ctx.addIssue({ code: 'custom', path: ['conversationId'], message: 'is only for a message' });
    if ((b.type === 'form_submission' || b.type === 'web_session') && b.customerId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['customerId'], message: `is required for a ${b.type.replace('_', ' ')}` });
    }
  });
export const anonymizationResponse = z.object({
  receiptId: z.string(),
  status: z.enum(['completed', 'failed']),
  type: z.enum(ANONYMIZABLE_RECORD_TYPES),
  anonymized: z.number().int().describe('Records whose identifying values were replaced: the record and its recordings, third-party data, attachments or media.'),
  failed: z.number().int().describe('Records whose blob or third-party copy could not be deleted yet; a repeat retries them.'),
  categories: countsByCategory.describe('Per category: deleted = content gone and values replaced (the records stay).'),
});

/** The body of a bulk erasure (`POST /privacy-requests` with a filter), to preview. */
export const privacyPreviewBody = privacyRequestBody.superRefine((b, ctx) => {
  if (b.subject !== undefined) ctx.addIssue({ code: 'custom', path: ['subject'], message: 'a preview takes a bulk filter, not a subject' });
});
export const privacyPreviewQuery = z.strictObject({
  limit: positiveIntParam(500).optional(),
  cursor: z.string().max(8192, 'must have at most 8192 characters').optional(),
});
export const privacyPreviewResponse = z.object({
  customers: z.array(z.object({ customerId: z.string() })).describe('The customers the erasure would take, in the order it takes them.'),
  skipped: z
    .array(z.object({ customerId: z.string(), reason: z.literal('open_conversation') }))
    .describe('Customers the filter matches that the erasure would skip (not with force).'),
  categories: z
    .partialRecord(categorySchema, z.object({ examined: z.number().int(), wouldDelete: z.number().int(), held: z.number().int() }))
    .describe("What erasing this page's customers would delete, and what legal holds would keep, per category."),
  nextCursor: z.string().optional(),
});

// ---------------------------------------------------------------------------
// Reads (use-cases/reads.ts): a customer, her timeline, a conversation, an attachment, a call
// ---------------------------------------------------------------------------

/** A page of a read: `limit` items at most (default 50), after `cursor` (a nextCursor this API returned). */
export const readPageQuery = z.strictObject({
  limit: positiveIntParam(200).optional(),
  cursor: z.string().max(2048, 'must have at most 2048 characters').optional(),
});

const linkFields = {
  url: z.string().optional().describe('Link to the content (GET /v1/downloads/{token} where blobs are sealed), valid until urlExpiresAt; absent once the content is gone.'),
  urlExpiresAt: z.string().optional(),
  contentDeleted: z.literal(true).optional().describe('Present (true) when the content was deleted, or its keys destroyed, and the record kept.'),
};

export const readCustomerResponse = z
  .object({
    customerId: z.string(),
    name: z.string().optional(),
    phones: z.array(z.string()).optional(),
    emails: z.array(z.string()).optional(),
    externalId: z.string().optional(),
    botId: z.string().optional(),
    address: addressSchema.optional(),
    customAttributes: z.record(z.string(), namedValue).optional(),
    firstContactAt: z.string(),
    lastContactAt: z.string().optional(),
    conversations: z.number().int().describe('Conversations kept (not past their retention).'),
    calls: z.number().int().describe('Calls kept (not past their retention).'),
  })
  .describe("The customer's profile, decrypted.");

const conversationFields = {
  id: z.string(),
  customerId: z.string(),
  category: z.enum(['conversation', 'whatsapp_conversation']),
  channel: z.string().optional(),
  botId: z.string().optional(),
  startedAt: z.string(),
  status: z.enum(['open', 'closed']).optional(),
  closedAt: z.string().optional(),
  closedReason: z.string().optional(),
};
const callFields = { id: z.string(), customerId: z.string(), startedAt: z.string(), durationSeconds: z.number().optional() };

export const timelineResponse = z.object({
  customerId: z.string(),
  items: z.array(
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('conversation'), ...conversationFields }),
      z.object({ type: z.literal('call'), ...callFields }),
    ]),
  ),
  nextCursor: z.string().optional().describe('Pass as cursor for the next (older) page; absent on the last page.'),
});

const messageView = z.union([
  z.object({ id: z.string(), sentAt: z.string().optional(), deleted: z.literal(true), text: z.literal('This item has been deleted') }),
  z.object({ id: z.string(), sentAt: z.string(), direction: z.string().optional(), text: z.string().optional() }),
]);

export const attachmentResponse = z.object({
  id: z.string(),
  kind: z.enum(ATTACHMENT_KINDS),
  conversationId: z.string(),
  messageId: z.string().optional(),
  direction: z.string().optional(),
  contentType: z.string().optional(),
  size: z.number().optional(),
  sentAt: z.string().optional(),
  ...linkFields,
});

export const conversationResponse = z.object({
  ...conversationFields,
  notes: z.string().optional(),
  messages: z.array(messageView).describe('Newest first; a deleted message is its tombstone.'),
  attachments: z.array(attachmentResponse).describe("This page's messages' attachments and media; the first page also those of no message."),
  nextCursor: z.string().optional().describe('Pass as cursor for the next (older) page of messages; absent on the last page.'),
});

export const callResponse = z.object({
  ...callFields,
  thirdPartyRef: z.string().optional(),
  recordings: z.array(z.object({ id: z.string(), contentType: z.string().optional(), size: z.number().optional(), ...linkFields })),
});

// ---------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------

export type RequestPart = 'body' | 'query' | 'path' | 'header';

/**
 * zod issues as field issues: a dotted path into the body, or the parameter's
 * name; the part itself (`body`, `query`, `path`) when the whole is wrong.
 */
export function fieldIssues(error: z.ZodError, part: RequestPart): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const what =
        part === 'query'
          ? 'is not a query parameter of this route'
          : part === 'path'
            ? 'is not a path parameter of this route'
            : path.at(-1) === 'categories'
              ? `is not a category; use one of ${CATEGORIES.join(', ')}`
              : 'is not a field of this body';
      return issue.keys.map((key) =>
        isSafeSegment(key)
          ? { field: [...path, key].join('.'), message: what }
          : // An unknown key is the caller's own text (a name, an e-mail…): name its parent instead of echoing it.
            { field: path.join('.') || part, message: `has a key that ${what.replace(/^is /u, 'is ')}` },
      );
    }
    // Header schemas are plain objects keyed by header names of our own (never a caller's text).
    const field = path.length === 0 ? part : part === 'header' ? path.join('.') : safeField(path.join('.'), part);
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined && path.length > 0;
    return [{ field, message: missing ? 'is required' : issue.message }];
  });
}

const SAFE_SEGMENT = /^[A-Za-z0-9_]{1,64}$/u;

/** Whether a field-path segment may be echoed: a schema name or an index, never free text. */
export function isSafeSegment(segment: string): boolean {
  return SAFE_SEGMENT.test(segment);
}

/**
 * A field path fit to echo in an error: cut before the first segment that is
 * not a plain name or index (a key the caller made up may hold personal data).
 */
export function safeField(field: string, fallback: string): string {
  const kept: string[] = [];
  for (const segment of field.split('.')) {
    if (!isSafeSegment(segment)) break;
    kept.push(segment);
  }
  return kept.length > 0 ? kept.join('.') : fallback;
}

// ---------------------------------------------------------------------------
// Account exports
// ---------------------------------------------------------------------------

export const accountExportBody = z
  .strictObject({
    categories: z
      .array(categorySchema)
      .min(1, 'must name at least one category')
      .max(CATEGORIES.length, `must have at most ${CATEGORIES.length} items`)
      .optional()
      .describe('Only these categories (default: every category).'),
    from: instantSchema.optional().describe("Only records whose clock started at or after this instant."),
    to: instantSchema.optional().describe('Only records whose clock started before this instant.'),
  })
  .refine((b) => b.from === undefined || b.to === undefined || b.from < b.to, { path: ['to'], message: 'to: must be later than from' });
export type AccountExportBody = z.output<typeof accountExportBody>;
export const accountExportAcceptedResponse = z.object({ exportId: z.string(), status: z.literal('running') });
const accountExportCounts = z.object({ records: z.number().int(), parts: z.number().int(), blobs: z.number().int(), blobsMissing: z.number().int() });
export const accountExportResponse = z.object({
  exportId: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  filter: z.object({ categories: z.array(categorySchema).optional(), from: z.string().optional(), to: z.string().optional() }),
  createdAt: z.string(),
  completedAt: z.string().optional(),
  counts: z.partialRecord(categorySchema, accountExportCounts).describe('Per category: records, NDJSON parts, blobs exported, blobs missing.'),
  files: z
    .array(z.object({ category: categorySchema, key: z.string(), url: z.string() }))
    .describe('Once completed: each NDJSON part with a download link valid 7 days (blobs are named in each line\'s blob field, under blobs/ beside them).'),
});
