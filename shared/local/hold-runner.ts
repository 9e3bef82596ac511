/**
 * Runs the rendered `Hold` state machine in-process with
 * aws-local-stepfunctions, its task served by the production handler factory,
 * and a `HoldWorkStarter` that starts it (see `InProcessStarter`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { holdTaskHandler, type HoldTaskDeps } from '../app/hold-tasks.js';
import type { HoldWorkStarter } from '../domain/ports.js';
import { renderHoldStateMachine } from './asl.js';
import { InProcessStarter, type InProcessStarterOptions } from './in-process-starter.js';
import { executeLocally, type LocalExecutionOptions, type TaskHandler } from './sweep-runner.js';

export interface HoldHandlers {
  readonly worker: TaskHandler;
}

export function holdHandlers(
  deps: HoldTaskDeps,
  options: { readonly logger?: Logger; readonly chunkMs?: number; readonly pageSize?: number } = {},
): HoldHandlers {
  return {
    worker: holdTaskHandler(deps, {
      logger: options.logger ?? new Logger({ serviceName: 'lethe' }),
      ...(options.chunkMs !== undefined && { chunkMs: options.chunkMs }),
      ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    }),
  };
}

/** Runs one hold's work (apply or release, by the hold's state); the execution name is `<holdId>-apply` or `<holdId>-release`. */
export async function runHoldWorkLocally(
  handlers: HoldHandlers,
  input: { readonly tenantId: string; readonly holdId: string },
  options: LocalExecutionOptions,
): Promise<unknown> {
  return executeLocally(renderHoldStateMachine(), handlers, { ...input }, options);
}

export type HoldStart = { readonly tenantId: string; readonly holdId: string; readonly executionName: string };

export class InProcessHoldWorkStarter extends InProcessStarter<HoldStart> implements HoldWorkStarter {
  constructor(handlers: HoldHandlers, options: InProcessStarterOptions = {}) {
    super(
      (input, retryIntervalMs) =>
        runHoldWorkLocally(handlers, { tenantId: input.tenantId, holdId: input.holdId }, { executionName: input.executionName, retryIntervalMs }),
      options,
    );
  }
}
