/**
 * The embedded emulators: dynalite (DynamoDB) and s3rver (S3), in-process on
 * 127.0.0.1 and a free port. Tests start them once per run; local mode starts
 * them with a data directory so state survives a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';

/** s3rver accepts requests signed with exactly these credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmulatorOptions {
  /** LevelDB directory for dynalite; default in memory (gone on close). */
  readonly dynamoPath?: string;
  /** Directory for s3rver's objects; default a fresh temporary directory, removed on close. */
  readonly s3Directory?: string;
  /** Port for each emulator (default 0: any free port). */
  readonly dynamoPort?: number;
  readonly s3Port?: number;
}

export interface Emulators {
  /** e.g. `http://127.0.0.1:41234` */
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  /** Calls `listener` with each object event of the S3 emulator (an S3 notification: `{ Records: [...] }`). */
  onS3Event(listener: (event: unknown) => void): void;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const dynamo = await startDynalite(options.dynamoPath, options.dynamoPort ?? 0);
  try {
    const s3 = await startS3rver(options.s3Directory, options.s3Port ?? 0);
    return {
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      onS3Event: (listener) => s3.onEvent(listener),
      close: async () => {
        const results = await Promise.allSettled([dynamo.close(), s3.close()]);
        const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure !== undefined) throw failure.reason;
      },
    };
  } catch (error) {
    await dynamo.close();
    throw error;
  }
}

interface Running {
  readonly endpoint: string;
  close(): Promise<void>;
}

interface RunningS3 extends Running {
  onEvent(listener: (event: unknown) => void): void;
}

async function startDynalite(path: string | undefined, port: number): Promise<Running> {
  // Tables become ACTIVE at once; dynalite's default keeps them CREATING for 500 ms.
  const server: Server = dynalite({
    ...(path !== undefined && { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actualPort } = server.address() as AddressInfo;
  return {
    endpoint: `http://${HOST}:${actualPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets of SDK clients would otherwise hold the server open.
        server.closeIdleConnections();
      }),
  };
}

async function startS3rver(directory: string | undefined, port: number): Promise<RunningS3> {
  const ownDirectory = directory === undefined ? await mkdtemp(join(tmpdir(), 'lethe-s3-')) : undefined;
  const server = new S3rver({
    address: HOST,
    port,
    silent: true,
    directory: directory ?? ownDirectory,
    vhostBuckets: false,
  });
  try {
    const { port: actualPort } = await server.run();
    return {
      endpoint: `http://${HOST}:${actualPort}`,
      onEvent: (listener) => {
        server.on('event', listener);
      },
      close: async () => {
        await server.close();
        if (ownDirectory !== undefined) await rm(ownDirectory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (ownDirectory !== undefined) await rm(ownDirectory, { recursive: true, force: true });
    throw error;
  }
}
