import { CfnOutput, RemovalPolicy, type CfnResource } from 'aws-cdk-lib';
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
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { isServiceRoute, ROUTES, type RouteGroup, type RouteSpec } from '../../shared/app/api/contract.js';
import { acknowledge } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';
import { keepLogicalIdsOfChildren } from '../logical-ids.js';
import { ServiceRoutes } from './service-routes.js';

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

/**
 * The routes served without a JWT, each with the reason it may be (the
 * acknowledgement of cdk-nag's APIG4 on it). A route the contract makes
 * public is built only if it is listed here: no route loses its authorizer
 * by a change to the contract alone.
 */
export const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  'GET /v1/openapi.json':
    'GET /v1/openapi.json is the public API description (no tenant data, no side effects) so tools can discover the API before signing in; every other route but the download links requires a JWT.',
  'GET /v1/downloads/{token}':
    'GET /v1/downloads/{token} is a capability URL, as the S3 pre-signed links it replaces were: the token names one object and an expiry and is signed (HMAC under a key derived from the reference secret), ' +
    'the function checks signature and expiry before it looks at the object, and whoever the link is handed to (a data subject, a browser) has no Lethe JWT to send.',
};

/** Stage-wide throttle, for reads and ingest. */
export const DEFAULT_THROTTLE: Required<ThrottleSettings> = { rateLimit: 50, burstLimit: 100 };
/**
 * Throttle of each admin change (PUT, POST, DELETE other than ingest): rare, consequential, never bulk.
 * The policy preview is a POST too: it changes nothing but costs as much as a sweep's queries.
 */
export const DEFAULT_ADMIN_CHANGE_THROTTLE: Required<ThrottleSettings> = { rateLimit: 5, burstLimit: 10 };

export interface AdminRoutesProps {
  /** The function serving each built route group; routes of other groups are not built. */
  readonly functions: Readonly<Partial<Record<RouteGroup, IFunction>>>;
  /**
   * The routes to build (those of the built groups).
   * @default ROUTES, the contract
   */
  readonly routes?: readonly RouteSpec[];
  /** Issuer URL whose JWTs the authorizer accepts. */
  readonly jwtIssuer: string;
  /** Accepted `aud` (or Cognito `client_id`) values. */
  readonly jwtAudience: readonly string[];
  /** @default DEFAULT_THROTTLE */
  readonly throttle?: ThrottleSettings;
  /** @default DEFAULT_ADMIN_CHANGE_THROTTLE */
  readonly adminChangeThrottle?: ThrottleSettings;
  /**
   * Days the access log is kept (it holds caller IPs).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: RetentionDays;
}

/**
 * The admin HTTP API's routes: one per {@link ROUTES} entry of a built group,
 * each integrated with its group's function; a JWT authorizer on every route
 * but those of {@link PUBLIC_ROUTES} (the OpenAPI document, download links) and
 * the platform services' `/v1/service/…` twins, which take the IAM (SigV4) one
 * and whose managed policy {@link ServiceRoutes} makes; stage and per-route throttling; a JSON
 * access log without bodies, query strings or tokens.
 */
export class AdminRoutes extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly authorizer: HttpJwtAuthorizer;
  /** The IAM access of platform services (their routes' managed policy); undefined when no service route is built. */
  readonly serviceRoutes?: ServiceRoutes;
  /** Every route, by route key (`GET /v1/tenants`). */
  readonly routes: ReadonlyMap<string, HttpRoute>;
  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  readonly url: string;
  /**
   * The same base URL without the trailing slash, from the API alone (not its
   * stage): what functions of the same stack may be told without a dependency cycle.
   */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: AdminRoutesProps) {
    super(scope, id);
    // The API, its routes and stage were the admin API's own before this construct gathered them; a new API would have a new URL.
    keepLogicalIdsOfChildren(this);

    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      authorizerName: 'lethe-admin-jwt',
      identitySource: ['$request.header.Authorization'],
      jwtAudience: [...props.jwtAudience],
    });
    this.api = new HttpApi(this, 'Api', {
      description: 'Lethe admin API: retention policies, legal holds, privacy requests, record deletion, ingest, runs, audit',
      createDefaultStage: false,
    });

    // One integration per group; each route still gets an invoke permission scoped to its own path.
    const integrations = new Map<RouteGroup, HttpLambdaIntegration>();
    for (const [group, fn] of Object.entries(props.functions) as [RouteGroup, IFunction][]) {
      integrations.set(group, new HttpLambdaIntegration(`${pascalCase(group)}Integration`, fn));
    }
    const routes = new Map<string, HttpRoute>();
    const publicAuthorizer = new HttpNoneAuthorizer();
    const iamAuthorizer = ServiceRoutes.authorizer();
    const specs = props.routes ?? ROUTES;
    for (const spec of specs) {
      const integration = integrations.get(spec.group);
      if (integration === undefined) continue;
      const key = routeKey(spec);
      const publicReason = spec.minRole === 'public' ? PUBLIC_ROUTES[key] : undefined;
      if (spec.minRole === 'public' && publicReason === undefined) {
        throw new ValidationError(`${key} is public in the contract, but not in PUBLIC_ROUTES: say why it may be served without a JWT`, this);
      }
      const route = new HttpRoute(this, `Route ${key}`, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(spec.path, HttpMethod[spec.method]),
        integration,
        authorizer: publicReason !== undefined ? publicAuthorizer : isServiceRoute(spec) ? iamAuthorizer : this.authorizer,
      });
      if (publicReason !== undefined) acknowledge(route.node.defaultChild, 'AwsSolutions-APIG4', publicReason);
      routes.set(key, route);
    }
    this.routes = routes;
    const builtServiceRoutes = specs.filter((s) => isServiceRoute(s) && routes.has(routeKey(s)));
    if (builtServiceRoutes.length > 0) this.serviceRoutes = new ServiceRoutes(this, 'ServiceAccess', { api: this.api, routes: builtServiceRoutes });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.applyRouteThrottles(specs, props.adminChangeThrottle ?? DEFAULT_ADMIN_CHANGE_THROTTLE);
    this.url = this.stage.url;
    // The $default stage serves at the API's endpoint itself.
    this.endpoint = this.api.apiEndpoint;

    new CfnOutput(this, 'UrlOutput', { value: this.url, description: 'Base URL of the Lethe admin API' }).overrideLogicalId('AdminApiUrl');
    new CfnOutput(this, 'IssuerOutput', {
      value: props.jwtIssuer,
      description: 'Issuer whose tokens the admin API accepts',
    }).overrideLogicalId('AdminApiJwtIssuer');
  }

  /** Stage-wide throttle for every route; admin changes get their own, stricter one. Ingest is bulk traffic and keeps the stage's. */
  private applyRouteThrottles(specs: readonly RouteSpec[], adminChange: ThrottleSettings): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    // RouteSettings is a plain JSON map in the L1: its values must already be in CloudFormation's casing.
    const settings: Record<string, { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> = {};
    for (const spec of specs) {
      const key = routeKey(spec);
      const route = this.routes.get(key);
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
}

/** `GET /v1/tenants`: API Gateway's route key of a route. */
export function routeKey(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${spec.method} ${spec.path}`;
}

/** A mutating route other than ingest (bulk traffic from platform services). */
export function isAdminChange(spec: RouteSpec): boolean {
  return spec.method !== 'GET' && spec.group !== 'ingest';
}

function pascalCase(value: string): string {
  return value[0]!.toUpperCase() + value.slice(1);
}
