/**
 * Runs the rendered `Deletion` state machine in-process with
 * aws-local-stepfunctions, its task served by the production handler factory,
 * and a `DeletionWorkStarter` that starts it (see `InProcessStarter`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { deletionTaskHandler } from '../app/deletion-tasks.js';
import type { DeletionWorkStarter } from '../domain/ports.js';
import type { RunDeps } from '../domain/runs.js';
import { renderDeletionStateMachine } from './asl.js';
import { InProcessStarter, type InProcessStarterOptions } from './in-process-starter.js';
import { executeLocally, type LocalExecutionOptions, type TaskHandler } from './sweep-runner.js';

export interface DeletionHandlers {
  readonly worker: TaskHandler;
}

export function deletionHandlers(deps: RunDeps, options: { readonly logger?: Logger; readonly chunkMs?: number; readonly callsMs?: number } = {}): DeletionHandlers {
  return {
    worker: deletionTaskHandler(deps, {
      logger: options.logger ?? new Logger({ serviceName: 'lethe' }),
      ...(options.chunkMs !== undefined && { chunkMs: options.chunkMs }),
      ...(options.callsMs !== undefined && { callsMs: options.callsMs }),
    }),
  };
}

/** Runs one task's execution; the execution name is the task id. */
export async function runDeletionWorkLocally(
  handlers: DeletionHandlers,
  input: { readonly tenantId: string; readonly taskId: string },
  options: LocalExecutionOptions,
): Promise<unknown> {
  return executeLocally(renderDeletionStateMachine(), handlers, { ...input }, options);
}

export type DeletionStart = { readonly tenantId: string; readonly taskId: string; readonly executionName: string };

export interface InProcessDeletionWorkStarterOptions extends InProcessStarterOptions {
  /** Wait between attempts, in ms, instead of the definition's minutes (tests). */
  readonly waitMs?: number;
}

export class InProcessDeletionWorkStarter extends InProcessStarter<DeletionStart> implements DeletionWorkStarter {
  constructor(handlers: DeletionHandlers, options: InProcessDeletionWorkStarterOptions = {}) {
    super(
      (input, retryIntervalMs) =>
        runDeletionWorkLocally(
          handlers,
          { tenantId: input.tenantId, taskId: input.taskId },
          { executionName: input.executionName, retryIntervalMs, ...(options.waitMs !== undefined && { waitMs: options.waitMs }) },
        ),
      options,
    );
  }
}
