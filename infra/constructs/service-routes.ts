import { Aws, CfnElement, CfnOutput, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { isServiceRoute, ROUTES, SERVICE_PREFIX, type RouteSpec } from '../../shared/app/api/contract.js';
import { acknowledge } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';

/**
 * The principal tag that names a platform service's tenant. The managed policy
 * allows `execute-api:Invoke` on `/v1/service/tenants/${aws:PrincipalTag/lethe-tenant}/…`
 * only: a role tagged `lethe-tenant=acme` reaches acme's service routes and no
 * other tenant's; an untagged one reaches none.
 */
export const SERVICE_TENANT_TAG = 'lethe-tenant';

export interface ServiceRoutesProps {
  /** The API whose `/v1/service/…` routes the policies allow. */
  readonly api: HttpApi;
  /**
   * The service routes built (those of the built groups).
   * @default the contract's service routes
   */
  readonly routes?: readonly RouteSpec[];
}

/**
 * IAM (SigV4) access of platform services to their routes (DESIGN.md §5):
 * the authorizer those routes take, and the managed policy to attach to the
 * platform's roles, scoped per tenant by the principal's `lethe-tenant` tag
 * (tenants are registered at run time, so no policy can name them at synth). The Lambda maps the IAM caller to the
 * Service role of the path's tenant: API Gateway lets a request in only if the
 * caller's policy allows this very path, tenant segment included.
 */
export class ServiceRoutes extends Construct {
  /** The authorizer of every service route (one route, one authorizer: the admin routes keep the JWT one). */
  static readonly authorizer = (): HttpIamAuthorizer => new HttpIamAuthorizer();

  /** Allows the service routes of the tenant named by the caller's `lethe-tenant` principal tag. */
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: ServiceRoutesProps) {
    super(scope, id);
    const routes = (props.routes ?? ROUTES).filter(isServiceRoute);
    if (routes.length === 0) throw new ValidationError('no service route is built: the service policies would allow nothing', this);

    this.policy = this.policyFor('ServicePolicy', props.api, routes, `\${aws:PrincipalTag/${SERVICE_TENANT_TAG}}`, 'the tenant of its lethe-tenant tag');
    new CfnOutput(this, 'PolicyOutput', {
      value: this.policy.managedPolicyArn,
      description: `Attach to a platform service's IAM role tagged ${SERVICE_TENANT_TAG}=<tenant>: ingest and reads of that tenant through ${SERVICE_PREFIX}/tenants/<tenant>/ (SigV4)`,
    }).overrideLogicalId('ServiceAccessPolicyArn');

  }

  private policyFor(id: string, api: HttpApi, routes: readonly RouteSpec[], tenant: string, what: string): ManagedPolicy {
    const methods = [...new Set(routes.map((r) => r.method))].sort();
    const resources = methods.map((method) =>
      // arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/v1/service/tenants/<tenant>/*
      Stack.of(this).formatArn({
        service: 'execute-api',
        resource: api.apiId,
        resourceName: `*/${method}${SERVICE_PREFIX}/tenants/${tenant}/*`,
        region: Aws.REGION,
        account: Aws.ACCOUNT_ID,
      }),
    );
    const policy = new ManagedPolicy(this, id, {
      description: `Lethe: a platform service's ingest and reads of ${what} (${SERVICE_PREFIX}/tenants/…, SigV4)`,
      statements: [new PolicyStatement({ effect: Effect.ALLOW, actions: ['execute-api:Invoke'], resources })],
    });
    // cdk-nag names each wildcard resource in its finding: `<ApiLogicalId>` for the API's id, `<aws:PrincipalTag/…>` for the variable.
    const apiId = `<${Stack.of(this).getLogicalId(api.node.defaultChild as CfnElement)}>`;
    for (const method of methods) {
      const named = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${apiId}/*/${method}${SERVICE_PREFIX}/tenants/${tenant.replace(/^\$\{(.*)\}$/u, '<$1>')}/*`;
      acknowledge(
        policy.node.defaultChild,
        `AwsSolutions-IAM5[Resource::${named}]`,
        `execute-api:Invoke on ${method} ${SERVICE_PREFIX}/tenants/<tenant>/* of this API only, for ${what}: the wildcards stand for the stage and the ids under the tenant (customers, conversations, calls), which no policy can list in advance.`,
      );
    }
    return policy;
  }
}
