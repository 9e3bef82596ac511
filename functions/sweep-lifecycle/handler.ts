import { lifecycleHandler } from '../../shared/app/sweep-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

export const handler = lifecycleHandler(runDeps, { logger, stageBudgetMs: config.stageBudgetMs });
