import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DeletionWorkflow } from './deletion-workflow.js';
import type { FunctionAccess, LetheRuntime } from './lethe-runtime.js';

const CUSTOMER_OBJECTS = 'Governed objects are keyed <prefix>/<tenant>/<subject>/<id>; a manual deletion deletes those of the records it reaches.';

/**
 * What the deletion worker may do: read a task's roots and what lies under
 * them, delete records and blobs (every version), call the tenant's providers,
 * and keep the task, its receipts and the alert e-mail.
 */
export const DELETION_WORKER_ACCESS = {
  tables: {
    records: {
      access: 'readWrite',
      indexUse: 'A manual deletion reads its roots by key and the partitions under them; it queries no index.',
    },
    control: { access: 'readWrite' },
  },
  buckets: {
    recordings: { access: ['delete'], objectUse: CUSTOMER_OBJECTS },
    media: { access: ['delete'], objectUse: CUSTOMER_OBJECTS },
  },
  readsReferenceSecret: true,
  sendsMail: true,
  publishesEvents: true,
} as const satisfies FunctionAccess;

export interface DeletionServiceProps {
  readonly runtime: LetheRuntime;
  /**
   * Longest one attempt may take (the worker's timeout).
   * @default Duration.minutes(15)
   */
  readonly stepTimeout?: Duration;
}

/**
 * Manual deletions' work outside the API request: the worker function with
 * its grants and the `Deletion` state machine that retries what a request
 * left (a silent provider, a throttled table, a subject too large for 29 s).
 * The admin API's customers function starts executions.
 */
export class DeletionService extends Construct {
  readonly workerFunction: IFunction;
  readonly stateMachine: StateMachine;
  /** The functions whose errors alarm, by the name the alarms carry. */
  readonly functions: Readonly<Record<string, IFunction>>;

  constructor(scope: Construct, id: string, props: DeletionServiceProps) {
    super(scope, id);
    const stepTimeout = props.stepTimeout ?? Duration.minutes(15);
    this.workerFunction = props.runtime.newFunction(this, 'DeletionWorker', {
      functionDir: 'deletion-worker',
      description: 'Lethe manual deletions: finishes what a DELETE request could not, attempt by attempt',
      memorySizeMb: 1024,
      timeout: stepTimeout,
      access: DELETION_WORKER_ACCESS,
    }).function;
    this.stateMachine = new DeletionWorkflow(this, 'Deletion', { workerFunction: this.workerFunction, stepTimeout }).stateMachine;
    this.functions = { DeletionWorker: this.workerFunction };
  }
}
