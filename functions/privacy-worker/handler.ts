import { createDynamoClients } from '../../shared/adapters/clients.js';
import { DynamoPrivacyRequestStore } from '../../shared/adapters/dynamodb/privacy-request-store.js';
import { privacyTaskHandler } from '../../shared/app/privacy-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

const privacy = new DynamoPrivacyRequestStore({
  doc: createDynamoClients({ region: config.region }).doc,
  tableName: config.tableNames.control,
});

export const handler = privacyTaskHandler({ ...runDeps, privacy }, { logger });
