import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.js';
import { testApp } from './helpers.js';

type Json = Record<string, any>;

function monitoring(profile: string) {
  const app = testApp({ profile, mailFrom: 'alerts@lethe.example', operatorEmails: 'oncall@lethe.example' });
  const { stateless } = buildApp(app, { nag: false });
  const resources = Template.fromStack(stateless).toJSON().Resources as Record<string, Json>;
  const alarm = (name: string) => resources[stateless.getLogicalId(stateless.monitoring.alarms[name]!.node.defaultChild as CfnElement)]!.Properties;
  return { stateless, resources, alarm };
}

describe('monitoring', () => {
  it('alarms on a failed sweep and on schedule dead letters, to an encrypted topic the operators subscribe to', () => {
    const m = monitoring('voice');
    expect(m.alarm('SweepFailed')).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
    expect(m.alarm('ScheduleDeadLetters')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
    expect(m.alarm('SweepStageErrors')).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    const topicId = m.stateless.getLogicalId(m.stateless.monitoring.topic.node.defaultChild as CfnElement);
    expect(m.resources[topicId]!.Properties.KmsMasterKeyId).toBeDefined();
    expect(m.alarm('SweepFailed').AlarmActions).toEqual([{ Ref: topicId }]);
    const subscriptions = Object.values(m.resources).filter((r) => r.Type === 'AWS::SNS::Subscription');
    expect(subscriptions.map((s) => s.Properties.Endpoint)).toEqual(['oncall@lethe.example']);
  });

  it('alarms when a Hold execution fails (a hold not fully applied or released), and on the hold worker\'s errors', () => {
    const m = monitoring('voice');
    const holdMachine = m.stateless.getLogicalId(m.stateless.holds.stateMachine.node.defaultChild as CfnElement);
    expect(m.alarm('HoldWorkFailed')).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
    expect(m.alarm('HoldWorkFailed').Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: holdMachine } }]);
    expect(m.alarm('HoldWorkerErrors')).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
  });

  it('alarms when a Deletion execution fails (a manual deletion not finished after its attempts), and on the deletion worker\'s errors', () => {
    const m = monitoring('voice');
    const machine = m.stateless.getLogicalId(m.stateless.deletions.stateMachine.node.defaultChild as CfnElement);
    expect(m.alarm('DeletionWorkFailed')).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
    expect(m.alarm('DeletionWorkFailed').Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: machine } }]);
    expect(m.alarm('DeletionWorkerErrors')).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
  });

  it('alarms to the same topic as soon as the blob guard\'s dead-letter queue holds a message (an upload neither sealed nor deleted)', () => {
    const m = monitoring('voice');
    const queue = m.stateless.getLogicalId(m.stateless.blobGuard.deadLetterQueue.node.defaultChild as CfnElement);
    const topic = m.stateless.getLogicalId(m.stateless.monitoring.topic.node.defaultChild as CfnElement);
    expect(m.alarm('BlobGuardDeadLetters')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topic }],
    });
    expect(m.alarm('BlobGuardDeadLetters').Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]);
  });

  it('alarms when writes to the retention index are throttled, the sign that a tenant needs more write shards', () => {
    const m = monitoring('conversations');
    const alarm = m.alarm('RetentionIndexThrottled');
    expect(alarm).toMatchObject({ MetricName: 'WriteThrottleEvents', Namespace: 'AWS/DynamoDB', Threshold: 1 });
    expect(alarm.Dimensions).toEqual(expect.arrayContaining([{ Name: 'GlobalSecondaryIndexName', Value: 'byRetention' }]));
    expect(alarm.AlarmDescription).toContain('retentionShards');
  });

  it('alarms on deletion lag when no sweep succeeds within cadence + grace (+1 h)', () => {
    const lag = monitoring('voice').alarm('DeletionLag');
    // voice: every 120 min with 2 h grace → a 300-minute window.
    expect(lag).toMatchObject({ MetricName: 'ExecutionsSucceeded', ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
    expect(lag.Period * lag.EvaluationPeriods).toBe(300 * 60);
  });

  it('leaves the lag alarm out where the cadence is longer than an alarm can watch (monthly chatbot sweeps)', () => {
    expect(monitoring('chatbot').stateless.monitoring.alarms.DeletionLag).toBeUndefined();
    expect(monitoring('conversations').stateless.monitoring.alarms.DeletionLag).toBeDefined();
  });

  it('has a dashboard named after the profile', () => {
    const m = monitoring('conversations');
    const dashboard = Object.values(m.resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
    expect(dashboard.Properties.DashboardName).toBe('Lethe-conversations');
  });
});
