import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_BLOB_GUARD_SETTLE_MS } from '../../shared/app/blob-guard.js';
import { acknowledge } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';
import type { FunctionAccess, LetheRuntime } from './lethe-runtime.js';

const GUARDED_OBJECTS =
  'Uploads land at quarantine/<prefix>/<tenant>/<subject>/<id>, a key an upload URL names; the guard reads one, seals it into place at <prefix>/<tenant>/<subject>/<id> ' +
  'if its record still exists, and deletes (every version of) the upload, and of any object no record points to.';

/**
 * What the blob guard may do: read one customer's partition by key and the
 * tenant's legal holds; read an
 * upload in quarantine, put it sealed at its final key (under its record's
 * keys: keys table and shredding key come with the records access), and
 * delete objects of the recordings and media buckets with every version
 * (listing versions to find them). No legal holds, no other bucket.
 */
export const BLOB_GUARD_ACCESS = {
  tables: {
    records: {
      access: 'read',
      indexUse: "CDK's read grant covers the records table's indexes; the guard only queries one customer's partition by its key.",
    },
    // The tenant's legal holds: an upload over a held blob is refused.
    control: { access: 'read' },
  },
  buckets: {
    recordings: { access: ['read', 'put', 'delete'], objectUse: GUARDED_OBJECTS },
    media: { access: ['read', 'put', 'delete'], objectUse: GUARDED_OBJECTS },
  },
} as const satisfies FunctionAccess;

export interface BlobGuardServiceProps {
  readonly runtime: LetheRuntime;
  /** The buckets whose created objects are checked (recordings and media); they must send their events to EventBridge. */
  readonly buckets: readonly IBucket[];
  /**
   * Longest one check may take (the function's timeout); it must leave room
   * for the settling wait (`DEFAULT_BLOB_GUARD_SETTLE_MS`) and two reads.
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;
}

/**
 * An upload URL cannot outlive its record: every `Object Created` event of
 * the recordings and media buckets reaches the blob guard through an
 * EventBridge rule (the buckets, in the stateful stack, only turn EventBridge
 * on, so nothing refers back to this stack). Events the guard could not
 * handle after the retries land in a dead-letter queue, as do those the rule
 * could not deliver.
 */
export class BlobGuardService extends Construct {
  readonly guardFunction: IFunction;
  readonly rule: Rule;
  readonly deadLetterQueue: Queue;
  /** The functions whose errors alarm, by the name the alarms carry. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The dead-letter queues that alarm when a message arrives, by the name the alarms carry. */
  readonly deadLetterQueues: Readonly<Record<string, Queue>>;

  constructor(scope: Construct, id: string, props: BlobGuardServiceProps) {
    super(scope, id);
    if (props.buckets.length === 0) throw new ValidationError('buckets: name at least one bucket to guard', this);
    const timeout = props.timeout ?? Duration.minutes(2);
    if (timeout.toMilliseconds() < DEFAULT_BLOB_GUARD_SETTLE_MS + 30_000) {
      throw new ValidationError(`timeout: the guard waits up to ${DEFAULT_BLOB_GUARD_SETTLE_MS / 1000} s for an ingest to write its records; give it at least 30 s more`, this);
    }
    const guard = props.runtime.newFunction(this, 'BlobGuard', {
      functionDir: 'blob-guard',
      description: 'Lethe blob guard: deletes a created recording or media object that no record points to',
      memorySizeMb: 256,
      timeout,
      access: BLOB_GUARD_ACCESS,
    });
    this.guardFunction = guard.function;

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.deadLetterQueue.node.defaultChild, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the blob guard.');
    guard.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SqsDestination(this.deadLetterQueue) });

    this.rule = new Rule(this, 'ObjectCreated', {
      description: 'Lethe blob guard: objects created in the recordings and media buckets (quarantined uploads and any other key)',
      // No key filter: uploads arrive under quarantine/, and an object anywhere else that no record points to must go too.
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: props.buckets.map((b) => b.bucketName) } },
      },
      targets: [new LambdaFunction(guard.function, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(6) })],
    });
    this.functions = { BlobGuard: guard.function };
    this.deadLetterQueues = { BlobGuard: this.deadLetterQueue };
  }
}
