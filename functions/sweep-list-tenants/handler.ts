import { createS3Client } from '../../shared/adapters/clients.js';
import { S3SweepManifestStore } from '../../shared/adapters/s3/sweep-manifest-store.js';
import { listTenantsHandler } from '../../shared/app/sweep-tasks.js';
import { config, logger, runDeps } from '../runtime.js';

const manifests = new S3SweepManifestStore({ s3: createS3Client({ region: config.region }), bucket: config.bucketNames.exports });

export const handler = listTenantsHandler(runDeps, { logger, stageBudgetMs: config.stageBudgetMs, manifests });
