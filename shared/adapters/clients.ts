/**
 * AWS SDK clients, built once by a composition root (a Lambda handler module, the
 * local runtime, a test) and injected into the adapters. Nothing else constructs
 * a client.
 *
 * Retries are configured here and nowhere else: every client uses the SDK's
 * standard retry mode (throttling and transient errors, full-jitter exponential
 * backoff, and a retry quota that stops a retry storm) with `maxAttempts`
 * attempts. The adapters never send a failed request again on top of that; they
 * loop only over what a successful answer leaves undone (BatchWriteItem's
 * `UnprocessedItems`, BatchGetItem's `UnprocessedKeys`, DeleteObjects' per-key
 * errors), which the SDK does not see as failures.
 *
 * Standard rather than adaptive mode: adaptive adds a client-side rate limiter
 * that AWS does not recommend for multi-tenant applications unless tenants are
 * isolated, and one sweep client serves a whole group of tenants, so one
 * tenant's throttled partition would slow all of them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

/**
 * Attempts per request, the first included. One more than DynamoDB's SDK default
 * (4) and two more than the other clients' (3): a sweep's batches meet
 * throttling on hot partitions, and each batch it loses is work for the next run.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsClientOptions {
  readonly region: string;
  /** Service endpoint, e.g. an embedded emulator's. Default: the SDK's own resolution (AWS, or `AWS_ENDPOINT_URL_*`). */
  readonly endpoint?: string;
  /** Default: the SDK's default credential provider chain. */
  readonly credentials?: StaticCredentials;
  /** Attempts the SDK makes per request, the first included, before an error reaches the adapter (default 5). */
  readonly maxAttempts?: number;
  /**
   * Milliseconds to wait before retry `n` (from 1) instead of the SDK's
   * backoff; the retry quota and which errors are retried stay the SDK's.
   * Tests pass one that does not wait. Default: the SDK's standard backoff.
   */
  readonly retryDelayMs?: (retry: number) => number;
}

/** The retry settings every client gets (see the module comment). */
function retryConfig(options: AwsClientOptions) {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  return options.retryDelayMs === undefined
    ? { retryMode: 'standard', maxAttempts }
    : { maxAttempts, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, options.retryDelayMs) };
}

/** What every client is built with: region, endpoint, credentials and the retry settings. */
function baseConfig(options: AwsClientOptions) {
  return {
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    ...retryConfig(options),
  };
}

export interface DynamoClients {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

export function createDynamoClients(options: AwsClientOptions): DynamoClients {
  const client = new DynamoDBClient(baseConfig(options));
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return { client, doc };
}

export interface S3ClientOptions extends AwsClientOptions {
  /** Path-style addressing (`endpoint/bucket/key`); default true when `endpoint` is set (emulators), else false. */
  readonly forcePathStyle?: boolean;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    ...baseConfig(options),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Since 3.729 the SDK signs a CRC32 of the (empty) body into pre-signed PUT
    // URLs by default, so every upload through one fails with a checksum
    // mismatch. Operations that require a checksum (DeleteObjects,
    // PutObjectLegalHold) still get one; direct uploads ask for it explicitly.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export function createSfnClient(options: AwsClientOptions): SFNClient {
  return new SFNClient(baseConfig(options));
}

export function createSesClient(options: AwsClientOptions): SESv2Client {
  return new SESv2Client(baseConfig(options));
}

export function createSecretsManagerClient(options: AwsClientOptions): SecretsManagerClient {
  return new SecretsManagerClient(baseConfig(options));
}
