import { createApiHandler } from '../../shared/app/api/handler.js';
import { requireSweepStateMachineArn } from '../../shared/config/lambda-env.js';
import { apiDeps, config, logger } from '../api-runtime.js';

// This function starts Sweep executions: without the state machine it must not start at all.
requireSweepStateMachineArn(config);

export const handler = createApiHandler(apiDeps, { logger, groups: ['runs'] });
