/**
 * The Lambda runtime's configuration: read from the environment once, at module
 * load, failing fast with the name of anything missing or malformed.
 */
import { platformPolicySchema, type PlatformPolicy } from '../domain/policy.js';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  const value = env[name];
  if (value === undefined) throw new ConfigurationError(`environment variable ${name} is not set (it may be empty)`);
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** An optional variable: absent or blank is undefined, never a silent default. */
function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number {
  const n = Number(required(env, name));
  if (!Number.isInteger(n) || n <= 0) throw new ConfigurationError(`environment variable ${name} must be a positive integer`);
  return n;
}

/** An optional positive integer variable of at most `max`: absent or blank is undefined. */
function optionalPositiveInt(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > max) {
    throw new ConfigurationError(`environment variable ${name} must be an integer from 1 to ${max}`);
  }
  return n;
}

/** S3 refuses a SigV4 pre-signed link valid longer than 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface LambdaConfig {
  readonly region: string;
  readonly tableNames: { readonly records: string; readonly control: string; readonly keys: string };
  readonly bucketNames: { readonly recordings: string; readonly media: string; readonly exports: string };
  readonly platform: PlatformPolicy;
  readonly refSecretArn: string;
  readonly operatorEmails: string[];
  readonly mailFrom: string;
  readonly stageBudgetMs: number;
  /**
   * Lifetime of the export route's blob links in seconds (`EXPORT_LINK_SECONDS`,
   * optional, at most 7 days); absent: the domain's default, 15 minutes.
   */
  readonly exportLinkSeconds?: number;
  /**
   * ARN of the `Sweep` state machine (`SWEEP_STATE_MACHINE_ARN`); only the admin
   * API's runs function starts executions, and requires it (`requireSweepStateMachineArn`).
   */
  readonly sweepStateMachineArn?: string;
  /**
   * ARN of the `PrivacyRequest` state machine (`PRIVACY_STATE_MACHINE_ARN`); the
   * admin API's privacy function and the hold worker start executions, and require it
   * (`requirePrivacyStateMachineArn`).
   */
  readonly privacyStateMachineArn?: string;
  /** ARN of the `Hold` state machine (`HOLD_STATE_MACHINE_ARN`); the admin API's holds function starts executions. */
  readonly holdStateMachineArn?: string;
  /**
   * ARN of the shredding KMS key (`SHREDDING_KEY_ARN`), which wraps tenants'
   * key-encryption keys; set on the functions that read or write records, which
   * seal and open personal data under the keys table's keys (crypto-shredding).
   */
  readonly shreddingKeyArn?: string;
  /** ARN of the `Deletion` state machine (`DELETION_STATE_MACHINE_ARN`); the admin API's customers function starts executions. */
  readonly deletionStateMachineArn?: string;
  /**
   * The admin API's base URL (`PUBLIC_API_URL`, e.g. `https://api.example.com`):
   * with crypto-shredding, links to blobs and access exports are the API's
   * download links under it. Set on the functions that hand links out (the
   * customers function's export, the privacy worker's access exports).
   */
  readonly publicApiUrl?: string;
  /** The deletion events bus (`EVENT_BUS_NAME`), set on the functions that publish. */
  readonly eventBusName?: string;
}

/** An https base URL (http only on loopback), without a trailing slash. */
function publicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError('environment variable PUBLIC_API_URL is not a URL');
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new ConfigurationError('environment variable PUBLIC_API_URL must be an https URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw new ConfigurationError('environment variable PUBLIC_API_URL must be a plain base URL');
  return url.toString().replace(/\/+$/u, '');
}

export function readLambdaConfig(env: NodeJS.ProcessEnv): LambdaConfig {
  let platform: PlatformPolicy;
  try {
    platform = platformPolicySchema.parse(JSON.parse(required(env, 'PLATFORM_POLICY')));
  } catch (error) {
    throw new ConfigurationError('environment variable PLATFORM_POLICY is not a valid platform policy', { cause: error });
  }
  const exportLinkSeconds = optionalPositiveInt(env, 'EXPORT_LINK_SECONDS', MAX_PRESIGN_SECONDS);
  return {
    region: required(env, 'AWS_REGION'),
    tableNames: {
      records: required(env, 'RECORDS_TABLE'),
      control: required(env, 'CONTROL_TABLE'),
      keys: required(env, 'KEYS_TABLE'),
    },
    bucketNames: {
      recordings: required(env, 'RECORDINGS_BUCKET'),
      media: required(env, 'MEDIA_BUCKET'),
      exports: required(env, 'EXPORTS_BUCKET'),
    },
    platform,
    refSecretArn: required(env, 'REF_SECRET_ARN'),
    operatorEmails: list(env, 'OPERATOR_EMAILS'),
    mailFrom: required(env, 'MAIL_FROM'),
    stageBudgetMs: positiveInt(env, 'STAGE_BUDGET_MS'),
    ...(exportLinkSeconds !== undefined && { exportLinkSeconds }),
    ...(optional(env, 'SWEEP_STATE_MACHINE_ARN') !== undefined && {
      sweepStateMachineArn: optional(env, 'SWEEP_STATE_MACHINE_ARN'),
    }),
    ...(optional(env, 'PRIVACY_STATE_MACHINE_ARN') !== undefined && {
      privacyStateMachineArn: optional(env, 'PRIVACY_STATE_MACHINE_ARN'),
    }),
    ...(optional(env, 'HOLD_STATE_MACHINE_ARN') !== undefined && {
      holdStateMachineArn: optional(env, 'HOLD_STATE_MACHINE_ARN'),
    }),
    ...(optional(env, 'SHREDDING_KEY_ARN') !== undefined && { shreddingKeyArn: optional(env, 'SHREDDING_KEY_ARN') }),
    ...(optional(env, 'DELETION_STATE_MACHINE_ARN') !== undefined && {
      deletionStateMachineArn: optional(env, 'DELETION_STATE_MACHINE_ARN'),
    }),
    ...(optional(env, 'PUBLIC_API_URL') !== undefined && { publicApiUrl: publicUrl(optional(env, 'PUBLIC_API_URL') as string) }),
    ...(optional(env, 'EVENT_BUS_NAME') !== undefined && { eventBusName: optional(env, 'EVENT_BUS_NAME') }),
  };
}

/** The state machine ARN, or a `ConfigurationError` naming the variable. */
export function requireSweepStateMachineArn(config: LambdaConfig): string {
  if (config.sweepStateMachineArn === undefined) {
    throw new ConfigurationError('environment variable SWEEP_STATE_MACHINE_ARN is not set');
  }
  return config.sweepStateMachineArn;
}

/** The `PrivacyRequest` state machine ARN, or a `ConfigurationError` naming the variable. */
export function requirePrivacyStateMachineArn(config: LambdaConfig): string {
  if (config.privacyStateMachineArn === undefined) {
    throw new ConfigurationError('environment variable PRIVACY_STATE_MACHINE_ARN is not set');
  }
  return config.privacyStateMachineArn;
}
