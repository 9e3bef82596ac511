import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Statistic,
  TextWidget,
  TreatMissingData,
  type IAlarmAction,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Key } from 'aws-cdk-lib/aws-kms';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RETENTION_INDEX_NAME } from '../../shared/adapters/table-definitions.js';

/** CloudWatch alarm windows may span at most 7 days. */
const MAX_ALARM_WINDOW_MINUTES = 7 * 24 * 60;

export interface LetheMonitoringProps {
  readonly sweepStateMachine: IStateMachine;
  readonly privacyStateMachine?: IStateMachine;
  readonly holdStateMachine?: IStateMachine;
  readonly deletionStateMachine?: IStateMachine;
  /** Functions whose errors alarm (the sweep stage, lifecycle, privacy worker …). */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly scheduleDeadLetterQueue: IQueue;
  /**
   * Other dead-letter queues (events or invocations that failed after their
   * retries), by the name their alarm carries: `<name>DeadLetters`.
   * @default - none
   */
  readonly deadLetterQueues?: Readonly<Record<string, IQueue>>;
  /**
   * The records table: its retention index alarms when writes to it are
   * throttled (a tenant that needs more write shards).
   * @default no index alarm
   */
  readonly recordsTable?: ITable;
  /** The profile's sweep cadence, in minutes. */
  readonly cadenceMinutes: number;
  /** The profile's grace, in hours. */
  readonly graceHours: number;
  /** Addresses subscribed to the alarm topic. */
  readonly alarmEmails: readonly string[];
  readonly dashboardName: string;
}

/**
 * Operator view of Lethe: alarms on failed sweeps, function errors, schedule
 * and other dead letters (the blob guard's), retention-index write throttling and deletion lag (no
 * successful sweep within cadence + grace),
 * sent to an encrypted SNS topic; and one dashboard.
 */
export class LetheMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Readonly<Record<string, Alarm>>;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: LetheMonitoringProps) {
    super(scope, id);
    // CloudWatch must be able to use the key to publish alarms to the encrypted topic.
    const topicKey = new Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'Lethe: encrypts the alarm topic' });
    topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Lethe alarms', masterKey: topicKey, enforceSSL: true });
    for (const email of props.alarmEmails) this.topic.addSubscription(new EmailSubscription(email));
    const action: IAlarmAction = new SnsAction(this.topic);
    const alarms: Record<string, Alarm> = {};
    const add = (name: string, alarm: Alarm) => {
      alarm.addAlarmAction(action);
      alarms[name] = alarm;
    };

    /** An alarm on any occurrence (sum ≥ 1 in 5 minutes) of a count metric. */
    const onAny = (name: string, description: string, metric: IMetric) =>
      add(
        name,
        new Alarm(this, name, {
          alarmDescription: description,
          metric,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    const every5Min = { period: Duration.minutes(5), statistic: Statistic.SUM };

    const sweep = props.sweepStateMachine;
    onAny('SweepFailed', 'A Sweep execution failed, timed out or was aborted: retention deadlines may be missed.', sweep.metricFailed(every5Min));
    onAny('SweepTimedOut', 'A Sweep execution timed out.', sweep.metricTimedOut(every5Min));
    if (props.privacyStateMachine !== undefined) {
      onAny(
        'PrivacyRequestFailed',
        'A PrivacyRequest execution failed: a data subject request may miss its due date.',
        props.privacyStateMachine.metricFailed(every5Min),
      );
    }
    if (props.holdStateMachine !== undefined) {
      onAny(
        'HoldWorkFailed',
        'A Hold execution failed: a legal hold was not fully applied to (or released from) the stored records; the hold itself is in force.',
        props.holdStateMachine.metricFailed(every5Min),
      );
    }
    if (props.deletionStateMachine !== undefined) {
      onAny(
        'DeletionWorkFailed',
        'A Deletion execution failed: a manual deletion could not be finished after its attempts; what is left stays in place (the tenant admins were e-mailed).',
        props.deletionStateMachine.metricFailed(every5Min),
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      onAny(
        `${name}Errors`,
        `The ${name} function reported errors (retried by the workflow; repeated errors mean a stage may fail).`,
        fn.metricErrors(every5Min),
      );
    }
    onAny(
      'ScheduleDeadLetters',
      'The scheduler could not start a Sweep (message in its dead-letter queue).',
      props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: Statistic.MAXIMUM }),
    );

    for (const [name, queue] of Object.entries(props.deadLetterQueues ?? {})) {
      onAny(
        `${name}DeadLetters`,
        `The ${name} dead-letter queue holds a message: an event or invocation failed after its retries and its work was not done.`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: Statistic.MAXIMUM }),
      );
    }

    if (props.recordsTable !== undefined) {
      const throttles = props.recordsTable.metric('WriteThrottleEvents', {
        dimensionsMap: { TableName: props.recordsTable.tableName, GlobalSecondaryIndexName: RETENTION_INDEX_NAME },
        ...every5Min,
      });
      onAny(
        'RetentionIndexThrottled',
        'Writes to the byRetention index were throttled: a tenant writes more than one index partition takes. Raise its retentionShards (PUT /v1/tenants/{t}).',
        throttles,
      );
    }

    // Deletion lag: a record becomes due at most cadence + grace before the next
    // successful sweep deletes it; no success in that window means lag beyond it.
    const lagWindowMinutes = props.cadenceMinutes + Math.ceil(props.graceHours * 60) + 60;
    if (lagWindowMinutes <= MAX_ALARM_WINDOW_MINUTES) {
      const periodMinutes = lagWindowMinutes <= 24 * 60 ? lagWindowMinutes : 24 * 60;
      add(
        'DeletionLag',
        new Alarm(this, 'DeletionLag', {
          alarmDescription: `No Sweep succeeded within cadence + grace (+1 h): records may stay past their deadline by more than ${lagWindowMinutes} minutes.`,
          metric: sweep.metricSucceeded({ period: Duration.minutes(periodMinutes), statistic: Statistic.SUM }),
          threshold: 1,
          evaluationPeriods: Math.ceil(lagWindowMinutes / periodMinutes),
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );
    }
    this.alarms = alarms;

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Lethe\\nSweep every ${props.cadenceMinutes} min, grace ${props.graceHours} h. Receipts: \`lethe runs ls\`.`,
        width: 24,
        height: 2,
      }),
      new GraphWidget({
        title: 'Sweep executions',
        left: [sweep.metricSucceeded(), sweep.metricFailed(), sweep.metricTimedOut()],
        width: 12,
      }),
      new GraphWidget({
        title: 'Function errors',
        left: Object.values(props.functions).map((fn) => fn.metricErrors()),
        width: 12,
      }),
      new GraphWidget({
        title: 'Sweep stage duration (p90)',
        left: Object.values(props.functions).map((fn) => fn.metricDuration({ statistic: 'p90' })),
        width: 12,
      }),
      new GraphWidget({
        title: 'Dead letters',
        left: [props.scheduleDeadLetterQueue, ...Object.values(props.deadLetterQueues ?? {})].map((q) => q.metricApproximateNumberOfMessagesVisible()),
        width: 12,
      }),
    );
  }
}
