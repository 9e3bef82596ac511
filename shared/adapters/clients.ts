/**
 * AWS SDK clients, built once by a composition root (a Lambda handler module, the
 * local runtime, a test) and injected into the adapters. Nothing else constructs
 * a client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
  /** Attempts the SDK makes by itself before an error reaches the adapter (default: the SDK's, 3). */
  readonly maxAttempts?: number;
}

export interface DynamoClients {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

export function createDynamoClients(options: AwsClientOptions): DynamoClients {
  const client = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
  });
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
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Since 3.729 the SDK signs a CRC32 of the (empty) body into pre-signed PUT
    // URLs by default, so every upload through one fails with a checksum
    // mismatch. Operations that require a checksum (DeleteObjects,
    // PutObjectLegalHold) still get one; direct uploads ask for it explicitly.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
