import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  JsonPath,
  Map as MapState,
  Pass,
  StateMachine,
  Succeed,
  TaskInput,
  Timeout,
  type IChainable,
  type INextable,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STAGE_NAMES, STAGES, type Stage } from '../../shared/domain/catalog.js';
import { letheStateMachine, retryTransient } from './lethe-state-machine.js';

export interface SweepWorkflowProps {
  readonly listTenantsFunction: IFunction;
  readonly stageFunction: IFunction;
  readonly lifecycleFunction: IFunction;
  /** Sweep groups (of up to 25 tenants) swept in parallel: the Map's MaxConcurrency. */
  readonly tenantConcurrency: number;
  /** Longest one stage chunk may take (the stage function's timeout). */
  readonly stageTimeout: Duration;
  /**
   * Longest a whole sweep may run.
   * @default Duration.hours(12)
   */
  readonly timeout?: Duration;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/**
 * The `Sweep` state machine: list tenants in groups (of up to 25) → Map over
 * the groups (bounded) → per group: start its tenants' runs → stages 1→4, each
 * looping on its continuation, a failed stage caught and recorded → finish →
 * alert when a run is critical. A group's chunk sweeps all its tenants at once,
 * so deletions of small tenants share full batches. Orchestrates per chunk,
 * never per record or tenant (Standard workflows cost per state transition).
 */
export class SweepWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly listTenantsFunction: IFunction;
  readonly stageFunction: IFunction;
  readonly lifecycleFunction: IFunction;

  constructor(scope: Construct, id: string, props: SweepWorkflowProps) {
    super(scope, id);
    const { lifecycleFunction, stageFunction } = props;
    this.listTenantsFunction = props.listTenantsFunction;
    this.stageFunction = stageFunction;
    this.lifecycleFunction = lifecycleFunction;

    const retrying = <T extends LambdaInvoke>(task: T): T => (retryTransient(task), task);
    const lifecycle = (name: string, payload: Record<string, unknown>, resultSelector?: Record<string, string>) =>
      retrying(
        new LambdaInvoke(this, name, {
          lambdaFunction: lifecycleFunction,
          payload: TaskInput.fromObject({
            tenantIds: JsonPath.listAt('$.tenantIds'),
            runId: JsonPath.stringAt('$.runId'),
            ...payload,
          }),
          retryOnServiceExceptions: false,
          ...(resultSelector === undefined
            ? { resultPath: JsonPath.DISCARD }
            : { resultSelector, resultPath: '$.outcome' }),
        }),
      );

    const runState = (continuation: string) => ({
      tenantIds: JsonPath.listAt('$.tenantIds'),
      runId: JsonPath.stringAt('$.runId'),
      dryRun: JsonPath.stringAt('$.dryRun'),
      continuation,
    });

    const groupDone = new Succeed(this, 'Group runs done');
    const groupNotCompleted = new Pass(this, 'Group runs not completed');

    const finish = lifecycle('Finish runs', { action: 'finish' }, { 'critical.$': '$.Payload.critical' });
    const alert = lifecycle('Alert admins', { action: 'alert' });
    finish.addCatch(groupNotCompleted, { resultPath: '$.error' });
    alert.addCatch(groupNotCompleted, { resultPath: '$.error' });
    finish.next(
      new Choice(this, 'Critical?')
        .when(Condition.booleanEquals('$.outcome.critical', true), alert.next(groupDone))
        .otherwise(groupDone),
    );

    // Stages are built last to first, so each knows where to go next.
    let next: IChainable & INextable = finish;
    let nextEntry: IChainable = finish;
    for (const stage of [...STAGES].reverse() as Stage[]) {
      const label = `Stage ${stage} ${STAGE_NAMES[stage]}`;
      const entry = new Pass(this, `${label}: begin`, { parameters: runState('') });
      const chunk = retrying(
        new LambdaInvoke(this, label, {
          lambdaFunction: stageFunction,
          payload: TaskInput.fromObject({
            tenantIds: JsonPath.listAt('$.tenantIds'),
            runId: JsonPath.stringAt('$.runId'),
            stage,
            continuation: JsonPath.stringAt('$.continuation'),
          }),
          retryOnServiceExceptions: false,
          // Later than the function's own timeout: a retry must never start while the attempt still runs.
          taskTimeout: Timeout.duration(props.stageTimeout.plus(Duration.minutes(1))),
          resultSelector: { 'done.$': '$.Payload.done', 'continuation.$': '$.Payload.continuation' },
          resultPath: '$.chunk',
        }),
      );
      const failed = lifecycle(`${label}: record failure`, {
        action: 'stageFailed',
        stage,
        error: JsonPath.stringAt('$.error.Error'),
      });
      failed.addCatch(nextEntry, { resultPath: JsonPath.DISCARD });
      chunk.addCatch(failed.next(nextEntry), { resultPath: '$.error' });
      const again = new Pass(this, `${label}: continue`, {
        parameters: runState(JsonPath.stringAt('$.chunk.continuation')),
      });
      entry.next(chunk);
      chunk.next(
        new Choice(this, `${label}: done?`)
          .when(Condition.booleanEquals('$.chunk.done', true), nextEntry)
          .otherwise(again.next(chunk)),
      );
      nextEntry = entry;
      next = entry;
    }
    void next;

    const start = lifecycle('Start runs', { action: 'start', dryRun: JsonPath.stringAt('$.dryRun') });
    start.addCatch(groupNotCompleted, { resultPath: '$.error' });
    const perGroup = start.next(nextEntry);

    const listTenants = retrying(
      new LambdaInvoke(this, 'List tenants', {
        lambdaFunction: props.listTenantsFunction,
        payload: TaskInput.fromJsonPathAt('$'),
        retryOnServiceExceptions: false,
        outputPath: '$.Payload',
      }),
    );
    const sweepGroups = new MapState(this, 'Sweep groups', {
      itemsPath: JsonPath.stringAt('$.groups'),
      maxConcurrency: props.tenantConcurrency,
      itemSelector: {
        tenantIds: JsonPath.listAt('$$.Map.Item.Value.tenantIds'),
        runId: JsonPath.stringAt('$$.Execution.Name'),
        dryRun: JsonPath.stringAt('$.dryRun'),
      },
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(perGroup);

    this.stateMachine = letheStateMachine(this, {
      definition: listTenants.next(sweepGroups).next(new Succeed(this, 'Sweep done')),
      timeout: props.timeout ?? Duration.hours(12),
      invokes: [props.listTenantsFunction, stageFunction, lifecycleFunction],
      ...(props.logRetention !== undefined && { logRetention: props.logRetention }),
    });
  }
}
