/**
 * Composition root of the admin API's functions: the shared Lambda runtime
 * (configuration, clients, adapters) plus what only the API needs — ways to
 * start `Sweep` and `PrivacyRequest` executions, the privacy-request store and
 * the inline-blob limit of an ingest body.
 */
import { createDynamoClients, createSfnClient } from '../shared/adapters/clients.js';
import { DynamoPrivacyRequestStore } from '../shared/adapters/dynamodb/privacy-request-store.js';
import { MAX_INLINE_BLOB_BYTES } from '../shared/domain/ingest/schemas.js';
import { StepFunctionsDeletionWorkStarter } from '../shared/adapters/sfn/deletion-starter.js';
import { StepFunctionsHoldWorkStarter } from '../shared/adapters/sfn/hold-starter.js';
import { StepFunctionsPrivacyStarter } from '../shared/adapters/sfn/privacy-starter.js';
import { StepFunctionsSweepStarter } from '../shared/adapters/sfn/sweep-starter.js';
import type { ApiDeps } from '../shared/app/api/contract.js';
import { ConfigurationError } from '../shared/config/lambda-env.js';
import type { DeletionWorkStarter, HoldWorkStarter, PrivacyStarter, SweepStarter } from '../shared/domain/ports.js';
import { config, logger, runDeps } from './runtime.js';

export { config, logger };


/** Only the runs function starts executions; the others never call this. */
const unconfiguredSweeps: SweepStarter = {
  start: async () => {
    throw new ConfigurationError('environment variable SWEEP_STATE_MACHINE_ARN is not set');
  },
};

/** Only the privacy function starts privacy requests; the others never call this. */
const unconfiguredPrivacyRequests: PrivacyStarter = {
  start: async () => {
    throw new ConfigurationError('environment variable PRIVACY_STATE_MACHINE_ARN is not set');
  },
};

/** Only the holds function starts Hold executions; the others never call this. */
const unconfiguredHoldWork: HoldWorkStarter = {
  start: async () => {
    throw new ConfigurationError('environment variable HOLD_STATE_MACHINE_ARN is not set');
  },
};

/** Only the customers function starts Deletion executions; the others never call this. */
const unconfiguredDeletionWork: DeletionWorkStarter = {
  start: async () => {
    throw new ConfigurationError('environment variable DELETION_STATE_MACHINE_ARN is not set');
  },
};

const sfn = createSfnClient({ region: config.region });

const sweeps: SweepStarter =
  config.sweepStateMachineArn === undefined
    ? unconfiguredSweeps
    : new StepFunctionsSweepStarter({ sfn, stateMachineArn: config.sweepStateMachineArn });

const privacyRequests: PrivacyStarter =
  config.privacyStateMachineArn === undefined
    ? unconfiguredPrivacyRequests
    : new StepFunctionsPrivacyStarter({ sfn, stateMachineArn: config.privacyStateMachineArn });

const holdWork: HoldWorkStarter =
  config.holdStateMachineArn === undefined
    ? unconfiguredHoldWork
    : new StepFunctionsHoldWorkStarter({ sfn, stateMachineArn: config.holdStateMachineArn });

const deletionWork: DeletionWorkStarter =
  config.deletionStateMachineArn === undefined
    ? unconfiguredDeletionWork
    : new StepFunctionsDeletionWorkStarter({ sfn, stateMachineArn: config.deletionStateMachineArn });

const privacy = new DynamoPrivacyRequestStore({
  doc: createDynamoClients({ region: config.region }).doc,
  tableName: config.tableNames.control,
});

export const apiDeps: ApiDeps = {
  ...runDeps,
  sweeps,
  privacy,
  privacyRequests,
  holdWork,
  deletionWork,
  maxInlineBlobBytes: MAX_INLINE_BLOB_BYTES,
  ...(config.exportLinkSeconds !== undefined && { exportLinkSeconds: config.exportLinkSeconds }),
};
