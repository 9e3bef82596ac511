/**
 * Privacy requests: erasure, access export and anonymisation of data subjects,
 * executed asynchronously (the `PrivacyRequest` state machine calls these use
 * cases). Erasure goes through the one deletion path, so holds, order and
 * receipts are the sweep's. DESIGN.md §4.
 */
import { z } from 'zod';
import type { Category } from '../catalog.js';
import type { CountsByCategory } from '../deletion/counts.js';
import type { CategoryCounts } from '../receipt.js';

/** Statutory answer time (GDPR Art. 12(3)): one month, kept as 30 days. */
export const PRIVACY_DUE_DAYS = 30;

export const PRIVACY_KINDS = ['erasure', 'access', 'anonymization'] as const;
export type PrivacyKind = (typeof PRIVACY_KINDS)[number];

export const PRIVACY_STATUSES = ['received', 'running', 'completed', 'partially_completed', 'failed', 'rejected'] as const;
export type PrivacyStatus = (typeof PRIVACY_STATUSES)[number];

const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1–128 letters, digits or . _ : -');
const isoInstant = z.iso.datetime({ offset: false });

/** The body of `POST /privacy-requests`. */
export const privacyRequestBodySchema = z
  .object({
    kind: z.enum(PRIVACY_KINDS),
    subject: z
      .object({
        customerId: id.optional(),
        phone: z.string().min(3).max(40).optional(),
        email: z.string().min(3).max(254).optional(),
        name: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
    /** Bulk erasure of a chatbot's users: bot and/or channel, first-contact range. */
    filter: z
      .object({
        botId: id.optional(),
        channel: z.enum(['chat', 'sms', 'whatsapp', 'email', 'voice']).optional(),
        firstContactFrom: isoInstant.optional(),
        firstContactTo: isoInstant.optional(),
      })
      .strict()
      .optional(),
    /** Close open conversations instead of rejecting the erasure. */
    force: z.boolean().optional(),
    /** Where the confirmation (and an access export's link) goes. */
    notify: z.object({ email: z.email() }).strict().optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const selectors = b.subject === undefined ? 0 : Object.values(b.subject).filter((v) => v !== undefined).length;
    if (b.subject !== undefined && selectors !== 1) {
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'name exactly one of customerId, phone, email, name' });
    }
    if ((b.subject === undefined) === (b.filter === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'give either a subject or a bulk filter' });
    }
    if (b.filter !== undefined) {
      if (b.kind !== 'erasure') ctx.addIssue({ code: 'custom', path: ['filter'], message: 'a bulk filter is for erasure only' });
      if (Object.values(b.filter).every((v) => v === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['filter'], message: 'a bulk filter needs at least one criterion' });
      }
    }
  });

export type PrivacyRequestBody = z.infer<typeof privacyRequestBodySchema>;

/** A privacy request as kept in the control table: ids and counts, no phone, e-mail, name or text. */
export interface PrivacyRequest {
  readonly tenantId: string;
  readonly requestId: string;
  readonly kind: PrivacyKind;
  readonly status: PrivacyStatus;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly updatedAt: string;
  /** Keyed HMAC of the token subject that asked. */
  readonly requestedBy: string;
  /** How the subject was named (the value itself is resolved at once and not kept). */
  readonly selector: 'customerId' | 'phone' | 'email' | 'name' | 'filter';
  /** Resolved customer ids (opaque platform ids, needed to execute and to resume deferred parts). */
  readonly subjectIds: readonly string[];
  readonly filter?: PrivacyRequestBody['filter'];
  readonly force: boolean;
  /** Confirmation address; removed once the final outcome went out (kept while a hold's release is awaited). */
  readonly notifyEmail?: string;
  /** The outcome (`status` or `status:reason`) the requester was told of while the request awaits a hold's release. */
  readonly notifiedOutcome?: string;
  readonly counts: Partial<Record<Category, CategoryCounts>>;
  /** Subjects whose held parts wait for the hold's release. */
  readonly deferredSubjectIds?: readonly string[];
  readonly reason?: string;
  /** An erasure under way: where its next chunk starts. */
  readonly progress?: ErasureProgress;
  /** Bulk erasure: customers its filter matched (found while it runs). */
  readonly matchedSubjects?: number;
  readonly exportKey?: string;
  readonly exportUrl?: string;
  /** Access: when the export was deleted because its subject was erased or anonymised (no `exportKey`/`exportUrl` since). */
  readonly exportDeletedAt?: string;
  /** Access: the erasure or anonymisation request that deleted the export. */
  readonly exportDeletedBy?: string;
  /** Erasure, anonymisation: earlier access exports of its subjects it deleted. */
  readonly exportsDeleted?: number;
  /** Erasure: subject keys destroyed (crypto-shredding), so no backup of the subjects' data can be read. */
  readonly subjectKeysShredded?: number;
  readonly runIds?: readonly string[];
}

/** The outcome of executing a request, as the state machine carries it. */
export interface PrivacyOutcome {
  readonly status: PrivacyStatus;
  readonly reason?: string;
}

/** Where an erasure under way stands, kept on its request between chunks. */
export interface ErasureProgress {
  /** The receipt this execution writes when it ends. */
  readonly runId: string;
  readonly startedAt: string;
  /** Explicit subjects: index of the next one in the list being erased. */
  readonly next: number;
  /** Bulk: the profile index cursor of the next page (absent on the first). */
  readonly cursor?: string;
  /** What this execution did so far. */
  readonly counts: CountsByCategory;
  readonly deferred: readonly string[];
  readonly failed: number;
  /** Bulk: subjects matched so far, and those skipped for an open conversation. */
  readonly matched: number;
  readonly skippedOpen: number;
  readonly subjectRefs: readonly string[];
  readonly subjectRefsTruncated?: boolean;
  /** Access exports of the subjects erased so far that this execution deleted (absent in progress kept before it was counted). */
  readonly exportsDeleted?: number;
  /** Subject keys this execution destroyed (crypto-shredding). */
  readonly subjectKeysShredded?: number;
  /** Deletion events of this execution that could not be published (DESIGN.md §4). */
  readonly eventsUnpublished?: number;
}
