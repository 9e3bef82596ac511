/**
 * Starts the rest of a manual deletion as an execution of the `Deletion`
 * state machine, named by the task id, with `{tenantId, taskId}` as the input
 * the workflow's tasks read. Step Functions refuses a second execution of a
 * name: that start already happened, so it is no error here.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { DeletionWorkStarter } from '../../domain/ports.js';
import { errorName } from '../retry.js';

export interface StepFunctionsDeletionWorkStarterOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
}

export class StepFunctionsDeletionWorkStarter implements DeletionWorkStarter {
  private readonly sfn: SFNClient;
  private readonly stateMachineArn: string;

  constructor(options: StepFunctionsDeletionWorkStarterOptions) {
    this.sfn = options.sfn;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(input: { readonly tenantId: string; readonly taskId: string; readonly executionName: string }): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: input.executionName,
          input: JSON.stringify({ tenantId: input.tenantId, taskId: input.taskId }),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }
}
