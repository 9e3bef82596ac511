/**
 * Composition root of every Lambda: configuration, clients and adapters are
 * built once per container, at module load, and injected into the handlers.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createDynamoClients, createS3Client, createSecretsManagerClient, createSesClient } from '../shared/adapters/clients.js';
import { KMSClient } from '@aws-sdk/client-kms';
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
  ...(config.publicApiUrl !== undefined && { publicApiUrl: config.publicApiUrl }),
});
