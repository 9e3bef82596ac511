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
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { letheStateMachine, retryTransient } from './lethe-state-machine.js';

export interface HoldWorkflowProps {
  /** The function serving every task of the workflow (`action`: step, fail). */
  readonly workerFunction: IFunction;
  /** Longest one step may take (the worker's timeout). */
  readonly stepTimeout: Duration;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/**
 * The `Hold` state machine: applies a legal hold to the stored records, or
 * releases it, one chunk per step until the worker says done (started with
 * `<holdId>-apply` or `<holdId>-release` as the execution name, so a retried
 * start runs nothing twice). A failure is logged and the execution ends
 * failed (an alarm); the hold itself is in force from its creation to its
 * release whatever its work's state.
 */
export class HoldWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: HoldWorkflowProps) {
    super(scope, id);
    const payload = (action: string, extra: Record<string, unknown> = {}) =>
      TaskInput.fromObject({ action, tenantId: JsonPath.stringAt('$.tenantId'), holdId: JsonPath.stringAt('$.holdId'), ...extra });
    const step = new LambdaInvoke(this, 'Work on the records', {
      lambdaFunction: props.workerFunction,
      payload: payload('step'),
      retryOnServiceExceptions: false,
      resultSelector: { 'done.$': '$.Payload.done' },
      resultPath: '$.step',
      taskTimeout: Timeout.duration(props.stepTimeout),
    });
    retryTransient(step);
    const done = new Succeed(this, 'Hold work done');
    // The execution ends failed, so the HoldWorkFailed alarm fires; the hold itself stays in force.
    const failed = new Fail(this, 'Hold work failed', { error: 'HoldWorkFailed', cause: 'The hold worker failed; see its logs.' });
    const fail = new LambdaInvoke(this, 'Record failure', {
      lambdaFunction: props.workerFunction,
      payload: payload('fail', { error: JsonPath.stringAt('$.error.Error') }),
      retryOnServiceExceptions: false,
      resultPath: JsonPath.DISCARD,
    });
    fail.addCatch(failed, { resultPath: JsonPath.DISCARD });
    fail.next(failed);
    step.addCatch(fail, { resultPath: '$.error' });
    const more = new Choice(this, 'More to do?').when(Condition.booleanEquals('$.step.done', false), step).otherwise(done);

    this.stateMachine = letheStateMachine(this, {
      definition: step.next(more),
      timeout: Duration.hours(24),
      invokes: [props.workerFunction],
      ...(props.logRetention !== undefined && { logRetention: props.logRetention }),
    });
  }
}
