/**
 * Platform services' access in AWS: the /v1/service/ routes take API
 * Gateway's IAM (SigV4) authorizer, the admin routes keep the JWT one, and the
 * stack outputs a managed policy that allows only the service routes of the
 * tenant the caller's principal tag names.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { routeKey } from '../../infra/constructs/admin-routes.js';
import { SERVICE_TENANT_TAG } from '../../infra/constructs/service-routes.js';
import { isServiceRoute, ROUTES } from '../../shared/app/api/contract.js';
import { logicalIdOf, testApp } from './helpers.js';

type Json = Record<string, any>;

function built() {
  const app = testApp({ profile: 'conversations', mailFrom: 'alerts@lethe.example' });
  const lethe = buildApp(app, { nag: false });
  const stack = lethe.stateless;
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const routeOf = (key: string): Json => {
    const found = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === key);
    if (found === undefined) throw new Error(`no route ${key}`);
    return found.Properties;
  };
  return { app, stack, template, resources, routeOf };
}

describe('the service routes', () => {
  const b = built();
  const serviceRoutes = ROUTES.filter(isServiceRoute);

  it('builds ingest and the five reads under /v1/service/, each with the IAM authorizer', () => {
    expect(serviceRoutes.map(routeKey).sort()).toEqual([
      'GET /v1/service/tenants/{t}/calls/{id}',
      'GET /v1/service/tenants/{t}/conversations/{id}',
      'GET /v1/service/tenants/{t}/conversations/{id}/attachments/{attachmentId}',
      'GET /v1/service/tenants/{t}/customers/{id}',
      'GET /v1/service/tenants/{t}/customers/{id}/timeline',
      'POST /v1/service/tenants/{t}/records',
    ]);
    for (const spec of serviceRoutes) {
      const route = b.routeOf(routeKey(spec));
      expect(route.AuthorizationType, routeKey(spec)).toBe('AWS_IAM');
      expect(route.AuthorizerId, routeKey(spec)).toBeUndefined();
    }
  });

  it('keeps the JWT authorizer on the admin routes the service routes mirror', () => {
    for (const key of ['POST /v1/tenants/{t}/records', 'GET /v1/tenants/{t}/customers/{id}', 'GET /v1/tenants/{t}/conversations/{id}', 'GET /v1/tenants/{t}/calls/{id}']) {
      expect(b.routeOf(key).AuthorizationType, key).toBe('JWT');
    }
  });

  it('integrates each service route with the function of the route it mirrors', () => {
    for (const spec of serviceRoutes) {
      const twin = b.routeOf(routeKey(spec)).Target;
      const admin = b.routeOf(routeKey({ method: spec.method, path: spec.path.replace('/v1/service/', '/v1/') })).Target;
      expect(twin, routeKey(spec)).toEqual(admin);
    }
  });
});

describe('the managed policy for platform services', () => {
  const b = built();
  const policy = b.stack.adminApi.adminRoutes.serviceRoutes?.policy;
  const properties = () => b.resources[logicalIdOf(policy!)]!.Properties as Json;

  it('is output for attaching to the platform roles', () => {
    expect(policy).toBeDefined();
    expect(b.template.toJSON().Outputs.ServiceAccessPolicyArn.Value).toEqual({ Ref: logicalIdOf(policy!) });
  });

  it("allows execute-api:Invoke only on the service paths of the tenant its caller's tag names", () => {
    const [statement, ...others] = properties().PolicyDocument.Statement as Json[];
    expect(others).toEqual([]);
    expect(statement).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    const resources = (statement!.Resource as Json[]).map((r) => JSON.stringify(b.stack.resolve(r)));
    expect(resources).toHaveLength(2);
    const apiRef = JSON.stringify({ Ref: logicalIdOf(b.stack.adminApi.api) });
    for (const [resource, method] of resources.map((r, i) => [r, ['GET', 'POST'][i]] as const)) {
      expect(resource).toContain('execute-api');
      expect(resource).toContain(apiRef);
      expect(resource).toContain(`/*/${method}/v1/service/tenants/\${aws:PrincipalTag/${SERVICE_TENANT_TAG}}/*`);
    }
  });

  it('allows no admin route', () => {
    const text = JSON.stringify(properties().PolicyDocument);
    expect(text).not.toMatch(/\/v1\/tenants\//);
    expect(text).not.toContain('"*"');
  });

  it('leaves cdk-nag nothing unacknowledged on the service access', () => {
    const report = new AwsSolutionsChecks(b.app).validateScope(b.stack.adminApi.adminRoutes.serviceRoutes!);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
