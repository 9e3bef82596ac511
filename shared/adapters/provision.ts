/**
 * Creates the tables and buckets of `table-definitions.ts` through the SDK, for
 * the embedded emulators (tests, local mode). In AWS the stateful CDK stack
 * builds them from the same definitions and adds what emulators lack (TTL, PITR,
 * KMS, Object Lock, lifecycle). Idempotent: what already exists is left alone.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BucketName } from '../domain/catalog.js';
import { errorName } from './retry.js';
import {
  BUCKETS,
  TABLES,
  type BucketDefinition,
  type IndexDefinition,
  type KeyAttribute,
  type TableDefinition,
} from './table-definitions.js';

export type TableId = TableDefinition['id'];

/** Physical table names by logical id. */
export type TableNames = Readonly<Record<TableId, string>>;

/** Physical bucket names by logical name. */
export type BucketNames = Readonly<Record<BucketName, string>>;

export interface ProvisionTablesOptions {
  readonly definitions?: readonly TableDefinition[];
  /** How long to wait for every table and index to become ACTIVE (default 60 s). */
  readonly activeTimeoutMs?: number;
}

/** The CreateTable input of one definition: keys, GSIs with their projections, on-demand billing. */
export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttribute>();
  const keySchema = (partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] => {
    attributes.set(partitionKey.name, partitionKey);
    const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
    if (sortKey !== undefined) {
      attributes.set(sortKey.name, sortKey);
      schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
    }
    return schema;
  };
  const index = (gsi: IndexDefinition): GlobalSecondaryIndex => ({
    IndexName: gsi.indexName,
    KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
    Projection: projection(gsi.projection),
  });

  const tableKeySchema = keySchema(definition.partitionKey, definition.sortKey);
  const indexes = definition.globalSecondaryIndexes.map(index);
  const attributeDefinitions: AttributeDefinition[] = [...attributes.values()].map((a) => ({
    AttributeName: a.name,
    AttributeType: a.type,
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: tableKeySchema,
    AttributeDefinitions: attributeDefinitions,
    ...(indexes.length > 0 && { GlobalSecondaryIndexes: indexes }),
  };
}

function projection(p: IndexDefinition['projection']): Projection {
  if (p === 'ALL' || p === 'KEYS_ONLY') return { ProjectionType: p };
  return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...p] };
}

/** Creates every table that does not exist yet and waits until all are ACTIVE. */
export async function provisionTables(
  client: DynamoDBClient,
  tableNames: TableNames,
  options: ProvisionTablesOptions = {},
): Promise<void> {
  const definitions = options.definitions ?? TABLES;
  await Promise.all(
    definitions.map(async (definition) => {
      const tableName = tableNames[definition.id];
      try {
        await client.send(new CreateTableCommand(createTableInput(definition, tableName)));
      } catch (error) {
        if (errorName(error) !== 'ResourceInUseException') throw error;
      }
      await waitUntilActive(client, tableName, options.activeTimeoutMs ?? 60_000);
    }),
  );
}

async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> {
  // The SDK waiter polls every 20 s at the least; emulators are ready in milliseconds.
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 25; ; delayMs = Math.min(delayMs * 2, 1_000)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

export interface ProvisionBucketsOptions {
  readonly definitions?: readonly BucketDefinition[];
  /**
   * Create buckets with Object Lock (and so versioning) where the definition asks
   * for it (default false: the emulator has neither).
   */
  readonly objectLock?: boolean;
}

/** Creates every bucket that does not exist yet. */
export async function provisionBuckets(
  s3: S3Client,
  bucketNames: BucketNames,
  options: ProvisionBucketsOptions = {},
): Promise<void> {
  const definitions = options.definitions ?? BUCKETS;
  await Promise.all(
    definitions.map(async (definition) => {
      const bucket = bucketNames[definition.id];
      try {
        await s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ...(options.objectLock === true && definition.objectLock && { ObjectLockEnabledForBucket: true }),
          }),
        );
      } catch (error) {
        const name = errorName(error);
        if (name === 'BucketAlreadyOwnedByYou') return;
        // s3rver answers BucketAlreadyExists for its own buckets too; only a bucket we can reach is ours.
        if (name === 'BucketAlreadyExists' && (await canReach(s3, bucket))) return;
        throw error;
      }
    }),
  );
}

async function canReach(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch {
    return false;
  }
}
