/**
 * A third-party provider on 127.0.0.1 that can play dead: while `silent`, it
 * accepts every connection and reads every request but never answers (the
 * failure a time-out, not a refused connection, has to catch). Once told to
 * answer, it behaves like the fake provider: `DELETE …/<ref>` answers 204 and
 * forgets a ref it holds, 404 for one it does not. A request received while
 * silent changes nothing: a dead provider deleted nothing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SilentProviderRequest {
  readonly ref: string;
  /** Whether the provider answered it (false: it was left hanging). */
  readonly answered: boolean;
}

export interface SilentProvider {
  /** A `deleteUrl` template for a `ThirdPartyEndpoint`: `<url>/calls/{ref}`. */
  readonly deleteUrl: string;
  /** References still held (not deleted). */
  readonly refs: ReadonlySet<string>;
  /** Every request received, oldest first. */
  readonly requests: readonly SilentProviderRequest[];
  /** Requests received and never answered so far. */
  readonly hanging: () => number;
  add(...refs: string[]): void;
  /** Stops answering (the default at start) or starts answering again. */
  setSilent(silent: boolean): void;
  close(): Promise<void>;
}

export async function startSilentProvider(options: { readonly refs?: Iterable<string> } = {}): Promise<SilentProvider> {
  const refs = new Set<string>(options.refs);
  const requests: SilentProviderRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let silent = true;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const ref = refOf(request.url ?? '/');
    request.resume();
    if (silent) {
      requests.push({ ref, answered: false });
      hanging.add(response);
      // The client gives up (aborts) and the socket closes; nothing is ever written.
      response.on('close', () => hanging.delete(response));
      return;
    }
    requests.push({ ref, answered: true });
    const status = request.method === 'DELETE' && refs.delete(ref) ? 204 : 404;
    response.writeHead(status).end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    deleteUrl: `${url}/calls/{ref}`,
    refs,
    requests,
    hanging: () => hanging.size,
    add: (...more) => {
      for (const ref of more) refs.add(ref);
    },
    setSilent: (value) => {
      silent = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hanging requests would hold `close` open forever.
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

function refOf(target: string): string {
  const path = target.split('?')[0] ?? '';
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  } catch {
    return '';
  }
}
