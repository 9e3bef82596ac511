/**
 * The one place retries are configured: every client the factories build uses
 * the SDK's standard retry mode with the same number of attempts, and retries
 * throttling and transient errors by itself, on the emulators, while a client
 * error gets one attempt.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ATTEMPTS,
  createDynamoClients,
  createS3Client,
  createSecretsManagerClient,
  createSesClient,
  createSfnClient,
} from '../../shared/adapters/clients.js';
import { clearFaults, failAttempts, fastRetryClients } from './sdk-faults.js';

const clients = fastRetryClients();

afterEach(() => {
  clearFaults(clients.client);
  clearFaults(clients.s3);
  clients.retries.length = 0;
});

describe('the clients the factories build', () => {
  it('use the standard retry mode with the configured attempts', async () => {
    const built = [
      createDynamoClients({ region: 'us-east-1' }).client,
      createS3Client({ region: 'us-east-1' }),
      createSfnClient({ region: 'us-east-1' }),
      createSesClient({ region: 'us-east-1' }),
      createSecretsManagerClient({ region: 'us-east-1' }),
    ];

    for (const client of built) {
      const config = client.config as { maxAttempts: () => Promise<number>; retryStrategy: () => Promise<{ mode: string }> };
      expect(await config.maxAttempts()).toBe(DEFAULT_MAX_ATTEMPTS);
      expect((await config.retryStrategy()).mode).toBe('standard');
    }
  });

  it('take another number of attempts when asked', async () => {
    const { client } = createDynamoClients({ region: 'us-east-1', maxAttempts: 2 });

    expect(await (client.config.maxAttempts as () => Promise<number>)()).toBe(2);
  });

  it('refuse a number of attempts below one', () => {
    expect(() => createS3Client({ region: 'us-east-1', maxAttempts: 0 })).toThrow(RangeError);
  });
});

describe('retries by the SDK', () => {
  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    'a DynamoDB request throttled with %s goes through on a later attempt',
    async (name) => {
      const injected = failAttempts(clients.client, 'ListTablesCommand', name, { failures: DEFAULT_MAX_ATTEMPTS - 1 });

      const output = await clients.client.send(new ListTablesCommand({}));

      expect(output.$metadata.attempts).toBe(DEFAULT_MAX_ATTEMPTS);
      expect(injected.sends()).toBe(DEFAULT_MAX_ATTEMPTS);
      expect(clients.retries).toEqual([1, 2, 3, 4]);
    },
  );

  it('an S3 request that answers SlowDown or 503 goes through on a later attempt', async () => {
    const injected = failAttempts(clients.s3, 'ListBucketsCommand', 'SlowDown', { failures: 2, status: 503 });

    const output = await clients.s3.send(new ListBucketsCommand({}));

    expect(output.$metadata.attempts).toBe(3);
    expect(injected.sends()).toBe(3);
  });

  it('a request that stays throttled fails after the configured attempts, saying how many', async () => {
    const injected = failAttempts(clients.client, 'ListTablesCommand', 'ThrottlingException');

    const error = await clients.client.send(new ListTablesCommand({})).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: DEFAULT_MAX_ATTEMPTS } });
    expect(injected.sends()).toBe(DEFAULT_MAX_ATTEMPTS);
  });

  it('a client error gets one attempt', async () => {
    const injected = failAttempts(clients.client, 'ListTablesCommand', 'ValidationException');

    await expect(clients.client.send(new ListTablesCommand({}))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(injected.sends()).toBe(1);
    expect(clients.retries).toEqual([]);
  });
});
