/**
 * Starts the work of applying or releasing a legal hold as executions of the
 * `Hold` state machine, named `<holdId>-apply` or `<holdId>-release`, with
 * `{tenantId, holdId}` as the input the workflow's tasks read. Step Functions refuses a second
 * execution of a name: that start already happened, so it is no error here.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { HoldWorkStarter } from '../../domain/ports.js';
import { errorName } from '../retry.js';

export interface StepFunctionsHoldWorkStarterOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
}

export class StepFunctionsHoldWorkStarter implements HoldWorkStarter {
  private readonly sfn: SFNClient;
  private readonly stateMachineArn: string;

  constructor(options: StepFunctionsHoldWorkStarterOptions) {
    this.sfn = options.sfn;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(input: { readonly tenantId: string; readonly holdId: string; readonly executionName: string }): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: input.executionName,
          input: JSON.stringify({ tenantId: input.tenantId, holdId: input.holdId }),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }
}
