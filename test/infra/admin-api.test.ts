import { describe, expect, it } from 'vitest';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { acknowledgementsUnder } from '../../infra/acknowledgements.js';
import { applyFeatureFlags, buildApp, type BuildAppOptions } from '../../infra/app.js';
import { ValidationError } from '../../infra/errors.js';
import {
  ACCESS_LOG_FIELDS,
  ADMIN_API_GROUPS,
  DEFAULT_ADMIN_CHANGE_THROTTLE,
  DEFAULT_THROTTLE,
  PUBLIC_ROUTES,
  routeKey,
  type AdminApiGroup,
} from '../../infra/constructs/admin-api.js';
import { StatefulStack } from '../../infra/stateful-stack.js';
import { StatelessStack } from '../../infra/stateless-stack.js';
import { ROLES, ROUTES } from '../../shared/app/api/contract.js';
import { PROFILE_NAMES, loadProfile } from '../../shared/config/profiles.js';
import { capabilitiesOf as capabilitiesIn, testApp } from './helpers.js';

type Json = Record<string, any>;

const EXTERNAL = { jwtIssuer: 'https://login.lethe.example/', jwtAudience: 'lethe-admin, lethe-cli' };

function built(context: Record<string, unknown> = {}, options: BuildAppOptions = {}) {
  const app = testApp({ profile: 'conversations', mailFrom: 'alerts@lethe.example', ...context });
  const lethe = buildApp(app, { nag: false, ...options });
  const stack = lethe.stateless;
  const api = stack.adminApi;
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const logicalId = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const routeOf = (key: string): Json => {
    const found = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key);
    if (found === undefined) throw new Error(`no route ${key}`);
    return found[1].Properties;
  };
  const statementsOf = (fn: IFunction): Json[] => {
    const roleId = logicalId(fn.role!);
    return ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((x: Json) => x.Ref === roleId))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Json[]);
  };
  const actionsOf = (fn: IFunction): string[] => statementsOf(fn).flatMap((s) => [s.Action].flat() as string[]);
  /** The export name a cross-stack reference to a stateful resource's ARN gets. */
  const exported = (arn: string): string =>
    (stack.resolve(lethe.stateful.exportValue(arn)) as { 'Fn::ImportValue': string })['Fn::ImportValue'];
  return { app, lethe, stack, api, template, resources, logicalId, ofType, routeOf, statementsOf, actionsOf, exported };
}

type Built = ReturnType<typeof built>;

/** What a function may do, in words (see the helper's capabilitiesOf). */
const capabilitiesOf = (b: Built, fn: IFunction): string[] => capabilitiesIn(b.lethe, b.resources, fn);

/** What sealing and opening records' personal fields takes (see test/infra/shredding.test.ts). */
const SEALS = ['keys:read', 'keys:write', 'shredding:generate', 'shredding:unwrap'];

describe('the admin API routes', () => {
  const b = built();

  it('serves every route of the contract from its group\'s function', () => {
    const integrations = Object.fromEntries(b.ofType('AWS::ApiGatewayV2::Integration'));
    for (const spec of ROUTES) {
      const route = b.routeOf(routeKey(spec));
      const integrationId = route.Target['Fn::Join'][1][1].Ref as string;
      const integration = integrations[integrationId]!.Properties;
      expect(integration.IntegrationType, routeKey(spec)).toBe('AWS_PROXY');
      expect(integration.IntegrationUri, routeKey(spec)).toEqual({
        'Fn::GetAtt': [b.logicalId(b.api.functionOf(spec.group)), 'Arn'],
      });
    }
  });

  it('requires a JWT on every route but the public ones (the OpenAPI document, download links), each listed with its reason', () => {
    const authorizerId = b.ofType('AWS::ApiGatewayV2::Authorizer')[0]![0];
    for (const spec of ROUTES) {
      const route = b.routeOf(routeKey(spec));
      if (spec.minRole === 'public') {
        expect(route.AuthorizationType, routeKey(spec)).toBe('NONE');
        expect(route.AuthorizerId).toBeUndefined();
        expect(PUBLIC_ROUTES, routeKey(spec)).toHaveProperty([routeKey(spec)]);
      } else if (spec.minRole === 'Service') {
        // Platform services' twins: IAM (SigV4), see test/infra/service-routes.test.ts.
        expect(route.AuthorizationType, routeKey(spec)).toBe('AWS_IAM');
      } else {
        expect(route.AuthorizationType, routeKey(spec)).toBe('JWT');
        expect(route.AuthorizerId, routeKey(spec)).toEqual({ Ref: authorizerId });
      }
    }
    expect(b.routeOf('GET /v1/openapi.json').AuthorizationType).toBe('NONE');
  });

  it('builds no route that is not in the contract', () => {
    const keys = b.ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('lets API Gateway invoke each function only through its own routes', () => {
    const apiId = b.logicalId(b.api.api);
    for (const spec of ROUTES) {
      const fnId = b.logicalId(b.api.functionOf(spec.group));
      const permissions = b
        .ofType('AWS::Lambda::Permission')
        .map(([, r]) => r.Properties)
        .filter((p) => p.FunctionName['Fn::GetAtt']?.[0] === fnId && JSON.stringify(p.SourceArn).includes(`${spec.path}"`));
      expect(permissions.length, routeKey(spec)).toBeGreaterThan(0);
      expect(JSON.stringify(permissions[0]!.SourceArn)).toContain(apiId);
    }
  });
});

describe('the privacy-request routes', () => {
  const b = built();
  const privacyRoutes = ROUTES.filter((r) => r.group === 'privacy');

  it('are the routes of DESIGN.md §5 and the bulk preview, for whoever the profile lets file privacy requests (ComplianceAdministrators by default)', () => {
    expect(privacyRoutes.map((r) => [routeKey(r), r.minRole])).toEqual([
      ['POST /v1/tenants/{t}/privacy-requests', 'ComplianceAdministrator'],
      ['POST /v1/tenants/{t}/privacy-requests/preview', 'ComplianceAdministrator'],
      ['GET /v1/tenants/{t}/privacy-requests', 'ComplianceAdministrator'],
      ['GET /v1/tenants/{t}/privacy-requests/{id}', 'ComplianceAdministrator'],
      // Account exports: the whole tenant's data, for the same role.
      ['POST /v1/tenants/{t}/exports', 'ComplianceAdministrator'],
      ['GET /v1/tenants/{t}/exports/{id}', 'ComplianceAdministrator'],
    ]);
    expect(privacyRoutes.every((r) => r.actions?.includes('filePrivacyRequests'))).toBe(true);
  });

  it('exist behind the JWT authorizer, served by the privacy function', () => {
    const authorizerId = b.ofType('AWS::ApiGatewayV2::Authorizer')[0]![0];
    const integrations = Object.fromEntries(b.ofType('AWS::ApiGatewayV2::Integration'));
    for (const spec of privacyRoutes) {
      const route = b.routeOf(routeKey(spec));
      expect(route.AuthorizationType, routeKey(spec)).toBe('JWT');
      expect(route.AuthorizerId, routeKey(spec)).toEqual({ Ref: authorizerId });
      const integrationId = route.Target['Fn::Join'][1][1].Ref as string;
      expect(integrations[integrationId]!.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [b.logicalId(b.api.functionOf('privacy')), 'Arn'] });
    }
  });

  it('throttle a new request as an admin change', () => {
    const [[, stage]] = b.ofType('AWS::ApiGatewayV2::Stage') as [[string, Json]];
    expect(stage.Properties.RouteSettings['POST /v1/tenants/{t}/privacy-requests']).toEqual({
      ThrottlingRateLimit: DEFAULT_ADMIN_CHANGE_THROTTLE.rateLimit,
      ThrottlingBurstLimit: DEFAULT_ADMIN_CHANGE_THROTTLE.burstLimit,
    });
  });
});

describe('the admin API authorizer', () => {
  it('reads a JWT from the Authorization header', () => {
    const { ofType } = built();
    const [[, authorizer]] = ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Json]];
    expect(authorizer.Properties.AuthorizerType).toBe('JWT');
    expect(authorizer.Properties.IdentitySource).toEqual(['$request.header.Authorization']);
  });

  it('trusts the Cognito user pool by default: its issuer URL, its app clients (admin tools, console and lethe login) as the audience', () => {
    const b = built();
    const [[, authorizer]] = b.ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Json]];
    expect(authorizer.Properties.JwtConfiguration.Issuer).toEqual(b.stack.resolve(b.api.userPool!.userPoolProviderUrl));
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration.Issuer)).toContain(b.logicalId(b.api.userPool!));
    expect(authorizer.Properties.JwtConfiguration.Audience).toEqual([
      { Ref: b.logicalId(b.api.userPoolClient!) },
      { Ref: b.logicalId(b.api.users!.loginClient) },
    ]);
  });

  it('trusts an external issuer and audiences from the context instead, and builds no user pool', () => {
    const b = built(EXTERNAL);
    const [[, authorizer]] = b.ofType('AWS::ApiGatewayV2::Authorizer') as [[string, Json]];
    expect(authorizer.Properties.JwtConfiguration).toEqual({
      Issuer: 'https://login.lethe.example/',
      Audience: ['lethe-admin', 'lethe-cli'],
    });
    expect(b.api.userPool).toBeUndefined();
    expect(b.ofType('AWS::Cognito::UserPool')).toEqual([]);
    expect(b.template.toJSON().Outputs).not.toHaveProperty('AdminUserPoolId');
  });

  it('refuses an issuer without an audience, and an audience without an issuer', () => {
    expect(() => built({ jwtIssuer: EXTERNAL.jwtIssuer })).toThrow(ValidationError);
    expect(() => built({ jwtAudience: EXTERNAL.jwtAudience })).toThrow(/jwtIssuer and jwtAudience go together/);
  });

  it('refuses an issuer that is not an https URL', () => {
    expect(() => built({ ...EXTERNAL, jwtIssuer: 'http://login.lethe.example/' })).toThrow(/must be an https URL/);
  });
});

describe('the admin user pool', () => {
  const b = built();
  const pool = b.resources[b.logicalId(b.api.userPool!)]!.Properties;

  it('lets only operators create accounts, with a strong password policy', () => {
    expect(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(pool.Policies.PasswordPolicy).toMatchObject({
      RequireLowercase: true,
      RequireUppercase: true,
      RequireNumbers: true,
      RequireSymbols: true,
    });
    expect(pool.Policies.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
  });

  it('requires TOTP MFA and enforces threat protection', () => {
    expect(pool.MfaConfiguration).toBe('ON');
    expect(pool.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(pool.UserPoolTier).toBe('PLUS');
    expect(pool.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
  });

  it('has one group per role', () => {
    const groups = b.ofType('AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties.GroupName as string);
    expect(groups.sort()).toEqual([...ROLES].sort());
  });

  it('keeps the tenant in an immutable custom attribute the app client can read but not write', () => {
    expect(pool.Schema).toContainEqual(expect.objectContaining({ Name: 'tenantId', AttributeDataType: 'String', Mutable: false }));
    const client = b.resources[b.logicalId(b.api.userPoolClient!)]!.Properties;
    expect(client.ReadAttributes).toContain('custom:tenantId');
    expect(client.WriteAttributes).not.toContain('custom:tenantId');
    expect(client.GenerateSecret).toBe(false);
    expect(client.ExplicitAuthFlows).toEqual(expect.arrayContaining(['ALLOW_USER_SRP_AUTH']));
  });

  it('is retained when it leaves the stack, with deletion protection', () => {
    const resource = b.resources[b.logicalId(b.api.userPool!)]!;
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(pool.DeletionProtection).toBe('ACTIVE');
  });

  it('outputs the API URL, the user pool id and the app client id', () => {
    const outputs = b.template.toJSON().Outputs as Json;
    expect(outputs.AdminApiUrl.Value).toEqual(b.stack.resolve(b.api.url));
    expect(outputs.AdminUserPoolId.Value).toEqual({ Ref: b.logicalId(b.api.userPool!) });
    expect(outputs.AdminUserPoolClientId.Value).toEqual({ Ref: b.logicalId(b.api.userPoolClient!) });
  });
});

describe('the admin API stage', () => {
  const b = built();
  const [[stageId, stage]] = b.ofType('AWS::ApiGatewayV2::Stage') as [[string, Json]];

  it('is the auto-deployed $default stage', () => {
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
  });

  it('throttles every route at the stage default', () => {
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit,
      ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit,
    });
  });

  it('throttles every admin change harder, and leaves reads and bulk ingest at the default', () => {
    const settings = stage.Properties.RouteSettings as Json;
    const changes = ROUTES.filter((r) => r.method !== 'GET' && r.group !== 'ingest').map(routeKey);
    expect(Object.keys(settings).sort()).toEqual(changes.sort());
    for (const key of changes) {
      expect(settings[key], key).toEqual({
        ThrottlingRateLimit: DEFAULT_ADMIN_CHANGE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: DEFAULT_ADMIN_CHANGE_THROTTLE.burstLimit,
      });
    }
    expect(DEFAULT_ADMIN_CHANGE_THROTTLE.rateLimit).toBeLessThan(DEFAULT_THROTTLE.rateLimit);
    expect(settings).not.toHaveProperty(['POST /v1/tenants/{t}/records']);
  });

  it('is created after the routes its settings name (API Gateway rejects settings for unknown route keys)', () => {
    const routeIds = b.ofType('AWS::ApiGatewayV2::Route')
      .filter(([, r]) => r.Properties.RouteKey in stage.Properties.RouteSettings)
      .map(([id]) => id);
    expect(b.resources[stageId]!.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('writes a JSON access log with request id, caller IP, route, status and latency', () => {
    const settings = stage.Properties.AccessLogSettings;
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [b.logicalId(b.api.accessLogs), 'Arn'] });
    const format = JSON.parse(settings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
    });
    expect(format).toEqual(ACCESS_LOG_FIELDS);
  });

  it('logs no body, query string, path, header or claim: logs are a store too', () => {
    const format = stage.Properties.AccessLogSettings.Format as string;
    expect(format).not.toMatch(/\$request\.|body|querystring|query|\$context\.path|header|authorization|claims|\$input/i);
  });

  it('keeps the access log for a bounded time', () => {
    expect(b.resources[b.logicalId(b.api.accessLogs)]!.Properties.RetentionInDays).toBe(90);
  });
});

describe('the admin API functions', () => {
  const b = built();
  const fn = (group: AdminApiGroup) => b.api.functionOf(group);
  const everyGroup = ADMIN_API_GROUPS;

  it('builds one function per route group, from functions/api-<group>/handler.ts', () => {
    expect(Object.keys(b.api.functions).sort()).toEqual(ROUTES.map((r) => r.group).filter((g, i, all) => all.indexOf(g) === i).sort());
    for (const group of everyGroup) {
      const props = b.resources[b.logicalId(fn(group))]!.Properties;
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('gives every function the sweep functions\' environment', () => {
    // The stage function's Hold state machine (to release expired holds) is its own, as each API function's workflows are.
    // The shredding key is told only to the functions that touch records (test/infra/shredding.test.ts).
    // The events bus is told only to the functions that publish (test/events/event-bus-infra.test.ts).
    const { HOLD_STATE_MACHINE_ARN: _hold, SHREDDING_KEY_ARN: _key, EVENT_BUS_NAME: _bus, ...sweepEnv } = b.resources[b.logicalId(b.stack.sweep.stageFunction)]!.Properties.Environment.Variables as Json;
    for (const group of everyGroup) {
      const env = b.resources[b.logicalId(fn(group))]!.Properties.Environment.Variables as Json;
      expect(env, group).toMatchObject(sweepEnv);
      expect(env.PLATFORM_POLICY).toBe(JSON.stringify(loadProfile('conversations')));
    }
  });

  it('tells only the runs function which Sweep state machine to start', () => {
    for (const group of everyGroup) {
      const env = b.resources[b.logicalId(fn(group))]!.Properties.Environment.Variables as Json;
      if (group === 'runs') expect(env.SWEEP_STATE_MACHINE_ARN).toEqual({ Ref: b.logicalId(b.stack.sweep.stateMachine) });
      else expect(env, group).not.toHaveProperty('SWEEP_STATE_MACHINE_ARN');
    }
  });

  it('tells only the privacy function which PrivacyRequest state machine to start, and only the holds function which Hold one', () => {
    for (const group of everyGroup) {
      const env = b.resources[b.logicalId(fn(group))]!.Properties.Environment.Variables as Json;
      if (group === 'privacy') expect(env.PRIVACY_STATE_MACHINE_ARN, group).toEqual({ Ref: b.logicalId(b.stack.privacy.stateMachine) });
      else expect(env, group).not.toHaveProperty('PRIVACY_STATE_MACHINE_ARN');
      if (group === 'holds') expect(env.HOLD_STATE_MACHINE_ARN, group).toEqual({ Ref: b.logicalId(b.stack.holds.stateMachine) });
      else expect(env, group).not.toHaveProperty('HOLD_STATE_MACHINE_ARN');
    }
  });

  const expected: Record<AdminApiGroup, string[]> = {
    tenants: ['control:read', 'control:write', 'kms', 'secret:read', 'xray'],
    // Whatever reads or writes records opens or seals their personal fields: keys table and shredding key with them.
    policy: ['control:read', 'control:write', 'events:put', 'kms', ...SEALS, 'records:read', 'secret:read', 'xray'],
    // Applying and releasing run in the Hold workflow: the function stores the hold and starts it.
    holds: ['control:read', 'control:write', 'events:put', 'hold:start', 'kms', 'secret:read', 'xray'],
    // What a DELETE cannot finish in its time goes on in the Deletion workflow, which it starts.
    customers: [
      'control:read', 'control:write', 'deletion:start', 'events:put', 'kms',
      // Download links: the route reads and opens recordings, media and access exports.
      'exports:read',
      'media:delete', 'media:listVersions', 'media:read',
      'recordings:delete', 'recordings:listVersions', 'recordings:read',
      'records:read', 'records:write', 'secret:read', 'xray', ...SEALS,
    ],
    ingest: ['control:read', 'control:write', 'kms', 'media:put', 'recordings:put', 'records:read', 'records:write', 'secret:read', 'xray', ...SEALS],
    runs: ['control:read', 'control:write', 'kms', 'secret:read', 'sweep:start', 'xray'],
    audit: ['control:read', 'kms', 'secret:read', 'xray'],
    privacy: ['control:read', 'control:write', 'kms', 'privacy:start', 'records:read', 'secret:read', 'xray', ...SEALS],
    openapi: ['xray'],
  };
  it.each(everyGroup)('grants the %s function exactly what its routes use', (group) => {
    expect(capabilitiesOf(b, fn(group))).toEqual(expected[group].sort());
  });

  it('lets the audit function read but never write', () => {
    const actions = b.actionsOf(fn('audit'));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query']));
    expect(actions.filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)|^s3:|^states:/.test(a))).toEqual([]);
  });

  it('lets runs start only Sweep executions, privacy only PrivacyRequest executions, holds only Hold executions, customers only Deletion executions, and no other function any', () => {
    const machineOf: Partial<Record<AdminApiGroup, string>> = {
      runs: b.logicalId(b.stack.sweep.stateMachine),
      privacy: b.logicalId(b.stack.privacy.stateMachine),
      holds: b.logicalId(b.stack.holds.stateMachine),
      customers: b.logicalId(b.stack.deletions.stateMachine),
    };
    for (const group of everyGroup) {
      const starts = b.statementsOf(fn(group)).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('states:')));
      const machine = machineOf[group];
      if (machine === undefined) {
        expect(starts, group).toEqual([]);
        continue;
      }
      expect(starts, group).toHaveLength(1);
      expect(starts[0]!.Action, group).toBe('states:StartExecution');
      expect(starts[0]!.Resource, group).toEqual({ Ref: machine });
    }
  });

  it('lets no API function set legal holds (the hold worker does, in the Hold workflow)', () => {
    for (const group of everyGroup) expect(b.actionsOf(fn(group)).includes('s3:PutObjectLegalHold'), group).toBe(false);
    expect(b.actionsOf(b.stack.holds.workerFunction)).toContain('s3:PutObjectLegalHold');
  });

  it('grants the deletion worker what finishing a manual deletion uses (records, blob deletes, control, mail), and lets it start nothing', () => {
    expect(capabilitiesOf(b, b.stack.deletions.workerFunction)).toEqual(
      [
        'control:read', 'control:write', 'events:put', 'kms',
        'media:delete', 'media:listVersions',
        'recordings:delete', 'recordings:listVersions',
        'records:read', 'records:write', 'secret:read', 'ses:send', 'xray', ...SEALS,
      ].sort(),
    );
  });

  it('grants the hold worker what applying and releasing use, and lets it start only PrivacyRequest executions', () => {
    expect(capabilitiesOf(b, b.stack.holds.workerFunction)).toEqual(
      ['control:read', 'control:write', 'kms', 'media:legalHold', 'media:listVersions', 'privacy:start', 'recordings:legalHold', 'recordings:listVersions', 'records:read', 'records:write', 'xray', ...SEALS].sort(),
    );
  });

  it('lets only the ingest function put objects', () => {
    for (const group of everyGroup) {
      expect(b.actionsOf(fn(group)).some((a) => a.startsWith('s3:PutObject') && a !== 's3:PutObjectLegalHold'), group).toBe(group === 'ingest');
    }
  });

  it('lets only the customers function delete objects', () => {
    for (const group of everyGroup) {
      expect(b.actionsOf(fn(group)).some((a) => a.startsWith('s3:DeleteObject')), group).toBe(group === 'customers');
    }
  });

  it('keeps every function away from the keys table unless it touches records, and from the exports bucket but the download route\'s reads', () => {
    const { stateful } = b.lethe;
    for (const group of everyGroup) {
      const statements = JSON.stringify(b.statementsOf(fn(group)));
      expect(statements.includes(b.exported(stateful.keysTable.tableArn)), group).toBe(statements.includes(b.exported(stateful.recordsTable.tableArn)));
      const onExports = capabilitiesOf(b, fn(group)).filter((c) => c.startsWith('exports:'));
      expect(onExports, group).toEqual(group === 'customers' ? ['exports:read'] : []);
    }
  });
});

describe('the admin API groups', () => {
  it('builds only the groups asked for, with their routes', () => {
    const app = testApp();
    applyFeatureFlags(app);
    const platformPolicy = loadProfile('voice');
    const stateful = new StatefulStack(app, 'Stateful', { platformPolicy });
    const stack = new StatelessStack(app, 'Stateless', {
      stateful,
      platformPolicy,
      operatorEmails: [],
      mailFrom: 'alerts@lethe.example',
      adminApi: { groups: ['audit', 'openapi'] },
    });
    const keys = Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Route');
    expect(Object.values(keys).map((r) => r.Properties.RouteKey).sort()).toEqual(['GET /v1/openapi.json', 'GET /v1/tenants/{t}/audit-events']);
    expect(Object.keys(stack.adminApi.functions).sort()).toEqual(['audit', 'openapi']);
    expect(() => stack.adminApi.functionOf('holds')).toThrow(/not built/);
  });
});

describe.each(PROFILE_NAMES)('cdk-nag AwsSolutions on the %s stateless stack with the admin API', (profile) => {
  for (const [issuer, context] of [['Cognito', {}], ['external issuer', EXTERNAL]] as const) {
    it(`reports no unacknowledged finding (${issuer})`, () => {
      // built() has synthesized the stack, so cross-stack ARNs appear under their export names, as at `cdk synth`.
      const { app, stack } = built({ profile, ...context });
      const report = new AwsSolutionsChecks(app).validateScope(stack);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    });
  }

  it('synthesizes with the checks as a validation plugin', () => {
    const app = testApp({ profile, mailFrom: 'alerts@lethe.example' });
    buildApp(app);
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledges API findings only with a specific reason, and no Cognito or API Gateway finding but the public routes\' APIG4', () => {
    const { api } = built({ profile });
    const acks = acknowledgementsUnder(api);
    for (const ack of acks) expect(ack.reason.trim().length, `${ack.ruleId} at ${ack.path}`).toBeGreaterThan(40);
    expect(acks.filter((a) => a.ruleId.startsWith('AwsSolutions-COG'))).toEqual([]);
    const apig = acks.filter((a) => a.ruleId.startsWith('AwsSolutions-APIG'));
    const publicRoutes = ROUTES.filter((r) => r.minRole === 'public').map(routeKey);
    expect(publicRoutes).toContain('GET /v1/openapi.json');
    expect(apig.map((a) => [a.ruleId, a.path, a.reason]).sort()).toEqual(
      publicRoutes.map((key) => ['AwsSolutions-APIG4', api.routes.get(key)!.node.defaultChild!.node.path, PUBLIC_ROUTES[key]]).sort(),
    );
  });
});
