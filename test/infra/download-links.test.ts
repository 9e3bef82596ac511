/**
 * Download links in the synthesized stacks: the functions that build them
 * (every admin API function, the privacy worker) are told the admin API's
 * base URL in PUBLIC_API_URL, from the API resource of the same stack without
 * a dependency cycle; the download route is served without the JWT
 * authorizer, as an explicit, acknowledged exemption.
 */
import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { acknowledgementsUnder } from '../../infra/acknowledgements.js';
import { buildApp } from '../../infra/app.js';
import { AdminRoutes, PUBLIC_ROUTES } from '../../infra/constructs/admin-routes.js';
import { LetheFunction } from '../../infra/constructs/lethe-function.js';
import { LetheRuntime, PUBLIC_API_URL_VARIABLE } from '../../infra/constructs/lethe-runtime.js';
import { ValidationError } from '../../infra/errors.js';
import type { RouteSpec } from '../../shared/app/api/contract.js';
import { loadProfile, PROFILE_NAMES } from '../../shared/config/profiles.js';
import { testApp } from './helpers.js';

type Json = Record<string, any>;

const DOWNLOAD_ROUTE = 'GET /v1/downloads/{token}';

describe.each(PROFILE_NAMES)('PUBLIC_API_URL under the %s profile', (profile) => {
  const app = testApp({ profile, mailFrom: 'alerts@lethe.example' });
  const lethe = buildApp(app, { nag: false });
  const stack = lethe.stateless;
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const functions = stack.node.findAll().filter((c): c is LetheFunction => c instanceof LetheFunction);
  const variables = (fn: LetheFunction): Json => resources[logicalId(fn.function)]!.Properties.Environment.Variables;
  const linkBuilders = new Set([...Object.values(stack.adminApi.functions), stack.privacy.workerFunction]);

  it('is told to every admin API function and the privacy worker, and to no other function', () => {
    expect(linkBuilders.size).toBe(Object.keys(stack.adminApi.functions).length + 1);
    for (const fn of functions) {
      if (linkBuilders.has(fn.function)) expect(variables(fn)[PUBLIC_API_URL_VARIABLE], fn.node.id).toBeDefined();
      else expect(variables(fn), fn.node.id).not.toHaveProperty(PUBLIC_API_URL_VARIABLE);
    }
  });

  it("is the admin API's endpoint, taken from the API resource alone (not its stage, routes or integrations)", () => {
    const apiId = logicalId(stack.adminApi.api);
    for (const fn of functions.filter((f) => linkBuilders.has(f.function))) {
      expect(variables(fn)[PUBLIC_API_URL_VARIABLE], fn.node.id).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    }
    // The API resource refers to no function, so the functions may refer to it.
    expect(JSON.stringify(resources[apiId])).not.toMatch(/Function/);
  });

  it('serves the download route of the contract without a JWT, from the function that reads the buckets and the keys', () => {
    const route = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === DOWNLOAD_ROUTE)!.Properties;
    expect(route.AuthorizationType).toBe('NONE');
    expect(route.AuthorizerId).toBeUndefined();
    const integrationId = route.Target['Fn::Join'][1][1].Ref as string;
    const served = resources[integrationId]!.Properties.IntegrationUri as Json;
    const server = functions.find((fn) => logicalId(fn.function) === served['Fn::GetAtt'][0])!;
    expect(server.function).toBe(stack.adminApi.functionOf('customers'));
    expect(variables(server)).toHaveProperty('SHREDDING_KEY_ARN');
  });

  it('synthesizes without a dependency cycle, and the stateful stack still depends on nothing of the stateless one', () => {
    expect(() => app.synth()).not.toThrow();
    expect(lethe.stateful.dependencies).not.toContain(stack);
  });
});

describe('the admin API routes served without a JWT', () => {
  /** AdminRoutes over a hand-written contract, one plain function serving every group. */
  function routes(specs: readonly RouteSpec[]) {
    const app = testApp();
    const stack = new Stack(app, 'Api');
    const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('export const handler = () => {}') });
    const built = new AdminRoutes(stack, 'Routes', {
      functions: { customers: fn, openapi: fn, tenants: fn },
      routes: specs,
      jwtIssuer: 'https://login.lethe.example/',
      jwtAudience: ['lethe-admin'],
    });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
    const route = (key: string): Json => Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === key)!.Properties;
    return { built, route };
  }
  const contract: RouteSpec[] = [
    { method: 'GET', path: '/v1/downloads/{token}', group: 'customers', minRole: 'public' },
    { method: 'GET', path: '/v1/openapi.json', group: 'openapi', minRole: 'public' },
    { method: 'GET', path: '/v1/tenants', group: 'tenants', minRole: 'SuperAdministrator' },
  ];

  it('serves the download route without an authorizer, and keeps the JWT on the others', () => {
    const r = routes(contract);
    expect(r.route(DOWNLOAD_ROUTE)).toMatchObject({ AuthorizationType: 'NONE' });
    expect(r.route(DOWNLOAD_ROUTE).AuthorizerId).toBeUndefined();
    expect(r.route('GET /v1/tenants')).toMatchObject({ AuthorizationType: 'JWT' });
  });

  it('acknowledges cdk-nag APIG4 on the download route alone, with the reason it is a capability URL', () => {
    const r = routes(contract);
    const onDownloads = acknowledgementsUnder(r.built.routes.get(DOWNLOAD_ROUTE)!);
    expect(onDownloads.map((a) => [a.ruleId, a.reason])).toEqual([['AwsSolutions-APIG4', PUBLIC_ROUTES[DOWNLOAD_ROUTE]]]);
    expect(PUBLIC_ROUTES[DOWNLOAD_ROUTE]).toMatch(/capability URL/);
    expect(acknowledgementsUnder(r.built.routes.get('GET /v1/tenants')!)).toEqual([]);
  });

  it('refuses a route the contract makes public without a reason in PUBLIC_ROUTES', () => {
    const careless: RouteSpec = { method: 'GET', path: '/v1/tenants', group: 'tenants', minRole: 'public' };
    expect(() => routes([careless])).toThrow(ValidationError);
    expect(() => routes([careless])).toThrow(/GET \/v1\/tenants is public in the contract, but not in PUBLIC_ROUTES/);
  });
});

describe('the runtime telling functions the API URL', () => {
  function world() {
    const app = testApp({ profile: 'voice' });
    const { stateful } = buildApp(app, { nag: false });
    const stack = new Stack(app, 'Functions');
    const runtime = new LetheRuntime({
      records: stateful.records,
      control: stateful.control,
      keys: stateful.keys,
      blobs: stateful.blobs,
      shreddingKey: stateful.shreddingKey,
      referenceSecret: new Secret(stack, 'Secret'),
      platformPolicy: loadProfile('voice'),
      operatorEmails: [],
      mailFrom: 'alerts@lethe.example',
      stageBudget: Duration.minutes(4),
    });
    const make = (id: string, buildsDownloadLinks: boolean) =>
      runtime.newFunction(stack, id, { functionDir: 'sweep-stage', description: `test ${id}`, access: { buildsDownloadLinks } });
    const variables = (fn: LetheFunction): Json =>
      (Template.fromStack(stack).toJSON().Resources as Record<string, Json>)[stack.getLogicalId(fn.function.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
    return { app, runtime, make, variables };
  }

  it('tells the functions made before and after the URL is known, and no other', () => {
    const w = world();
    const before = w.make('Before', true);
    const quiet = w.make('Quiet', false);
    w.runtime.serveDownloadsAt('https://api.lethe.example');
    const after = w.make('After', true);
    expect(w.variables(before)[PUBLIC_API_URL_VARIABLE]).toBe('https://api.lethe.example');
    expect(w.variables(after)[PUBLIC_API_URL_VARIABLE]).toBe('https://api.lethe.example');
    expect(w.variables(quiet)).not.toHaveProperty(PUBLIC_API_URL_VARIABLE);
  });

  it('fails synth when a function builds links and no URL was ever given', () => {
    const w = world();
    w.make('Orphan', true);
    expect(() => w.app.synth()).toThrow(/PUBLIC_API_URL: the function builds download links but no API URL was given/);
  });

  it('takes the URL once', () => {
    const w = world();
    w.runtime.serveDownloadsAt('https://api.lethe.example');
    expect(() => w.runtime.serveDownloadsAt('https://other.lethe.example')).toThrow(ValidationError);
  });
});
