import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  JsonPath,
  StateMachine,
  Choice,
  Condition,
  Succeed,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { letheStateMachine, retryTransient } from './lethe-state-machine.js';

export interface PrivacyWorkflowProps {
  /** The function serving every task of the workflow (`action`: start, execute, fail, notify). */
  readonly workerFunction: IFunction;
  /** Longest one execution step may take (the worker's timeout). */
  readonly stepTimeout: Duration;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/**
 * The `PrivacyRequest` state machine, started with the request id as the
 * execution name so a retried start never runs a request twice: start →
 * execute (resolve, holds and open conversations, blobs, records, receipt —
 * one use case per kind, on the shared deletion path) → notify the requester.
 * A failure is recorded on the request and still notified.
 */
export class PrivacyWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly workerFunction: IFunction;

  constructor(scope: Construct, id: string, props: PrivacyWorkflowProps) {
    super(scope, id);
    this.workerFunction = props.workerFunction;
    const task = (name: string, action: string, extra: Record<string, unknown> = {}, timeout?: Duration, resultPath: string = JsonPath.DISCARD) => {
      const t = new LambdaInvoke(this, name, {
        lambdaFunction: props.workerFunction,
        payload: TaskInput.fromObject({
          action,
          tenantId: JsonPath.stringAt('$.tenantId'),
          requestId: JsonPath.stringAt('$.requestId'),
          ...extra,
        }),
        retryOnServiceExceptions: false,
        ...(resultPath !== JsonPath.DISCARD && { resultSelector: { 'done.$': '$.Payload.done' } }),
        resultPath,
        ...(timeout === undefined ? {} : { taskTimeout: Timeout.duration(timeout) }),
      });
      retryTransient(t);
      return t;
    };
    const done = new Succeed(this, 'Request done');
    const notify = task('Notify requester', 'notify');
    notify.addCatch(done, { resultPath: JsonPath.DISCARD });
    notify.next(done);
    const fail = task('Record failure', 'fail', { error: JsonPath.stringAt('$.error.Error') });
    fail.addCatch(notify, { resultPath: JsonPath.DISCARD });
    fail.next(notify);
    const start = task('Start request', 'start');
    // A chunk works until its deadline and says whether the request is done; the next chunk goes on from where it stopped.
    const execute = task('Execute request', 'execute', {}, props.stepTimeout, '$.execution');
    start.addCatch(fail, { resultPath: '$.error' });
    execute.addCatch(fail, { resultPath: '$.error' });
    const more = new Choice(this, 'More to do?').when(Condition.booleanEquals('$.execution.done', false), execute).otherwise(notify);

    this.stateMachine = letheStateMachine(this, {
      definition: start.next(execute).next(more),
      timeout: Duration.hours(6),
      invokes: [props.workerFunction],
      ...(props.logRetention !== undefined && { logRetention: props.logRetention }),
    });
  }
}
