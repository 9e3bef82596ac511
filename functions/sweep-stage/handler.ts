import { stageHandler } from '../../shared/app/sweep-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

export const handler = stageHandler(runDeps, { logger, stageBudgetMs: config.stageBudgetMs });
