import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import { StepFunctionsSweepStarter } from '../../shared/adapters/sfn/sweep-starter.js';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Sweep';

function setup() {
  const client = new SFNClient({ region: 'us-east-1' });
  const sfn = mockClient(client);
  return { sfn, starter: new StepFunctionsSweepStarter({ sfn: client, stateMachineArn: ARN }) };
}

describe('StepFunctionsSweepStarter', () => {
  it('starts one Sweep execution for the tenant, named by the run id', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:run-1`, startDate: new Date() });

    await starter.start({ tenantId: 'acme', runId: 'run-1', dryRun: true });

    expect(sfn).toHaveReceivedCommandOnce(StartExecutionCommand);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN,
      name: 'run-1',
      input: JSON.stringify({ tenantIds: ['acme'], dryRun: true }),
    });
  });

  it('lets a refused second start of the same run surface', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

    await expect(starter.start({ tenantId: 'acme', runId: 'run-1', dryRun: false })).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });
});
