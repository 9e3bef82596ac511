/**
 * Faults that only the SDK's own retry loop should see, for the adapter tests:
 * clients on the run's emulators built by `clients.ts` (so with the retry
 * settings every composition root gets) whose retries do not wait, and a
 * middleware that fails whole requests inside that retry loop, as a throttling
 * DynamoDB or S3 would.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { inject } from 'vitest';
import { createDynamoClients, createS3Client, type DynamoClients } from '../../shared/adapters/clients.js';
import { S3RVER_CREDENTIALS } from '../../shared/local/emulators.js';
import { REGION } from '../support/env.js';

export const SDK_FAULT = 'injectSdkFault';

/** Clients on the run's emulators whose SDK retries do not wait; `retries` lists each retry's number as the SDK took it. */
export function fastRetryClients(options: { readonly maxAttempts?: number } = {}): DynamoClients & {
  readonly s3: S3Client;
  readonly retries: number[];
} {
  const retries: number[] = [];
  const retryDelayMs = (retry: number): number => {
    retries.push(retry);
    return 0;
  };
  const dynamo = createDynamoClients({
    region: REGION,
    endpoint: inject('dynamoEndpoint'),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryDelayMs,
    ...options,
  });
  const s3 = createS3Client({ region: REGION, endpoint: inject('s3Endpoint'), credentials: S3RVER_CREDENTIALS, retryDelayMs, ...options });
  return { ...dynamo, s3, retries };
}

export interface InjectedFailures {
  /** Requests of the command that reached the middleware, failed or not: each SDK attempt is one. */
  readonly sends: () => number;
}

/**
 * Fails the first `failures` attempts of `commandName` (every attempt when
 * `failures` is omitted) with an error named `name`, after the SDK's retry
 * middleware, so the SDK sees each one and decides whether to try again.
 */
export function failAttempts(
  client: DynamoDBClient | S3Client,
  commandName: string,
  name: string,
  options: { readonly failures?: number; readonly status?: number } = {},
): InjectedFailures {
  let sends = 0;
  const middleware: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
    if (context.commandName !== commandName) return next(args);
    sends++;
    if (options.failures === undefined || sends <= options.failures) {
      throw Object.assign(new Error(`injected ${name}`), {
        name,
        $fault: (options.status ?? 400) >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode: options.status ?? 400 },
      });
    }
    return next(args);
  };
  (client.middlewareStack as { add: (m: unknown, o: object) => void }).add(middleware, {
    step: 'finalizeRequest',
    priority: 'low',
    name: SDK_FAULT,
  });
  return { sends: () => sends };
}

/** Removes what `failAttempts` added to the client. */
export function clearFaults(client: DynamoDBClient | S3Client): void {
  (client.middlewareStack as { remove: (name: string) => boolean }).remove(SDK_FAULT);
}
