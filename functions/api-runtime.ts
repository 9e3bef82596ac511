/**
 * Composition root of the admin API's functions: the shared Lambda runtime
 * (configuration, clients, adapters) plus what only the API needs — a way to
 * start `Sweep` executions and the inline-blob limit of an ingest body.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsSweepStarter } from '../shared/adapters/sfn/sweep-starter.js';
import type { ApiDeps, SweepStarter } from '../shared/app/api/contract.js';
import { ConfigurationError } from '../shared/config/lambda-env.js';
import { config, logger, runDeps } from './runtime.js';

export { config, logger };

/**
 * A synchronous Lambda request is at most 6 MB; 4 MiB of content is about
 * 5.6 MB as base64 in JSON. Larger blobs go through an upload URL.
 */
export const LAMBDA_MAX_INLINE_BLOB_BYTES = 4 * 1024 * 1024;

/** Only the runs function starts executions; the others never call this. */
const unconfiguredSweeps: SweepStarter = {
  start: async () => {
    throw new ConfigurationError('environment variable SWEEP_STATE_MACHINE_ARN is not set');
  },
};

const sweeps: SweepStarter =
  config.sweepStateMachineArn === undefined
    ? unconfiguredSweeps
    : new StepFunctionsSweepStarter({
        sfn: new SFNClient({ region: config.region }),
        stateMachineArn: config.sweepStateMachineArn,
      });

export const apiDeps: ApiDeps = { ...runDeps, sweeps, maxInlineBlobBytes: LAMBDA_MAX_INLINE_BLOB_BYTES };
