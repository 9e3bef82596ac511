/**
 * The admin API's use cases and the privacy executors over the in-memory
 * fakes, for pure tests that drive manual deletes and erasures hundreds of
 * times (the emulator-backed API has its own tests in test/api/).
 */
import { createApiApp, type ApiApp, type Caller } from '../../shared/app/api/app.js';
import type { ApiDeps } from '../../shared/app/api/contract.js';
import type { PrivacyRequestStore } from '../../shared/domain/ports.js';
import type { PrivacyDeps } from '../../shared/domain/privacy/deps.js';
import type { PrivacyRequest } from '../../shared/domain/privacy/request.js';
import type { MemoryWorldDeps } from './memory-world.js';

export class MemoryPrivacyRequestStore implements PrivacyRequestStore {
  readonly requests = new Map<string, PrivacyRequest>();
  private readonly keys = new Map<string, string>();

  async put(request: PrivacyRequest): Promise<void> {
    this.requests.set(`${request.tenantId}/${request.requestId}`, structuredClone(request));
  }
  async get(tenantId: string, requestId: string): Promise<PrivacyRequest | undefined> {
    const r = this.requests.get(`${tenantId}/${requestId}`);
    return r === undefined ? undefined : structuredClone(r);
  }
  async list(tenantId: string, options: { readonly limit?: number } = {}): Promise<PrivacyRequest[]> {
    const mine = [...this.requests.values()].filter((r) => r.tenantId === tenantId).sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : -1));
    return options.limit === undefined ? mine : mine.slice(0, options.limit);
  }
  async claimIdempotencyKey(tenantId: string, key: string, requestId: string): Promise<string> {
    const k = `${tenantId}/${key}`;
    const bound = this.keys.get(k);
    if (bound !== undefined) return bound;
    this.keys.set(k, requestId);
    return requestId;
  }
}

/** Workflows these tests never start: starting one is a test error. */
const notStarted = {
  start: async (): Promise<void> => {
    throw new Error('no workflow is started in this test');
  },
};

export interface MemoryApp {
  readonly app: ApiApp;
  readonly privacyDeps: PrivacyDeps;
  readonly privacy: MemoryPrivacyRequestStore;
  /** The Deletion workflows a manual delete started (recorded, not run). */
  readonly deletionStarts: { readonly tenantId: string; readonly taskId: string; readonly executionName: string }[];
  /** A caller at the world's clock. */
  caller(): Caller;
}

/** The use cases' app and the privacy executors' dependencies over one memory world. */
export function memoryApp(deps: MemoryWorldDeps): MemoryApp {
  const privacy = new MemoryPrivacyRequestStore();
  const deletionStarts: MemoryApp['deletionStarts'] = [];
  const apiDeps: ApiDeps = {
    ...deps,
    sweeps: notStarted,
    privacy,
    privacyRequests: notStarted,
    holdWork: notStarted,
    deletionWork: { start: async (input) => void deletionStarts.push(input) },
    maxInlineBlobBytes: 1024 * 1024,
  };
  return {
    app: createApiApp(apiDeps),
    privacyDeps: { ...deps, privacy },
    privacy,
    deletionStarts,
    caller: () => ({ actor: 'h:tester', now: deps.clock.now() }),
  };
}
