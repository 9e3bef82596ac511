import { createSfnClient } from '../../shared/adapters/clients.js';
import { StepFunctionsHoldWorkStarter } from '../../shared/adapters/sfn/hold-starter.js';
import { stageHandler } from '../../shared/app/sweep-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

// A run's first chunk releases the holds that expired since the last run, through the Hold workflow.
const holdWork =
  config.holdStateMachineArn === undefined
    ? undefined
    : new StepFunctionsHoldWorkStarter({ sfn: createSfnClient({ region: config.region }), stateMachineArn: config.holdStateMachineArn });

export const handler = stageHandler({ ...runDeps, ...(holdWork !== undefined && { holdWork }) }, { logger, stageBudgetMs: config.stageBudgetMs });
