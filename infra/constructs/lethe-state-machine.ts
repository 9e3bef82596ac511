import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, JitterType, LogLevel, StateMachine, StateMachineType, type IChainable } from 'aws-cdk-lib/aws-stepfunctions';
import type { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { acknowledgeWorkflowFindings } from '../acknowledgements.js';

/** Errors a Lambda task is retried on: the service's own and throttling, never our failures. */
export const RETRYABLE_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.Unknown',
  'Sandbox.Timedout',
  'States.Timeout',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
];

/** Retries a task on transient errors with capped, fully jittered exponential backoff (a chunk is idempotent). */
export function retryTransient(task: LambdaInvoke): LambdaInvoke {
  task.addRetry({
    errors: RETRYABLE_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    maxDelay: Duration.seconds(60),
    jitterStrategy: JitterType.FULL,
  });
  return task;
}

export interface LetheStateMachineProps {
  readonly definition: IChainable;
  readonly timeout: Duration;
  /** The functions its tasks invoke (for the cdk-nag acknowledgements of its role). */
  readonly invokes: readonly IFunction[];
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/**
 * A Standard state machine as every Lethe workflow has it: traced, logging
 * every event without execution data (inputs and outputs can name subjects),
 * its log group beside it. Creates `Logs` and `StateMachine` in `scope`.
 */
export function letheStateMachine(scope: Construct, props: LetheStateMachineProps): StateMachine {
  const logGroup = new LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stateMachine = new StateMachine(scope, 'StateMachine', {
    stateMachineType: StateMachineType.STANDARD,
    definitionBody: DefinitionBody.fromChainable(props.definition),
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
  });
  acknowledgeWorkflowFindings(stateMachine, props.invokes);
  return stateMachine;
}
