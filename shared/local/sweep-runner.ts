/**
 * Runs the rendered `Sweep` state machine in-process with
 * aws-local-stepfunctions: each Lambda task goes to the same handler factory
 * the deployed function uses, bound to local dependencies.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { StateMachine } from 'aws-local-stepfunctions';
import { lifecycleHandler, listTenantsHandler, stageHandler } from '../app/sweep-tasks.js';
import type { RunDeps } from '../domain/runs.js';
import { renderSweepStateMachine, type RenderedStateMachine, type SweepFunctionRole } from './asl.js';
import './polyfills.js';

export type TaskHandler = (payload: unknown) => Promise<unknown>;
export type SweepHandlers = Record<SweepFunctionRole, TaskHandler>;

export interface SweepHandlerOptions {
  /** Time one stage chunk works before it hands back a continuation. */
  readonly stageBudgetMs: number;
  /** @default a Powertools logger at the environment's level */
  readonly logger?: Logger;
}

/** The production handler factories bound to the given dependencies. */
export function sweepHandlers(deps: RunDeps, options: SweepHandlerOptions): SweepHandlers {
  const taskOptions = { logger: options.logger ?? new Logger({ serviceName: 'lethe' }), stageBudgetMs: options.stageBudgetMs };
  return {
    listTenants: listTenantsHandler(deps, taskOptions),
    stage: stageHandler(deps, taskOptions),
    lifecycle: lifecycleHandler(deps, taskOptions),
  };
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
}

/** Executes a rendered state machine locally, every Lambda task served by `handlers`. */
const machines = new WeakMap<object, StateMachine>();

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
  const taskResourceLocalHandlers = Object.fromEntries(taskStateNames(rendered.definition).map((name) => [name, invoke]));
  const retryIntervalOverrides = Object.fromEntries(
    retryingStateNames(rendered.definition).map((name) => [name, options.retryIntervalMs ?? 0]),
  );
  // Validating a definition takes up to a second or two here: once per definition, not once per execution.
  let machine = machines.get(rendered.definition);
  if (machine === undefined) {
    machine = new StateMachine(rendered.definition as never, { validationOptions: { checkArn: false } });
    machines.set(rendered.definition, machine);
  }
  const waitTimeOverrides =
    options.waitMs === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(rendered.definition.States as Record<string, { Type?: string }>)
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
  return executeLocally(renderSweepStateMachine(deps.platform), handlers, { ...input }, options);
}
