import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DistributedMap,
  Fail,
  JsonPath,
  Pass,
  S3JsonItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  type IChainable,
  type INextable,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, defaultPolicyOf, findingArn } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';
import { MANIFEST_PREFIX } from '../../shared/domain/sweep/manifest.js';
import { STAGE_NAMES, STAGES, type Stage } from '../../shared/domain/catalog.js';
import { letheStateMachine, retryTransient } from './lethe-state-machine.js';

export interface SweepWorkflowProps {
  readonly listTenantsFunction: IFunction;
  readonly stageFunction: IFunction;
  readonly lifecycleFunction: IFunction;
  /** Sweep groups (of up to 25 tenants) swept in parallel: the Distributed Map's MaxConcurrency. */
  readonly tenantConcurrency: number;
  /**
   * The bucket the list step writes each execution's manifest of groups to
   * (`sweeps/<run>/groups.json`, the exports bucket), read by the Distributed
   * Map's ItemReader.
   */
  readonly manifestBucket: IBucket;
  /**
   * Share of groups whose child execution may fail before the map (and the
   * execution) fails; their tenants' receipts record the failure either way.
   * @default 10
   */
  readonly toleratedFailurePercentage?: number;
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
 * The `Sweep` state machine: list tenants in groups (of up to 25), written to
 * S3 as the run's manifest → a Distributed Map reads the groups from it
 * (ItemReader) and runs one Standard child execution per group, bounded and
 * with a tolerated-failure threshold → per group: start its tenants' runs →
 * stages 1→4, each looping on its continuation, a failed stage caught and
 * recorded → finish → alert when a run is critical → once the map is over
 * (succeeded or failed), close the run: a tenant whose group did not complete
 * it gets the failure in its receipt. The execution's own state and history
 * never carry the tenant list, so its size does not bound the tenants swept.
 * A group's chunk sweeps all its tenants at once, so deletions of small
 * tenants share full batches. Orchestrates per chunk, never per record or
 * tenant (Standard workflows cost per state transition).
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

    // A child's output is collected by the map: keep it empty (4,000 groups stay far below the 256 KB state limit).
    const groupDone = new Succeed(this, 'Group runs done', { outputPath: JsonPath.DISCARD });
    const groupNotCompleted = new Pass(this, 'Group runs not completed', { outputPath: JsonPath.DISCARD });

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
        payload: TaskInput.fromObject({ runId: JsonPath.stringAt('$$.Execution.Name'), request: JsonPath.objectAt('$') }),
        retryOnServiceExceptions: false,
        // { runId, manifest: { bucket, key }, groups, dryRun }
        outputPath: '$.Payload',
      }),
    );
    const tolerated = props.toleratedFailurePercentage ?? 10;
    if (!(tolerated >= 0 && tolerated <= 100)) throw new ValidationError(`toleratedFailurePercentage must be between 0 and 100, got ${tolerated}`, this);
    const sweepGroups = new DistributedMap(this, 'Sweep groups', {
      itemReader: new S3JsonItemReader({
        bucketNamePath: JsonPath.stringAt('$.manifest.bucket'),
        key: JsonPath.stringAt('$.manifest.key'),
      }),
      mapExecutionType: StateMachineType.STANDARD,
      maxConcurrency: props.tenantConcurrency,
      toleratedFailurePercentage: tolerated,
      label: 'SweepGroups',
      itemSelector: {
        tenantIds: JsonPath.listAt('$$.Map.Item.Value.tenantIds'),
        runId: JsonPath.stringAt('$.runId'),
        dryRun: JsonPath.stringAt('$.dryRun'),
      },
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(perGroup);

    const close = (name: string) =>
      retrying(
        new LambdaInvoke(this, name, {
          lambdaFunction: lifecycleFunction,
          payload: TaskInput.fromObject({
            action: 'close',
            runId: JsonPath.stringAt('$.runId'),
            manifest: JsonPath.objectAt('$.manifest'),
            dryRun: JsonPath.stringAt('$.dryRun'),
          }),
          retryOnServiceExceptions: false,
          resultPath: JsonPath.DISCARD,
        }),
      );
    sweepGroups.addCatch(
      close('Close runs after failure').next(new Fail(this, 'Sweep groups failed', { error: 'SweepGroupsFailed', cause: 'More sweep groups failed than tolerated; their receipts say so' })),
      { resultPath: '$.mapError' },
    );

    this.stateMachine = letheStateMachine(this, {
      definition: listTenants.next(sweepGroups).next(close('Close runs')).next(new Succeed(this, 'Sweep done')),
      timeout: props.timeout ?? Duration.hours(12),
      invokes: [props.listTenantsFunction, stageFunction, lifecycleFunction],
      ...(props.logRetention !== undefined && { logRetention: props.logRetention }),
    });
    // The ItemReader reads the run's manifest (the bucket comes from the list step, so CDK grants nothing by itself).
    BucketGrants.fromBucket(props.manifestBucket).actionsOnObjectKeys(this.stateMachine, `${MANIFEST_PREFIX}*`, 's3:GetObject', 'kms:Decrypt');
    this.acknowledgeDistributedMapFindings(props.manifestBucket);
  }

  /**
   * The wildcards a Distributed Map needs: its ItemReader reads any run's
   * manifest under `sweeps/`, and the map starts, describes, stops and redrives
   * its own child executions, whose names Step Functions makes up.
   */
  private acknowledgeDistributedMapFindings(manifestBucket: IBucket): void {
    const machine = this.stateMachine;
    acknowledge(
      defaultPolicyOf(machine.role),
      `AwsSolutions-IAM5[Resource::${findingArn(machine, manifestBucket.bucketArn, manifestBucket)}/${MANIFEST_PREFIX}*]`,
      'The Distributed Map reads the manifest of the running sweep; its key holds the run id, known only at run time (tenant ids only, in the exports bucket).',
    );
    const logicalId = Stack.of(machine).getLogicalId(machine.node.defaultChild as CfnElement);
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}`;
    const policy = machine.node.tryFindChild('DistributedMapPolicy')?.node.defaultChild;
    const reason = 'A Distributed Map starts, describes, stops and redrives its own child executions (of this state machine only), named by Step Functions at run time.';
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${executions}:*]`, reason);
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${executions}/SweepGroups:*]`, reason);
  }
}
