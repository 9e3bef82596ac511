/**
 * The committed `openapi.json` is the document generated from the route table
 * and the zod schemas; run `npm run openapi` after changing either.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../shared/app/api/contract.js';
import { buildOpenApiDocument, renderOpenApiDocument } from '../../shared/app/api/routes.js';

const COMMITTED = fileURLToPath(new URL('../../openapi.json', import.meta.url));

describe('openapi.json', () => {
  it('matches the generated document (run `npm run openapi` when this fails)', () => {
    expect(readFileSync(COMMITTED, 'utf8')).toBe(renderOpenApiDocument());
  });

  it('documents every route with its parameters, body and error shape', () => {
    const doc = buildOpenApiDocument();

    for (const route of ROUTES) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()] as Record<string, any> | undefined;
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      const pathParams = [...route.path.matchAll(/\{(\w+)\}/gu)].map((m) => m[1]);
      expect(operation?.parameters.filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name)).toEqual(pathParams);
      expect(operation?.['x-lethe-min-role']).toBe(route.minRole);
      if (route.minRole !== 'public') expect(operation?.responses['403'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    const putPolicy = doc.paths['/v1/tenants/{t}/retention-policy']?.put as Record<string, any>;
    expect(putPolicy.requestBody.content['application/json'].schema.properties.categories.propertyNames.enum).toContain('call_recording');
  });
});
