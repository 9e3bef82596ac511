/**
 * Local mode's composition root: the embedded emulators persisted under a data
 * directory, the tables and buckets of the shared definitions, the production
 * adapters and use cases bound to them, the API handler behind the local
 * server, the Sweep and PrivacyRequest state machines run by
 * aws-local-stepfunctions, an e-mail outbox folder and a stand-in third-party
 * provider. `bin/local.ts` drives it;
 * the e2e test starts it the way a user does.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoClients, createS3Client, type DynamoClients } from '../adapters/clients.js';
import { DynamoPrivacyRequestStore } from '../adapters/dynamodb/privacy-request-store.js';
import { HttpExternalDataProvider } from '../adapters/http/external-provider.js';
import { OutboxMailer } from '../adapters/mail/outbox-mailer.js';
import { LocalEventLog } from '../adapters/events/local-event-log.js';
import { DynamoAccountExportStore } from '../adapters/dynamodb/account-export-store.js';
import { InProcessAccountExportStarter } from './account-export-runner.js';
import { provisionBuckets, provisionTables, type BucketNames, type TableNames } from '../adapters/provision.js';
import type { BucketFeatures } from '../adapters/s3/blob-store.js';
import { S3SweepManifestStore } from '../adapters/s3/sweep-manifest-store.js';
import type { ManifestLocation } from '../domain/sweep/manifest.js';
import type { ApiDeps } from '../app/api/contract.js';
import { createApiHandler } from '../app/api/handler.js';
import { composeRunDeps } from '../app/compose.js';
import { MasterKeyWrapper } from '../adapters/crypto/key-store.js';
import { loadProfile } from '../config/profiles.js';
import type { BucketName, Category } from '../domain/catalog.js';
import { MAX_INLINE_BLOB_BYTES } from '../domain/ingest/schemas.js';
import type { PlatformPolicy } from '../domain/policy.js';
import type { SweepStarter } from '../domain/ports.js';
import type { PrivacyDeps } from '../domain/privacy/deps.js';
import type { Receipt } from '../domain/receipt.js';
import type { RunDeps } from '../domain/runs.js';
import { LocalBlobGuard } from './blob-guard-runner.js';
import { signDevToken, toAuthorizerClaims, verifyDevToken, type DevTokenRequest } from './dev-token.js';
import { startEmulators, S3RVER_CREDENTIALS, type Emulators } from './emulators.js';
import { startFakeProvider, type FakeProvider } from './fake-provider.js';
import { InProcessPrivacyStarter } from './in-process-privacy-starter.js';
import { deletionHandlers, InProcessDeletionWorkStarter } from './deletion-runner.js';
import { resumeUnfinishedWork, type ResumeReport } from './resume.js';
import { holdHandlers, InProcessHoldWorkStarter } from './hold-runner.js';
import { privacyHandlers } from './privacy-runner.js';
import { loadOrCreateLocalSecrets, type LocalSecrets } from './secrets.js';
import { consoleSite } from './console-site.js';
import { closeServer, createLocalServer, errorReply, listen, settleRequests, type HttpReply, type LocalRoute } from './server.js';
import { actionRolesOf } from '../domain/roles.js';
import { runSweepLocally, sweepHandlers, type SweepHandlers } from './sweep-runner.js';

const REGION = 'us-east-1';
/** Physical names in the emulators; one data directory holds one deployment. */
export const LOCAL_TABLE_NAMES: TableNames = { records: 'lethe-records', control: 'lethe-control', keys: 'lethe-keys' };
export const LOCAL_BUCKET_NAMES: BucketNames = {
  recordings: 'lethe-local-recordings',
  media: 'lethe-local-media',
  exports: 'lethe-local-exports',
};
/** s3rver has neither versioning nor Object Lock; the adapters skip what the bucket lacks. */
const EMULATOR_BUCKET_FEATURES: Readonly<Record<BucketName, BucketFeatures>> = {
  recordings: { versioned: false, objectLock: false },
  media: { versioned: false, objectLock: false },
  exports: { versioned: false, objectLock: false },
};
export const LOCAL_MAIL_FROM = 'lethe@localhost.localdomain';
export const LOCAL_OPERATOR_EMAILS = ['operator@localhost.localdomain'];
/** Path of the stand-in provider on the local server: `DELETE <url>/_local/fake-provider/calls/{ref}`. */
export const FAKE_PROVIDER_PATH = '/_local/fake-provider';

export interface LocalRuntimeOptions {
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly profile: string;
  readonly logger: Logger;
  /** Time one stage chunk works before it hands back a continuation. @default 5000 */
  readonly stageBudgetMs?: number;
  /** Lifetime of the export route's blob links, in seconds. @default 900 (`DEFAULT_EXPORT_LINK_SECONDS`) */
  readonly exportLinkSeconds?: number;
  /** How old an uploaded object no record points to must be before the blob guard deletes it. @default 60000 (`DEFAULT_BLOB_GUARD_SETTLE_MS`) */
  readonly blobGuardSettleMs?: number;
  /** Deletion events are appended to `<dataDir>/events/<date>.ndjson`, and POSTed here too when set (`--events-webhook`). */
  readonly eventsWebhookUrl?: string;
}

/** Progress of a local sweep, reported after every stage chunk. */
export interface SweepProgress {
  readonly runId: string;
  readonly tenants: number;
  /** Stages finished, over all tenants (4 per tenant). */
  readonly stagesDone: number;
  readonly stagesTotal: number;
  /** Records and blobs deleted so far (or that would be, in a dry run). */
  readonly deleted: number;
}

export interface LocalRuntime {
  readonly url: string;
  /** Unfinished work of an earlier process that this start resumed. */
  readonly resumed: ResumeReport;
  readonly dataDir: string;
  readonly outboxDir: string;
  readonly platform: PlatformPolicy;
  /** The profile the data directory was first started with (tenant policies were checked against it). */
  readonly createdWithProfile: string;
  readonly deps: ApiDeps;
  readonly fakeProvider: FakeProvider;
  /** `deleteUrl` template of the stand-in provider, for a tenant's `thirdPartyEndpoints`. */
  readonly fakeProviderDeleteUrl: string;
  /** Whether no tenant is registered yet (a fresh data directory). */
  isEmpty(): Promise<boolean>;
  /** Runs one Sweep execution to the end and returns its receipts (one per tenant). */
  runSweep(
    input: { readonly runId: string; readonly tenantIds?: readonly string[]; readonly dryRun?: boolean },
    onProgress?: (progress: SweepProgress) => void,
  ): Promise<Receipt[]>;
  /** Sweep executions in flight (scheduled or started through the API). */
  sweepsInFlight(): number;
  /** PrivacyRequest executions in flight (started through the API, or resumed by a hold release). */
  privacyRequestsInFlight(): number;
  /** Resolves when the blob guard has checked every object created so far. */
  blobGuardIdle(): Promise<void>;
  /** A dev token signed with this data directory's key. */
  issueToken(request: DevTokenRequest): Promise<string>;
  /** Stops the server, lets running sweeps and privacy requests settle (up to `graceMs`), closes the emulators. */
  close(options?: { readonly graceMs?: number }): Promise<void>;
}

/** Refused to start a second execution under a name already running (Step Functions' ExecutionAlreadyExists). */
export class ExecutionAlreadyRunningError extends Error {
  override readonly name = 'ExecutionAlreadyRunningError';
}

/**
 * Runs Sweep executions in the background, one per name, and tracks them so
 * the scheduler can avoid overlaps and shutdown can wait for them.
 */
class LocalSweeps implements SweepStarter {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: RunDeps,
    private readonly handlers: SweepHandlers,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.running.size;
  }

  /** The API's "start a run now": one tenant, in the background. */
  async start(input: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }): Promise<void> {
    const execution = this.execute(input.runId, { tenantIds: [input.tenantId], dryRun: input.dryRun });
    execution.catch((error: unknown) => {
      this.logger.error('sweep execution failed', { runId: input.runId, error: error instanceof Error ? error.name : 'unknown' });
    });
  }

  /** Starts an execution and resolves when it ends. */
  execute(
    name: string,
    input: { readonly tenantIds?: readonly string[]; readonly dryRun?: boolean },
    handlers: SweepHandlers = this.handlers,
  ): Promise<unknown> {
    if (this.running.has(name)) return Promise.reject(new ExecutionAlreadyRunningError(`execution ${name} is already running`));
    const execution = runSweepLocally(this.deps, handlers, input, { executionName: name }).finally(() => {
      this.running.delete(name);
    });
    this.running.set(name, execution);
    return execution;
  }

  /** Resolves when every execution has settled, or after `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** The stand-in provider, reachable through the local server so its URL survives restarts. */
function fakeProviderRoutes(provider: FakeProvider): LocalRoute[] {
  return [
    {
      prefix: `${FAKE_PROVIDER_PATH}/calls/`,
      auth: 'none',
      handle: async (request) => {
        const target = `${provider.url}/calls/${request.rawPath.slice(`${FAKE_PROVIDER_PATH}/calls/`.length)}`;
        const answer = await fetch(target, { method: request.method });
        return { status: answer.status, headers: {}, body: Buffer.from(await answer.arrayBuffer()) };
      },
    },
    {
      // Lets a demo or a test script an outage: `{"count": 3, "status": 503}`.
      prefix: `${FAKE_PROVIDER_PATH}/fail-next`,
      auth: 'token',
      handle: async (request): Promise<HttpReply> => {
        if (request.method !== 'POST') return errorReply(405, 'method_not_allowed', 'use POST');
        try {
          const { count, status } = JSON.parse(request.body.toString('utf8')) as { count: number; status: number };
          provider.failNext(count, status);
          return { status: 204, headers: {}, body: Buffer.alloc(0) };
        } catch (error) {
          return errorReply(400, 'validation_error', error instanceof Error ? error.message : 'invalid body');
        }
      },
    },
  ];
}

/**
 * Layout of the records a data directory holds. 2: index keys at the earlier of
 * a record's and its parent's clock, identifier partitions, profile watermarks,
 * per-tenant write shards. 3: personal fields and blobs sealed under subject
 * and epoch keys (crypto-shredding), identifiers under blind indexes, a keys
 * table with a sort key. A directory of another layout is refused, not swept:
 * its records would be found by the wrong keys.
 */
export const DATA_LAYOUT = 3;

/** A data directory written by an incompatible version of Lethe. */
export class DataLayoutError extends Error {
  override readonly name = 'DataLayoutError';
}

interface DataDirState {
  readonly profile: string;
  readonly createdAt: string;
  /** Absent in directories from before layout 2. */
  readonly layout?: number;
  /** The S3 emulator's port, kept so pre-signed links (7-day export links) work after a restart. */
  readonly s3Port?: number;
}

/** `<dataDir>/local.json`: what the data directory was created with. */
async function loadOrCreateState(dataDir: string, profile: string): Promise<DataDirState> {
  const path = join(dataDir, 'local.json');
  let existing: DataDirState | undefined;
  try {
    existing = JSON.parse(await readFile(path, 'utf8')) as DataDirState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== undefined) {
    if ((existing.layout ?? 1) !== DATA_LAYOUT) {
      throw new DataLayoutError(
        `${dataDir} holds data of an earlier Lethe (layout ${existing.layout ?? 1}, this one writes ${DATA_LAYOUT}); ` +
          'start with another --data-dir, or delete this one (it holds only local test data)',
      );
    }
    return existing;
  }
  const state: DataDirState = { profile, createdAt: new Date().toISOString(), layout: DATA_LAYOUT };
  await saveState(dataDir, state);
  return state;
}

async function saveState(dataDir: string, state: DataDirState): Promise<void> {
  await writeFile(join(dataDir, 'local.json'), `${JSON.stringify(state, null, 2)}\n`);
}

/** The emulators, S3 on the data directory's earlier port when it is still free. */
async function startLocalEmulators(dataDir: string, state: DataDirState): Promise<Emulators> {
  const paths = { dynamoPath: join(dataDir, 'dynamodb'), s3Directory: join(dataDir, 's3') };
  let emulators: Emulators;
  try {
    emulators = await startEmulators({ ...paths, s3Port: state.s3Port ?? 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || state.s3Port === undefined) throw error;
    emulators = await startEmulators(paths);
  }
  const s3Port = Number(new URL(emulators.s3Endpoint).port);
  if (s3Port !== state.s3Port) await saveState(dataDir, { ...state, s3Port });
  return emulators;
}

function deletedIn(receipt: Receipt | undefined): number {
  let n = 0;
  for (const c of Object.values(receipt?.categories ?? {}) as { deleted: number }[]) n += c.deleted;
  return n;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { logger } = options;
  const dataDir = resolve(options.dataDir);
  const platform = loadProfile(options.profile);
  const secrets: LocalSecrets = await loadOrCreateLocalSecrets(dataDir);
  const state = await loadOrCreateState(dataDir, platform.profile);
  const outboxDir = join(dataDir, 'outbox');
  await Promise.all([mkdir(join(dataDir, 'dynamodb'), { recursive: true }), mkdir(join(dataDir, 's3'), { recursive: true })]);

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const emulators = await startLocalEmulators(dataDir, state);
    cleanups.push(() => emulators.close());
    const dynamo: DynamoClients = createDynamoClients({
      region: REGION,
      endpoint: emulators.dynamoEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const s3 = createS3Client({ region: REGION, endpoint: emulators.s3Endpoint, credentials: S3RVER_CREDENTIALS });
    cleanups.push(async () => {
      dynamo.doc.destroy();
      dynamo.client.destroy();
      s3.destroy();
    });
    await Promise.all([provisionTables(dynamo.client, LOCAL_TABLE_NAMES), provisionBuckets(s3, LOCAL_BUCKET_NAMES)]);
    let url: string | undefined;

    const fakeProvider = await startFakeProvider();
    cleanups.push(() => fakeProvider.close());

    const runDeps = composeRunDeps({
      doc: dynamo.doc,
      s3,
      tableNames: LOCAL_TABLE_NAMES,
      bucketNames: LOCAL_BUCKET_NAMES,
      bucketFeatures: EMULATOR_BUCKET_FEATURES,
      platform,
      mailer: new OutboxMailer({ directory: outboxDir, from: LOCAL_MAIL_FROM }),
      refSecret: secrets.refSecret,
      operatorEmails: LOCAL_OPERATOR_EMAILS,
      // Local providers (the built-in fake one included) listen on this machine.
      external: new HttpExternalDataProvider({ allowPrivateNetworks: true }),
      // The data directory's master key stands in for the shredding KMS key.
      keyWrapper: new MasterKeyWrapper(secrets.masterKey),
      // Download links of sealed blobs point at this server, known once it listens (below).
      publicApiUrl: () => {
        if (url === undefined) throw new Error('the local server is not listening yet');
        return url;
      },
      events: new LocalEventLog({
        directory: join(dataDir, 'events'),
        ...(options.eventsWebhookUrl !== undefined && { webhookUrl: options.eventsWebhookUrl }),
        logger,
      }),
    });
    // A run's first chunk releases expired holds through the Hold workflow (started below).
    const manifests = new S3SweepManifestStore({ s3, bucket: LOCAL_BUCKET_NAMES.exports });
    const baseHandlers = sweepHandlers(
      { ...runDeps, holdWork: { start: (input) => holdWork.start(input) } },
      // Each run's groups go to the exports bucket, where the Distributed Map's (local) ItemReader reads them.
      { stageBudgetMs: options.stageBudgetMs ?? 5_000, logger, manifests },
    );
    const sweeps = new LocalSweeps(runDeps, baseHandlers, logger);
    // An object created in the recordings or media bucket that no record points to (an upload URL used after its record went) is deleted.
    const blobGuard = new LocalBlobGuard(runDeps, {
      logger,
      bucketNames: LOCAL_BUCKET_NAMES,
      ...(options.blobGuardSettleMs !== undefined && { settleMs: options.blobGuardSettleMs }),
    });
    emulators.onS3Event((event) => blobGuard.onEvent(event));
    const privacyDeps: PrivacyDeps = { ...runDeps, privacy: new DynamoPrivacyRequestStore({ doc: dynamo.doc, tableName: LOCAL_TABLE_NAMES.control }) };
    // In the background, as Step Functions runs them: the API answers 202 at once.
    const privacyRequests = new InProcessPrivacyStarter(privacyHandlers(privacyDeps, { logger }), { background: true, logger });
    const holdWork = new InProcessHoldWorkStarter(holdHandlers({ ...runDeps, privacy: privacyDeps.privacy, privacyRequests }, { logger }), { background: true, logger });
    const deletionWork = new InProcessDeletionWorkStarter(deletionHandlers(runDeps, { logger }), { background: true, logger });
    const exportJobs = new DynamoAccountExportStore({ doc: dynamo.doc, tableName: LOCAL_TABLE_NAMES.control });
    const apiDeps: ApiDeps = {
      ...runDeps,
      deletionWork,
      // Account exports run here in the background (an export interrupted by a stop is not resumed at the next start yet).
      exportJobs,
      accountExports: new InProcessAccountExportStarter({ ...runDeps, exportJobs }, { logger }),
      sweeps,
      privacy: privacyDeps.privacy,
      privacyRequests,
      holdWork,
      // Local providers (the built-in stand-in included) listen on this machine.
      allowPrivateProviderHosts: true,
      maxInlineBlobBytes: MAX_INLINE_BLOB_BYTES,
      ...(options.exportLinkSeconds !== undefined && { exportLinkSeconds: options.exportLinkSeconds }),
    };

    // The web console, its API docs page and its dev sign-in (console-site.ts).
    const site = consoleSite({
      apiUrl: () => url ?? '',
      actionRoles: actionRolesOf(platform),
      issueToken: (request) => signDevToken(secrets.devTokenKey, request),
      listTenants: () => apiDeps.control.listTenants(),
    });
    const server: Server = createLocalServer({
      handler: createApiHandler(apiDeps, { logger }),
      verifyToken: async (token) => toAuthorizerClaims(await verifyDevToken(secrets.devTokenKey, token)),
      logger,
      localRoutes: [...fakeProviderRoutes(fakeProvider), ...site.routes],
      site: site.site,
    });
    url = await listen(server, options.port);
    cleanups.push(() => closeServer(server));

    // Work the last process left unfinished (stopped past its grace, or killed) starts again.
    const resumed = await resumeUnfinishedWork(
      { control: runDeps.control, privacy: privacyDeps.privacy },
      {
        sweep: (runId, input) => sweeps.execute(runId, { tenantIds: input.tenantIds, dryRun: input.dryRun }),
        privacyRequests,
        holdWork,
        deletionWork,
      },
      { logger, now: new Date() },
    );

    const runtime: LocalRuntime = {
      url: url as string,
      resumed,
      dataDir,
      outboxDir,
      platform,
      createdWithProfile: state.profile,
      deps: apiDeps,
      fakeProvider,
      fakeProviderDeleteUrl: `${url}${FAKE_PROVIDER_PATH}/calls/{ref}`,
      isEmpty: async () => (await apiDeps.control.listTenants()).length === 0,
      runSweep: async (input, onProgress) => {
        let tenantIds: string[] = [];
        let stagesDone = 0;
        const deletedByTenant = new Map<string, number>();
        const report = () =>
          onProgress?.({
            runId: input.runId,
            tenants: tenantIds.length,
            stagesDone,
            stagesTotal: tenantIds.length * 4,
            deleted: [...deletedByTenant.values()].reduce((a, b) => a + b, 0),
          });
        const observed: SweepHandlers = {
          ...baseHandlers,
          listTenants: async (payload) => {
            // The groups are in the run's manifest (the list step answers where it wrote them).
            const result = (await baseHandlers.listTenants(payload)) as { manifest: ManifestLocation };
            tenantIds = (await manifests.read(result.manifest)).flatMap((g) => g.tenantIds);
            report();
            return result;
          },
          stage: async (payload) => {
            const result = (await baseHandlers.stage(payload)) as { done: boolean };
            // A chunk sweeps a whole group: a finished stage counts once per tenant of it.
            const group = (payload as { tenantIds: string[] }).tenantIds;
            if (result.done) stagesDone += group.length;
            for (const r of await apiDeps.control.getReceipts(group.map((tenantId) => ({ tenantId, runId: input.runId })))) {
              deletedByTenant.set(r.tenantId, deletedIn(r));
            }
            report();
            return result;
          },
        };
        await sweeps.execute(input.runId, { tenantIds: input.tenantIds, dryRun: input.dryRun }, observed);
        const receipts = await Promise.all(tenantIds.map((t) => apiDeps.control.getReceipt(t, input.runId)));
        return receipts.filter((r): r is Receipt => r !== undefined);
      },
      sweepsInFlight: () => sweeps.size,
      privacyRequestsInFlight: () => privacyRequests.size,
      blobGuardIdle: () => blobGuard.idle(),
      issueToken: (request) => signDevToken(secrets.devTokenKey, request),
      close: async (closeOptions = {}) => {
        // No new requests first, then let sweeps and privacy requests finish their step before the stores go away.
        await closeServer(server).catch(() => undefined);
        const graceMs = closeOptions.graceMs ?? 10_000;
        await Promise.all([
          settleRequests(server, graceMs),
          sweeps.settle(graceMs),
          privacyRequests.settle(graceMs),
          holdWork.settle(graceMs),
          deletionWork.settle(graceMs),
          blobGuard.settle(graceMs),
        ]);
        await cleanup();
      },
    };
    return runtime;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Sums a receipt's counts over its categories. */
export function receiptTotals(receipt: Receipt): { examined: number; deleted: number; held: number; failed: number } {
  const total = { examined: 0, deleted: 0, held: 0, failed: 0 };
  for (const c of Object.values(receipt.categories) as NonNullable<Receipt['categories'][Category]>[]) {
    total.examined += c.examined;
    total.deleted += c.deleted;
    total.held += c.held;
    total.failed += c.failed;
  }
  return total;
}
