/**
 * Composition root of every Lambda: configuration, clients and adapters are
 * built once per container, at module load, and injected into the handlers.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createDynamoClients, createS3Client, createSecretsManagerClient, createSesClient } from '../shared/adapters/clients.js';
import { KMSClient } from '@aws-sdk/client-kms';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../shared/adapters/events/eventbridge.js';
import { KmsKeyWrapper } from '../shared/adapters/crypto/kms-wrapper.js';
import { SesMailer } from '../shared/adapters/mail/ses-mailer.js';
import { composeRunDeps } from '../shared/app/compose.js';
import { readLambdaConfig } from '../shared/config/lambda-env.js';

export const config = readLambdaConfig(process.env);
export const logger = new Logger({ serviceName: 'lethe' });

const secrets = createSecretsManagerClient({ region: config.region });
const secret = await secrets.send(new GetSecretValueCommand({ SecretId: config.refSecretArn }));
if (secret.SecretString === undefined) throw new Error('reference secret has no string value');

export const runDeps = composeRunDeps({
  doc: createDynamoClients({ region: config.region }).doc,
  s3: createS3Client({ region: config.region }),
  tableNames: config.tableNames,
  bucketNames: config.bucketNames,
  platform: config.platform,
  mailer: new SesMailer(createSesClient({ region: config.region }), { from: config.mailFrom }),
  refSecret: secret.SecretString,
  operatorEmails: config.operatorEmails,
  ...(config.shreddingKeyArn !== undefined && { keyWrapper: new KmsKeyWrapper(new KMSClient({ region: config.region }), config.shreddingKeyArn) }),
  // No writer outlives a Lambda's 15 minutes: an epoch key a sweep marked 20 minutes ago is in no one's hands.
  retireEpochKeysAfterMs: 20 * 60_000,
  ...(config.publicApiUrl !== undefined && { publicApiUrl: config.publicApiUrl }),
  ...(config.eventBusName !== undefined && {
    events: new EventBridgePublisher({ client: new EventBridgeClient({ region: config.region }), busName: config.eventBusName, logger }),
  }),
});
