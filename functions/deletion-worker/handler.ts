import { deletionTaskHandler } from '../../shared/app/deletion-tasks.js';
import { logger, runDeps } from '../runtime.js';

export const handler = deletionTaskHandler(runDeps, { logger });
