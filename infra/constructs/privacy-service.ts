import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { keepLogicalIdsOfChildren } from '../logical-ids.js';
import type { FunctionAccess, LetheRuntime } from './lethe-runtime.js';
import { PrivacyWorkflow } from './privacy-workflow.js';

const SUBJECT_OBJECTS =
  "Governed objects are keyed <prefix>/<tenant>/<subject>/<id>; a privacy request reads (links) and deletes those of its subjects.";

/**
 * What the privacy worker may do. Erasure and anonymisation go through the
 * deletion path (records, blobs and their versions); access writes the export
 * and builds download links to it and to the subject's blobs; every kind updates the
 * request, writes a receipt, and e-mails the requester.
 */
export const PRIVACY_WORKER_ACCESS = {
  tables: {
    records: {
      access: 'readWrite',
      indexUse:
        'A privacy request finds its subjects through the byIdentifier index and, for a bulk erasure, the byRetention index of the records table.',
    },
    control: { access: 'readWrite' },
  },
  buckets: {
    recordings: { access: ['read', 'delete'], objectUse: SUBJECT_OBJECTS },
    media: { access: ['read', 'delete'], objectUse: SUBJECT_OBJECTS },
    exports: {
      access: ['put', 'read'],
      objectUse:
        'Access exports are written as exports/<tenant>/<requestId>.json, a key known only once the request exists; the worker writes and pre-signs them.',
    },
  },
  readsReferenceSecret: true,
  sendsMail: true,
  // An access export's link is a download link of the API.
  buildsDownloadLinks: true,
  // RecordsDeleted, SubjectErased, SubjectAnonymised, KeysShredded.
  publishesEvents: true,
} as const satisfies FunctionAccess;

export interface PrivacyServiceProps {
  /** The stores and settings the worker runs against. */
  readonly runtime: LetheRuntime;
  /**
   * Longest one privacy-request step may take (the worker's timeout).
   * @default Duration.minutes(15), the Lambda maximum, for a large subject's erasure
   */
  readonly stepTimeout?: Duration;
}

/**
 * Privacy requests: the worker function with its grants and the
 * `PrivacyRequest` state machine that runs each request (start, execute,
 * notify). The admin API's privacy and holds functions start executions.
 */
export class PrivacyService extends Construct {
  readonly workerFunction: IFunction;
  readonly workflow: PrivacyWorkflow;
  readonly stateMachine: StateMachine;
  /** The functions whose errors alarm, by the name the alarms carry. */
  readonly functions: Readonly<Record<string, IFunction>>;

  constructor(scope: Construct, id: string, props: PrivacyServiceProps) {
    super(scope, id);
    // These resources were the stateless stack's own before this construct gathered them.
    keepLogicalIdsOfChildren(this);
    const stepTimeout = props.stepTimeout ?? Duration.minutes(15);

    this.workerFunction = props.runtime.newFunction(this, 'PrivacyWorker', {
      functionDir: 'privacy-worker',
      description: 'Lethe privacy requests: starts, executes (erasure, access export, anonymisation), records failures, notifies',
      memorySizeMb: 1024,
      timeout: stepTimeout,
      access: PRIVACY_WORKER_ACCESS,
    }).function;
    this.workflow = new PrivacyWorkflow(this, 'PrivacyRequest', { workerFunction: this.workerFunction, stepTimeout });
    this.stateMachine = this.workflow.stateMachine;
    this.functions = { PrivacyWorker: this.workerFunction };
  }
}
