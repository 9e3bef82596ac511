/**
 * Writes the admin API's OpenAPI document to `openapi.json` at the repository
 * root (`npm run openapi`). The same document is served at `/v1/openapi.json`;
 * test/api/openapi.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from '../shared/app/api/routes.js';

const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
writeFileSync(target, renderOpenApiDocument());
console.log(`wrote ${target}`);
