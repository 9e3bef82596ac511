import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AccountRecovery,
  ClientAttributes,
  FeaturePlan,
  Mfa,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { CLAIMS, ROLES, ROUTE_GROUPS, ROUTES, type Role, type RouteGroup, type RouteSpec } from '../../shared/app/api/contract.js';
import type { BlobBuckets } from './blob-buckets.js';
import { LetheFunction } from './lethe-function.js';
import type { DataAccess, LetheTable } from './lethe-table.js';

/** The route groups this construct can build: every group of the contract. */
export type AdminApiGroup = RouteGroup;

/** Every buildable group: all of {@link ROUTE_GROUPS}. */
export const ADMIN_API_GROUPS: readonly AdminApiGroup[] = ROUTE_GROUPS;

/**
 * What the API writes per request to its access log. Deliberately no path
 * (ids), query string (phones, e-mails, names), headers (the token) or body:
 * logs are a store too. `routeKey` is the route template, e.g.
 * `DELETE /v1/tenants/{t}/customers/{id}`.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  authorizerError: '$context.authorizer.error',
};

/** Stage-wide throttle, for reads and ingest. */
export const DEFAULT_THROTTLE: Required<ThrottleSettings> = { rateLimit: 50, burstLimit: 100 };
/**
 * Throttle of each admin change (PUT, POST, DELETE other than ingest): rare, consequential, never bulk.
 * The policy preview is a POST too: it changes nothing but costs as much as a sweep's queries.
 */
export const DEFAULT_ADMIN_CHANGE_THROTTLE: Required<ThrottleSettings> = { rateLimit: 5, burstLimit: 10 };

/** A JWT issuer other than the built-in Cognito user pool. */
export interface AdminApiJwtIssuer {
  /** Issuer URL (`iss`), e.g. `https://login.example.com/`; its `/.well-known/openid-configuration` must be public. */
  readonly issuer: string;
  /** Accepted `aud` (or Cognito `client_id`) values; at least one. */
  readonly audience: readonly string[];
}

export interface AdminApiProps {
  readonly records: LetheTable;
  readonly control: LetheTable;
  readonly blobs: BlobBuckets;
  /** Key of the HMACs that stand for actors and subjects in audit events and receipts. */
  readonly referenceSecret: ISecret;
  /** The `Sweep` state machine; the runs function may start it, nothing else. */
  readonly sweepStateMachine: IStateMachine;
  /**
   * The `PrivacyRequest` state machine; the privacy function starts requests, the holds
   * function resumes the ones a released hold deferred, nothing else starts it.
   */
  readonly privacyStateMachine: IStateMachine;
  /**
   * Variables every function gets (the Lambda runtime's contract, shared/config/lambda-env.ts);
   * the runs function also gets `SWEEP_STATE_MACHINE_ARN`, the privacy and holds functions
   * `PRIVACY_STATE_MACHINE_ARN`.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Route groups to build, one function each.
   * @default ADMIN_API_GROUPS (every group)
   */
  readonly groups?: readonly AdminApiGroup[];
  /**
   * External JWT issuer and audience. Its tokens must carry the claims of
   * {@link CLAIMS} (`cognito:groups`, `custom:tenantId`, `sub`).
   * @default - a Cognito user pool with one group per role, and its app client as the audience
   */
  readonly jwtIssuer?: AdminApiJwtIssuer;
  /** @default DEFAULT_THROTTLE */
  readonly throttle?: ThrottleSettings;
  /** @default DEFAULT_ADMIN_CHANGE_THROTTLE */
  readonly adminChangeThrottle?: ThrottleSettings;
  /**
   * Days the access log is kept (it holds caller IPs).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: RetentionDays;
  /**
   * What happens to the user pool (the admin accounts and their MFA enrolments)
   * when it leaves the stack. Anything but RETAIN is for throw-away environments.
   * @default RemovalPolicy.RETAIN
   */
  readonly userPoolRemovalPolicy?: RemovalPolicy;
}

type BlobGrant = 'read' | 'put' | 'delete' | 'legalHold';
type GovernedBucket = 'recordings' | 'media';

/** What one group's function may touch, and why (the why acknowledges the wildcards the grants produce). */
interface GroupAccess {
  readonly description: string;
  readonly control?: DataAccess;
  readonly records?: { readonly access: DataAccess; readonly indexUse: string };
  readonly blobs?: Readonly<Partial<Record<BlobGrant, string>>>;
  readonly startsSweep?: boolean;
  /** Starts (or resumes) `PrivacyRequest` executions. */
  readonly startsPrivacyRequests?: boolean;
  /** Reads the reference key (everything that writes audit events or receipts). */
  readonly referenceSecret: boolean;
}

const GOVERNED_BUCKETS: readonly GovernedBucket[] = ['recordings', 'media'];

/** Least privilege per route group (DESIGN.md §5). */
const GROUP_ACCESS: Readonly<Record<AdminApiGroup, GroupAccess>> = {
  tenants: {
    description: 'registers, updates and lists tenants',
    control: 'readWrite',
    referenceSecret: true,
  },
  policy: {
    description: 'gets, previews and saves retention policies and their history',
    control: 'readWrite',
    records: {
      access: 'read',
      indexUse: 'Preview counts what a sweep would delete and hold by querying the byRetention index of the records table.',
    },
    referenceSecret: true,
  },
  holds: {
    description: 'creates, lists and releases legal holds',
    control: 'readWrite',
    records: {
      access: 'readWrite',
      indexUse:
        'Applying or releasing a hold finds the records in its scope through the byIdentifier index (customer, conversation, call) or the byRetention index (category, whole tenant).',
    },
    blobs: {
      legalHold:
        'A hold sets and clears Object Lock legal holds on the blobs of the records in its scope, keyed <prefix>/<tenant>/<subject>/<id>.',
    },
    // A release resumes the privacy requests the hold deferred.
    startsPrivacyRequests: true,
    referenceSecret: true,
  },
  customers: {
    description: 'looks up, exports and deletes customers, conversations, messages and recordings',
    control: 'readWrite',
    records: {
      access: 'readWrite',
      indexUse: 'Lookup by phone, e-mail or name and the deletion cascade find partitions through the byIdentifier index.',
    },
    blobs: {
      read: 'The export pre-signs GET URLs for the customer\'s recordings, media and attachments, keyed <prefix>/<tenant>/<subject>/<id>.',
      delete: 'Deleting a customer, conversation, message or recording removes its blobs and every version of them.',
    },
    referenceSecret: true,
  },
  ingest: {
    description: 'writes batches of typed records and their blobs',
    control: 'readWrite',
    records: {
      access: 'readWrite',
      indexUse:
        "CDK's records-table grant always covers the table's indexes; ingest itself only gets and batch-writes items by key, and DynamoDB maintains the byRetention and byIdentifier entries those items carry.",
    },
    blobs: {
      put: 'Ingest writes recordings, media and attachments (or pre-signs their upload URLs) under <prefix>/<tenant>/<subject>/<id>.',
    },
    referenceSecret: true,
  },
  runs: {
    description: 'lists, reads and starts deletion runs',
    control: 'readWrite',
    startsSweep: true,
    referenceSecret: true,
  },
  privacy: {
    description: 'accepts, lists and reads privacy requests (erasure, access, anonymisation)',
    control: 'readWrite',
    records: {
      access: 'read',
      indexUse:
        'A privacy request resolves its subject through the byIdentifier index (phone, e-mail, name) and a bulk erasure its subjects through the byRetention index, before it is accepted.',
    },
    startsPrivacyRequests: true,
    referenceSecret: true,
  },
  audit: {
    description: 'lists audit events',
    control: 'read',
    referenceSecret: true,
  },
  openapi: {
    description: 'serves the OpenAPI document',
    referenceSecret: false,
  },
};

/**
 * The admin HTTP API of DESIGN.md §5: one route per {@link ROUTES} entry, one
 * Lambda function per route group with only the table, bucket and state-machine
 * actions its routes use, a JWT authorizer on every route but the public
 * OpenAPI document, stage and per-route throttling, and a JSON access log
 * without bodies, query strings or tokens.
 *
 * By default the issuer is a Cognito user pool made here (no self sign-up,
 * TOTP MFA required, threat protection enforced) with one group per role and a
 * custom `tenantId` attribute. Admin tools must send the **ID token**: Cognito
 * puts custom attributes (`custom:tenantId`) only in ID tokens, and the
 * handlers read the tenant from that claim. (An access token would need a
 * pre-token-generation V2 trigger to carry it.)
 */
export class AdminApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The built-in issuer; undefined when an external `jwtIssuer` is given. */
  readonly userPool?: UserPool;
  readonly userPoolClient?: UserPoolClient;
  /** Issuer URL the authorizer trusts. */
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly authorizer: HttpJwtAuthorizer;
  /** One function per built group. */
  readonly functions: Readonly<Partial<Record<AdminApiGroup, IFunction>>>;
  /** Every route, by route key (`GET /v1/tenants`). */
  readonly routes: ReadonlyMap<string, HttpRoute>;
  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    const groups = props.groups ?? ADMIN_API_GROUPS;
    if (new Set(groups).size !== groups.length) throw new Error(`${this.node.path}: groups lists a group twice: ${groups.join(', ')}`);
    for (const group of groups) {
      if (!ROUTES.some((r) => r.group === group)) throw new Error(`${this.node.path}: no route of ROUTES belongs to the ${group} group`);
    }
    if (props.jwtIssuer !== undefined) assertIssuer(this, props.jwtIssuer);

    if (props.jwtIssuer === undefined) {
      const { pool, client } = this.buildUserPool(props.userPoolRemovalPolicy ?? RemovalPolicy.RETAIN);
      this.userPool = pool;
      this.userPoolClient = client;
      this.jwtIssuer = pool.userPoolProviderUrl;
      this.jwtAudience = [client.userPoolClientId];
    } else {
      this.jwtIssuer = props.jwtIssuer.issuer;
      this.jwtAudience = [...props.jwtIssuer.audience];
    }
    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', this.jwtIssuer, {
      authorizerName: 'lethe-admin-jwt',
      identitySource: ['$request.header.Authorization'],
      jwtAudience: [...this.jwtAudience],
    });

    this.api = new HttpApi(this, 'Api', {
      description: 'Lethe admin API: retention policies, legal holds, privacy requests, record deletion, ingest, runs, audit',
      createDefaultStage: false,
    });

    const functions: Partial<Record<AdminApiGroup, IFunction>> = {};
    for (const group of groups) functions[group] = this.buildFunction(group, props);
    this.functions = functions;

    // One integration per group; each route still gets an invoke permission scoped to its own path.
    const integrations = new Map<RouteGroup, HttpLambdaIntegration>();
    for (const group of groups) integrations.set(group, new HttpLambdaIntegration(`${pascalCase(group)}Integration`, this.functionOf(group)));
    const routes = new Map<string, HttpRoute>();
    const publicAuthorizer = new HttpNoneAuthorizer();
    for (const spec of ROUTES) {
      const integration = integrations.get(spec.group);
      if (integration === undefined) continue;
      const key = routeKey(spec);
      routes.set(
        key,
        new HttpRoute(this, `Route ${key}`, {
          httpApi: this.api,
          routeKey: HttpRouteKey.with(spec.path, HttpMethod[spec.method]),
          integration,
          authorizer: spec.minRole === 'public' ? publicAuthorizer : this.authorizer,
        }),
      );
    }
    this.routes = routes;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.applyRouteThrottles(routes, props.adminChangeThrottle ?? DEFAULT_ADMIN_CHANGE_THROTTLE);
    this.url = this.stage.url;

    new CfnOutput(this, 'UrlOutput', { value: this.url, description: 'Base URL of the Lethe admin API' }).overrideLogicalId(
      'AdminApiUrl',
    );
    new CfnOutput(this, 'IssuerOutput', {
      value: this.jwtIssuer,
      description: 'Issuer whose tokens the admin API accepts',
    }).overrideLogicalId('AdminApiJwtIssuer');
    if (this.userPool !== undefined && this.userPoolClient !== undefined) {
      new CfnOutput(this, 'UserPoolIdOutput', {
        value: this.userPool.userPoolId,
        description: 'Cognito user pool of Lethe admins (add users to Administrator, ComplianceAdministrator or SuperAdministrator)',
      }).overrideLogicalId('AdminUserPoolId');
      new CfnOutput(this, 'UserPoolClientIdOutput', {
        value: this.userPoolClient.userPoolClientId,
        description: 'App client of admin tools (SRP sign-in); send the ID token as the bearer token',
      }).overrideLogicalId('AdminUserPoolClientId');
    }

    this.acknowledgeFindings(groups, props);
  }

  /** The function of a built group. */
  functionOf(group: AdminApiGroup): IFunction {
    const fn = this.functions[group];
    if (fn === undefined) throw new Error(`${this.node.path}: the ${group} group is not built`);
    return fn;
  }

  private buildUserPool(removalPolicy: RemovalPolicy): { pool: UserPool; client: UserPoolClient } {
    const pool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      // Immutable: a token's tenant is its security boundary; moving an admin means a new account.
      customAttributes: { tenantId: new StringAttribute({ minLen: 1, maxLen: 128, mutable: false }) },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 12,
      },
      // TOTP only: SMS would need an SNS role and keeps phone numbers in the pool.
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });
    ROLES.forEach((role, index) => {
      pool.addGroup(role, {
        groupName: role,
        description: ROLE_DESCRIPTIONS[role],
        // Lower wins when a user is in several groups; only matters for IAM role mapping.
        precedence: ROLES.length - index,
      });
    });
    const client = pool.addClient('AdminToolsClient', {
      authFlows: { userSrp: true },
      generateSecret: false,
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      // The ID token carries only readable attributes, so the tenant must be readable; never writable by the user.
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes(CLAIMS.tenant.replace(/^custom:/, '')),
      writeAttributes: new ClientAttributes().withStandardAttributes({ email: true }),
    });
    return { pool, client };
  }

  private buildFunction(group: AdminApiGroup, props: AdminApiProps): IFunction {
    const access = GROUP_ACCESS[group];
    const fn = new LetheFunction(this, `${pascalCase(group)}Function`, {
      functionDir: `api-${group}`,
      description: `Lethe admin API: ${access.description}`,
      environment: {
        ...props.environment,
        ...(access.startsSweep === true ? { SWEEP_STATE_MACHINE_ARN: props.sweepStateMachine.stateMachineArn } : {}),
        ...(access.startsPrivacyRequests === true ? { PRIVACY_STATE_MACHINE_ARN: props.privacyStateMachine.stateMachineArn } : {}),
      },
    }).function;
    if (access.control !== undefined) props.control.grantAccess(fn, access.control);
    if (access.records !== undefined) props.records.grantAccess(fn, access.records.access);
    for (const bucket of GOVERNED_BUCKETS) {
      if (access.blobs?.read !== undefined) props.blobs.grantRead(fn, bucket);
      if (access.blobs?.put !== undefined) props.blobs.grantPut(fn, bucket);
      if (access.blobs?.delete !== undefined) props.blobs.grantDelete(fn, bucket);
      if (access.blobs?.legalHold !== undefined) props.blobs.grantLegalHold(fn, bucket);
    }
    if (access.startsSweep === true) props.sweepStateMachine.grantStartExecution(fn);
    if (access.startsPrivacyRequests === true) props.privacyStateMachine.grantStartExecution(fn);
    if (access.referenceSecret) props.referenceSecret.grantRead(fn);
    return fn;
  }

  /** Stage-wide throttle for every route; admin changes get their own, stricter one. Ingest is bulk traffic and keeps the stage's. */
  private applyRouteThrottles(routes: ReadonlyMap<string, HttpRoute>, adminChange: ThrottleSettings): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    // RouteSettings is a plain JSON map in the L1: its values must already be in CloudFormation's casing.
    const settings: Record<string, { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> = {};
    for (const spec of ROUTES) {
      const key = routeKey(spec);
      const route = routes.get(key);
      if (route === undefined || !isAdminChange(spec)) continue;
      settings[key] = {
        ...(adminChange.rateLimit === undefined ? {} : { ThrottlingRateLimit: adminChange.rateLimit }),
        ...(adminChange.burstLimit === undefined ? {} : { ThrottlingBurstLimit: adminChange.burstLimit }),
      };
      // API Gateway rejects route settings for a route key that does not exist yet.
      stage.addResourceDependency(route.node.defaultChild as CfnResource);
    }
    stage.routeSettings = settings;
  }

  /**
   * Acknowledges, one by one and each with its reason, the cdk-nag findings
   * that follow from what the routes must do. Anything not listed here still
   * fails synth.
   */
  private acknowledgeFindings(groups: readonly AdminApiGroup[], props: AdminApiProps): void {
    const ack = (scope: IConstruct | undefined, id: string, reason: string) => {
      if (scope !== undefined) Validations.of(scope).acknowledge({ id, reason });
    };
    const stack = Stack.of(this);
    const policyOf = (fn: IFunction) => fn.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild as IConstruct | undefined;

    for (const group of groups) {
      const fn = this.functionOf(group);
      const access = GROUP_ACCESS[group];
      const policy = policyOf(fn);
      ack(fn.role?.node.defaultChild as IConstruct | undefined, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'The managed basic execution role only lets the function write its own CloudWatch logs.');
      ack(fn.node.defaultChild as IConstruct, 'AwsSolutions-L1',
        'Pinned to nodejs22.x, the runtime the ESM bundle targets (esbuild target node22); moving runtime is a tested change, not a drift.');
      ack(policy, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource but *.');
      if (access.control === 'readWrite' || access.records?.access === 'readWrite') {
        for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
          ack(policy, `AwsSolutions-IAM5[Action::${action}]`,
            'CDK grant on the customer-managed key that encrypts the control and records tables; restricted to that one key.');
        }
      }
      if (access.records !== undefined) {
        ack(policy, `AwsSolutions-IAM5[Resource::${findingArn(stack, props.records.table.tableArn, props.records.table)}/index/*]`,
          access.records.indexUse);
      }
      const blobs = access.blobs ?? {};
      if (blobs.read !== undefined) {
        for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) {
          ack(policy, `AwsSolutions-IAM5[Action::${action}]`, `CDK read grant on the recordings and media buckets only. ${blobs.read}`);
        }
      }
      if (blobs.delete !== undefined) {
        ack(policy, 'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
          'Deletes objects and every one of their versions (DeleteObject, DeleteObjectVersion), on the recordings and media buckets only.');
      }
      const objectUses = Object.values(blobs);
      if (objectUses.length > 0) {
        for (const bucket of GOVERNED_BUCKETS) {
          const b = props.blobs.bucket(bucket);
          ack(policy, `AwsSolutions-IAM5[Resource::${findingArn(stack, b.bucketArn, b)}/*]`, objectUses.join(' '));
        }
      }
    }

    const openapi = [...this.routes.entries()].filter(([key]) => ROUTES.some((r) => r.minRole === 'public' && routeKey(r) === key));
    for (const [, route] of openapi) {
      ack(route.node.defaultChild as IConstruct, 'AwsSolutions-APIG4',
        'GET /v1/openapi.json is the public API description (no tenant data, no side effects) so tools can discover the API before signing in; every other route requires a JWT.');
    }
  }
}

const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  Administrator: 'Retention policy, deletion runs, ingest and audit of their own tenant',
  ComplianceAdministrator: 'Administrator plus legal holds, privacy requests, record deletion and exports of their own tenant',
  SuperAdministrator: 'Every tenant; registers tenants',
};

/** `GET /v1/tenants`: API Gateway's route key of a route. */
export function routeKey(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${spec.method} ${spec.path}`;
}

/** A mutating route other than ingest (bulk traffic from platform services). */
export function isAdminChange(spec: RouteSpec): boolean {
  return spec.method !== 'GET' && spec.group !== 'ingest';
}

/** How cdk-nag names an ARN in a finding: the export name across stacks, `<LogicalId.Arn>` within one. */
function findingArn(consumer: Stack, arn: string, owner: IConstruct): string {
  const producer = Stack.of(owner);
  if (producer === consumer) {
    const resolved = consumer.resolve(arn) as { 'Fn::GetAtt'?: [string, string] };
    if (resolved['Fn::GetAtt'] === undefined) throw new Error(`cannot name ${owner.node.path} in a cdk-nag finding`);
    return `<${resolved['Fn::GetAtt'][0]}.${resolved['Fn::GetAtt'][1]}>`;
  }
  return (consumer.resolve(producer.exportValue(arn)) as { 'Fn::ImportValue': string })['Fn::ImportValue'];
}

function assertIssuer(scope: Construct, issuer: AdminApiJwtIssuer): void {
  if (!/^https:\/\/[^\s/]+/.test(issuer.issuer)) {
    throw new Error(`${scope.node.path}: jwtIssuer.issuer must be an https URL, got ${JSON.stringify(issuer.issuer)}`);
  }
  if (issuer.audience.length === 0 || issuer.audience.some((a) => a.trim() === '')) {
    throw new Error(`${scope.node.path}: jwtIssuer.audience must name at least one non-empty audience`);
  }
}

function pascalCase(value: string): string {
  return value[0]!.toUpperCase() + value.slice(1);
}
