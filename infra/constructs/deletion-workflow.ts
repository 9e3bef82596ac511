import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  Fail,
  JsonPath,
  StateMachine,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { letheStateMachine, retryTransient } from './lethe-state-machine.js';

export interface DeletionWorkflowProps {
  /** The function serving every task of the workflow (`action`: step, fail). */
  readonly workerFunction: IFunction;
  /** Longest one attempt may take (the worker's timeout). */
  readonly stepTimeout: Duration;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/**
 * The `Deletion` state machine: finishes a manual deletion its API request
 * could not (a `DeletionTask`), one attempt per step, waiting between
 * attempts as long as the worker says (a minute, doubling, at most an hour),
 * until the worker says done. Started with the task id as the execution name,
 * so a retried start runs nothing twice. A task that ends failed ends the
 * execution failed (the `DeletionWorkFailed` alarm), after the worker has
 * e-mailed the tenant's admins.
 */
export class DeletionWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: DeletionWorkflowProps) {
    super(scope, id);
    const payload = (action: string, extra: Record<string, unknown> = {}) =>
      TaskInput.fromObject({ action, tenantId: JsonPath.stringAt('$.tenantId'), taskId: JsonPath.stringAt('$.taskId'), ...extra });
    const step = new LambdaInvoke(this, 'Delete what is left', {
      lambdaFunction: props.workerFunction,
      payload: payload('step'),
      retryOnServiceExceptions: false,
      resultSelector: { 'done.$': '$.Payload.done', 'waitSeconds.$': '$.Payload.waitSeconds', 'status.$': '$.Payload.status' },
      resultPath: '$.step',
      taskTimeout: Timeout.duration(props.stepTimeout),
    });
    retryTransient(step);
    const done = new Succeed(this, 'Deletion finished');
    const failed = new Fail(this, 'Deletion failed', { error: 'DeletionWorkFailed', cause: 'A manual deletion could not be finished; see the worker logs and the receipt.' });
    const fail = new LambdaInvoke(this, 'Record failure', {
      lambdaFunction: props.workerFunction,
      payload: payload('fail', { error: JsonPath.stringAt('$.error.Error') }),
      retryOnServiceExceptions: false,
      resultPath: JsonPath.DISCARD,
    });
    fail.addCatch(failed, { resultPath: JsonPath.DISCARD });
    fail.next(failed);
    step.addCatch(fail, { resultPath: '$.error' });
    const wait = new Wait(this, 'Wait before the next attempt', { time: WaitTime.secondsPath('$.step.waitSeconds') });
    wait.next(step);
    const more = new Choice(this, 'More to do?')
      .when(Condition.booleanEquals('$.step.done', false), wait)
      .when(Condition.stringEquals('$.step.status', 'failed'), failed)
      .otherwise(done);

    this.stateMachine = letheStateMachine(this, {
      definition: step.next(more),
      // Twelve attempts with their waits take about eight hours; a day leaves room for slow attempts.
      timeout: Duration.hours(24),
      invokes: [props.workerFunction],
      ...(props.logRetention !== undefined && { logRetention: props.logRetention }),
    });
  }
}
