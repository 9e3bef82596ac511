import { RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi, HttpRoute, HttpStage, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ROUTES } from '../../shared/app/api/contract.js';
import { ValidationError } from '../errors.js';
import { ADMIN_API_GROUPS, AdminGroupAccess, type AdminApiGroup } from './admin-group-access.js';
import { AdminRoutes } from './admin-routes.js';
import { AdminUserPool } from './admin-user-pool.js';
import type { LetheRuntime, StartableWorkflow } from './lethe-runtime.js';

export { ADMIN_API_GROUPS, GROUP_ACCESS, type AdminApiGroup, type GroupAccess } from './admin-group-access.js';
export { ACCESS_LOG_FIELDS, DEFAULT_ADMIN_CHANGE_THROTTLE, DEFAULT_THROTTLE, PUBLIC_ROUTES, isAdminChange, routeKey } from './admin-routes.js';

/** A JWT issuer other than the built-in Cognito user pool. */
export interface AdminApiJwtIssuer {
  /** Issuer URL (`iss`), e.g. `https://login.example.com/`; its `/.well-known/openid-configuration` must be public. */
  readonly issuer: string;
  /** Accepted `aud` (or Cognito `client_id`) values; at least one. */
  readonly audience: readonly string[];
}

export interface AdminApiProps {
  /** The stores and settings every function is told about (shared/config/lambda-env.ts). */
  readonly runtime: LetheRuntime;
  /**
   * The state machines route groups start: `sweep` by the runs group;
   * `privacy` by the privacy group (new requests) and the holds group (resuming
   * the requests a released hold deferred). Each such function is told the ARN
   * in `<WORKFLOW>_STATE_MACHINE_ARN`; nothing else may start them.
   */
  readonly stateMachines: Readonly<Record<StartableWorkflow, IStateMachine>>;
  /**
   * Route groups to build, one function each.
   * @default ADMIN_API_GROUPS (every group)
   */
  readonly groups?: readonly AdminApiGroup[];
  /**
   * External JWT issuer and audience. Its tokens must carry the claims of
   * `CLAIMS` in the contract (`cognito:groups`, `custom:tenantId`, `sub`).
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

/**
 * The admin HTTP API of DESIGN.md §5, in three parts: the issuer
 * ({@link AdminUserPool}, unless an external one is given), the access of each
 * route group ({@link AdminGroupAccess}: one function per group with only what
 * its routes use), and the routes ({@link AdminRoutes}: HTTP API, JWT
 * authorizer, throttles, access log).
 */
export class AdminApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The built-in issuer; undefined when an external `jwtIssuer` is given. */
  readonly users?: AdminUserPool;
  readonly userPool?: UserPool;
  readonly userPoolClient?: UserPoolClient;
  /** Issuer URL the authorizer trusts. */
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly authorizer: HttpJwtAuthorizer;
  readonly groupAccess: AdminGroupAccess;
  readonly adminRoutes: AdminRoutes;
  /** One function per built group. */
  readonly functions: Readonly<Partial<Record<AdminApiGroup, IFunction>>>;
  /** Every route, by route key (`GET /v1/tenants`). */
  readonly routes: ReadonlyMap<string, HttpRoute>;
  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  readonly url: string;
  /** The base URL without its trailing slash, as functions that build download links are told it (`PUBLIC_API_URL`). */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    const groups = props.groups ?? ADMIN_API_GROUPS;
    if (new Set(groups).size !== groups.length) throw new ValidationError(`groups lists a group twice: ${groups.join(', ')}`, this);
    for (const group of groups) {
      if (!ROUTES.some((r) => r.group === group)) throw new ValidationError(`no route of ROUTES belongs to the ${group} group`, this);
    }
    if (props.jwtIssuer !== undefined) assertIssuer(this, props.jwtIssuer);

    if (props.jwtIssuer === undefined) {
      const users = new AdminUserPool(this, 'Users', { removalPolicy: props.userPoolRemovalPolicy ?? RemovalPolicy.RETAIN });
      this.users = users;
      this.userPool = users.userPool;
      this.userPoolClient = users.client;
      this.jwtIssuer = users.issuer;
      this.jwtAudience = users.audience;
    } else {
      this.jwtIssuer = props.jwtIssuer.issuer;
      this.jwtAudience = [...props.jwtIssuer.audience];
    }

    this.groupAccess = new AdminGroupAccess(this, 'GroupAccess', { runtime: props.runtime, stateMachines: props.stateMachines, groups });
    this.functions = this.groupAccess.functions;

    this.adminRoutes = new AdminRoutes(this, 'Routes', {
      functions: this.functions,
      jwtIssuer: this.jwtIssuer,
      jwtAudience: this.jwtAudience,
      ...(props.throttle === undefined ? {} : { throttle: props.throttle }),
      ...(props.adminChangeThrottle === undefined ? {} : { adminChangeThrottle: props.adminChangeThrottle }),
      ...(props.accessLogRetention === undefined ? {} : { accessLogRetention: props.accessLogRetention }),
    });
    this.api = this.adminRoutes.api;
    this.stage = this.adminRoutes.stage;
    this.accessLogs = this.adminRoutes.accessLogs;
    this.authorizer = this.adminRoutes.authorizer;
    this.routes = this.adminRoutes.routes;
    this.url = this.adminRoutes.url;
    this.endpoint = this.adminRoutes.endpoint;
    // Download links (`<url>/v1/downloads/<token>`) point here. The functions are in this
    // stack and the API resource depends on none of them, so referring to it makes no cycle.
    props.runtime.serveDownloadsAt(this.endpoint);
  }

  /** The function of a built group. */
  functionOf(group: AdminApiGroup): IFunction {
    return this.groupAccess.functionOf(group);
  }
}

function assertIssuer(scope: Construct, issuer: AdminApiJwtIssuer): void {
  if (!/^https:\/\/[^\s/]+/.test(issuer.issuer)) {
    throw new ValidationError(`jwtIssuer.issuer must be an https URL, got ${JSON.stringify(issuer.issuer)}`, scope);
  }
  if (issuer.audience.length === 0 || issuer.audience.some((a) => a.trim() === '')) {
    throw new ValidationError('jwtIssuer.audience must name at least one non-empty audience', scope);
  }
}
