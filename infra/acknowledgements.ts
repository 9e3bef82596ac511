/**
 * cdk-nag acknowledgements: the one place their wording lives, and the helpers
 * that place them where cdk-nag reports the finding. Anything not acknowledged
 * here (or by the construct whose design causes it) still fails synth.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

export interface RuleAcknowledgement {
  /** Path of the construct the rule was acknowledged on. */
  readonly path: string;
  /** Rule id as written to metadata, without CDK's `Annotation::` prefix. */
  readonly ruleId: string;
  readonly reason: string;
}

/** Every validation rule acknowledged with `Validations.of(x).acknowledge()` under a scope. */
export function acknowledgementsUnder(scope: IConstruct): RuleAcknowledgement[] {
  const found: RuleAcknowledgement[] = [];
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || entry.data === undefined) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({
          path: construct.node.path,
          ruleId: id.replace(/^annotation::/i, ''),
          reason: typeof reason === 'string' ? reason : '',
        });
      }
    }
  }
  return found;
}

/**
 * Acknowledges one finding on the resource cdk-nag reports it on. Acknowledging
 * the same rule twice on one resource keeps the first reason: grants on two
 * buckets produce the same action wildcard once.
 */
export function acknowledge(scope: IConstruct | undefined, id: string, reason: string): void {
  if (scope === undefined) return;
  const already = acknowledgementsUnder(scope).some((a) => a.path === scope.node.path && a.ruleId.toLowerCase() === id.toLowerCase());
  if (!already) Validations.of(scope).acknowledge({ id, reason });
}

/** The CloudFormation policy a role's grants go to (cdk-nag reports IAM5 findings on it), once a grant has made one. */
export function defaultPolicyOf(role: IRole | undefined): IConstruct | undefined {
  return role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild ?? undefined;
}

/**
 * How cdk-nag names an ARN in a finding id: `<LogicalId.Arn>` within one stack,
 * the export's name (as synth will write it) across stacks.
 */
export function findingArn(consumer: IConstruct, arn: string, owner: IConstruct): string {
  const consumerStack = Stack.of(consumer);
  const producer = Stack.of(owner);
  if (producer === consumerStack) {
    const resolved = consumerStack.resolve(arn) as { 'Fn::GetAtt'?: [string, string] };
    if (resolved['Fn::GetAtt'] === undefined) throw new Error(`cannot name ${owner.node.path} in a cdk-nag finding`);
    return `<${resolved['Fn::GetAtt'][0]}.${resolved['Fn::GetAtt'][1]}>`;
  }
  return (consumerStack.resolve(producer.exportValue(arn)) as { 'Fn::ImportValue': string })['Fn::ImportValue'];
}

/** The reasons, written once; each names why the finding follows from how Lethe must work. */
export const REASONS = {
  basicExecutionRole: 'The managed basic execution role only lets the function write its own CloudWatch logs.',
  pinnedRuntime:
    'Pinned to nodejs22.x, the runtime the ESM bundle targets (esbuild target node22); moving runtime is a tested change, not a drift.',
  functionTracing: 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource but *.',
  workflowTracingAndLogs: 'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) accept no resource but *.',
  workflowInvokes: 'The state machine invokes its own functions, any version (CDK LambdaInvoke grant).',
  tableKeyWrite:
    "CDK grant on the customer-managed key that encrypts the table (kms:ReEncrypt* and kms:GenerateDataKey* are how it spells the data-key actions a write needs); restricted to that one key.",
  bucketRead:
    'CDK read grant (s3:GetObject*, s3:GetBucket*, s3:List*: objects, their versions and tags), only on the buckets this function is bound to for reading, each acknowledged with its use.',
  bucketDelete:
    'CDK delete grant: s3:DeleteObject* is DeleteObject and DeleteObjectVersion, so an object goes with every one of its versions; only on the buckets this function is bound to for deletion.',
} as const;

/**
 * The findings every Lethe function has by construction: the basic execution
 * role (IAM4), the pinned runtime (L1), and X-Ray's resource wildcard (IAM5).
 */
export function acknowledgeFunctionFindings(fn: IFunction): void {
  acknowledge(
    fn.role?.node.defaultChild,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    REASONS.basicExecutionRole,
  );
  acknowledge(fn.node.defaultChild, 'AwsSolutions-L1', REASONS.pinnedRuntime);
  acknowledge(defaultPolicyOf(fn.role), 'AwsSolutions-IAM5[Resource::*]', REASONS.functionTracing);
}

/**
 * The findings of a traced, logged state machine that invokes its own functions:
 * tracing and log delivery take no resource, and CDK's invoke grant covers every
 * version of each function.
 */
export function acknowledgeWorkflowFindings(stateMachine: StateMachine, invoked: readonly IFunction[]): void {
  const policy = defaultPolicyOf(stateMachine.role);
  acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', REASONS.workflowTracingAndLogs);
  for (const fn of invoked) {
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${findingArn(stateMachine, fn.functionArn, fn)}:*]`, REASONS.workflowInvokes);
  }
}
