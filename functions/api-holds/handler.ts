import { createApiHandler } from '../../shared/app/api/handler.js';
import { requirePrivacyStateMachineArn } from '../../shared/config/lambda-env.js';
import { apiDeps, config, logger } from '../api-runtime.js';

// Releasing a hold resumes the privacy requests it deferred: without the state machine it must not start at all.
requirePrivacyStateMachineArn(config);

export const handler = createApiHandler(apiDeps, { logger, groups: ['holds'] });
