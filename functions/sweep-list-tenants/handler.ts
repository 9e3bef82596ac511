import { listTenantsHandler } from '../../shared/app/sweep-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

export const handler = listTenantsHandler(runDeps, { logger, stageBudgetMs: config.stageBudgetMs });
