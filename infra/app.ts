/**
 * Composition of the Lethe CDK app, shared by `bin/app.ts` (the CLI entry),
 * `scripts/synth-all.ts` and the infra tests.
 */
import { Annotations, Tags, Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_PROFILE, loadProfile, type ProfileName } from '../shared/config/profiles.js';
import type { PlatformPolicy } from '../shared/domain/policy.js';
import type { AdminApiJwtIssuer } from './constructs/admin-api.js';
import { ValidationError } from './errors.js';
import { StatefulStack } from './stateful-stack.js';
import { StatelessStack } from './stateless-stack.js';

/** Placeholder sender used when no `mailFrom` is given; synth warns about it. */
export const PLACEHOLDER_MAIL_FROM = 'lethe-alerts@example.com';

/**
 * Feature flags the stacks rely on, applied unless the context (cdk.json, -c)
 * already sets them: access-log delivery through a bucket policy rather than
 * the legacy LogDeliveryWrite ACL. (S3 write grants leave out `s3:PutObjectAcl`
 * in CDK v2 anyway; naming that expired v1 flag, `@aws-cdk/aws-s3:grantWriteWithoutAcl`,
 * makes every CDK write grant on a bucket throw.)
 */
export const FEATURE_FLAGS: Readonly<Record<string, boolean>> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

export interface BuildAppOptions {
  /**
   * Platform-policy profile to deploy.
   * @default context `profile`, else conversations
   */
  readonly profile?: string;
  /**
   * Point-in-time recovery window of the records and control tables, in days (1–35).
   * @default context `pitrDays`, else 35
   */
  readonly pointInTimeRecoveryPeriodDays?: number;
  /**
   * Target account and region.
   * @default - environment-agnostic stacks
   */
  readonly env?: Environment;
  /**
   * Whether cdk-nag (AwsSolutions) checks run at synth and fail it on unacknowledged errors.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Verified SES sender of alert and confirmation e-mails.
   * @default context `mailFrom`, else a placeholder (with a synth warning)
   */
  readonly mailFrom?: string;
  /**
   * Operators who receive every critical alert besides the tenant's admins.
   * @default context `operatorEmails` (comma-separated), else none
   */
  readonly operatorEmails?: readonly string[];
  /**
   * External issuer of the admin API's JWTs, instead of the built-in Cognito user pool; needs `jwtAudience` too.
   * @default context `jwtIssuer`, else the Cognito user pool
   */
  readonly jwtIssuer?: string;
  /**
   * Accepted audiences of the external issuer's JWTs; needs `jwtIssuer` too.
   * @default context `jwtAudience` (comma-separated), else the Cognito app client
   */
  readonly jwtAudience?: readonly string[];
}

export interface LetheApp {
  readonly profile: ProfileName;
  readonly platformPolicy: PlatformPolicy;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/** The name of a Lethe stack, e.g. `Lethe-voice-Stateful`. */
export function stackName(profile: string, part: 'Stateful' | 'Stateless'): string {
  return `Lethe-${profile}-${part}`;
}

/** Sets {@link FEATURE_FLAGS} the context leaves unset; call before adding any stack. */
export function applyFeatureFlags(app: App): void {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
}

/** Adds the Lethe stacks for one profile to a fresh app. */
export function buildApp(app: App, options: BuildAppOptions = {}): LetheApp {
  applyFeatureFlags(app);

  const platformPolicy = loadProfile(options.profile ?? contextString(app, 'profile') ?? DEFAULT_PROFILE);
  const profile = platformPolicy.profile as ProfileName;
  const pointInTimeRecoveryPeriodDays = options.pointInTimeRecoveryPeriodDays ?? contextInteger(app, 'pitrDays');

  const statefulName = stackName(profile, 'Stateful');
  const stateful = new StatefulStack(app, statefulName, {
    stackName: statefulName,
    platformPolicy,
    ...(pointInTimeRecoveryPeriodDays === undefined ? {} : { pointInTimeRecoveryPeriodDays }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  Tags.of(stateful).add('lethe:profile', profile);

  const mailFrom = options.mailFrom ?? contextString(app, 'mailFrom');
  const operatorEmails =
    options.operatorEmails ??
    splitList(contextOptionalString(app, 'operatorEmails')) ??
    [];
  const jwtIssuer = adminApiIssuer(
    options.jwtIssuer ?? contextString(app, 'jwtIssuer'),
    options.jwtAudience ?? splitList(contextOptionalString(app, 'jwtAudience')),
  );
  const statelessName = stackName(profile, 'Stateless');
  const stateless = new StatelessStack(app, statelessName, {
    stackName: statelessName,
    stateful,
    platformPolicy,
    mailFrom: mailFrom ?? PLACEHOLDER_MAIL_FROM,
    operatorEmails,
    ...(jwtIssuer === undefined ? {} : { adminApi: { jwtIssuer } }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  if (mailFrom === undefined) {
    Annotations.of(stateless).addWarningV2(
      'lethe:mailFrom',
      `no mailFrom given: alerts would be sent from ${PLACEHOLDER_MAIL_FROM}; deploy with -c mailFrom=<verified SES address>`,
    );
  }
  Tags.of(stateless).add('lethe:profile', profile);

  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { profile, platformPolicy, stateful, stateless };
}

/** The external JWT issuer when both halves are given; neither means the Cognito user pool; one alone is a mistake. */
function adminApiIssuer(issuer: string | undefined, audience: readonly string[] | undefined): AdminApiJwtIssuer | undefined {
  const hasAudience = audience !== undefined && audience.length > 0;
  if (issuer === undefined && !hasAudience) return undefined;
  if (issuer === undefined || !hasAudience) {
    throw new ValidationError('jwtIssuer and jwtAudience go together: give both for an external issuer, or neither for the Cognito user pool');
  }
  if (!/^https:\/\/[^\s/]+/.test(issuer)) throw new ValidationError(`context "jwtIssuer" must be an https URL, got ${JSON.stringify(issuer)}`);
  return { issuer, audience };
}

/** `a, b,,c` → `['a', 'b', 'c']`; undefined stays undefined. */
function splitList(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(`context "${key}" must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function contextOptionalString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ValidationError(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function contextInteger(app: App, key: string): number | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  // -c key=value arrives as a string; cdk.json may hold a number.
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(parsed)) {
    throw new ValidationError(`context "${key}" must be a whole number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
