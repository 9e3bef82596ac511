import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
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
import { Construct } from 'constructs';
import { CLAIMS, ROLES, type Role } from '../../shared/app/api/contract.js';
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
}

/**
 * The admin API's built-in issuer: a Cognito user pool (no self sign-up, TOTP
 * MFA required, threat protection enforced) with one group per role of the
 * contract, an immutable custom `tenantId` attribute, and the app client admin
 * tools sign in with (SRP).
 *
 * Admin tools must send the **ID token**: Cognito puts custom attributes
 * (`custom:tenantId`) only in ID tokens, and the handlers read the tenant from
 * that claim. (An access token would need a pre-token-generation V2 trigger.)
 */
export class AdminUserPool extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  /** Issuer URL of the pool's tokens. */
  readonly issuer: string;
  /** The audience of its ID tokens: the app client. */
  readonly audience: readonly string[];

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
    this.issuer = this.userPool.userPoolProviderUrl;
    this.audience = [this.client.userPoolClientId];

    new CfnOutput(this, 'UserPoolIdOutput', {
      value: this.userPool.userPoolId,
      description: 'Cognito user pool of Lethe admins (add users to Administrator, ComplianceAdministrator or SuperAdministrator)',
    }).overrideLogicalId('AdminUserPoolId');
    new CfnOutput(this, 'UserPoolClientIdOutput', {
      value: this.client.userPoolClientId,
      description: 'App client of admin tools (SRP sign-in); send the ID token as the bearer token',
    }).overrideLogicalId('AdminUserPoolClientId');
  }
}
