/**
 * The admin API in this process for the bench, wired as local mode wires it:
 * the production handler (`createApiHandler`) over the harness's stores, and
 * the `PrivacyRequest` and `Hold` workflows run in the background by
 * in-process starters (the rendered state machines, the production task
 * handlers). A request is a synthetic API Gateway (payload v2) event with the
 * claims the JWT authorizer would hand over.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { KeyWrapper } from '../shared/adapters/crypto/key-store.js';
import { DynamoPrivacyRequestStore } from '../shared/adapters/dynamodb/privacy-request-store.js';
import { createApiHandler, type ApiEvent } from '../shared/app/api/handler.js';
import type { ApiDeps } from '../shared/app/api/contract.js';
import { InProcessSweepStarter } from '../shared/app/api/in-process-sweep-starter.js';
import { composeRunDeps } from '../shared/app/compose.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { Clock, Mailer } from '../shared/domain/ports.js';
import type { PrivacyDeps } from '../shared/domain/privacy/deps.js';
import type { RunDeps } from '../shared/domain/runs.js';
import { renderHoldStateMachine, renderPrivacyStateMachine } from '../shared/local/asl.js';
import { holdHandlers, InProcessHoldWorkStarter } from '../shared/local/hold-runner.js';
import { deletionHandlers, InProcessDeletionWorkStarter } from '../shared/local/deletion-runner.js';
import { InProcessPrivacyStarter } from '../shared/local/in-process-privacy-starter.js';
import { privacyHandlers } from '../shared/local/privacy-runner.js';
import { EMULATOR_BUCKET_FEATURES, type Harness, type Stage } from './harness.js';
import { CountingProvider } from './measure.js';

export const BENCH_REF_SECRET = 'bench-reference-secret-of-at-least-32-bytes';

class NullMailer implements Mailer {
  async send(): Promise<void> {}
}

export interface Answer {
  readonly status: number;
  readonly body: any;
  /** Wall time of the handler call, in ms. */
  readonly ms: number;
  /**
   * Of it, ms inside the workflow starters' `start`: in this process, what
   * the in-process runner does before it hands the execution to the
   * background; in AWS, a StartExecution call.
   */
  readonly startMs: number;
}

/** Wraps a starter so the time spent inside `start` is known. */
class TimedStarter<I> {
  ms = 0;
  constructor(private readonly inner: { start(input: I): Promise<void> }) {}
  async start(input: I): Promise<void> {
    const began = performance.now();
    try {
      await this.inner.start(input);
    } finally {
      this.ms += performance.now() - began;
    }
  }
}

export interface BenchApi {
  readonly runDeps: RunDeps;
  readonly privacyDeps: PrivacyDeps;
  readonly external: CountingProvider;
  readonly privacyRequests: InProcessPrivacyStarter;
  readonly holdWork: InProcessHoldWorkStarter;
  /** Calls the handler as a tenant's ComplianceAdministrator. */
  call(tenantId: string, method: string, path: string, body?: unknown): Promise<Answer>;
}

/**
 * The API and its background workflows on one measurement's stores. Renders
 * the state machines up front: local mode renders them on first use, and the
 * CDK synthesis that takes is not the request's work (in AWS the route only
 * calls StartExecution).
 */
export function benchApi(
  h: Harness,
  stage: Stage,
  options: {
    readonly platform: PlatformPolicy;
    readonly clock: Clock;
    /** Crypto-shredding on (as deployed): personal data sealed under keys in the stage's keys table. Default off. */
    readonly keyWrapper?: KeyWrapper;
  },
): BenchApi {
  const external = new CountingProvider();
  const runDeps = composeRunDeps({
    doc: h.doc,
    s3: h.s3,
    tableNames: stage.tableNames,
    bucketNames: stage.bucketNames,
    bucketFeatures: EMULATOR_BUCKET_FEATURES,
    platform: options.platform,
    mailer: new NullMailer(),
    refSecret: BENCH_REF_SECRET,
    operatorEmails: ['operator@example.test'],
    clock: options.clock,
    external,
    ...(options.keyWrapper !== undefined && { keyWrapper: options.keyWrapper }),
  });
  // Errors only: a failed background execution is logged by its starter, and the bench's checks fail on its result.
  const logger = new Logger({ serviceName: 'lethe-bench', logLevel: 'ERROR' });
  const privacyDeps: PrivacyDeps = { ...runDeps, privacy: new DynamoPrivacyRequestStore({ doc: h.doc, tableName: stage.tableNames.control }) };
  renderPrivacyStateMachine();
  renderHoldStateMachine();
  const privacyRequests = new InProcessPrivacyStarter(privacyHandlers(privacyDeps, { logger }), { background: true, logger });
  const holdWork = new InProcessHoldWorkStarter(holdHandlers({ ...runDeps, privacy: privacyDeps.privacy, privacyRequests }, { logger }), { background: true, logger });
  const timedPrivacy = new TimedStarter(privacyRequests);
  const timedHolds = new TimedStarter(holdWork);
  const deps: ApiDeps = {
    ...runDeps,
    sweeps: new InProcessSweepStarter(runDeps, { background: true, logger }),
    privacy: privacyDeps.privacy,
    privacyRequests: timedPrivacy,
    holdWork: timedHolds,
    deletionWork: new InProcessDeletionWorkStarter(deletionHandlers(runDeps, { logger }), { background: true, logger }),
    maxInlineBlobBytes: 1024 * 1024,
  };
  const handler = createApiHandler(deps, { logger });
  return {
    runDeps,
    privacyDeps,
    external,
    privacyRequests,
    holdWork,
    call: async (tenantId, method, path, body) => {
      const startedBefore = timedPrivacy.ms + timedHolds.ms;
      const began = performance.now();
      const result = await handler(apiEvent(tenantId, method, path, body));
      const ms = performance.now() - began;
      const text = typeof result.body === 'string' ? result.body : '';
      return { status: result.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text), ms, startMs: timedPrivacy.ms + timedHolds.ms - startedBefore };
    },
  };
}

function apiEvent(tenantId: string, method: string, path: string, body: unknown): ApiEvent {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...(text !== undefined && { 'content-length': String(Buffer.byteLength(text)) }) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'lethe-bench' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: {
        jwt: {
          claims: { sub: 'bench-compliance', 'cognito:groups': ['ComplianceAdministrator'], 'custom:tenantId': tenantId },
          scopes: null,
        },
      },
    } as unknown as ApiEvent['requestContext'],
    ...(text !== undefined && { body: text }),
    isBase64Encoded: false,
  };
}
