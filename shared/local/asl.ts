/**
 * Renders the state machines exactly as the CDK app defines them into plain
 * Amazon States Language, so local mode and the tests execute the very
 * definition that `cdk deploy` ships. CloudFormation tokens become fake ARNs
 * (`arn:aws:lambda:local:000000000000:function:<role>`).
 */
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { applyFeatureFlags } from '../../infra/app.js';
import { StatefulStack } from '../../infra/stateful-stack.js';
import { StatelessStack } from '../../infra/stateless-stack.js';
import { LetheFunction } from '../../infra/constructs/lethe-function.js';
import { DeletionWorkflow } from '../../infra/constructs/deletion-workflow.js';
import { HoldWorkflow } from '../../infra/constructs/hold-workflow.js';
import { PrivacyWorkflow } from '../../infra/constructs/privacy-workflow.js';
import type { PlatformPolicy } from '../domain/policy.js';

export type SweepFunctionRole = 'listTenants' | 'stage' | 'lifecycle';

export interface RenderedStateMachine<R extends string> {
  /** The ASL document. */
  readonly definition: Record<string, unknown>;
  /** Fake ARN of each function the definition invokes. */
  readonly functionArns: Readonly<Record<R, string>>;
}

export const localFunctionArn = (role: string): string => `arn:aws:lambda:local:000000000000:function:${role}`;

function flatten(value: unknown, stack: Stack, arnByLogicalId: ReadonlyMap<string, string>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => flatten(p, stack, arnByLogicalId)).join(separator);
  }
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [logicalId] = v['Fn::GetAtt'] as [string, string];
    const arn = arnByLogicalId.get(logicalId);
    if (arn === undefined) throw new Error(`unexpected reference to ${logicalId} in a state machine definition`);
    return arn;
  }
  if (typeof v.Ref === 'string') {
    if (v.Ref === 'AWS::Partition') return 'aws';
    if (v.Ref === 'AWS::Region') return 'local';
    if (v.Ref === 'AWS::AccountId') return '000000000000';
    const arn = arnByLogicalId.get(v.Ref);
    if (arn !== undefined) return arn;
  }
  throw new Error(`cannot render ${JSON.stringify(value)} locally`);
}

function render<R extends string>(stack: Stack, machine: CfnStateMachine, functions: Record<R, IFunction>): RenderedStateMachine<R> {
  const arnByLogicalId = new Map<string, string>();
  const functionArns = {} as Record<R, string>;
  for (const [role, fn] of Object.entries(functions) as [R, IFunction][]) {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    arnByLogicalId.set(logicalId, localFunctionArn(role));
    functionArns[role] = localFunctionArn(role);
  }
  const text = flatten(stack.resolve(machine.definitionString), stack, arnByLogicalId);
  return { definition: JSON.parse(text) as Record<string, unknown>, functionArns };
}

const cache = new Map<string, RenderedStateMachine<SweepFunctionRole>>();

/** The `Sweep` state machine for a platform policy, as plain ASL. */
export function renderSweepStateMachine(platformPolicy: PlatformPolicy): RenderedStateMachine<SweepFunctionRole> {
  const cacheKey = JSON.stringify(platformPolicy);
  const hit = cache.get(cacheKey);
  if (hit !== undefined) return hit;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  applyFeatureFlags(app);
  const stateful = new StatefulStack(app, 'LocalStateful', { platformPolicy });
  const stateless = new StatelessStack(app, 'LocalStateless', {
    stateful,
    platformPolicy,
    operatorEmails: [],
    mailFrom: 'lethe@localhost.localdomain',
  });
  const { sweep } = stateless;
  const rendered = render(stateless, sweep.stateMachine.node.defaultChild as CfnStateMachine, {
    listTenants: sweep.listTenantsFunction,
    stage: sweep.stageFunction,
    lifecycle: sweep.lifecycleFunction,
  });
  cache.set(cacheKey, rendered);
  return rendered;
}

export type PrivacyFunctionRole = 'worker';

let privacyRendered: RenderedStateMachine<PrivacyFunctionRole> | undefined;

/** The `PrivacyRequest` state machine as plain ASL (the construct the stateless stack deploys). */
export function renderPrivacyStateMachine(): RenderedStateMachine<PrivacyFunctionRole> {
  if (privacyRendered !== undefined) return privacyRendered;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LocalPrivacy');
  const worker = new LetheFunction(stack, 'PrivacyWorker', {
    functionDir: 'privacy-worker',
    description: 'Lethe privacy requests (local rendering)',
    environment: {},
  }).function;
  const workflow = new PrivacyWorkflow(stack, 'PrivacyRequest', { workerFunction: worker, stepTimeout: Duration.minutes(15) });
  privacyRendered = render(stack, workflow.stateMachine.node.defaultChild as CfnStateMachine, { worker });
  return privacyRendered;
}

export type HoldFunctionRole = 'worker';

let holdRendered: RenderedStateMachine<HoldFunctionRole> | undefined;

/** The `Hold` state machine as plain ASL (the construct the stateless stack deploys). */
export function renderHoldStateMachine(): RenderedStateMachine<HoldFunctionRole> {
  if (holdRendered !== undefined) return holdRendered;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LocalHold');
  const worker = new LetheFunction(stack, 'HoldWorker', {
    functionDir: 'hold-worker',
    description: 'Lethe legal holds (local rendering)',
    environment: {},
  }).function;
  const workflow = new HoldWorkflow(stack, 'Hold', { workerFunction: worker, stepTimeout: Duration.minutes(15) });
  holdRendered = render(stack, workflow.stateMachine.node.defaultChild as CfnStateMachine, { worker });
  return holdRendered;
}

export type DeletionFunctionRole = 'worker';

let deletionRendered: RenderedStateMachine<DeletionFunctionRole> | undefined;

/** The `Deletion` state machine as plain ASL (the construct the stateless stack deploys). */
export function renderDeletionStateMachine(): RenderedStateMachine<DeletionFunctionRole> {
  if (deletionRendered !== undefined) return deletionRendered;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LocalDeletion');
  const worker = new LetheFunction(stack, 'DeletionWorker', {
    functionDir: 'deletion-worker',
    description: 'Lethe manual deletions (local rendering)',
    environment: {},
  }).function;
  const workflow = new DeletionWorkflow(stack, 'Deletion', { workerFunction: worker, stepTimeout: Duration.minutes(15) });
  deletionRendered = render(stack, workflow.stateMachine.node.defaultChild as CfnStateMachine, { worker });
  return deletionRendered;
}
