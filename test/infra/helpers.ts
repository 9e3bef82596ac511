/** Shared set-up for the infra assertion tests: apps without bundling, resources found through their constructs. */
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { applyFeatureFlags, buildApp, type BuildAppOptions, type LetheApp } from '../../infra/app.js';
import { StatefulStack, type StatefulStackProps } from '../../infra/stateful-stack.js';

export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...NO_BUNDLING, ...context } });
}

export interface BuiltApp extends LetheApp {
  readonly app: App;
  readonly template: Template;
}

/** The app as bin/app.ts builds it, for a context and options. */
export function built(context: Record<string, unknown> = {}, options: BuildAppOptions = {}): BuiltApp {
  const app = testApp(context);
  const lethe = buildApp(app, options);
  return { ...lethe, app, template: Template.fromStack(lethe.stateful) };
}

/** A stateful stack for a hand-made policy (e.g. with an indefinite blob category). */
export function statefulStack(props: StatefulStackProps): { stack: StatefulStack; template: Template } {
  const app = testApp();
  applyFeatureFlags(app);
  const stack = new StatefulStack(app, 'Stateful', props);
  return { stack, template: Template.fromStack(stack) };
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, any>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The logical id CDK gave an L2 construct's CloudFormation resource (found, never pinned). */
export function logicalIdOf(construct: IConstruct): string {
  const cfn = construct.node.defaultChild;
  if (!(cfn instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(cfn);
}

/** The template entry of an L2 construct's underlying CloudFormation resource. */
export function resourceOf(template: Template, construct: IConstruct): CfnResourceJson {
  const logicalId = logicalIdOf(construct);
  const resource = (template.toJSON().Resources as Record<string, CfnResourceJson>)[logicalId];
  if (resource === undefined) throw new Error(`${construct.node.path} is not in the template`);
  return resource;
}

/** `{ Ref }` to a construct's resource, as other resources refer to it. */
export function refTo(construct: IConstruct): { Ref: string } {
  return { Ref: logicalIdOf(construct) };
}

/** `{ 'Fn::GetAtt': [id, 'Arn'] }` of a construct's resource. */
export function arnOf(construct: IConstruct): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalIdOf(construct), 'Arn'] };
}

type Json = Record<string, any>;

/** Every IAM statement attached to a function's role, from the synthesized resources of its stack. */
export function statementsOf(resources: Readonly<Record<string, Json>>, fn: IFunction): Json[] {
  const roleId = logicalIdOf(fn.role!);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
}

/**
 * What a stateless function may do, in words: `records:write`, `media:legalHold`,
 * `sweep:start`, `ses:send`, `shredding:unwrap` (the shredding key; `kms` is any
 * table or bucket key) … Anything unrecognised comes back as the raw
 * action, so a new permission shows up in the diff.
 */
export function capabilitiesOf(lethe: LetheApp, resources: Readonly<Record<string, Json>>, fn: IFunction): string[] {
  const { stateful, stateless } = lethe;
  const exported = (arn: string) => (stateless.resolve(stateful.exportValue(arn)) as { 'Fn::ImportValue': string })['Fn::ImportValue'];
  const targets: [string, string][] = [
    ['records', exported(stateful.recordsTable.tableArn)],
    ['control', exported(stateful.controlTable.tableArn)],
    ['keys', exported(stateful.keysTable.tableArn)],
    ['recordings', exported(stateful.recordingsBucket.bucketArn)],
    ['media', exported(stateful.mediaBucket.bucketArn)],
    ['exports', exported(stateful.exportsBucket.bucketArn)],
    ['sweep', logicalIdOf(stateless.sweep.stateMachine)],
    ['privacy', logicalIdOf(stateless.privacy.stateMachine)],
    ['hold', logicalIdOf(stateless.holds.stateMachine)],
    ['deletion', logicalIdOf(stateless.deletions.stateMachine)],
    ['secret', logicalIdOf(stateless.referenceSecret)],
    ['ses', ':ses:'],
    ['events', exported(stateful.events.bus.eventBusArn)],
  ];
  const kinds: [RegExp, string][] = [
    [/^dynamodb:(BatchGetItem|GetRecords|GetShardIterator|Query|GetItem|Scan|ConditionCheckItem|DescribeTable)$/, 'read'],
    [/^dynamodb:(BatchWriteItem|PutItem|UpdateItem|DeleteItem)$/, 'write'],
    [/^s3:(GetObject\*|GetBucket\*|List\*)$/, 'read'],
    [/^s3:(ListBucket|ListBucketVersions)$/, 'listVersions'],
    [/^s3:(PutObject|PutObjectTagging|AbortMultipartUpload)$/, 'put'],
    [/^s3:DeleteObject\*$/, 'delete'],
    [/^s3:(PutObjectLegalHold|GetObjectLegalHold)$/, 'legalHold'],
    [/^states:StartExecution$/, 'start'],
    [/^secretsmanager:(GetSecretValue|DescribeSecret)$/, 'read'],
    [/^ses:SendEmail$/, 'send'],
    [/^events:PutEvents$/, 'put'],
  ];
  const shreddingKey = exported(stateful.shreddingKey.keyArn);
  const found = new Set<string>();
  for (const statement of statementsOf(resources, fn)) {
    const resourcesText = JSON.stringify(statement.Resource);
    for (const action of [statement.Action].flat() as string[]) {
      if (action.startsWith('xray:')) found.add('xray');
      else if (action.startsWith('kms:') && resourcesText.includes(shreddingKey)) {
        found.add(action === 'kms:GenerateDataKey' ? 'shredding:generate' : action === 'kms:Decrypt' ? 'shredding:unwrap' : action);
      } else if (action.startsWith('kms:')) found.add('kms');
      else {
        const kind = kinds.find(([pattern]) => pattern.test(action))?.[1];
        const hits = targets.filter(([, ref]) => resourcesText.includes(ref)).map(([name]) => name);
        if (kind === undefined || hits.length === 0) found.add(action);
        for (const target of hits) if (kind !== undefined) found.add(`${target}:${kind}`);
      }
    }
  }
  return [...found].sort();
}
