import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledgements.js';
import { keepLogicalIdsOfChildren } from '../logical-ids.js';
import type { LetheFunction } from './lethe-function.js';
import { STATE_MACHINE_VARIABLES, type FunctionAccess, type LetheRuntime } from './lethe-runtime.js';
import { SweepWorkflow } from './sweep-workflow.js';

/** Governed objects and their keys, as the sweep meets them. */
const GOVERNED_OBJECTS = 'Governed objects are keyed <prefix>/<tenant>/<subject>/<id>; the sweep may delete any of them once due.';

/** The run manifests: tenant ids per group, written by the lister, read by the Distributed Map and the closing step. */
const SWEEP_MANIFESTS = 'Sweep manifests are keyed sweeps/<run>/groups.json in the exports bucket (tenant ids only); the run id is known only at run time.';

/**
 * Least privilege per sweep function: the lister reads control data and
 * writes the run's manifest; the stage deletes records and blobs and writes
 * receipts; the lifecycle writes receipts, sends alerts and reads the manifest
 * to close the run.
 */
export const SWEEP_ACCESS = {
  listTenants: {
    tables: { control: { access: 'read' } },
    buckets: { exports: { access: ['put'], objectUse: SWEEP_MANIFESTS } },
    readsReferenceSecret: true,
  },
  stage: {
    tables: {
      records: { access: 'readWrite', indexUse: 'A sweep queries the byRetention and byIdentifier indexes of the records table.' },
      control: { access: 'readWrite' },
    },
    buckets: {
      recordings: { access: ['delete'], objectUse: GOVERNED_OBJECTS },
      media: { access: ['delete'], objectUse: GOVERNED_OBJECTS },
    },
    readsReferenceSecret: true,
    // RecordsDeleted, KeysShredded, HoldReleased (expired holds).
    publishesEvents: true,
  },
  lifecycle: {
    tables: { control: { access: 'readWrite' } },
    buckets: { exports: { access: ['read'], objectUse: SWEEP_MANIFESTS } },
    readsReferenceSecret: true,
    sendsMail: true,
    // RunCompleted, KeysShredded (epoch keys).
    publishesEvents: true,
  },
} as const satisfies Record<string, FunctionAccess>;

export interface SweepServiceProps {
  /** The stores, settings and platform policy (its sweep cadence and tenant concurrency) the functions run against. */
  readonly runtime: LetheRuntime;
  /** Where each run's manifest of tenant groups goes (the exports bucket: not governed, not guarded, every object expires after 7 days). */
  readonly manifestBucket: IBucket;
}

/**
 * The retention sweep: its three functions (list tenants, stage chunk,
 * lifecycle) with their grants, the `Sweep` state machine, and the schedule
 * that starts it at the profile's cadence, with a dead-letter queue.
 */
export class SweepService extends Construct {
  readonly listTenantsFunction: IFunction;
  readonly stageFunction: IFunction;
  private readonly stage: LetheFunction;
  readonly lifecycleFunction: IFunction;
  readonly workflow: SweepWorkflow;
  readonly stateMachine: StateMachine;
  readonly schedule: Schedule;
  readonly scheduleDeadLetterQueue: Queue;
  /** The functions whose errors alarm, by the name the alarms carry. */
  readonly functions: Readonly<Record<string, IFunction>>;

  constructor(scope: Construct, id: string, props: SweepServiceProps) {
    super(scope, id);
    // These resources were the stateless stack's own before this construct gathered them.
    keepLogicalIdsOfChildren(this);
    const { runtime } = props;
    const { sweep } = runtime.platformPolicy;

    this.listTenantsFunction = runtime.newFunction(this, 'SweepListTenants', {
      functionDir: 'sweep-list-tenants',
      description: 'Lethe sweep: lists the tenants a run covers',
      access: SWEEP_ACCESS.listTenants,
    }).function;
    const stageTimeout = runtime.stageBudget.plus(Duration.minutes(2));
    this.stage = runtime.newFunction(this, 'SweepStage', {
      functionDir: 'sweep-stage',
      description: 'Lethe sweep: deletes one chunk of one stage for a group of tenant runs',
      memorySizeMb: 1024,
      timeout: stageTimeout,
      access: SWEEP_ACCESS.stage,
    });
    this.stageFunction = this.stage.function;
    this.lifecycleFunction = runtime.newFunction(this, 'SweepLifecycle', {
      functionDir: 'sweep-lifecycle',
      description: 'Lethe sweep: opens, finishes and alerts on the tenant runs of a group',
      access: SWEEP_ACCESS.lifecycle,
    }).function;

    this.workflow = new SweepWorkflow(this, 'Sweep', {
      listTenantsFunction: this.listTenantsFunction,
      stageFunction: this.stageFunction,
      lifecycleFunction: this.lifecycleFunction,
      tenantConcurrency: sweep.tenantConcurrency,
      manifestBucket: props.manifestBucket,
      stageTimeout,
    });
    this.stateMachine = this.workflow.stateMachine;

    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.scheduleDeadLetterQueue.node.defaultChild, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the sweep schedule.');
    this.schedule = new Schedule(this, 'SweepSchedule', {
      description: `Lethe retention sweep every ${sweep.cadenceMinutes} minutes`,
      schedule: ScheduleExpression.rate(Duration.minutes(sweep.cadenceMinutes)),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ dryRun: false }),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 5,
        maxEventAge: Duration.hours(1),
      }),
    });

    this.functions = { SweepStage: this.stageFunction, SweepLifecycle: this.lifecycleFunction, SweepListTenants: this.listTenantsFunction };
  }

  /**
   * Lets a run's first stage chunk release the legal holds that expired since
   * the last run: it starts their `Hold` release executions (backstops and
   * blob legal holds go back on, deferred erasures resume).
   */
  releaseExpiredHoldsWith(holdStateMachine: IStateMachine): void {
    this.stage.bindStateMachine(holdStateMachine, { envVar: STATE_MACHINE_VARIABLES.hold, access: 'start' });
  }
}
