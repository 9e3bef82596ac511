/**
 * The blob guard's Lambda: EventBridge delivers each `Object Created` event of
 * the recordings and media buckets. Built apart from functions/runtime.ts on
 * purpose: the guard reads records and legal holds, seals uploads into place (with the
 * shredding key: `SHREDDING_KEY_ARN`) and deletes objects, and needs no
 * reference secret, mail or state machine.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoClients, createS3Client } from '../../shared/adapters/clients.js';
import { KMSClient } from '@aws-sdk/client-kms';
import { KeyStore } from '../../shared/adapters/crypto/key-store.js';
import { KmsKeyWrapper } from '../../shared/adapters/crypto/kms-wrapper.js';
import { SealedBlobStore } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { SealedRecordStore } from '../../shared/adapters/crypto/sealed-record-store.js';
import { DynamoControlStore } from '../../shared/adapters/dynamodb/control-store.js';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { bucketFeaturesFrom, S3BlobStore } from '../../shared/adapters/s3/blob-store.js';
import { BUCKETS } from '../../shared/adapters/table-definitions.js';
import { blobGuardHandler } from '../../shared/app/blob-guard.js';
import { systemClock } from '../../shared/app/compose.js';
import { readLambdaConfig } from '../../shared/config/lambda-env.js';

const config = readLambdaConfig(process.env);
const logger = new Logger({ serviceName: 'lethe' });

const doc = createDynamoClients({ region: config.region }).doc;
const plainRecords = new DynamoRecordStore({ doc, tableName: config.tableNames.records, clock: systemClock });
const plainBlobs = new S3BlobStore({ s3: createS3Client({ region: config.region }), bucketNames: config.bucketNames, bucketFeatures: bucketFeaturesFrom(BUCKETS) });
// With crypto-shredding, records are opened and uploads sealed under the keys table's keys.
const keys =
  config.shreddingKeyArn === undefined
    ? undefined
    : new KeyStore({ doc, tableName: config.tableNames.keys, wrapper: new KmsKeyWrapper(new KMSClient({ region: config.region }), config.shreddingKeyArn) });
const records = keys === undefined ? plainRecords : new SealedRecordStore({ inner: plainRecords, keys });
const blobs = keys === undefined ? plainBlobs : new SealedBlobStore({ inner: plainBlobs, keys });

// Holds: an upload over a held blob is refused.
const control = new DynamoControlStore({ doc, tableName: config.tableNames.control });

export const handler = blobGuardHandler({ records, blobs, control, clock: systemClock }, { logger, bucketNames: config.bucketNames });
