import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import { StepFunctionsPrivacyStarter } from '../../shared/adapters/sfn/privacy-starter.js';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:PrivacyRequest';

function setup() {
  const client = new SFNClient({ region: 'us-east-1' });
  const sfn = mockClient(client);
  return { sfn, starter: new StepFunctionsPrivacyStarter({ sfn: client, stateMachineArn: ARN }) };
}

describe('StepFunctionsPrivacyStarter', () => {
  it('starts one PrivacyRequest execution named by the request id, with the ids the workflow reads', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:privacy-1`, startDate: new Date() });

    await starter.start({ tenantId: 'acme', requestId: 'privacy-1', executionName: 'privacy-1' });

    expect(sfn).toHaveReceivedCommandOnce(StartExecutionCommand);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN,
      name: 'privacy-1',
      input: JSON.stringify({ tenantId: 'acme', requestId: 'privacy-1' }),
    });
  });

  it('names a resumed execution as asked, with the same request in its input', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:privacy-1-resume-1`, startDate: new Date() });

    await starter.start({ tenantId: 'acme', requestId: 'privacy-1', executionName: 'privacy-1-resume-1' });

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: 'privacy-1-resume-1',
      input: JSON.stringify({ tenantId: 'acme', requestId: 'privacy-1' }),
    });
  });

  it('takes a refused second start of the same name as already started', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

    await expect(starter.start({ tenantId: 'acme', requestId: 'privacy-1', executionName: 'privacy-1' })).resolves.toBeUndefined();
  });

  it('lets any other failure surface', async () => {
    const { sfn, starter } = setup();
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: 'gone', $metadata: {} }));

    await expect(starter.start({ tenantId: 'acme', requestId: 'privacy-1', executionName: 'privacy-1' })).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });
});
