/**
 * The blob guard in the synthesized stacks: the recordings and media buckets
 * send their events to EventBridge on the bucket resource itself (no
 * notifications custom resource, no reference from the stateful stack to the
 * stateless one); a rule in the stateless stack sends their `Object Created`
 * events to the guard function, with retries and a dead-letter queue; the
 * function may read records and delete those buckets' objects, nothing more.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { QUARANTINE_PREFIX } from '../../infra/constructs/blob-buckets.js';
import { BlobGuardService } from '../../infra/constructs/blob-guard-service.js';
import { DEFAULT_BLOB_GUARD_SETTLE_MS } from '../../shared/app/blob-guard.js';
import { PROFILE_NAMES } from '../../shared/config/profiles.js';
import { capabilitiesOf, resourceOf, testApp } from './helpers.js';

type Json = Record<string, any>;

/**
 * EventBridge's matching, for the parts of a pattern Lethe writes: a list of
 * values (any equal, or a `{ prefix }`), or a nested pattern; a field the
 * pattern does not name matches anything.
 */
function matches(pattern: Json, event: Json): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event?.[field];
    if (!Array.isArray(expected)) return typeof actual === 'object' && actual !== null && matches(expected as Json, actual as Json);
    return expected.some((candidate: unknown) =>
      typeof candidate === 'object' && candidate !== null && 'prefix' in candidate
        ? typeof actual === 'string' && actual.startsWith((candidate as { prefix: string }).prefix)
        : JSON.stringify(candidate) === JSON.stringify(actual),
    );
  });
}

function synth(profile: string) {
  const app = testApp({ profile, mailFrom: 'alerts@lethe.example' });
  const lethe = buildApp(app, { nag: false });
  const statefulTemplate = Template.fromStack(lethe.stateful);
  const template = Template.fromStack(lethe.stateless);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const id = (c: { node: { defaultChild?: unknown } }) => lethe.stateless.getLogicalId(c.node.defaultChild as CfnElement);
  const imported = (value: string) => lethe.stateless.resolve(lethe.stateful.exportValue(value)) as Json;
  return { lethe, statefulTemplate, template, resources, id, imported, guard: lethe.stateless.blobGuard };
}

describe.each(PROFILE_NAMES)('the blob guard under the %s profile', (profile) => {
  const s = synth(profile);

  it('has the recordings and media buckets send their events to EventBridge, and not the exports bucket', () => {
    const { stateful } = s.lethe;
    for (const bucket of [stateful.recordingsBucket, stateful.mediaBucket]) {
      expect(resourceOf(s.statefulTemplate, bucket).Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    }
    expect(resourceOf(s.statefulTemplate, stateful.exportsBucket).Properties.NotificationConfiguration).toBeUndefined();
    // On the bucket itself: no custom resource (and its wildcard role) writes the configuration.
    expect(JSON.stringify(s.statefulTemplate.toJSON())).not.toContain('Custom::S3BucketNotifications');
    // And nothing in the stateful stack refers to the stateless one.
    expect(JSON.stringify(s.statefulTemplate.toJSON())).not.toContain('Fn::ImportValue');
  });

  it('routes every Object Created event of those two buckets to the guard function, with retries and a dead-letter queue', () => {
    const rule = s.resources[s.id(s.guard.rule)]!.Properties;
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [s.imported(s.lethe.stateful.recordingsBucket.bucketName), s.imported(s.lethe.stateful.mediaBucket.bucketName)] } },
    });
    expect(rule.Targets).toHaveLength(1);
    const [target] = rule.Targets as Json[];
    expect(target!.Arn).toEqual({ 'Fn::GetAtt': [s.id(s.guard.guardFunction), 'Arn'] });
    expect(target!.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [s.id(s.guard.deadLetterQueue), 'Arn'] });
    expect(target!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const permissions = Object.values(s.resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.FunctionName).includes(s.id(s.guard.guardFunction)));
    expect(permissions.map((p) => [p.Properties.Principal, p.Properties.SourceArn])).toEqual([['events.amazonaws.com', { 'Fn::GetAtt': [s.id(s.guard.rule), 'Arn'] }]]);
  });

  it('matches uploads in quarantine and objects at their final keys in both buckets, and nothing of the exports bucket', () => {
    const pattern = s.resources[s.id(s.guard.rule)]!.Properties.EventPattern as Json;
    const bucketName = (name: 'recordings' | 'media' | 'exports') => s.imported(s.lethe.stateful.blobs.bucket(name).bucketName);
    const created = (bucket: Json, key: string) => ({ source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: bucket }, object: { key, size: 10 } } });
    for (const name of ['recordings', 'media'] as const) {
      expect(matches(pattern, created(bucketName(name), `${QUARANTINE_PREFIX}${name}/t1/s1/a.bin`)), name).toBe(true);
      expect(matches(pattern, created(bucketName(name), `${name}/t1/s1/a.bin`)), name).toBe(true);
    }
    expect(matches(pattern, created(bucketName('exports'), `${QUARANTINE_PREFIX}exports/t1/r1.json`))).toBe(false);
    expect(matches(pattern, { ...created(bucketName('media'), `${QUARANTINE_PREFIX}media/t1/s1/a.bin`), 'detail-type': 'Object Deleted' })).toBe(false);
  });

  it('sends the events the function failed on after its retries to the same dead-letter queue, encrypted and TLS-only', () => {
    const invokeConfig = Object.values(s.resources).find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')!.Properties;
    expect(invokeConfig.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [s.id(s.guard.deadLetterQueue), 'Arn'] });
    expect(invokeConfig.MaximumRetryAttempts).toBe(2);
    expect(s.resources[s.id(s.guard.deadLetterQueue)]!.Properties.SqsManagedSseEnabled).toBe(true);
    const queuePolicies = Object.values(s.resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties.Queues).includes(s.id(s.guard.deadLetterQueue)));
    expect(JSON.stringify(queuePolicies)).toContain('aws:SecureTransport');
  });

  it('lets the guard read records and legal holds, seal uploads into place and delete recordings and media objects (every version), and nothing else', () => {
    expect(capabilitiesOf(s.lethe, s.resources, s.guard.guardFunction)).toEqual([
      // The tenant's legal holds: no upload replaces a held blob.
      'control:read',
      // Sealing under the record's keys.
      'keys:read',
      'keys:write',
      'kms',
      'media:delete',
      'media:listVersions',
      'media:put',
      'media:read',
      'recordings:delete',
      'recordings:listVersions',
      'recordings:put',
      'recordings:read',
      'records:read',
      'shredding:generate',
      'shredding:unwrap',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
      'xray',
    ]);
    // Its queue actions are the failure destination's, on the dead-letter queue only.
    const roleId = s.lethe.stateless.getLogicalId(s.guard.guardFunction.role!.node.defaultChild as CfnElement);
    const sqs = Object.values(s.resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[])
      .filter((st) => [st.Action].flat().some((a: string) => a.startsWith('sqs:')));
    expect(sqs.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [s.id(s.guard.deadLetterQueue), 'Arn'] }]);
    // It never sets legal holds or retention, and never touches exports.
    const capabilities = capabilitiesOf(s.lethe, s.resources, s.guard.guardFunction);
    expect(capabilities.filter((a) => a.startsWith('exports:') || a.endsWith(':legalHold'))).toEqual([]);
  });

  it('gives the guard time to wait for an ingest to write its records, then check again', () => {
    const props = s.resources[s.id(s.guard.guardFunction)]!.Properties;
    expect(props.Timeout * 1000).toBeGreaterThanOrEqual(DEFAULT_BLOB_GUARD_SETTLE_MS + 30_000);
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Environment.Variables.RECORDINGS_BUCKET).toEqual(s.imported(s.lethe.stateful.recordingsBucket.bucketName));
  });

  it('is alarmed on its errors with the other functions', () => {
    const alarms = Object.values(s.resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'Errors');
    expect(alarms.some((a) => JSON.stringify(a.Properties.Dimensions).includes(s.id(s.guard.guardFunction)))).toBe(true);
  });
});

describe('the blob guard construct', () => {
  it('refuses a timeout that leaves no room for its settling wait', () => {
    const app = testApp({ profile: 'voice', mailFrom: 'alerts@lethe.example' });
    const lethe = buildApp(app, { nag: false });
    const scope = new Stack(app, 'Other');
    expect(() => new BlobGuardService(scope, 'Guard', { runtime: lethe.stateless.runtime, buckets: [lethe.stateful.recordingsBucket], timeout: Duration.seconds(30) })).toThrow(/timeout/);
  });
});
