import { Logger } from '@aws-lambda-powertools/logger';
import { createPublicApiHandler } from '../../shared/app/api/handler.js';

// The public document needs no configuration, store or secret: no shared runtime here.
export const handler = createPublicApiHandler({ logger: new Logger({ serviceName: 'lethe' }) });
