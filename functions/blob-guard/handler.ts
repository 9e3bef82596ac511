/**
 * The blob guard's Lambda: EventBridge delivers each `Object Created` event of
 * the recordings and media buckets. Built apart from functions/runtime.ts on
 * purpose: the guard reads records and deletes objects, and needs no reference
 * secret, mail or state machine.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoClients, createS3Client } from '../../shared/adapters/clients.js';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { bucketFeaturesFrom, S3BlobStore } from '../../shared/adapters/s3/blob-store.js';
import { BUCKETS } from '../../shared/adapters/table-definitions.js';
import { blobGuardHandler } from '../../shared/app/blob-guard.js';
import { systemClock } from '../../shared/app/compose.js';
import { readLambdaConfig } from '../../shared/config/lambda-env.js';

const config = readLambdaConfig(process.env);
const logger = new Logger({ serviceName: 'lethe' });

const records = new DynamoRecordStore({ doc: createDynamoClients({ region: config.region }).doc, tableName: config.tableNames.records, clock: systemClock });
const blobs = new S3BlobStore({ s3: createS3Client({ region: config.region }), bucketNames: config.bucketNames, bucketFeatures: bucketFeaturesFrom(BUCKETS) });

export const handler = blobGuardHandler({ records, blobs, clock: systemClock }, { logger, bucketNames: config.bucketNames });
