import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { acknowledgementsUnder } from '../../infra/acknowledgements.js';
import { buildApp } from '../../infra/app.js';
import { AdminConsole, API_PATH_PATTERN, routingFunction } from '../../infra/constructs/admin-console.js';
import { AdminUserPool } from '../../infra/constructs/admin-user-pool.js';
import { ValidationError } from '../../infra/errors.js';
import { LOGIN_CALLBACK_URLS } from '../../cli/login-redirect.js';
import { testApp } from './helpers.js';

type Json = Record<string, any>;

function built(context: Record<string, unknown> = {}) {
  const app = testApp({ profile: 'conversations', mailFrom: 'alerts@lethe.example', ...context });
  const lethe = buildApp(app, { nag: false });
  const stack = lethe.stateless;
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const logicalId = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const resourceOf = (c: IConstruct): Json => resources[logicalId(c)]!;
  return { app, stack, template, resources, logicalId, ofType, resourceOf, console: stack.adminConsole!, users: stack.adminApi.users! };
}

/** A site directory like `npm run build:console` writes. */
function builtSite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-console-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="/app.js"></script>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'docs', 'index.html'), '<!doctype html>');
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'assets', 'app.css'), '');
  return dir;
}

/** An AdminConsole alone in a stack, bundled or not. */
function consoleAlone(siteDirectory: string, bundling: boolean) {
  const app = new App({ context: bundling ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Console');
  const users = new AdminUserPool(stack, 'Users', { loginDomainPrefix: 'lethe-test' });
  const api = new HttpApi(stack, 'Api');
  return () => new AdminConsole(stack, 'Console', { users, api, siteDirectory });
}

describe('the console bucket', () => {
  const b = built();
  const bucket = b.resourceOf(b.console.bucket).Properties;

  it('blocks every kind of public access and is encrypted', () => {
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.WebsiteConfiguration).toBeUndefined();
  });

  it('refuses requests without TLS and lets only the distribution read it (origin access control)', () => {
    const policy = b.ofType('AWS::S3::BucketPolicy').find((p) => p.Properties.Bucket.Ref === b.logicalId(b.console.bucket))!;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const reads = statements.filter((s) => s.Effect === 'Allow' && s.Action === 's3:GetObject');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(JSON.stringify(reads[0]!.Condition)).toContain(b.logicalId(b.console.distribution));
    expect(statements.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('"*"'))).toEqual([]);
  });
});

describe('the console distribution', () => {
  const b = built();
  const config = b.resourceOf(b.console.distribution).Properties.DistributionConfig;
  const origins = config.Origins as Json[];
  const s3Origin = origins.find((o) => o.S3OriginConfig !== undefined)!;
  const headers = b.resourceOf(b.console.responseHeadersPolicy).Properties.ResponseHeadersPolicyConfig;
  const csp: string = JSON.stringify(b.stack.resolve(headers.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy));

  it('reads the bucket through origin access control (SigV4, always), not an origin access identity', () => {
    expect(s3Origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Id'] });
    expect(s3Origin.S3OriginConfig.OriginAccessIdentity).toBe('');
    const [oac] = b.ofType('AWS::CloudFront::OriginAccessControl');
    expect(oac!.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
  });

  it('redirects to HTTPS and puts the strict headers on every answer', () => {
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: b.logicalId(b.console.responseHeadersPolicy) });
    const api = (config.CacheBehaviors as Json[]).find((c) => c.PathPattern === API_PATH_PATTERN)!;
    expect(api.ResponseHeadersPolicyId).toEqual({ Ref: b.logicalId(b.console.responseHeadersPolicy) });
  });

  it('sends a CSP with scripts from its own origin only, requests to itself and the managed login, and no framing', () => {
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/.*amazoncognito.com/);
    expect(headers.SecurityHeadersConfig.ContentSecurityPolicy.Override).toBe(true);
  });

  it('sends HSTS, nosniff, DENY framing and no referrer', () => {
    const security = headers.SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 730 * 86400, IncludeSubdomains: true, Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(security.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
  });

  it('allows inline styles on the docs page only (Swagger UI sets them), scripts still from its own origin only', () => {
    const docs = b.resourceOf(b.console.docsResponseHeadersPolicy).Properties.ResponseHeadersPolicyConfig;
    const docsCsp = JSON.stringify(b.stack.resolve(docs.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy));
    expect(docsCsp).toContain("style-src 'self' 'unsafe-inline'");
    expect(docsCsp).toContain("script-src 'self';");
    const docsBehaviors = (config.CacheBehaviors as Json[]).filter((c) => c.PathPattern.startsWith('/docs'));
    expect(docsBehaviors.map((c) => c.PathPattern).sort()).toEqual(['/docs', '/docs/*']);
    for (const behavior of docsBehaviors) expect(behavior.ResponseHeadersPolicyId).toEqual({ Ref: b.logicalId(b.console.docsResponseHeadersPolicy) });
  });

  it('serves the admin API under /v1/* of its own origin: never cached, every method, the JWT forwarded, TLS 1.2 to the API', () => {
    const api = (config.CacheBehaviors as Json[]).find((c) => c.PathPattern === API_PATH_PATTERN)!;
    expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']));
    expect(api.ViewerProtocolPolicy).toBe('https-only');
    // CachingDisabled and AllViewerExceptHostHeader: the managed policies' ids.
    expect(api.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad');
    expect(api.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac');
    const origin = origins.find((o) => o.Id === api.TargetOriginId)!;
    expect(JSON.stringify(origin.DomainName)).toContain(b.logicalId(b.stack.adminApi.api));
    expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
  });

  it('routes the single-page app with a viewer-request function, not error responses that would mask the API’s 403 and 404', () => {
    expect(config.CustomErrorResponses).toBeUndefined();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: expect.anything() }]);
  });

  it('does not depend on the API for CORS: the API has none (same origin)', () => {
    const [api] = b.ofType('AWS::ApiGatewayV2::Api');
    expect(api!.Properties.CorsConfiguration).toBeUndefined();
  });

  it('outputs the console URL', () => {
    const outputs = b.template.toJSON().Outputs as Json;
    expect(outputs.ConsoleUrl.Value).toEqual(b.stack.resolve(b.console.url));
    expect(JSON.stringify(outputs.ConsoleUrl.Value)).toContain(b.logicalId(b.console.distribution));
  });
});

describe('the routing function', () => {
  const route = (uri: string, directories: readonly string[] = ['docs']): string => {
    const sandbox: Json = {};
    runInNewContext(`${routingFunction(directories)}\nresult = handler({ request: { uri: ${JSON.stringify(uri)} } }).uri;`, sandbox);
    return sandbox.result as string;
  };

  it('serves the app for its routes and the root', () => {
    expect(route('/')).toBe('/index.html');
    expect(route('/customers')).toBe('/index.html');
    expect(route('/runs/r-123/')).toBe('/index.html');
  });

  it('serves a directory of the build its own index.html', () => {
    expect(route('/docs')).toBe('/docs/index.html');
    expect(route('/docs/')).toBe('/docs/index.html');
  });

  it('leaves files alone', () => {
    expect(route('/config.json')).toBe('/config.json');
    expect(route('/assets/app.css')).toBe('/assets/app.css');
    expect(route('/docs/swagger-ui.css')).toBe('/docs/swagger-ui.css');
  });
});

describe('the console and CLI app client', () => {
  const b = built();
  const client = b.resourceOf(b.users.loginClient).Properties;

  it('allows the authorization code grant only, with no client secret (PKCE)', () => {
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client.GenerateSecret).toBe(false);
    // What the managed login may offer: SRP (then the pool's TOTP), and refreshing; no plain password or custom flow.
    expect([...client.ExplicitAuthFlows].sort()).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH']);
    expect(client.SupportedIdentityProviders).toEqual(['COGNITO']);
  });

  it('asks for openid, email and profile, nothing more (no aws.cognito.signin.user.admin)', () => {
    expect([...client.AllowedOAuthScopes].sort()).toEqual(['email', 'openid', 'profile']);
  });

  it('returns only to the console and to the CLI’s loopback ports', () => {
    const callbacks = b.stack.resolve(client.CallbackURLs) as unknown[];
    expect(callbacks).toHaveLength(1 + LOGIN_CALLBACK_URLS.length);
    expect(callbacks).toEqual(expect.arrayContaining([...LOGIN_CALLBACK_URLS]));
    expect(LOGIN_CALLBACK_URLS.every((u) => /^http:\/\/localhost:\d+\/callback$/.test(u))).toBe(true);
    const consoleCallback = callbacks.find((c) => typeof c !== 'string');
    expect(JSON.stringify(consoleCallback)).toContain(b.logicalId(b.console.distribution));
    expect(b.stack.resolve(client.LogoutURLs)).toEqual([consoleCallback]);
  });

  it('reads the tenant in the ID token and is an audience of the API', () => {
    expect(client.ReadAttributes).toContain('custom:tenantId');
    expect(client.WriteAttributes).not.toContain('custom:tenantId');
    const [authorizer] = b.ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer!.Properties.JwtConfiguration.Audience).toContainEqual({ Ref: b.logicalId(b.users.loginClient) });
  });

  it('keeps the admin tools client on SRP with OAuth off, and the pool on required TOTP MFA', () => {
    const tools = b.resourceOf(b.users.client).Properties;
    expect(tools.ExplicitAuthFlows).toEqual(expect.arrayContaining(['ALLOW_USER_SRP_AUTH']));
    expect(tools.AllowedOAuthFlowsUserPoolClient).toBe(false);
    const pool = b.resourceOf(b.users.userPool).Properties;
    expect(pool.MfaConfiguration).toBe('ON');
    expect(pool.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
  });

  it('signs in through the managed login (version 2) with a branding style for the client', () => {
    const [domain] = b.ofType('AWS::Cognito::UserPoolDomain');
    expect(domain!.Properties.ManagedLoginVersion).toBe(2);
    expect(JSON.stringify(domain!.Properties.Domain)).toContain('lethe-conversations-stateless-');
    const [branding] = b.ofType('AWS::Cognito::ManagedLoginBranding');
    expect(branding!.Properties).toMatchObject({ ClientId: { Ref: b.logicalId(b.users.loginClient) }, UseCognitoProvidedValues: true });
  });

  it('outputs the login domain and the client id', () => {
    const outputs = b.template.toJSON().Outputs as Json;
    expect(outputs.AdminLoginDomain.Value).toEqual(b.stack.resolve(b.users.loginUrl));
    expect(outputs.AdminLoginClientId.Value).toEqual({ Ref: b.logicalId(b.users.loginClient) });
  });

  it('refuses a domain prefix Cognito would refuse', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new AdminUserPool(stack, 'U', { loginDomainPrefix: 'Lethe_Admins' })).toThrow(ValidationError);
    expect(() => new AdminUserPool(stack, 'V', { loginDomainPrefix: 'my-cognito-login' })).toThrow(/cognito/);
  });
});

describe('the console’s config.json', () => {
  const b = built();
  const config = b.stack.resolve(b.console.config) as Json;

  it('tells the console its API (its own origin), the managed login, the client and the redirect', () => {
    expect(config.apiUrl).toEqual(b.stack.resolve(b.console.url));
    expect(config.auth.mode).toBe('cognito');
    expect(config.auth.domain).toEqual(b.stack.resolve(b.users.loginUrl));
    expect(config.auth.clientId).toEqual({ Ref: b.logicalId(b.users.loginClient) });
    expect(JSON.stringify(config.auth.redirectUri)).toContain(b.logicalId(b.console.distribution));
    expect(config.auth.scopes).toEqual(['openid', 'email', 'profile']);
    expect(Object.keys(config.actionRoles)).toContain('manageLegalHolds');
  });

  it('is deployed with the build, replacing the old one and invalidating the cache', () => {
    const [deployment] = b.ofType('Custom::CDKBucketDeployment');
    expect(deployment!.Properties.Prune).toBe(true);
    expect(deployment!.Properties.DistributionPaths).toEqual(['/*']);
    expect(deployment!.Properties.DestinationBucketName).toEqual({ Ref: b.logicalId(b.console.bucket) });
    expect(deployment!.Properties.SourceMarkers.length).toBeGreaterThanOrEqual(2);
  });
});

describe('the console build at synth', () => {
  it('fails with what to run when the stack is bundled and console/dist is missing', () => {
    const make = consoleAlone(join(tmpdir(), 'lethe-no-such-console'), true);
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as Error).message).toMatch(/not built .*run `npm run build:console`/);
  });

  it('stands in a placeholder when the stack is not bundled (cdk synth -e, tests)', () => {
    const made = consoleAlone(join(tmpdir(), 'lethe-no-such-console'), false)();
    expect(made.distribution).toBeDefined();
  });

  it('routes every directory of the build that has an index.html', () => {
    const made = consoleAlone(builtSite(), true)();
    const [fn] = Object.values(Template.fromStack(Stack.of(made)).toJSON().Resources as Record<string, Json>).filter((r) => r.Type === 'AWS::CloudFront::Function');
    expect(fn!.Properties.FunctionCode).toContain('var DIRECTORIES = ["/docs"];');
  });
});

describe('without the built-in user pool', () => {
  it('builds no console: it signs in through that pool', () => {
    const b = buildApp(testApp({ profile: 'conversations', jwtIssuer: 'https://login.lethe.example/', jwtAudience: 'lethe' }), { nag: false });
    expect(b.stateless.adminConsole).toBeUndefined();
  });
});

describe('cdk-nag on the console', () => {
  const b = built();

  it('reports no unacknowledged finding on the console, its deployment or the user pool', () => {
    const report = new AwsSolutionsChecks(b.app).validateScope(b.stack);
    const mine = report.violations.flatMap((v) =>
      v.violatingResources
        .map((r) => r.constructPath ?? '')
        .filter((path) => /\/AdminConsole\/|Custom::CDKBucketDeployment|\/Users\//.test(path))
        .map((path) => `${v.ruleName} at ${path}`),
    );
    expect(mine).toEqual([]);
  });

  it('acknowledges its findings with a reason each', () => {
    const acks = acknowledgementsUnder(b.stack).filter((a) => /AdminConsole|CDKBucketDeployment/.test(a.path));
    expect(acks.map((a) => a.ruleId)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']));
    for (const ack of acks) expect(ack.reason.length, ack.ruleId).toBeGreaterThan(40);
  });
});
