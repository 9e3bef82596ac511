import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Defines `require` in the ESM bundle, or SDK code fails at run time with `Dynamic require of "node:https"`. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __letheCreateRequire } from 'node:module'; const require = __letheCreateRequire(import.meta.url);";

export interface LetheFunctionProps {
  /** Folder under `functions/` whose `handler.ts` is the entry. */
  readonly functionDir: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
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

/**
 * Lethe's one Lambda shape: Node.js 22 on ARM64, an ESM bundle built by the
 * local esbuild (no Docker), X-Ray tracing, and its own log group with a
 * retention, so logs are not kept forever by default.
 */
export class LetheFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: LetheFunctionProps) {
    super(scope, id);
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
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'lethe' },
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
  }

  get functionRef(): IFunction {
    return this.function;
  }
}
