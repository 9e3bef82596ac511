/**
 * Runs the rendered `Sweep` state machine in-process with
 * aws-local-stepfunctions: each Lambda task goes to the same handler factory
 * the deployed function uses, bound to local dependencies.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { StateMachine } from 'aws-local-stepfunctions';
import { lifecycleHandler, listTenantsHandler, stageHandler } from '../app/sweep-tasks.js';
import type { RunDeps } from '../domain/runs.js';
import { parseManifest, type ManifestLocation, type SweepGroupItem, type SweepManifestStore } from '../domain/sweep/manifest.js';
import { checkTolerance, inlineDistributedMaps, renderSweepStateMachine, type InlinedDistributedMaps, type RenderedStateMachine, type SweepFunctionRole } from './asl.js';
import './polyfills.js';

export type TaskHandler = (payload: unknown) => Promise<unknown>;
/**
 * The three functions' handlers, and `itemReader`: what the Distributed Map's
 * ItemReader does in AWS (its input is the reader's Parameters, `{ Bucket, Key }`;
 * it answers the items), served locally by the shim (`inlineDistributedMaps`).
 */
export type SweepHandlers = Record<SweepFunctionRole | 'itemReader', TaskHandler>;

export interface SweepHandlerOptions {
  /** Time one stage chunk works before it hands back a continuation. */
  readonly stageBudgetMs: number;
  /** @default a Powertools logger at the environment's level */
  readonly logger?: Logger;
  /**
   * Where runs' manifests go: local mode passes the S3 one (the exports
   * bucket of its s3rver), as the Lambdas do.
   * @default in memory, for tests that do not look at manifests
   */
  readonly manifests?: SweepManifestStore;
}

/** Manifests kept in memory, as JSON text (so what the reader answers went through the same parse). */
export function memoryManifestStore(bucket = 'lethe-local-manifests'): SweepManifestStore {
  const objects = new Map<string, string>();
  return {
    write: async (runId, groups) => {
      const key = `sweeps/${runId}/groups.json`;
      objects.set(key, JSON.stringify(groups));
      return { bucket, key };
    },
    read: async (location) => {
      const text = location.bucket === bucket ? objects.get(location.key) : undefined;
      if (text === undefined) throw new Error('no such sweep manifest');
      return parseManifest(text);
    },
  };
}

/** The production handler factories bound to the given dependencies. */
export function sweepHandlers(deps: RunDeps, options: SweepHandlerOptions): SweepHandlers {
  const manifests = options.manifests ?? memoryManifestStore();
  const taskOptions = { logger: options.logger ?? new Logger({ serviceName: 'lethe' }), stageBudgetMs: options.stageBudgetMs, manifests };
  return {
    listTenants: listTenantsHandler(deps, taskOptions),
    stage: stageHandler(deps, taskOptions),
    lifecycle: lifecycleHandler(deps, taskOptions),
    itemReader: async (parameters) => readItems(manifests, parameters),
  };
}

/** The ItemReader's read of a manifest: its Parameters name the object. */
async function readItems(manifests: SweepManifestStore, parameters: unknown): Promise<SweepGroupItem[]> {
  const { Bucket, Key } = (parameters ?? {}) as { Bucket?: unknown; Key?: unknown };
  if (typeof Bucket !== 'string' || typeof Key !== 'string') throw new Error('the ItemReader needs a Bucket and a Key');
  const location: ManifestLocation = { bucket: Bucket, key: Key };
  return manifests.read(location);
}

/** Names of every Task state, nested Map and Parallel states included. */
export function taskStateNames(definition: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') out.push(name);
      for (const nested of [state.ItemProcessor, state.Iterator] as (Record<string, unknown> | undefined)[]) {
        if (nested?.States !== undefined) visit(nested.States as Record<string, Record<string, unknown>>);
      }
      for (const branch of (state.Branches ?? []) as Record<string, unknown>[]) {
        visit(branch.States as Record<string, Record<string, unknown>>);
      }
    }
  };
  visit(definition.States as Record<string, Record<string, unknown>>);
  return out;
}

/** Names of every state that has a Retry field. */
function retryingStateNames(definition: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (Array.isArray(state.Retry)) out.push(name);
      const nested = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
      if (nested?.States !== undefined) visit(nested.States as Record<string, Record<string, unknown>>);
      for (const branch of (state.Branches ?? []) as Record<string, unknown>[]) visit(branch.States as Record<string, Record<string, unknown>>);
    }
  };
  visit(definition.States as Record<string, Record<string, unknown>>);
  return out;
}

export interface LocalExecutionOptions {
  /** The execution name ($$.Execution.Name), used as the run id. */
  readonly executionName: string;
  /** Pause before a retry, in ms (the definition's backoff is minutes long). @default 0 */
  readonly retryIntervalMs?: number;
  /** Every Wait state waits this long, in ms, instead of what the definition says. @default what the definition says */
  readonly waitMs?: number;
  /** Reads a Distributed Map's items (its ItemReader's Parameters in, the items out); required where the definition has one. */
  readonly itemReader?: TaskHandler;
}

const machines = new WeakMap<object, StateMachine>();
const inlined = new WeakMap<object, InlinedDistributedMaps>();

/**
 * Executes a rendered state machine locally, every Lambda task served by
 * `handlers`; a Distributed Map runs through the inline shim
 * (`inlineDistributedMaps`), its items read by `options.itemReader`.
 */
export async function executeLocally<R extends string>(
  rendered: RenderedStateMachine<R>,
  handlers: Readonly<Record<R, TaskHandler>>,
  input: Record<string, unknown>,
  options: LocalExecutionOptions,
): Promise<unknown> {
  const byArn = new Map<string, TaskHandler>();
  for (const [role, arn] of Object.entries(rendered.functionArns) as [R, string][]) byArn.set(arn, handlers[role]);
  const invoke = async (taskInput: unknown) => {
    const { FunctionName, Payload } = taskInput as { FunctionName: string; Payload: unknown };
    const handler = byArn.get(FunctionName);
    if (handler === undefined) throw new Error(`no local handler for ${FunctionName}`);
    return { Payload: (await handler(Payload)) ?? null } as never;
  };
  let shim = inlined.get(rendered.definition);
  if (shim === undefined) {
    shim = inlineDistributedMaps(rendered.definition);
    inlined.set(rendered.definition, shim);
  }
  const { definition, readers, tolerances } = shim;
  const synthetic = new Set([...readers, ...Object.keys(tolerances)]);
  const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<never>> = Object.fromEntries(
    taskStateNames(definition)
      .filter((name) => !synthetic.has(name))
      .map((name) => [name, invoke]),
  );
  for (const name of readers) {
    taskResourceLocalHandlers[name] = async (parameters) => {
      if (options.itemReader === undefined) throw new Error(`${name}: no local item reader`);
      return (await options.itemReader(parameters)) as never;
    };
  }
  for (const [name, threshold] of Object.entries(tolerances)) {
    taskResourceLocalHandlers[name] = async (state) => checkTolerance(state as Record<string, unknown>, threshold) as never;
  }
  const retryIntervalOverrides = Object.fromEntries(retryingStateNames(definition).map((name) => [name, options.retryIntervalMs ?? 0]));
  // Validating a definition takes up to a second or two here: once per definition, not once per execution.
  let machine = machines.get(rendered.definition);
  if (machine === undefined) {
    machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    machines.set(rendered.definition, machine);
  }
  const waitTimeOverrides =
    options.waitMs === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(definition.States as Record<string, { Type?: string }>)
            .filter(([, state]) => state.Type === 'Wait')
            .map(([name]) => [name, options.waitMs as number]),
        );
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides, ...(waitTimeOverrides !== undefined && { waitTimeOverrides }) },
    context: { Execution: { Name: options.executionName, Input: input, StartTime: new Date().toISOString() } } as never,
  });
  return execution.result;
}

/** Runs one `Sweep` execution locally: every active tenant, or the ones named. */
export async function runSweepLocally(
  deps: RunDeps,
  handlers: SweepHandlers,
  input: { readonly tenantIds?: readonly string[]; readonly dryRun?: boolean },
  options: LocalExecutionOptions,
): Promise<unknown> {
  return executeLocally(renderSweepStateMachine(deps.platform), handlers, { ...input }, { itemReader: handlers.itemReader, ...options });
}
