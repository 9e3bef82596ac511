/**
 * Starts privacy requests as executions of the `PrivacyRequest` state machine,
 * named by the request id (or a resume name), with `{tenantId, requestId}` as
 * the input the workflow's tasks read. Step Functions refuses a second
 * execution of a name: that start already happened, so it is no error here.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { PrivacyStarter } from '../../domain/ports.js';
import { errorName } from '../retry.js';

export interface StepFunctionsPrivacyStarterOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
}

export class StepFunctionsPrivacyStarter implements PrivacyStarter {
  private readonly sfn: SFNClient;
  private readonly stateMachineArn: string;

  constructor(options: StepFunctionsPrivacyStarterOptions) {
    this.sfn = options.sfn;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(input: { readonly tenantId: string; readonly requestId: string; readonly executionName: string }): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: input.executionName,
          input: JSON.stringify({ tenantId: input.tenantId, requestId: input.requestId }),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }
}
