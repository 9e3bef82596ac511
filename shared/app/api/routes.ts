/**
 * The implementation of every route of the contract: its request schemas (path
 * parameters, query, body), its documented responses, and a thin function that
 * calls one use case and shapes the answer. The edge (handler.ts) validates,
 * authenticates and maps errors; nothing here sees raw events. The OpenAPI
 * document of this table (served by one of its routes) is built here with
 * openapi.ts's generator, which takes the table as an argument.
 */
import type { z } from 'zod';
import type { Tenant } from '../../domain/tenant.js';
import type { ApiApp, Caller } from './app.js';
import { adminPathOf, isServiceRoute, ROUTES, type RouteSpec } from './contract.js';
import { openApiDocumentOf, openApiJson, type OpenApiDocument, type RouteDocumentation } from './openapi.js';
import { routeKey, type RouteKey } from './router.js';
import * as s from './schemas.js';
import { deleteAdminActivityLogs, listAdminActivityLogs } from './use-cases/admin-logs.js';
import { getAccountExport, startAccountExport } from './use-cases/account-exports.js';
import { listAuditEvents } from './use-cases/audit.js';
import { exportCustomer, lookupCustomers } from './use-cases/customers.js';
import { download, MAX_DOWNLOAD_BYTES } from './use-cases/downloads.js';
import { deleteAttachment, deleteCallRecordings, deleteConversation, deleteCustomer, deleteMessage } from './use-cases/deletions.js';
import { createHold, listHolds, releaseHold } from './use-cases/holds.js';
import { ingestRecords } from './use-cases/ingest.js';
import { readAttachment, readCall, readConversation, readCustomer, readTimeline } from './use-cases/reads.js';
import { getPolicy, policyHistory, previewPolicy, putPolicy } from './use-cases/policy.js';
import { getPrivacyRequest, listPrivacyRequests, previewBulkErasure, submitPrivacyRequest } from './use-cases/privacy.js';
import { anonymizeRecord } from './use-cases/record-anonymization.js';
import { retentionOverview, retentionOverviewQuery, retentionOverviewResponse } from './use-cases/retention-overview.js';
import { getRun, listRuns, startDeletionRun } from './use-cases/runs.js';
import { getTenant, listTenants, putTenant } from './use-cases/tenants.js';

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  /** Bytes to answer as they are (a download), instead of `body` as JSON. */
  readonly binary?: { readonly contentType: string; readonly bytes: Uint8Array };
}

export interface RouteInput<P, Q, B, H = Record<string, never>> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The headers the route's `headers` schema names, validated; `{}` for routes that read none. */
  readonly headers: H;
  readonly caller: Caller;
  /** The path's tenant, loaded (404 when unknown) for every route that names one but registers it. */
  readonly tenant: Tenant;
}

/** A schema of request headers, keyed by header name as documented (matched case-insensitively). */
export type HeaderSchema = z.ZodObject<Record<string, z.ZodType>>;

export interface RouteDefinition<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  H extends HeaderSchema = HeaderSchema,
> extends RouteDocumentation {
  readonly params: P;
  readonly query: Q;
  /** Headers the route reads (validated at the edge like the query); absent: it reads none. */
  readonly headers?: H;
  /** Absent: the route takes no body, and one sent is a 400. */
  readonly body?: B;
  /** Whether the edge validates the body with `body` (default true); ingest validates it whole itself. */
  readonly validateBody?: boolean;
  /** Whether the path's tenant must exist (default: when the path has `{t}`). */
  readonly loadTenant?: boolean;
  handle(app: ApiApp, input: RouteInput<z.output<P>, z.output<Q>, z.output<B>, z.output<H>>): Promise<RouteResult>;
}

/** Keeps each definition's types (params, query, body and headers flow into `handle`). */
function define<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends HeaderSchema = HeaderSchema>(
  d: RouteDefinition<P, Q, B, H>,
): RouteDefinition {
  return d as unknown as RouteDefinition;
}

const ok = (body: unknown): RouteResult => ({ status: 200, body });
/** A manual deletion's answer: 200 when it ended inside the request, 202 when the rest continues in a `Deletion` workflow. */
const deleted = (outcome: { readonly status: string }): RouteResult => ({ status: outcome.status === 'continuing' ? 202 : 200, body: outcome });
const deletionResponses = {
  200: { description: 'Deleted through the shared deletion path; counts per category and the receipt id.', schema: s.deletionResponse },
  202: {
    description:
      'Deleted what the request had time for; the rest (roots not read yet, records a provider or the store failed on) continues in a Deletion workflow, ' +
      'attempt after attempt. The receipt stays running and lists the attempts (continuedBy) until it ends completed or failed (the tenant admins are e-mailed).',
    schema: s.deletionResponse,
  },
  404: { description: 'No such record.' },
  409: { description: 'Everything asked for is under legal hold (the hold ids are named).' },
};

const READ_NOTE =
  'Shows only what Lethe keeps: nothing past its retention (as the sweep would judge it now, before it has come) or gone; what a legal hold keeps, whatever its age. ' +
  'A record whose keys were destroyed reads as deleted. Platform services call the same route under /v1/service/ (SigV4 in AWS).';

const ADMIN_ROUTE_DEFINITIONS: Readonly<Record<RouteKey, RouteDefinition>> = {
  'GET /v1/tenants': define({
    summary: 'List tenants',
    params: s.noParams,
    query: s.noQuery,
    responses: { 200: { description: 'Every registered tenant, each with its account\'s status now.', schema: s.tenantListResponse } },
    handle: async (app, { caller }) => ok({ tenants: await listTenants(app, caller.now) }),
  }),
  'GET /v1/tenants/{t}': define({
    summary: 'Read a tenant',
    description:
      'The tenant with its account\'s status: contract_ended once its contract end has passed, inactive after the profile\'s inactivity period without account activity (ingest, admin API writes; lastActivityAt), else as registered. Once over, the next sweep deletes its account-lifetime data with all other account data.',
    params: s.tenantParams,
    query: s.noQuery,
    responses: { 200: { description: 'The tenant.', schema: s.tenantResponse } },
    handle: async (app, { tenant, caller }) => ok(getTenant(app, caller, tenant)),
  }),
  'PUT /v1/tenants/{t}': define({
    summary: 'Register or update a tenant',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.tenantBody,
    loadTenant: false,
    responses: {
      200: { description: 'Updated.', schema: s.tenantResponse },
      201: { description: 'Registered (status active).', schema: s.tenantResponse },
    },
    handle: async (app, { params, body, caller }) => {
      const { tenant, created } = await putTenant(app, caller, params.t, body);
      return { status: created ? 201 : 200, body: tenant };
    },
  }),
  'GET /v1/tenants/{t}/retention-policy': define({
    summary: 'Read the retention policy',
    description:
      'The profile\'s retention settings (bounds, current value, where it comes from, what each governs and how it is timed), and the effective result for every category: the setting that decides for it, the account lifetime, or its own period.',
    params: s.tenantParams,
    query: s.noQuery,
    responses: { 200: { description: 'The policy.', schema: s.policyResponse } },
    handle: async (app, { tenant }) => ok(await getPolicy(app, tenant)),
  }),
  'PUT /v1/tenants/{t}/retention-policy': define({
    summary: 'Change the retention policy',
    description:
      'Replaces the tenant\'s choices: settings.<name>.days for the profile\'s settings, categories.<category>.days for categories in no setting (naming a category a setting governs, or one kept for the account\'s lifetime, is a 400 that names the setting to use). Periods must lie inside the platform bounds (0 = deleted once the grace has passed; null = indefinitely, where allowed); shortening needs acknowledgeDataLoss: true (a setting with acknowledge: always needs it on every change); a locked policy may only be extended.',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.policyBody,
    responses: {
      200: { description: 'The new policy version.', schema: s.policyResponse },
      409: { description: 'The policy changed since expectedVersion.' },
    },
    handle: async (app, { tenant, body, caller }) => ok(await putPolicy(app, caller, tenant, body)),
  }),
  'POST /v1/tenants/{t}/retention-policy/preview': define({
    summary: 'Preview a policy change',
    description: 'Exact counts the next sweep would delete and hold under the proposed policy, per setting and per category (customers counted as customers); nothing is saved.',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.policyBody,
    responses: { 200: { description: 'Per category: would delete, held.', schema: s.previewResponse } },
    handle: async (app, { tenant, body, caller }) => ok(await previewPolicy(app, caller, tenant, body)),
  }),
  'GET /v1/tenants/{t}/retention-policy/history': define({
    summary: 'Policy history',
    params: s.tenantParams,
    query: s.noQuery,
    responses: { 200: { description: 'Every saved version, newest first.', schema: s.historyResponse } },
    handle: async (app, { tenant }) => ok({ revisions: await policyHistory(app, tenant) }),
  }),
  'GET /v1/tenants/{t}/retention-overview': define({
    summary: 'Stored records by age, per category',
    description: 'For the console\'s chart: per category, stored records by age in buckets of bucketDays (default 30), the age past which they are due, and how many are past it. Read-only; counts index entries, reads no personal data.',
    params: s.tenantParams,
    query: retentionOverviewQuery,
    responses: { 200: { description: 'Per category: counts by age and the cutoff.', schema: retentionOverviewResponse } },
    handle: async (app, { tenant, query, caller }) => ok(await retentionOverview(app, caller, tenant, query.bucketDays)),
  }),
  'GET /v1/tenants/{t}/legal-holds': define({
    summary: 'List legal holds',
    params: s.tenantParams,
    query: s.noQuery,
    responses: { 200: { description: 'Every hold, newest first.', schema: s.holdListResponse } },
    handle: async (app, { tenant, caller }) => ok({ holds: await listHolds(app, caller, tenant) }),
  }),
  'POST /v1/tenants/{t}/legal-holds': define({
    summary: 'Create a legal hold',
    description: `Holds every record in scope (${Object.keys(s.holdScopeSchema.shape).join(', ')}, combined with AND; empty = the whole tenant) from sweeps and manual deletes, removes their TTL backstop and sets Object Lock legal holds on their blobs.`,
    params: s.tenantParams,
    query: s.noQuery,
    body: s.holdBody,
    responses: {
      201: {
        description:
          'Created and in force; its work on the stored records runs in the Hold workflow (`status`: applying → active). Where the profile lets no hold keep data past its cap, the hold covers only data inside the cap (coversOnlyInsideCapDays).',
        schema: s.holdCreatedResponse,
      },
    },
    handle: async (app, { tenant, body, caller }) => ({ status: 201, body: (await createHold(app, caller, tenant, body)).hold }),
  }),
  'DELETE /v1/tenants/{t}/legal-holds/{holdId}': define({
    summary: 'Release a legal hold',
    params: s.holdParams,
    query: s.noQuery,
    responses: {
      200: {
        description: 'Released at once; the Hold workflow restamps TTL backstops where no other hold applies and resumes deferred erasures (`status`: releasing → released).',
        schema: s.holdReleasedResponse,
      },
      404: { description: 'No such hold.' },
    },
    handle: async (app, { tenant, params, caller }) => ok(await releaseHold(app, caller, tenant, params.holdId)),
  }),
  'GET /v1/tenants/{t}/customers': define({
    summary: 'Find customers by an identifier',
    description: 'Exactly one of phone (normalised to E.164; encode + as %2B), email, name or externalId.',
    params: s.tenantParams,
    query: s.lookupQuery,
    responses: { 200: { description: 'Matching customers (no personal data).', schema: s.lookupResponse } },
    handle: async (app, { tenant, query }) => ok({ customers: await lookupCustomers(app, tenant, query) }),
  }),
  'GET /v1/tenants/{t}/customers/{id}/export': define({
    summary: 'Export a customer',
    description:
      'Everything kept about the customer, held records whatever their age; blobs as links (GET /v1/downloads/{token}, which decrypts them; pre-signed S3 links where blobs are stored unencrypted), valid 15 minutes unless the deployment sets EXPORT_LINK_SECONDS. ' +
      'Access privacy requests write the same document (links valid 7 days).',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: { 200: { description: 'The export.', schema: s.exportResponse }, 404: { description: 'No such customer.' } },
    handle: async (app, { tenant, params, caller }) => ok(await exportCustomer(app, caller, tenant, params.id)),
  }),
  'GET /v1/tenants/{t}/customers/{id}': define({
    summary: 'Read a customer',
    description: `The customer's profile, decrypted: name, phones, e-mails, external id, address, custom attributes, first and last contact, and how many conversations and calls are kept. ${READ_NOTE}`,
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: { 200: { description: 'The customer.', schema: s.readCustomerResponse }, 404: { description: 'No such customer (or nothing of her is kept).' } },
    handle: async (app, { tenant, params, caller }) => ok(await readCustomer(app, caller, tenant, params.id)),
  }),
  'GET /v1/tenants/{t}/customers/{id}/timeline': define({
    summary: "A customer's timeline",
    description: `Her conversations and calls, newest first (start time, then kind and id), in pages of limit (default 50, at most 200). ${READ_NOTE}`,
    params: s.tenantIdParams,
    query: s.readPageQuery,
    responses: { 200: { description: 'One page; pass nextCursor as cursor for the next.', schema: s.timelineResponse }, 404: { description: 'No such customer.' } },
    handle: async (app, { tenant, params, query, caller }) => ok(await readTimeline(app, caller, tenant, params.id, query)),
  }),
  'GET /v1/tenants/{t}/conversations/{id}': define({
    summary: 'Read a conversation',
    description:
      'The conversation with one page of its messages, newest first (a deleted message as {"deleted": true, "text": "This item has been deleted"}), and the attachments and media of those messages with links ' +
      `valid 15 minutes unless the deployment sets EXPORT_LINK_SECONDS. ${READ_NOTE}`,
    params: s.tenantIdParams,
    query: s.readPageQuery,
    responses: { 200: { description: 'One page; pass nextCursor as cursor for the next.', schema: s.conversationResponse }, 404: { description: 'No such conversation.' } },
    handle: async (app, { tenant, params, query, caller }) => ok(await readConversation(app, caller, tenant, params.id, query)),
  }),
  'GET /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}': define({
    summary: 'Read one attachment or media item',
    description: `One e-mail attachment or media item of a conversation with a fresh link to its content. \`kind\` picks one when an attachment and a media item share the id. ${READ_NOTE}`,
    params: s.attachmentParams,
    query: s.attachmentQuery,
    responses: {
      200: { description: 'The item and its link.', schema: s.attachmentResponse },
      404: { description: 'No such conversation, or no such attachment or media item in it.' },
      409: { description: 'The id names both an attachment and a media item and no kind was given.' },
    },
    handle: async (app, { tenant, params, query, caller }) => ok(await readAttachment(app, caller, tenant, params.id, params.attachmentId, query.kind)),
  }),
  'GET /v1/tenants/{t}/calls/{id}': define({
    summary: 'Read a call',
    description: `The call with its recordings, each with a link valid 15 minutes unless the deployment sets EXPORT_LINK_SECONDS. ${READ_NOTE}`,
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: { 200: { description: 'The call.', schema: s.callResponse }, 404: { description: 'No such call.' } },
    handle: async (app, { tenant, params, caller }) => ok(await readCall(app, caller, tenant, params.id)),
  }),
  'DELETE /v1/tenants/{t}/customers/{id}': define({
    summary: 'Delete a customer',
    description: 'Everything of the customer, cascading from the profile. Refused (409) while a conversation is open.',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: { ...deletionResponses, 409: { description: 'A conversation is open, or everything is under legal hold.' } },
    handle: async (app, { tenant, params, caller }) => deleted(await deleteCustomer(app, caller, tenant, params.id)),
  }),
  'DELETE /v1/tenants/{t}/conversations/{id}': define({
    summary: 'Delete a conversation',
    description: 'A whole conversation or e-mail thread with its messages, logs, media and attachments.',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: deletionResponses,
    handle: async (app, { tenant, params, caller }) => deleted(await deleteConversation(app, caller, tenant, params.id)),
  }),
  'DELETE /v1/tenants/{t}/conversations/{id}/messages/{msgId}': define({
    summary: 'Delete a message',
    description: 'Leaves a tombstone {"deleted": true, "text": "This item has been deleted"} and deletes its attachments.',
    params: s.messageParams,
    query: s.noQuery,
    responses: deletionResponses,
    handle: async (app, { tenant, params, caller }) =>
      deleted(await deleteMessage(app, caller, tenant, params.id, params.msgId)),
  }),
  'DELETE /v1/tenants/{t}/calls/{id}/recording': define({
    summary: "Delete a call's recordings",
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: deletionResponses,
    handle: async (app, { tenant, params, caller }) => deleted(await deleteCallRecordings(app, caller, tenant, params.id)),
  }),
  'DELETE /v1/tenants/{t}/conversations/{id}/attachments/{attachmentId}': define({
    summary: 'Delete one attachment or media item',
    description:
      "One e-mail attachment, or one inbound or outbound media item, of a conversation: its content and its record, through the shared deletion path; the message it came with stays. " +
      'Refused (409) under a legal hold. A repeat answers 404 (the item is gone). `kind` picks one when an attachment and a media item share the id.',
    params: s.attachmentParams,
    query: s.attachmentQuery,
    responses: {
      ...deletionResponses,
      404: { description: 'No such conversation, or no such attachment or media item in it (also once deleted).' },
      409: { description: 'A legal hold keeps it (the hold ids are named), or the id names both an attachment and a media item and no kind was given.' },
    },
    handle: async (app, { tenant, params, query, caller }) =>
      deleted(await deleteAttachment(app, caller, tenant, params.id, params.attachmentId, query.kind)),
  }),
  'POST /v1/tenants/{t}/calls/{id}/anonymize': define({
    summary: 'Anonymise one call',
    description:
      'Replaces the identifying values of the call and of what hangs off it by random tokens, deletes its recordings and the provider\'s copy of its data through the shared deletion path, ' +
      'and keeps the records, so the call still counts. Refused (409) under a legal hold. Repeatable: a repeat finishes what a failed provider left.',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: {
      200: { description: 'Anonymised; counts per category and the receipt id.', schema: s.anonymizationResponse },
      404: { description: 'No such call.' },
      409: { description: 'A legal hold covers the call or something under it (the hold ids are named).' },
    },
    handle: async (app, { tenant, params, caller }) => ok(await anonymizeRecord(app, caller, tenant, { type: 'call', id: params.id }, 'id')),
  }),
  'POST /v1/tenants/{t}/communication-records/anonymize': define({
    summary: 'Anonymise one communication record',
    description:
      'A call, a message (with its conversationId), a form submission or a web session (with its customerId): its identifying values become random tokens, ' +
      'its blobs and third-party data are deleted through the shared deletion path, and the record stays for counts. Refused (409) under a legal hold. Repeatable.',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.anonymizeBody,
    responses: {
      200: { description: 'Anonymised; counts per category and the receipt id.', schema: s.anonymizationResponse },
      404: { description: 'No such record (the field that found nothing is named).' },
      409: { description: 'A legal hold covers the record or something under it (the hold ids are named).' },
    },
    handle: async (app, { tenant, body, caller }) => ok(await anonymizeRecord(app, caller, tenant, body, 'id')),
  }),
  'GET /v1/tenants/{t}/admin-activity-logs': define({
    summary: 'Select admin activity logs',
    description:
      'The logs of what the account\'s admins did, by actor (exactly as ingested) and/or time range (from inclusive, to exclusive), oldest first, in pages; ' +
      'each by its id and time only, and whether a legal hold keeps it.',
    params: s.tenantParams,
    query: s.adminLogQuery,
    responses: { 200: { description: 'One page; pass nextCursor as cursor for the next.', schema: s.adminLogListResponse } },
    handle: async (app, { tenant, query }) => {
      const { limit, cursor, ...selection } = query;
      return ok(await listAdminActivityLogs(app, tenant, selection, { limit: limit ?? 100, ...(cursor !== undefined && { cursor }) }));
    },
  }),
  'POST /v1/tenants/{t}/admin-activity-logs/delete': define({
    summary: 'Delete selected admin activity logs',
    description:
      'Deletes the logs matching every criterion given (actor, from, to, ids; at least one), oldest first, up to 1000 per request (`more` says when a repeat takes the next ones), ' +
      'through the shared deletion path. Held logs stay; a selection wholly held is refused (409).',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.adminLogDeleteBody,
    responses: {
      200: { description: 'Deleted; counts, the receipt id, how many the selection took and whether more matched.', schema: s.adminLogDeletionResponse },
      202: { description: 'Deleted what the request had time for; the rest continues in a Deletion workflow (see the other deletions).', schema: s.adminLogDeletionResponse },
      404: { description: 'No admin activity log matches the selection (also once they are deleted).' },
      409: { description: 'Every selected log is under legal hold (the hold ids are named).' },
    },
    handle: async (app, { tenant, body, caller }) => deleted(await deleteAdminActivityLogs(app, caller, tenant, body)),
  }),
  'POST /v1/tenants/{t}/records': define({
    summary: 'Ingest records',
    description:
      'Up to 500 typed records, all or nothing. Blobs inline as base64, or without content to get a pre-signed upload URL.',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.ingestBody,
    validateBody: false,
    responses: { 200: { description: 'Accepted.', schema: s.ingestResponse } },
    handle: async (app, { tenant, body, caller }) => ok(await ingestRecords(app, caller, tenant, body)),
  }),
  'GET /v1/tenants/{t}/deletion-runs': define({
    summary: 'List deletion runs',
    params: s.tenantParams,
    query: s.runListQuery,
    responses: { 200: { description: 'Receipts, newest first.', schema: s.runListResponse } },
    handle: async (app, { tenant, query }) => ok({ runs: await listRuns(app, tenant, query.limit ?? 50) }),
  }),
  'POST /v1/tenants/{t}/deletion-runs': define({
    summary: 'Start a deletion run now',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.runBody,
    bodyRequired: false,
    responses: { 202: { description: 'Started.', schema: s.runStartedResponse } },
    handle: async (app, { tenant, body, caller }) => ({
      status: 202,
      body: await startDeletionRun(app, caller, tenant, body?.dryRun === true),
    }),
  }),
  'GET /v1/tenants/{t}/deletion-runs/{id}': define({
    summary: 'Read a deletion run',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: { 200: { description: 'The receipt.', schema: s.runResponse }, 404: { description: 'No such run.' } },
    handle: async (app, { tenant, params }) => ok(await getRun(app, tenant, params.id)),
  }),
  'GET /v1/tenants/{t}/audit-events': define({
    summary: 'List audit events',
    params: s.tenantParams,
    query: s.auditQuery,
    responses: { 200: { description: 'Newest first; pass nextCursor as cursor for the next page.', schema: s.auditResponse } },
    handle: async (app, { tenant, query }) =>
      ok(await listAuditEvents(app, tenant, { limit: query.limit ?? 100, ...(query.cursor !== undefined && { cursor: query.cursor }) })),
  }),
  'POST /v1/tenants/{t}/privacy-requests': define({
    summary: 'Submit a privacy request',
    description:
      'Erasure, access (a JSON export e-mailed as a link valid 7 days) or anonymisation of one subject (exactly one of customerId, phone, email, name), ' +
      'or bulk erasure by bot, channel and first-contact range. Runs asynchronously as a PrivacyRequest execution named by the request id; ' +
      `due 30 days after receipt. A retry with the same ${s.IDEMPOTENCY_KEY_HEADER} header returns the same request and starts nothing twice.`,
    params: s.tenantParams,
    query: s.noQuery,
    headers: s.privacyRequestHeaders,
    body: s.privacyRequestBody,
    responses: { 202: { description: 'Accepted (or, for a known Idempotency-Key, the request it created).', schema: s.privacyAcceptedResponse } },
    handle: async (app, { tenant, body, headers, caller }) => ({
      status: 202,
      body: await submitPrivacyRequest(app, caller, tenant, body, headers[s.IDEMPOTENCY_KEY_HEADER]),
    }),
  }),
  'POST /v1/tenants/{t}/privacy-requests/preview': define({
    summary: 'Preview a bulk erasure',
    description:
      'The body of a bulk erasure (kind erasure with a filter): the customers it would take, in pages, in the order it takes them, those it would skip for an open conversation (unless force), ' +
      "and what erasing each page's customers would delete and what legal holds would keep. Nothing is deleted, filed or written.",
    params: s.tenantParams,
    query: s.privacyPreviewQuery,
    body: s.privacyPreviewBody,
    responses: { 200: { description: 'One page; pass nextCursor as cursor (with the same body) for the next.', schema: s.privacyPreviewResponse } },
    handle: async (app, { tenant, body, query }) =>
      ok(await previewBulkErasure(app, tenant, body, { limit: query.limit ?? 100, ...(query.cursor !== undefined && { cursor: query.cursor }) })),
  }),
  'GET /v1/tenants/{t}/privacy-requests': define({
    summary: 'List privacy requests',
    params: s.tenantParams,
    query: s.privacyListQuery,
    responses: { 200: { description: 'Newest first (no subject, identifier or notify address).', schema: s.privacyListResponse } },
    handle: async (app, { tenant, query }) => ok({ requests: await listPrivacyRequests(app, tenant, query.limit ?? 50) }),
  }),
  'GET /v1/tenants/{t}/privacy-requests/{id}': define({
    summary: 'Read a privacy request',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: {
      200: { description: 'Status, counts per category, reason and (access) the export link.', schema: s.privacyRequestResponse },
      404: { description: 'No such request.' },
    },
    handle: async (app, { tenant, params }) => ok(await getPrivacyRequest(app, tenant, params.id)),
  }),
  'POST /v1/tenants/{t}/exports': define({
    summary: 'Start an account export',
    description:
      "Exports every live record of the tenant (or of some categories, or whose clock started in [from, to)) with its blobs to the exports bucket, as NDJSON per category " +
      "in parts of 1,000 records, under account-exports/<tenant>/<exportId>/. Runs asynchronously a page at a time and resumes after an interruption; the tenant's admins " +
      'get an e-mail when it is complete. The files expire after 7 days.',
    params: s.tenantParams,
    query: s.noQuery,
    body: s.accountExportBody,
    responses: {
      202: { description: 'Started.', schema: s.accountExportAcceptedResponse },
      409: { description: 'Account exports are not available in this deployment.' },
    },
    handle: async (app, { tenant, body, caller }) => ({ status: 202, body: await startAccountExport(app, caller, tenant, body) }),
  }),
  'GET /v1/tenants/{t}/exports/{id}': define({
    summary: 'Read an account export',
    params: s.tenantIdParams,
    query: s.noQuery,
    responses: {
      200: { description: 'Status and counts per category; once completed, a download link per NDJSON part.', schema: s.accountExportResponse },
      404: { description: 'No such export.' },
    },
    handle: async (app, { tenant, params }) => ok(await getAccountExport(app, tenant, params.id)),
  }),
  'GET /v1/downloads/{token}': define({
    summary: 'Download a blob or an export',
    description:
      'The link of a recording, media item, attachment or access export that an export answered: no bearer token, the link is the credential. ' +
      'Its token names the object and the time it stops working, signed by Lethe. Blobs are stored encrypted under their record\'s keys; this route opens them. ' +
      'After the erasure of their subject, or the deletion of their record, links answer 404. ' +
      `At most ${MAX_DOWNLOAD_BYTES} bytes (a Lambda answer is at most 6 MB, base64-encoded).`,
    params: s.downloadParams,
    query: s.noQuery,
    loadTenant: false,
    responses: {
      200: { description: 'The content, with its content type.' },
      400: { description: 'The token is not of the form Lethe makes, or the object is larger than a download through the API can carry.' },
      403: { description: 'The link is not valid (altered, or not made by this deployment) or has expired; whether the object exists is not said.' },
      404: { description: 'What the link served is gone (deleted, or its subject erased).' },
    },
    handle: async (app, { params, caller }) => {
      const blob = await download(app, caller, params.token);
      return { status: 200, body: undefined, binary: { contentType: blob.contentType, bytes: blob.body } };
    },
  }),
  'GET /v1/openapi.json': define({
    summary: 'This document',
    params: s.noParams,
    query: s.noQuery,
    loadTenant: false,
    responses: { 200: { description: 'The OpenAPI 3.1 document.' } },
    handle: async () => ok(openApiDocument()),
  }),
};

/** A service twin does what its admin route does; only who may call it differs (contract.ts). */
function serviceTwinDefinitions(): Record<RouteKey, RouteDefinition> {
  const out: Record<RouteKey, RouteDefinition> = {};
  for (const route of ROUTES.filter(isServiceRoute)) {
    const admin = ADMIN_ROUTE_DEFINITIONS[routeKey({ method: route.method, path: adminPathOf(route.path) })];
    if (admin === undefined) throw new Error(`no definition for the admin route of ${routeKey(route)}`);
    out[routeKey(route)] = {
      ...admin,
      summary: `${admin.summary} (service)`,
      description: `${admin.description ?? admin.summary} For platform services: SigV4 (IAM) in AWS, a Service token in local mode; the tenant is the path's.`,
    };
  }
  return out;
}

export const ROUTE_DEFINITIONS: Readonly<Record<RouteKey, RouteDefinition>> = { ...ADMIN_ROUTE_DEFINITIONS, ...serviceTwinDefinitions() };

/** The definition of a contract route; every route has one (a test checks). */
export function definitionOf(route: RouteSpec): RouteDefinition {
  const d = ROUTE_DEFINITIONS[routeKey(route)];
  if (d === undefined) throw new Error(`no definition for route ${routeKey(route)}`);
  return d;
}

export function routesWithDefinitions(): { route: RouteSpec; definition: RouteDefinition }[] {
  return ROUTES.map((route) => ({ route, definition: definitionOf(route) }));
}

/** The OpenAPI document of this table, built anew (tests and `npm run openapi` compare it with the committed copy). */
export function buildOpenApiDocument(): OpenApiDocument {
  return openApiDocumentOf(routesWithDefinitions());
}

let served: OpenApiDocument | undefined;

/** The document `GET /v1/openapi.json` serves, built once per process. */
export function openApiDocument(): OpenApiDocument {
  served ??= buildOpenApiDocument();
  return served;
}

/** The document as committed to `openapi.json`. */
export function renderOpenApiDocument(): string {
  return openApiJson(buildOpenApiDocument());
}
