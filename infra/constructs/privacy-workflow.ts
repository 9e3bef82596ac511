import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  JitterType,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Choice,
  Condition,
  Succeed,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWorkflowFindings } from '../acknowledgements.js';
import { RETRYABLE_ERRORS } from './sweep-workflow.js';

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
      t.addRetry({
        errors: RETRYABLE_ERRORS,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(60),
        jitterStrategy: JitterType.FULL,
      });
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

    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(start.next(execute).next(more)),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeWorkflowFindings(this.stateMachine, [props.workerFunction]);
  }
}
