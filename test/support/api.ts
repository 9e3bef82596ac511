/**
 * The admin API on the emulators, for handler tests: stores, the production
 * handler built by `createApiHandler`, synthetic API Gateway (payload v2)
 * events with JWT-authorizer claims, a logger that captures what it prints,
 * in-process sweep and privacy-request starters, and full dumps of every table
 * and bucket.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KeyStore, MasterKeyWrapper } from '../../shared/adapters/crypto/key-store.js';
import { SealedBlobStore } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { SealedRecordStore } from '../../shared/adapters/crypto/sealed-record-store.js';
import { downloadLinks } from '../../shared/app/download-links.js';
import { createLocalServer, listen } from '../../shared/local/server.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { DynamoPrivacyRequestStore } from '../../shared/adapters/dynamodb/privacy-request-store.js';
import { DynamoAccountExportStore } from '../../shared/adapters/dynamodb/account-export-store.js';
import { InProcessAccountExportStarter } from '../../shared/local/account-export-runner.js';
import type { ApiDeps } from '../../shared/app/api/contract.js';
import { createApiHandler, type ApiHandler } from '../../shared/app/api/handler.js';
import { InProcessSweepStarter } from '../../shared/app/api/in-process-sweep-starter.js';
import { loadProfile, type ProfileName } from '../../shared/config/profiles.js';
import { conversationsV1 } from './profiles.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import type { BlobStore } from '../../shared/domain/ports.js';
import type { EventPublisher } from '../../shared/domain/events.js';
import type { PrivacyDeps } from '../../shared/domain/privacy/deps.js';
import type { RunDeps } from '../../shared/domain/runs.js';
import { holdHandlers, InProcessHoldWorkStarter } from '../../shared/local/hold-runner.js';
import { deletionHandlers, InProcessDeletionWorkStarter } from '../../shared/local/deletion-runner.js';
import { InProcessPrivacyStarter } from '../../shared/local/in-process-privacy-starter.js';
import { privacyHandlers } from '../../shared/local/privacy-runner.js';
import { TestClock } from './clock.js';
import { makeStores, type Stores } from './env.js';
import { MemoryExternalProvider, MemoryMailer } from './memory.js';

export const API_NOW = new Date('2025-06-01T12:00:00.000Z');
export const REF_SECRET = 'api-test-reference-secret-0123456789abcdef';
const DAY = 86_400_000;

/** A logger that keeps every line it would print. */
export class CapturingLogger extends Logger {
  readonly lines: string[];

  constructor(lines: string[] = []) {
    super({ serviceName: 'lethe-test', logLevel: 'DEBUG' });
    this.lines = lines;
  }

  protected override printLog(_level: number, log: Parameters<Logger['printLog']>[1]): void {
    log.prepareForPrint();
    this.lines.push(JSON.stringify(log.getAttributes()));
  }

  protected override createLogger(options?: ConstructorParameters<typeof Logger>[0]): Logger {
    void options;
    return new CapturingLogger(this.lines);
  }
}

export interface Token {
  readonly sub?: string;
  /** `cognito:groups`: an array, or API Gateway's string form. */
  readonly groups?: readonly string[] | string;
  readonly tenantId?: string;
}

export type Role = 'Administrator' | 'ComplianceAdministrator' | 'SuperAdministrator';

export const token = (role: Role | string, tenantId?: string, sub = `user-${role}`): Token => ({
  sub,
  groups: [role],
  ...(tenantId !== undefined && { tenantId }),
});

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** A value to send as JSON, or `{ raw }` to send a string as is. */
  readonly body?: unknown;
  readonly raw?: string;
  readonly token?: Token;
  /** Extra request headers (API Gateway hands them over lower-cased; so does `apiEvent`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function apiEvent(call: Call): APIGatewayProxyEventV2WithJWTAuthorizer {
  const body = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const claims: Record<string, string | string[]> = {};
  if (call.token?.sub !== undefined) claims.sub = call.token.sub;
  if (call.token?.groups !== undefined) claims['cognito:groups'] = call.token.groups as string | string[];
  if (call.token?.tenantId !== undefined) claims['custom:tenantId'] = call.token.tenantId;
  const query = call.query ?? {};
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: call.path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {
      'content-type': 'application/json',
      ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }),
      ...Object.fromEntries(Object.entries(call.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
    },
    ...(Object.keys(query).length > 0 && { queryStringParameters: { ...query } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method: call.method, path: call.path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: '01/Jun/2025:12:00:00 +0000',
      timeEpoch: API_NOW.getTime(),
      ...(call.token !== undefined && { authorizer: { jwt: { claims, scopes: null } } }),
    } as APIGatewayProxyEventV2WithJWTAuthorizer['requestContext'],
    ...(body !== undefined && { body }),
    isBase64Encoded: false,
  };
}

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

export interface ApiWorld {
  readonly stores: Stores;
  readonly clock: TestClock;
  readonly platform: PlatformPolicy;
  readonly deps: ApiDeps;
  readonly runDeps: RunDeps;
  readonly privacyDeps: PrivacyDeps;
  readonly sweeps: InProcessSweepStarter;
  /** Runs each privacy request's state machine to its end before `start` returns. */
  readonly privacyRequests: InProcessPrivacyStarter;
  /** Runs a hold's apply or release to its end before the route answers (tests), as the Hold workflow would after it. */
  readonly holdWork: InProcessHoldWorkStarter;
  /** Finishes in the background what a manual delete left (`await deletionWork.idle()`), without waits between attempts. */
  readonly deletionWork: InProcessDeletionWorkStarter;
  readonly logLines: string[];
  /** The keys of crypto-shredding (`shredding: true`). */
  readonly keyStore?: KeyStore;
  readonly handler: ApiHandler;
  call(call: Call): Promise<Answer>;
}

export interface ApiWorldOptions {
  readonly profile?: ProfileName;
  /** A platform policy of the test's own (e.g. other roles per action); wins over `profile`. */
  readonly platform?: PlatformPolicy;
  readonly maxInlineBlobBytes?: number;
  /** Whether tenants may name providers on loopback or private addresses (the test providers listen on 127.0.0.1). @default true */
  readonly allowPrivateProviderHosts?: boolean;
  /** Seal personal data under subject and epoch keys, as deployed and local mode do (default: plain, the mechanics alone). */
  readonly shredding?: boolean;
  /** Wraps the emulator-backed blob store (e.g. to stand in for Object Lock, which s3rver lacks). */
  readonly blobs?: (blobs: BlobStore) => BlobStore;
  /** Publishes deletion events (default: none). */
  readonly events?: EventPublisher;
}

export async function apiWorld(options: ApiWorldOptions = {}): Promise<ApiWorld> {
  const clock = new TestClock(API_NOW);
  const stores = await makeStores({ clock });
  // By default the conversations profile as before policy v2 (every category with a clock of its own): the API's mechanics, not a platform.
  const platform = options.platform ?? (options.profile === undefined ? conversationsV1() : loadProfile(options.profile));
  const keyStore = (options.shredding ?? process.env.LETHE_TEST_SHREDDING === '1') ? new KeyStore({ doc: stores.doc, tableName: stores.tableNames.keys, wrapper: new MasterKeyWrapper(randomBytes(32)) }) : undefined;
  const sealed = keyStore === undefined ? undefined : new SealedRecordStore({ inner: stores.records, keys: keyStore });
  // Sealed blobs are served through the API's download route: a local server in front of the handler makes their links fetchable.
  let serve: ApiHandler | undefined;
  const publicApiUrl = keyStore === undefined ? undefined : await downloadServer((event, context) => (serve as ApiHandler)(event, context));
  const blobs: BlobStore =
    keyStore === undefined || publicApiUrl === undefined
      ? stores.blobs
      : new SealedBlobStore({ inner: stores.blobs, keys: keyStore, downloadUrl: downloadLinks({ refSecret: REF_SECRET, publicApiUrl, clock }) });
  const runDeps: RunDeps = {
    records: sealed ?? stores.records,
    ...(sealed !== undefined && { keys: sealed }),
    control: stores.control,
    blobs: options.blobs === undefined ? blobs : options.blobs(blobs),
    external: new MemoryExternalProvider(),
    mailer: new MemoryMailer(),
    clock,
    platform,
    refSecret: REF_SECRET,
    operatorEmails: ['ops@example.test'],
    ...(options.events !== undefined && { events: options.events }),
  };
  const sweeps = new InProcessSweepStarter(runDeps);
  const logLines: string[] = [];
  const logger = new CapturingLogger(logLines);
  const privacyDeps: PrivacyDeps = { ...runDeps, privacy: new DynamoPrivacyRequestStore({ doc: stores.doc, tableName: stores.tableNames.control }) };
  const privacyRequests = new InProcessPrivacyStarter(privacyHandlers(privacyDeps, { logger }));
  const holdWork = new InProcessHoldWorkStarter(holdHandlers({ ...runDeps, privacy: privacyDeps.privacy, privacyRequests }, { logger }));
  const deletionWork = new InProcessDeletionWorkStarter(deletionHandlers(runDeps, { logger, chunkMs: 2_000 }), { background: true, waitMs: 0, logger });
  const exportJobs = new DynamoAccountExportStore({ doc: stores.doc, tableName: stores.tableNames.control });
  const deps: ApiDeps = {
    ...runDeps,
    sweeps,
    privacy: privacyDeps.privacy,
    privacyRequests,
    holdWork,
    deletionWork,
    exportJobs,
    // Runs each account export to its end before the route answers (tests).
    accountExports: new InProcessAccountExportStarter({ ...runDeps, exportJobs }, { background: false }),
    allowPrivateProviderHosts: options.allowPrivateProviderHosts ?? true,
    maxInlineBlobBytes: options.maxInlineBlobBytes ?? 1024 * 1024,
  };
  const handler = createApiHandler(deps, { logger });
  serve = handler;
  return {
    stores,
    clock,
    platform,
    deps,
    runDeps,
    privacyDeps,
    sweeps,
    privacyRequests,
    holdWork,
    deletionWork,
    logLines,
    ...(keyStore !== undefined && { keyStore }),
    handler,
    call: async (call) => {
      const result = await handler(apiEvent(call));
      const raw = typeof result.body === 'string' ? result.body : '';
      // A download answers bytes: `body` is them, `text` their UTF-8 reading.
      if (result.isBase64Encoded === true) {
        const bytes = Buffer.from(raw, 'base64');
        return { status: result.statusCode ?? 0, body: bytes, text: bytes.toString('utf8') };
      }
      return { status: result.statusCode ?? 0, body: raw === '' ? undefined : JSON.parse(raw), text: raw };
    },
  };
}

/**
 * A server on 127.0.0.1 in front of the API handler, as local mode's, for the
 * public routes (download links); it stays up for the test file (unref'd).
 */
async function downloadServer(handler: ApiHandler): Promise<string> {
  const server = createLocalServer({
    handler: (event, context) => handler(event, context),
    verifyToken: async () => {
      throw new Error('this server serves public routes only');
    },
    logger: new CapturingLogger(),
  });
  const url = await listen(server, 0);
  server.unref();
  return url;
}

export const SUPER = token('SuperAdministrator', undefined, 'root');

/** Registers a tenant through the API. */
export async function registerTenant(w: ApiWorld, tenantId: string, extra: Record<string, unknown> = {}): Promise<void> {
  const answer = await w.call({
    method: 'PUT',
    path: `/v1/tenants/${tenantId}`,
    body: {
      name: `Tenant ${tenantId}`,
      adminEmails: [`admin@${tenantId}.example`],
      thirdPartyEndpoints: [{ name: 'provider', deleteUrl: 'https://provider.example/calls/{ref}' }],
      ...extra,
    },
    token: SUPER,
  });
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`register ${tenantId}: ${answer.status} ${answer.text}`);
}

/** Ingests records through the API (as the tenant's Administrator). */
export async function ingest(w: ApiWorld, tenantId: string, records: readonly IngestRecordInput[]): Promise<Answer> {
  const answer = await w.call({
    method: 'POST',
    path: `/v1/tenants/${tenantId}/records`,
    body: { records },
    token: token('Administrator', tenantId),
  });
  if (answer.status !== 200) throw new Error(`ingest: ${answer.status} ${answer.text}`);
  return answer;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
export const daysAgo = (days: number, minutes = 0) => new Date(API_NOW.getTime() - days * DAY + minutes * 60_000).toISOString();

export interface CustomerFixture {
  readonly id: string;
  readonly name: string;
  readonly phone: string;
  readonly email: string;
  readonly secret: string;
  /** Days since the customer's conversation (and call) started. */
  readonly age: number;
  readonly open?: boolean;
}

/**
 * One customer with a conversation (messages, a log, inbound and outbound
 * media, an e-mail attachment of the first message), a call with a recording
 * and third-party data, and an analytics event. Ids derive from the customer id.
 */
export function customerRecords(c: CustomerFixture): IngestRecordInput[] {
  const conv = `${c.id}-conv`;
  const call = `${c.id}-call`;
  return [
    { type: 'customer', id: c.id, name: c.name, phones: [c.phone], emails: [c.email], lastContactAt: daysAgo(c.age) },
    { type: 'conversation', id: conv, customerId: c.id, channel: 'email', startedAt: daysAgo(c.age), status: c.open ? 'open' : 'closed', notes: `notes ${c.secret}` },
    { type: 'message', id: `${conv}-m1`, conversationId: conv, customerId: c.id, sentAt: daysAgo(c.age, 1), direction: 'inbound', text: `first ${c.secret}` },
    { type: 'message', id: `${conv}-m2`, conversationId: conv, customerId: c.id, sentAt: daysAgo(c.age, 2), direction: 'outbound', text: `second ${c.secret}` },
    { type: 'email_attachment', id: `${conv}-att`, conversationId: conv, customerId: c.id, sentAt: daysAgo(c.age, 1), contentType: 'application/pdf', contentBase64: b64(`attachment ${c.secret}`), messageId: `${conv}-m1` },
    { type: 'media', id: `${conv}-in`, conversationId: conv, customerId: c.id, direction: 'inbound', contentType: 'image/png', contentBase64: b64(`photo ${c.secret}`), sentAt: daysAgo(c.age, 3) },
    { type: 'media', id: `${conv}-out`, conversationId: conv, customerId: c.id, direction: 'outbound', contentType: 'image/png', contentBase64: b64('brochure') },
    { type: 'communication_log', id: `${conv}-log`, conversationId: conv, customerId: c.id, loggedAt: daysAgo(c.age, 5), text: `log ${c.secret}` },
    { type: 'call', id: call, customerId: c.id, startedAt: daysAgo(c.age), durationSeconds: 42, thirdPartyRef: `tp-${call}` },
    { type: 'recording', id: `${call}-rec`, callId: call, customerId: c.id, contentType: 'audio/wav', contentBase64: b64(`voice ${c.secret}`) },
    { type: 'analytics_event', id: `${c.id}-evt`, occurredAt: daysAgo(c.age, 4), name: 'chat_started', customerId: c.id },
  ];
}

/** Every item of the tables and every object of the buckets, in a stable order. */
export async function dumpStores(stores: Stores): Promise<string> {
  const scan = async (table: string) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await stores.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.map((i) => JSON.stringify(i, Object.keys(i).sort())).sort();
  };
  const list = async (bucket: string) => {
    const keys: string[] = [];
    let marker: string | undefined;
    do {
      const page = await stores.s3.send(new ListObjectsCommand({ Bucket: bucket, ...(marker !== undefined && { Marker: marker }) }));
      for (const o of page.Contents ?? []) keys.push(`${o.Key}:${o.Size}`);
      marker = page.IsTruncated === true ? keys.at(-1)?.split(':')[0] : undefined;
    } while (marker !== undefined);
    return keys.sort();
  };
  const [records, control, recordings, media, exportsBucket] = await Promise.all([
    scan(stores.tableNames.records),
    scan(stores.tableNames.control),
    list(stores.bucketNames.recordings),
    list(stores.bucketNames.media),
    list(stores.bucketNames.exports),
  ]);
  return JSON.stringify({ records, control, recordings, media, exports: exportsBucket });
}

/** Audit events of a tenant, newest first, straight from the store. */
export async function auditOf(w: ApiWorld, tenantId: string) {
  return w.stores.control.listAudit(tenantId);
}
