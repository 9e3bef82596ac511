import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type { BucketName } from '../../shared/domain/catalog.js';
import { acknowledge, acknowledgeFunctionFindings, defaultPolicyOf, findingArn, REASONS } from '../acknowledgements.js';
import { ValidationError } from '../errors.js';
import type { BlobBuckets } from './blob-buckets.js';
import type { DataAccess, LetheTable } from './lethe-table.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Defines `require` in the ESM bundle, or SDK code fails at run time with `Dynamic require of "node:https"`. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __letheCreateRequire } from 'node:module'; const require = __letheCreateRequire(import.meta.url);";

export interface LetheFunctionProps {
  /** Folder under `functions/` whose `handler.ts` is the entry. */
  readonly functionDir: string;
  readonly description: string;
  /**
   * Settings that are not bindings (tables, buckets, secrets, state machines
   * and the mail sender are set by the `bind…` methods, with their grants).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySizeMb?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /**
   * Days the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: IKey;
}

/** What a function may do with a bucket's objects. */
export type BucketGrant = 'read' | 'put' | 'delete' | 'legalHold';

export interface TableBinding {
  /** Variable that carries the table's name, as the Lambda runtime config reads it (e.g. `RECORDS_TABLE`). */
  readonly envVar: string;
  /** What the function may do with the items; `none` tells it only the name. */
  readonly access: DataAccess | 'none';
  /**
   * Why the function queries the table's indexes. CDK's table grants always
   * cover `<table>/index/*`, a wildcard cdk-nag reports; this is its
   * acknowledgement. Required when access is granted on a table with indexes.
   * @default - none; only valid for a table without indexes or without access
   */
  readonly indexUse?: string;
}

export interface BucketBinding {
  /** Variable that carries the bucket's name (e.g. `MEDIA_BUCKET`). */
  readonly envVar: string;
  /** The object grants; none tells the function only the name. */
  readonly access: readonly BucketGrant[];
  /**
   * Why the function touches the bucket's objects. Object keys are known only
   * at run time, so every object grant covers `<bucket>/*`, a wildcard cdk-nag
   * reports; this is its acknowledgement. Required with any access.
   * @default - none; only valid without access
   */
  readonly objectUse?: string;
}

export interface SecretBinding {
  /** Variable that carries the secret's ARN (e.g. `REF_SECRET_ARN`). */
  readonly envVar: string;
  /** `read` fetches the value; `none` tells the function only the ARN. */
  readonly access: 'read' | 'none';
}

export interface StateMachineBinding {
  /** Variable that carries the state machine's ARN (e.g. `SWEEP_STATE_MACHINE_ARN`). */
  readonly envVar: string;
  /** Start executions; nothing else (no stop, no history). */
  readonly access: 'start';
}

export interface ShreddingKeyBinding {
  /** Variable that carries the key's ARN (e.g. `SHREDDING_KEY_ARN`). */
  readonly envVar: string;
}

export interface EventBusBinding {
  /** Variable that carries the bus's name (`EVENT_BUS_NAME`). */
  readonly envVar: string;
}

export interface ApiUrlBinding {
  /** Variable that carries the URL (e.g. `PUBLIC_API_URL`). */
  readonly envVar: string;
}

/**
 * The `purpose` every call under the shredding key names in its encryption
 * context (shared/adapters/crypto/kms-wrapper.ts); the grant is conditioned on it.
 */
export const SHREDDING_KEY_PURPOSE = 'lethe-kek';

export interface MailSenderBinding {
  /** Variable that carries the sender address (e.g. `MAIL_FROM`). */
  readonly envVar: string;
  /** `send` sends through SES as this sender only; `none` tells the function only the address. */
  readonly access: 'send' | 'none';
}

/**
 * Lethe's one Lambda shape: Node.js 22 on ARM64, an ESM bundle built by the
 * local esbuild (no Docker), X-Ray tracing, and its own log group with a
 * retention, so logs are not kept forever by default. The cdk-nag findings
 * every such function has are acknowledged here, once.
 *
 * Resources are bound, not granted by hand: each `bind…` sets the environment
 * variable the function reads and the grant it needs together (as Powertools'
 * examples do), and acknowledges the wildcards that grant produces with the
 * reason given.
 */
export class LetheFunction extends Construct {
  readonly function: NodejsFunction;
  private readonly bound = new Set<string>();

  constructor(scope: Construct, id: string, props: LetheFunctionProps) {
    super(scope, id);
    const environment = props.environment ?? {};
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
      ...(props.logEncryptionKey === undefined ? {} : { encryptionKey: props.logEncryptionKey }),
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${REPO_ROOT}functions/${props.functionDir}/handler.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySizeMb ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup,
      environment: { ...environment, NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'lethe' },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        forceDockerBundling: false,
      },
    });
    for (const name of Object.keys(environment)) this.bound.add(name);
    acknowledgeFunctionFindings(this.function);
  }

  get functionRef(): IFunction {
    return this.function;
  }

  /** Tells the function a table's name and grants it `read` or `readWrite` on the items. */
  bindTable(table: LetheTable, binding: TableBinding): void {
    const indexUse = this.indexUseOf(table, binding);
    this.setVariable(binding.envVar, table.table.tableName);
    if (binding.access === 'none') return;
    table.grantAccess(this.function, binding.access);
    const policy = this.policy();
    if (indexUse !== undefined) {
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${findingArn(this, table.table.tableArn, table.table)}/index/*]`, indexUse);
    }
    if (binding.access === 'readWrite' && table.table.encryptionKey !== undefined) {
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) acknowledge(policy, `AwsSolutions-IAM5[Action::${action}]`, REASONS.tableKeyWrite);
    }
  }

  /** Tells the function a bucket's name and grants it the object actions asked for. */
  bindBucket(buckets: BlobBuckets, name: BucketName, binding: BucketBinding): void {
    const bucket = buckets.bucket(name);
    const objectUse = this.objectUseOf(name, binding);
    this.setVariable(binding.envVar, bucket.bucketName);
    if (objectUse === undefined) return;
    for (const grant of binding.access) buckets.grantAccess(this.function, name, grant);
    const policy = this.policy();
    if (binding.access.includes('read')) {
      for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) acknowledge(policy, `AwsSolutions-IAM5[Action::${action}]`, REASONS.bucketRead);
    }
    if (binding.access.includes('delete')) acknowledge(policy, 'AwsSolutions-IAM5[Action::s3:DeleteObject*]', REASONS.bucketDelete);
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${findingArn(this, bucket.bucketArn, bucket)}/*]`, objectUse);
  }

  /** Tells the function a secret's ARN and, with `read`, lets it fetch the value. */
  bindSecret(secret: ISecret, binding: SecretBinding): void {
    this.setVariable(binding.envVar, secret.secretArn);
    if (binding.access === 'read') secret.grantRead(this.function);
  }

  /** Tells the function a state machine's ARN and lets it start executions. */
  bindStateMachine(stateMachine: IStateMachine, binding: StateMachineBinding): void {
    this.setVariable(binding.envVar, stateMachine.stateMachineArn);
    stateMachine.grantStartExecution(this.function);
  }

  /**
   * Tells the function the shredding key's ARN and lets it generate and
   * unwrap tenants' key-encryption keys under it: `kms:GenerateDataKey` and
   * `kms:Decrypt` on that key only, and only for calls whose encryption
   * context names a tenant and the `lethe-kek` purpose. Nothing else, not even
   * this function, can use the key for anything else (no `kms:Encrypt`, no
   * re-encryption, no data keys for other purposes).
   */
  bindShreddingKey(key: IKey, binding: ShreddingKeyBinding): void {
    this.setVariable(binding.envVar, key.keyArn);
    this.function.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:purpose': SHREDDING_KEY_PURPOSE },
          Null: { 'kms:EncryptionContext:tenant': 'false' },
        },
      }),
    );
  }

  /** Tells the function the deletion events bus's name and lets it put events on that bus only. */
  bindEventBus(bus: IEventBus, binding: EventBusBinding): void {
    this.setVariable(binding.envVar, bus.eventBusName);
    bus.grantPutEventsTo(this.function);
  }

  /** Tells the function a base URL (e.g. the API's, for the links it builds); no grant. */
  bindApiUrl(url: string, binding: ApiUrlBinding): void {
    this.setVariable(binding.envVar, url);
  }

  /**
   * Tells the function the sender address and, with `send`, lets it send
   * through SES as that sender only. SES authorises a send on the sender's
   * identity: the address itself, or its domain.
   */
  bindMailSender(address: string, binding: MailSenderBinding): void {
    this.setVariable(binding.envVar, address);
    if (binding.access === 'none') return;
    const stack = Stack.of(this);
    const domain = address.slice(address.lastIndexOf('@') + 1);
    this.function.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ses:SendEmail'],
        resources: [address, domain].map((identity) => `arn:${stack.partition}:ses:${stack.region}:${stack.account}:identity/${identity}`),
      }),
    );
  }

  /** The reason that acknowledges the index wildcard: present exactly when access is granted on a table with indexes. */
  private indexUseOf(table: LetheTable, binding: TableBinding): string | undefined {
    const { id, globalSecondaryIndexes } = table.definition;
    const indexUse = binding.indexUse?.trim();
    if (binding.access === 'none' || globalSecondaryIndexes.length === 0) {
      if (indexUse !== undefined) {
        const why = binding.access === 'none' ? 'the function may not read the table' : `the ${id} table has no indexes`;
        throw new ValidationError(`${binding.envVar}: leave indexUse out; ${why}`, this);
      }
      return undefined;
    }
    if (indexUse === undefined || indexUse === '') {
      throw new ValidationError(
        `${binding.envVar}: the ${id} table has indexes, which the ${binding.access} grant covers; say why the function may query them (indexUse)`,
        this,
      );
    }
    return indexUse;
  }

  /** The reason that acknowledges the object wildcard: present exactly when object access is granted. */
  private objectUseOf(name: BucketName, binding: BucketBinding): string | undefined {
    if (new Set(binding.access).size !== binding.access.length) {
      throw new ValidationError(`${binding.envVar}: access lists a grant twice: ${binding.access.join(', ')}`, this);
    }
    const objectUse = binding.objectUse?.trim();
    if (binding.access.length === 0) {
      if (objectUse !== undefined) throw new ValidationError(`${binding.envVar}: leave objectUse out; the function may not use the ${name} bucket's objects`, this);
      return undefined;
    }
    if (objectUse === undefined || objectUse === '') {
      throw new ValidationError(`${binding.envVar}: say why the function touches the ${name} bucket's objects (objectUse)`, this);
    }
    return objectUse;
  }

  private setVariable(name: string, value: string): void {
    if (this.bound.has(name)) throw new ValidationError(`${name} is set twice`, this);
    this.bound.add(name);
    this.function.addEnvironment(name, value);
  }

  private policy() {
    return defaultPolicyOf(this.function.role);
  }
}
