import { Aws, CfnOutput, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnManagedLoginBranding,
  ClientAttributes,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  UserPoolClientIdentityProvider,
  type UserPoolClient,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { LOGIN_CALLBACK_URLS } from '../../cli/login-redirect.js';
import { CLAIMS, ROLES, type Role } from '../../shared/app/api/contract.js';
import { ValidationError } from '../errors.js';
import { keepLogicalIdsOfChildren } from '../logical-ids.js';

const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  Administrator: 'Retention policy, deletion runs, ingest and audit of their own tenant',
  ComplianceAdministrator: 'Administrator plus legal holds, privacy requests, record deletion and exports of their own tenant',
  SuperAdministrator: 'Every tenant; registers tenants',
};

export interface AdminUserPoolProps {
  /**
   * What happens to the user pool (the admin accounts and their MFA enrolments)
   * when it leaves the stack. Anything but RETAIN is for throw-away environments.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Prefix of the Cognito domain of the managed login
   * (`https://<prefix>.auth.<region>.amazoncognito.com`): lowercase letters,
   * digits and hyphens, unique in the region, without "aws", "amazon" or "cognito".
   * @default `<stack name>-<account id>`, lowercased
   */
  readonly loginDomainPrefix?: string;
}

/** The OAuth scopes the console and `lethe login` ask for: the ID token and the admin's e-mail. */
export const LOGIN_SCOPES: readonly OAuthScope[] = [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE];

/**
 * The admin API's built-in issuer: a Cognito user pool (no self sign-up, TOTP
 * MFA required, threat protection enforced) with one group per role of the
 * contract, an immutable custom `tenantId` attribute, the app client admin
 * tools sign in with (SRP), and the managed login (a Cognito domain) with the
 * public app client of the web console and `lethe login`: authorization code
 * with PKCE only, no client secret, redirects only to the console
 * ({@link allowSignInFrom}) and the CLI's loopback ports.
 *
 * Admin tools must send the **ID token**: Cognito puts custom attributes
 * (`custom:tenantId`) only in ID tokens, and the handlers read the tenant from
 * that claim. (An access token would need a pre-token-generation V2 trigger.)
 */
export class AdminUserPool extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  /** The managed login's domain. */
  readonly domain: UserPoolDomain;
  /** Base URL of the managed login, `https://<prefix>.auth.<region>.amazoncognito.com` (its `/oauth2/authorize` and `/oauth2/token`). */
  readonly loginUrl: string;
  /** The public client of the console and `lethe login` (authorization code + PKCE, no secret). */
  readonly loginClient: UserPoolClient;
  /** Issuer URL of the pool's tokens. */
  readonly issuer: string;
  /** The audience of its ID tokens: the app client. */
  readonly audience: readonly string[];

  private readonly signInOrigins: string[] = [];

  constructor(scope: Construct, id: string, props: AdminUserPoolProps = {}) {
    super(scope, id);
    // The pool was the admin API's own before this construct gathered it; a new logical id would orphan every admin account.
    keepLogicalIdsOfChildren(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.userPool = new UserPool(this, 'UserPool', {
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
      this.userPool.addGroup(role, {
        groupName: role,
        description: ROLE_DESCRIPTIONS[role],
        // Lower wins when a user is in several groups; only matters for IAM role mapping.
        precedence: ROLES.length - index,
      });
    });
    this.client = this.userPool.addClient('AdminToolsClient', {
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

    const prefix = props.loginDomainPrefix ?? `${Stack.of(this).stackName.toLowerCase()}-${Aws.ACCOUNT_ID}`;
    if (!Token.isUnresolved(props.loginDomainPrefix) && props.loginDomainPrefix !== undefined) assertDomainPrefix(this, props.loginDomainPrefix);
    // Version 2 is the managed login (the classic hosted UI is 1); it shows a page only for clients that have a branding style.
    this.domain = this.userPool.addDomain('LoginDomain', { cognitoDomain: { domainPrefix: prefix }, managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN });
    this.loginUrl = this.domain.baseUrl();
    this.loginClient = this.userPool.addClient('LoginClient', {
      // A browser and a CLI keep no secret: a public client, whose codes only the PKCE verifier redeems.
      generateSecret: false,
      // The managed login offers the sign-in methods the client allows: SRP (the password never leaves the
      // browser in clear), then the pool's required TOTP; no plain-password, custom or choice-based flow.
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: [...LOGIN_SCOPES],
        // Resolved at synth: the console adds its URL once its distribution exists.
        callbackUrls: Lazy.list({ produce: () => [...this.signInOrigins.map((o) => `${o}/`), ...LOGIN_CALLBACK_URLS] }),
        // Signing out returns to the console; the CLI signs out by revoking its refresh token.
        logoutUrls: Lazy.list({ produce: () => this.signInOrigins.map((o) => `${o}/`) }),
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes(CLAIMS.tenant.replace(/^custom:/, '')),
      writeAttributes: new ClientAttributes().withStandardAttributes({ email: true }),
    });
    new CfnManagedLoginBranding(this, 'LoginBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.loginClient.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.issuer = this.userPool.userPoolProviderUrl;
    this.audience = [this.client.userPoolClientId, this.loginClient.userPoolClientId];

    new CfnOutput(this, 'UserPoolIdOutput', {
      value: this.userPool.userPoolId,
      description: 'Cognito user pool of Lethe admins (add users to Administrator, ComplianceAdministrator or SuperAdministrator)',
    }).overrideLogicalId('AdminUserPoolId');
    new CfnOutput(this, 'UserPoolClientIdOutput', {
      value: this.client.userPoolClientId,
      description: 'App client of admin tools (SRP sign-in); send the ID token as the bearer token',
    }).overrideLogicalId('AdminUserPoolClientId');
    new CfnOutput(this, 'LoginUrlOutput', {
      value: this.loginUrl,
      description: 'Managed login of Lethe admins (Cognito domain): lethe login --domain',
    }).overrideLogicalId('AdminLoginDomain');
    new CfnOutput(this, 'LoginClientIdOutput', {
      value: this.loginClient.userPoolClientId,
      description: 'Public app client of the web console and lethe login (authorization code + PKCE): lethe login --client-id',
    }).overrideLogicalId('AdminLoginClientId');
  }

  /**
   * Lets the managed login send admins back to a web origin (`https://…`, no
   * trailing slash): its root becomes a callback and sign-out URL of {@link loginClient}.
   */
  allowSignInFrom(origin: string): void {
    if (!Token.isUnresolved(origin) && !/^https:\/\/[^\s/]+$/.test(origin)) {
      throw new ValidationError(`a sign-in origin must be https://<host> without a path, got ${JSON.stringify(origin)}`, this);
    }
    this.signInOrigins.push(origin);
  }
}

function assertDomainPrefix(scope: Construct, prefix: string): void {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix) || /aws|amazon|cognito/.test(prefix)) {
    throw new ValidationError(
      `loginDomainPrefix must be 1-63 lowercase letters, digits or hyphens without "aws", "amazon" or "cognito", got ${JSON.stringify(prefix)}`,
      scope,
    );
  }
}
