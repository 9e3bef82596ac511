import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
  type BehaviorOptions,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source, type ISource } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { DEFAULT_ACTION_ROLES, type ActionRoles } from '../../shared/domain/roles.js';
import { acknowledge, defaultPolicyOf, findingArn, REASONS } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';
import { LOGIN_SCOPES, type AdminUserPool } from './admin-user-pool.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where `npm run build:console` writes the console (and `npm install`'s prepare script). */
export const CONSOLE_DIST_DIR = join(ROOT, 'console', 'dist');
/** The OpenAPI document `npm run openapi` writes; the docs page reads it at `/openapi.json`. */
export const OPENAPI_FILE = join(ROOT, 'openapi.json');
/** The API's paths, served by the console's distribution from the API itself (same origin: no CORS). */
export const API_PATH_PATTERN = '/v1/*';

export interface AdminConsoleProps {
  /** The admin user pool: its managed login signs admins in, and it is told the console's URL. */
  readonly users: AdminUserPool;
  /** The admin HTTP API, served under `/v1/*` of the console's own origin. */
  readonly api: IHttpApi;
  /**
   * Every action's least role under the deployed profile (the console offers only what the role may do).
   * @default DEFAULT_ACTION_ROLES
   */
  readonly actionRoles?: ActionRoles;
  /**
   * The built console (index.html, assets, docs/).
   * @default CONSOLE_DIST_DIR (`console/dist`)
   */
  readonly siteDirectory?: string;
  /**
   * The OpenAPI document served at `/openapi.json` for the docs page; skipped when the file does not exist.
   * @default OPENAPI_FILE
   */
  readonly openapiFile?: string;
}

/**
 * The web console, deployed: the built single-page app in a private bucket
 * (SSL only, encrypted, public access blocked) served by CloudFront through
 * origin access control, with strict security headers on every answer; its
 * `/config.json` generated at deploy (API URL, managed login, client id); the
 * admin API under `/v1/*` of the same origin. Same origin rather than CORS:
 * the API's CORS would have to name the distribution while the CSP names the
 * API, a cycle CloudFormation cannot create; served from one origin, the API
 * needs no CORS at all and the CSP's `connect-src` is `'self'` and the login.
 *
 * When the stack is not bundled (`aws:cdk:bundling-stacks` leaves it out, as
 * `cdk synth -e`/tests do), a missing build is replaced by a placeholder page,
 * as CDK replaces function bundles; when it is, a missing `console/dist` fails
 * synth and says to run `npm run build:console`.
 */
export class AdminConsole extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly responseHeadersPolicy: ResponseHeadersPolicy;
  /** The docs page's headers: the same, but Swagger UI sets inline styles. */
  readonly docsResponseHeadersPolicy: ResponseHeadersPolicy;
  readonly deployment: BucketDeployment;
  /** `https://<distribution domain>`, without a trailing slash. */
  readonly url: string;
  /** What `/config.json` says (tokens resolved at deploy). */
  readonly config: Readonly<Record<string, unknown>>;

  constructor(scope: Construct, id: string, props: AdminConsoleProps) {
    super(scope, id);
    const site = siteSource(this, props.siteDirectory ?? CONSOLE_DIST_DIR);

    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The bucket holds the console's build only; the deployment writes it again at every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    acknowledge(
      this.bucket.node.defaultChild,
      'AwsSolutions-S1',
      'The console bucket holds only the public build of the web console and its config.json (no tenant data); only CloudFront reads it (origin access control) and only the deployment writes it.',
    );

    const loginOrigin = props.users.loginUrl;
    this.responseHeadersPolicy = this.headersPolicy('Headers', loginOrigin, false);
    this.docsResponseHeadersPolicy = this.headersPolicy('DocsHeaders', loginOrigin, true);

    const siteOrigin = S3BucketOrigin.withOriginAccessControl(this.bucket);
    const routes = new CloudFrontFunction(this, 'Routes', {
      comment: 'Lethe console: SPA routes and docs/ to their index.html',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(routingFunction(site.directories)),
    });
    const siteBehavior = (policy: ResponseHeadersPolicy): BehaviorOptions => ({
      origin: siteOrigin,
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: policy,
      compress: true,
      functionAssociations: [{ function: routes, eventType: FunctionEventType.VIEWER_REQUEST }],
    });
    const apiOrigin = new HttpOrigin(`${props.api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`, {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Lethe admin console and API',
      defaultRootObject: 'index.html',
      defaultBehavior: siteBehavior(this.responseHeadersPolicy),
      additionalBehaviors: {
        '/docs': siteBehavior(this.docsResponseHeadersPolicy),
        '/docs/*': siteBehavior(this.docsResponseHeadersPolicy),
        [API_PATH_PATTERN]: {
          origin: apiOrigin,
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          // Never cached; with caching off, this policy forwards the Authorization header (the JWT) too.
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.responseHeadersPolicy,
        },
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
    });
    const distribution = this.distribution.node.defaultChild;
    acknowledge(
      distribution,
      'AwsSolutions-CFR1',
      'Administrators sign in from wherever they work; access is decided by the Cognito sign-in with TOTP MFA and the JWT on every API call, not by country.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR2',
      'The distribution serves static files and forwards /v1/* to the admin API, which requires a JWT on every route but two and throttles per stage and per admin change; a CloudFront web ACL lives in us-east-1 and is an operator choice.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR3',
      'CloudFront access logs record the full URI and query string: customer lookups under /v1 carry phone numbers, e-mail addresses and names, and logs are a store too. The admin API keeps its own access log with route templates only.',
    );
    acknowledge(
      distribution,
      'AwsSolutions-CFR4',
      'The default *.cloudfront.net certificate does not allow a minimum TLS version; viewers get HTTPS only (redirect, HSTS). A custom domain with an ACM certificate would allow TLSv1.2_2021.',
    );

    this.url = `https://${this.distribution.distributionDomainName}`;
    props.users.allowSignInFrom(this.url);

    this.config = {
      // Same origin: the console calls /v1/* of its own URL.
      apiUrl: this.url,
      auth: {
        mode: 'cognito',
        domain: loginOrigin,
        clientId: props.users.loginClient.userPoolClientId,
        redirectUri: `${this.url}/`,
        scopes: LOGIN_SCOPES.map((s) => s.scopeName),
      },
      actionRoles: props.actionRoles ?? DEFAULT_ACTION_ROLES,
    };
    const sources: ISource[] = [site.source, Source.jsonData('config.json', this.config)];
    const openapiFile = props.openapiFile ?? OPENAPI_FILE;
    if (existsSync(openapiFile)) sources.push(Source.data('openapi.json', readFileSync(openapiFile, 'utf8')));

    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources,
      destinationBucket: this.bucket,
      // A new build replaces the old one whole, and no viewer keeps the old one from a cache.
      prune: true,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });
    this.acknowledgeDeploymentFindings();

    new CfnOutput(this, 'UrlOutput', { value: this.url, description: 'Lethe web console (sign in with the managed login)' }).overrideLogicalId(
      'ConsoleUrl',
    );
  }

  /** Strict headers on every answer: CSP (scripts from this origin only), HSTS, no framing, no sniffing, no referrer. */
  private headersPolicy(id: string, loginOrigin: string, inlineStyles: boolean): ResponseHeadersPolicy {
    return new ResponseHeadersPolicy(this, id, {
      comment: inlineStyles ? 'Lethe console docs page: strict headers, inline styles for Swagger UI' : 'Lethe console: strict security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(loginOrigin, inlineStyles), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()', override: true },
        ],
      },
    });
  }

  /** CDK's deployment function (one per stack) and the bucket's auto-delete provider: findings of CDK's own code. */
  private acknowledgeDeploymentFindings(): void {
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      const fn = child.node.defaultChild;
      acknowledge(fn, 'AwsSolutions-L1', "CDK's BucketDeployment function: its runtime is chosen by aws-cdk-lib and moves with it.");
    }
    const role = this.deployment.handlerRole;
    acknowledge(
      role.node.defaultChild,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      `CDK's BucketDeployment function: ${REASONS.basicExecutionRole}`,
    );
    const policy = defaultPolicyOf(role);
    const grant =
      "CDK's BucketDeployment grant: it reads the staged build from the CDK asset bucket and replaces the console bucket's objects (CDK's read and read/write grants on those two buckets only)";
    for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']) {
      acknowledge(policy, `AwsSolutions-IAM5[Action::${action}]`, `${grant}.`);
    }
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${findingArn(this, this.bucket.bucketArn, this.bucket)}/*]`, `${grant}: every object of the console bucket, which holds nothing else.`);
    acknowledge(
      policy,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      `${grant}: read-only, on the bootstrap asset bucket the console's build is staged in.`,
    );
    acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', "CDK's BucketDeployment invalidates the distribution's cache after a deploy: cloudfront:CreateInvalidation and GetInvalidation take no narrower resource in its grant.");
  }
}

/**
 * The CSP: scripts, styles, images, fonts and requests from this origin only
 * (the API is served here too), plus requests and form posts to the managed
 * login (the token exchange and its sign-in page); nothing may frame it.
 */
export function contentSecurityPolicy(loginOrigin: string, inlineStyles: boolean): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${inlineStyles ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${loginOrigin}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    `form-action 'self' ${loginOrigin}`,
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * The viewer-request function: a directory of the build (`/docs`, `/docs/`)
 * serves its index.html; any other path without a file extension is a route
 * of the single-page app and serves the root index.html. Done here rather than
 * with error responses, which would also turn the API's own 403s and 404s into
 * the app's page.
 */
export function routingFunction(directories: readonly string[]): string {
  return `var DIRECTORIES = ${JSON.stringify(directories.map((d) => `/${d}`))};
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var trimmed = uri.length > 1 && uri.charAt(uri.length - 1) === '/' ? uri.slice(0, -1) : uri;
  if (DIRECTORIES.indexOf(trimmed) >= 0) {
    request.uri = trimmed + '/index.html';
  } else if (uri.lastIndexOf('.') <= uri.lastIndexOf('/')) {
    request.uri = '/index.html';
  }
  return request;
}
`;
}

interface SiteSource {
  readonly source: ISource;
  /** Top-level directories of the build with an index.html of their own (`docs`). */
  readonly directories: readonly string[];
}

function siteSource(scope: Construct, directory: string): SiteSource {
  if (existsSync(join(directory, 'index.html'))) {
    const directories = readdirSync(directory).filter(
      (name) => statSync(join(directory, name)).isDirectory() && existsSync(join(directory, name, 'index.html')),
    );
    return { source: Source.asset(directory), directories };
  }
  if (Stack.of(scope).bundlingRequired) {
    throw new ValidationError(`the web console is not built (${directory} has no index.html): run \`npm run build:console\`, then synth again`, scope);
  }
  return {
    source: Source.data('index.html', '<!doctype html><title>Lethe console</title><p>Not built: run <code>npm run build:console</code> and deploy again.</p>'),
    directories: [],
  };
}
