/**
 * A stand-in third-party provider on 127.0.0.1: it holds a set of call
 * references and answers `DELETE <any path>/<ref>` with 204 (then forgets the
 * ref) or 404 for a ref it does not hold. Tests script failures with
 * `failNext`; local mode points demo tenants' endpoints at it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProviderRequest {
  readonly method: string;
  /** Path and query as received, e.g. `/calls/abc%20d?x=1`. */
  readonly path: string;
  /** The last path segment, decoded. */
  readonly ref: string;
  readonly at: Date;
  /** Status the fake answered with. */
  readonly status: number;
}

export interface FakeProviderOptions {
  /** References the provider holds at start. */
  readonly refs?: Iterable<string>;
  /** Port to listen on (default 0: any free port). */
  readonly port?: number;
}

export interface FailureOptions {
  /** Sent as `Retry-After` (seconds) with each failure. */
  readonly retryAfterSeconds?: number;
}

export interface FakeProvider {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** A `deleteUrl` template for a `ThirdPartyEndpoint` that targets this fake: `<url>/calls/{ref}`. */
  readonly deleteUrl: string;
  /** Every request received, oldest first. */
  readonly requests: readonly FakeProviderRequest[];
  /** References still held. */
  readonly refs: ReadonlySet<string>;
  /** Starts holding these references. */
  add(...refs: string[]): void;
  /** Answers the next `count` requests with `status`, whatever they ask. */
  failNext(count: number, status: number, options?: FailureOptions): void;
  /** Holds every answer this long (milliseconds) before sending it; 0 turns it off. */
  delayResponses(ms: number): void;
  close(): Promise<void>;
}

interface ScriptedFailure {
  remaining: number;
  readonly status: number;
  readonly retryAfterSeconds?: number;
}

export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const refs = new Set<string>(options.refs);
  const requests: FakeProviderRequest[] = [];
  const failures: ScriptedFailure[] = [];
  let delayMs = 0;
  const pending = new Set<NodeJS.Timeout>();

  const answer = (request: IncomingMessage): { status: number; headers: Record<string, string> } => {
    const failure = failures[0];
    if (failure !== undefined) {
      if (--failure.remaining <= 0) failures.shift();
      return {
        status: failure.status,
        headers: failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) },
      };
    }
    if (request.method !== 'DELETE') return { status: 405, headers: { allow: 'DELETE' } };
    const ref = refOf(request.url ?? '/');
    if (ref === undefined || !refs.delete(ref)) return { status: 404, headers: {} };
    return { status: 204, headers: {} };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const { status, headers } = answer(request);
    requests.push({
      method: request.method ?? '',
      path: request.url ?? '',
      ref: refOf(request.url ?? '/') ?? '',
      at: new Date(),
      status,
    });
    request.resume();
    const reply = (): void => {
      response.writeHead(status, headers).end();
    };
    if (delayMs === 0) return reply();
    const timer = setTimeout(() => {
      pending.delete(timer);
      reply();
    }, delayMs);
    pending.add(timer);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    deleteUrl: `${url}/calls/{ref}`,
    requests,
    refs,
    add: (...more) => {
      for (const ref of more) refs.add(ref);
    },
    failNext: (count, status, failureOptions = {}) => {
      if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
      failures.push({ remaining: count, status, ...failureOptions });
    },
    delayResponses: (ms) => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        // Keep-alive connections would hold `close` open until they time out.
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

function refOf(target: string): string | undefined {
  const path = target.split('?')[0] ?? '';
  const segment = path.slice(path.lastIndexOf('/') + 1);
  if (segment === '') return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
