/**
 * The OpenAPI 3.1 generator of the admin API: a route table (the contract's
 * routes with their definitions) and the zod schemas the edge validates with
 * (`z.toJSONSchema`) in, the document out. It takes the table as an argument
 * rather than importing routes.ts, because the table serves the document
 * (`GET /v1/openapi.json`): routes.ts builds the served document with it, and
 * `npm run openapi` writes the same one to `openapi.json`; a test fails when
 * the two drift.
 */
import { z } from 'zod';
import type { RouteSpec } from './contract.js';
import { errorResponse } from './schemas.js';

type JsonSchema = Record<string, unknown>;

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
}

/** What the document says of a route: the part of a route definition (routes.ts) that is not its handler. */
export interface RouteDocumentation {
  readonly summary: string;
  readonly description?: string;
  readonly params: z.ZodType;
  readonly query: z.ZodType;
  /** Headers the route reads; absent: it reads none. */
  readonly headers?: z.ZodObject<Record<string, z.ZodType>>;
  /** Absent: the route takes no body. */
  readonly body?: z.ZodType;
  /** Whether a body must be sent (default true when `body` is given). */
  readonly bodyRequired?: boolean;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

/** One route of the table the document describes. */
export interface DocumentedRoute {
  readonly route: RouteSpec;
  readonly definition: RouteDocumentation;
}

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: Record<string, unknown>;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const ERROR_RESPONSES: Readonly<Record<number, string>> = {
  400: 'Invalid request; `error.field` names the offending field (a dotted path into the body, or a parameter name).',
  401: 'No or invalid token.',
  403: 'The token lacks the role, or is scoped to another tenant.',
  404: 'Not found.',
  413: 'The body is too large.',
  500: 'Internal error (no details).',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
  return rest;
}

function operationId(route: RouteSpec): string {
  const words = route.path
    .split('/')
    .filter((p) => p !== '' && p !== 'v1')
    .map((p) => (p.startsWith('{') ? `by-${p.slice(1, -1)}` : p))
    .join('-')
    .split(/[^A-Za-z0-9]+/u)
    .filter((w) => w !== '');
  return [route.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

function parameters(definition: RouteDocumentation): unknown[] {
  const out: unknown[] = [];
  const add = (schema: z.ZodType, where: 'path' | 'query' | 'header') => {
    const json = jsonSchema(schema, 'input');
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: property });
    }
  };
  add(definition.params, 'path');
  add(definition.query, 'query');
  if (definition.headers !== undefined) add(definition.headers, 'header');
  return out;
}

function operation({ route, definition }: DocumentedRoute): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(definition.responses)) {
    responses[status] = {
      description: doc.description,
      ...(doc.schema !== undefined && { content: { 'application/json': { schema: jsonSchema(doc.schema, 'output') } } }),
    };
  }
  const errors = route.minRole === 'public' ? [500] : [400, 401, 403, 404, 413, 500];
  for (const status of errors) {
    const key = String(status);
    const documented = responses[key] as { description: string } | undefined;
    responses[key] = {
      description: documented?.description ?? ERROR_RESPONSES[status],
      content: { 'application/json': { schema: ERROR_REF } },
    };
  }
  for (const [key, value] of Object.entries(responses)) {
    if (Number(key) >= 400 && (value as { content?: unknown }).content === undefined) {
      responses[key] = { ...(value as object), content: { 'application/json': { schema: ERROR_REF } } };
    }
  }
  return {
    operationId: operationId(route),
    summary: definition.summary,
    ...(definition.description !== undefined && { description: definition.description }),
    tags: [route.group],
    'x-lethe-min-role': route.minRole,
    ...(route.actions !== undefined && { 'x-lethe-actions': route.actions }),
    security: route.minRole === 'public' ? [] : route.minRole === 'Service' ? [{ sigv4: [] }, { bearer: [] }] : [{ bearer: [] }],
    parameters: parameters(definition),
    ...(definition.body !== undefined && {
      requestBody: {
        required: definition.bodyRequired ?? true,
        content: { 'application/json': { schema: jsonSchema(definition.body, 'input') } },
      },
    }),
    responses,
  };
}

/** The document of a route table, in its order; deterministic, so the committed copy can be compared byte for byte. */
export function openApiDocumentOf(routes: readonly DocumentedRoute[]): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const documented of routes) {
    (paths[documented.route.path] ??= {})[documented.route.method.toLowerCase()] = operation(documented);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lethe admin API',
      version: '1',
      description:
        'Retention policy, legal holds, privacy requests, customer export and deletion, ingest, deletion runs and audit of the Lethe data-retention engine. ' +
        'Tokens carry the roles (cognito:groups: Administrator, ComplianceAdministrator, SuperAdministrator) and the tenant (custom:tenantId); ' +
        'a token acts only on its own tenant unless it is a SuperAdministrator\'s. ' +
        'x-lethe-min-role is the least role of a route under the default roles; a route with x-lethe-actions is allowed to whoever the deployment\'s profile (its roles block) lets do one of them. ' +
        'Platform services call ingest and the reads under /v1/service/tenants/{t}/ as the Service role: SigV4-signed with IAM credentials allowed execute-api:Invoke on that tenant\'s paths (AWS), or a Service token (local mode); a service may call nothing else, and no admin token may call those. ' +
        'Errors are {"error": {"code", "message", "field"?}}.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(errorResponse, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (service execute-api) with IAM credentials; the /v1/service/ routes in AWS.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  };
}

/** A document as committed to `openapi.json`. */
export function openApiJson(document: OpenApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
