import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { HoldWorkflow } from './hold-workflow.js';
import { STATE_MACHINE_VARIABLES, type FunctionAccess, type LetheRuntime } from './lethe-runtime.js';

const HELD_OBJECTS =
  'A hold sets and clears Object Lock legal holds on the blobs of the records in its scope, keyed <prefix>/<tenant>/<subject>/<id>.';

/**
 * What the hold worker may do: find the records in a hold's scope, take their
 * TTL backstops off or put them back, set and clear their blobs' legal holds,
 * and keep the hold's progress in the control table.
 */
export const HOLD_WORKER_ACCESS = {
  tables: {
    records: {
      access: 'readWrite',
      indexUse:
        'Applying or releasing a hold finds the records in its scope through the byIdentifier index (customer, conversation, call) or the byRetention index (category, whole tenant).',
    },
    control: { access: 'readWrite' },
  },
  buckets: {
    recordings: { access: ['legalHold'], objectUse: HELD_OBJECTS },
    media: { access: ['legalHold'], objectUse: HELD_OBJECTS },
  },
} as const satisfies FunctionAccess;

export interface HoldServiceProps {
  readonly runtime: LetheRuntime;
  /** The `PrivacyRequest` state machine: a finished release resumes the erasures the hold deferred. */
  readonly privacyStateMachine: IStateMachine;
  /**
   * Longest one step may take (the worker's timeout).
   * @default Duration.minutes(15)
   */
  readonly stepTimeout?: Duration;
}

/**
 * Legal holds' work on the stored records, outside any API request: the
 * worker function with its grants and the `Hold` state machine that runs it
 * in chunks. The admin API's holds function starts executions.
 */
export class HoldService extends Construct {
  readonly workerFunction: IFunction;
  readonly stateMachine: StateMachine;
  /** The functions whose errors alarm, by the name the alarms carry. */
  readonly functions: Readonly<Record<string, IFunction>>;

  constructor(scope: Construct, id: string, props: HoldServiceProps) {
    super(scope, id);
    const stepTimeout = props.stepTimeout ?? Duration.minutes(15);
    const worker = props.runtime.newFunction(this, 'HoldWorker', {
      functionDir: 'hold-worker',
      description: 'Lethe legal holds: applies and releases a hold on the stored records, in chunks',
      memorySizeMb: 1024,
      timeout: stepTimeout,
      access: HOLD_WORKER_ACCESS,
    });
    worker.bindStateMachine(props.privacyStateMachine, { envVar: STATE_MACHINE_VARIABLES.privacy, access: 'start' });
    this.workerFunction = worker.function;
    this.stateMachine = new HoldWorkflow(this, 'Hold', { workerFunction: this.workerFunction, stepTimeout }).stateMachine;
    this.functions = { HoldWorker: this.workerFunction };
  }
}
