import { Validations } from 'aws-cdk-lib';
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
