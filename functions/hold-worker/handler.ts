import { createDynamoClients, createSfnClient } from '../../shared/adapters/clients.js';
import { DynamoPrivacyRequestStore } from '../../shared/adapters/dynamodb/privacy-request-store.js';
import { StepFunctionsPrivacyStarter } from '../../shared/adapters/sfn/privacy-starter.js';
import { holdTaskHandler } from '../../shared/app/hold-tasks.js';
import { requirePrivacyStateMachineArn } from '../../shared/config/lambda-env.js';
import { config, logger, runDeps } from '../runtime.js';

const privacy = new DynamoPrivacyRequestStore({ doc: createDynamoClients({ region: config.region }).doc, tableName: config.tableNames.control });
const privacyRequests = new StepFunctionsPrivacyStarter({ sfn: createSfnClient({ region: config.region }), stateMachineArn: requirePrivacyStateMachineArn(config) });

export const handler = holdTaskHandler({ ...runDeps, privacy, privacyRequests }, { logger });
