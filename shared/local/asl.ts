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

/** A state machine of `stack` as plain ASL, each function in `functions` given its local ARN by role. */
export function renderStateMachine<R extends string>(stack: Stack, machine: CfnStateMachine, functions: Record<R, IFunction>): RenderedStateMachine<R> {
  return render(stack, machine, functions);
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

// ---------------------------------------------------------------------------
// Distributed Map, locally
// ---------------------------------------------------------------------------

type StateJson = Record<string, unknown>;

/** What {@link inlineDistributedMaps} added, for the local runner to serve. */
export interface InlinedDistributedMaps {
  /** The definition with every Distributed Map made an inline one fed by a reader task. */
  readonly definition: Record<string, unknown>;
  /** Reader task states: their input is the ItemReader's Parameters (`{ Bucket, Key }`); they answer the items. */
  readonly readers: readonly string[];
  /** Tolerance task states, with the threshold of their map. */
  readonly tolerances: Readonly<Record<string, { readonly percentage?: number; readonly count?: number }>>;
}

/** Where an inlined map's reader puts the items, and the map its results, in the state. */
export const LOCAL_ITEMS_FIELD = '__localItems';
export const LOCAL_RESULTS_FIELD = '__localResults';
const FAILED_MARKER = '__localFailed';

/**
 * aws-local-stepfunctions runs Map states inline only: it ignores ItemReader,
 * ToleratedFailure* and ProcessorConfig. This shim rewrites each top-level
 * Distributed Map `M` (S3 JSON ItemReader, `ResultPath: null`, no ResultWriter
 * or ItemBatcher; anything else is refused, not approximated) into
 * 1. `M: read items (local)`, a task fed the ItemReader's Parameters, whose
 *    local handler reads the JSON array from the (local) S3 object,
 * 2. `M`, an inline Map over those items with the same ItemSelector and
 *    MaxConcurrency, each item's processor wrapped so that a failed child
 *    becomes a `{ "__localFailed": true }` result instead of failing the map
 *    (as a Distributed Map's child execution does),
 * 3. `M: tolerance (local)`, a task that fails with
 *    `States.ExceedToleratedFailureThreshold` when more children failed than
 *    the map tolerates, and otherwise hands on the map's input unchanged.
 * Every reference to `M` now goes to its reader; `M`'s Catch is on all three.
 */
export function inlineDistributedMaps(definition: Record<string, unknown>): InlinedDistributedMaps {
  const states = { ...(definition.States as Record<string, StateJson>) };
  const readers: string[] = [];
  const tolerances: Record<string, { percentage?: number; count?: number }> = {};
  let startAt = definition.StartAt as string;
  for (const [name, state] of Object.entries(definition.States as Record<string, StateJson>)) {
    const processor = state.ItemProcessor as StateJson | undefined;
    if (state.Type !== 'Map' || (processor?.ProcessorConfig as StateJson | undefined)?.Mode !== 'DISTRIBUTED') continue;
    const reader = state.ItemReader as StateJson | undefined;
    const refuse = (what: string) => new Error(`${name}: the local Distributed Map shim does not support ${what}`);
    if (reader === undefined || !String(reader.Resource).endsWith(':s3:getObject') || (reader.ReaderConfig as StateJson | undefined)?.InputType !== 'JSON') {
      throw refuse('an ItemReader other than an S3 JSON object');
    }
    if ((reader.ReaderConfig as StateJson).MaxItems !== undefined) throw refuse('ReaderConfig.MaxItems');
    if (state.ResultPath !== null) throw refuse('a ResultPath other than null');
    for (const field of ['ResultWriter', 'ItemBatcher', 'ResultSelector', 'OutputPath', 'InputPath', 'Retry', 'ToleratedFailurePercentagePath', 'ToleratedFailureCountPath', 'ItemsPath']) {
      if (state[field] !== undefined) throw refuse(field);
    }
    const readerName = `${name}: read items (local)`;
    const toleranceName = `${name}: tolerance (local)`;
    const wrapName = `${name}: child (local)`;
    const failedName = `${name}: child failed (local)`;
    const redirect = (target: unknown) => (target === name ? readerName : target);
    startAt = redirect(startAt) as string;
    for (const [other, s] of Object.entries(states)) states[other] = redirectState(s, redirect);
    const catchers = state.Catch === undefined ? {} : { Catch: state.Catch };
    const { ProcessorConfig: _config, ...inlineProcessor } = processor as StateJson;
    states[readerName] = {
      Type: 'Task',
      Resource: reader.Resource,
      Parameters: reader.Parameters,
      ResultPath: `$.${LOCAL_ITEMS_FIELD}`,
      Next: name,
      ...catchers,
    };
    states[name] = {
      Type: 'Map',
      ItemsPath: `$.${LOCAL_ITEMS_FIELD}`,
      ...(state.ItemSelector !== undefined && { ItemSelector: state.ItemSelector }),
      ...(state.MaxConcurrency !== undefined && { MaxConcurrency: state.MaxConcurrency }),
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: wrapName,
        States: {
          [wrapName]: {
            Type: 'Parallel',
            Branches: [inlineProcessor],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: failedName }],
            End: true,
          },
          [failedName]: { Type: 'Pass', Result: { [FAILED_MARKER]: true }, End: true },
        },
      },
      ResultPath: `$.${LOCAL_RESULTS_FIELD}`,
      Next: toleranceName,
      ...catchers,
    };
    states[toleranceName] = {
      Type: 'Task',
      Resource: 'arn:aws:states:::local:tolerance',
      ...(state.Next !== undefined ? { Next: state.Next } : { End: true }),
      ...catchers,
    };
    readers.push(readerName);
    tolerances[toleranceName] = {
      ...(typeof state.ToleratedFailurePercentage === 'number' && { percentage: state.ToleratedFailurePercentage }),
      ...(typeof state.ToleratedFailureCount === 'number' && { count: state.ToleratedFailureCount }),
    };
  }
  if (readers.length === 0) return { definition, readers, tolerances };
  // Drop keys set to undefined above (JSON has none).
  return { definition: JSON.parse(JSON.stringify({ ...definition, StartAt: startAt, States: states })) as Record<string, unknown>, readers, tolerances };
}

function redirectState(state: StateJson, redirect: (target: unknown) => unknown): StateJson {
  const out: StateJson = { ...state };
  if (out.Next !== undefined) out.Next = redirect(out.Next);
  if (out.Default !== undefined) out.Default = redirect(out.Default);
  if (Array.isArray(out.Choices)) out.Choices = (out.Choices as StateJson[]).map((c) => ({ ...c, Next: redirect(c.Next) }));
  if (Array.isArray(out.Catch)) out.Catch = (out.Catch as StateJson[]).map((c) => ({ ...c, Next: redirect(c.Next) }));
  return out;
}

/** The error a Distributed Map fails with when more children failed than it tolerates. */
export class ExceedToleratedFailureThreshold extends Error {
  override readonly name = 'States.ExceedToleratedFailureThreshold';
}

/**
 * The local tolerance check of an inlined map: fails as a Distributed Map does
 * when its failed children pass the threshold (no threshold: any failure),
 * else answers the map's input as it was.
 */
export function checkTolerance(input: Record<string, unknown>, threshold: { readonly percentage?: number; readonly count?: number }): Record<string, unknown> {
  const { [LOCAL_ITEMS_FIELD]: _items, [LOCAL_RESULTS_FIELD]: results, ...rest } = input;
  const all = (results ?? []) as unknown[];
  const failed = all.filter((r) => typeof r === 'object' && r !== null && (r as Record<string, unknown>)[FAILED_MARKER] === true).length;
  const overPercentage = threshold.percentage !== undefined && all.length > 0 && (failed / all.length) * 100 > threshold.percentage;
  const overCount = threshold.count !== undefined && failed > threshold.count;
  const noThreshold = threshold.percentage === undefined && threshold.count === undefined && failed > 0;
  if (overPercentage || overCount || noThreshold) throw new ExceedToleratedFailureThreshold(`${failed} of ${all.length} child executions failed`);
  return rest;
}
