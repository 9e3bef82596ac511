import { createApiHandler } from '../../shared/app/api/handler.js';
import { apiDeps, logger } from '../api-runtime.js';

export const handler = createApiHandler(apiDeps, { logger, groups: ['ingest'] });
