/**
 * Starts deletion runs as executions of the `Sweep` state machine. The
 * execution is named by the run id, so a retried start never runs twice
 * (Step Functions refuses a second execution of the same name).
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SweepStarter } from '../../domain/ports.js';

export interface StepFunctionsSweepStarterOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
}

export class StepFunctionsSweepStarter implements SweepStarter {
  private readonly sfn: SFNClient;
  private readonly stateMachineArn: string;

  constructor(options: StepFunctionsSweepStarterOptions) {
    this.sfn = options.sfn;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(input: { readonly tenantId: string; readonly runId: string; readonly dryRun: boolean }): Promise<void> {
    await this.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name: input.runId,
        input: JSON.stringify({ tenantIds: [input.tenantId], dryRun: input.dryRun }),
      }),
    );
  }
}
