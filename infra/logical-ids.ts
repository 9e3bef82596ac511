/**
 * Grouping constructs that leave their resources' logical ids as they were.
 *
 * CloudFormation knows a resource by its logical id, and CDK derives that id
 * from the construct path. When the stateless stack's flat resources were
 * gathered into service constructs (SweepService, PrivacyService, the admin
 * API's parts), every path gained a level; left alone, the next deploy would
 * replace them all: a new reference secret (receipt HMACs stop matching), a new
 * admin API URL, a new user pool with the old one orphaned (it is retained),
 * the function and access log groups deleted with their logs. A scope marked
 * here is skipped when its descendants' logical ids are computed, so they keep
 * the ids they had before the grouping.
 *
 * Only constructs that took over existing resources need this; a new service
 * can leave it out (its resources have no earlier ids to keep).
 */
import { createHash } from 'node:crypto';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const TRANSPARENT = new WeakSet<IConstruct>();

/** Leaves `scope` out of the logical ids of everything under it (see the module comment for when). */
export function keepLogicalIdsOfChildren(scope: IConstruct): void {
  TRANSPARENT.add(scope);
}

/** Whether some scope between the element's stack and the element was marked by {@link keepLogicalIdsOfChildren}. */
export function isUnderGrouping(element: CfnElement): boolean {
  return pathFromStack(element).some((scope) => TRANSPARENT.has(scope));
}

/**
 * The element's logical id computed as CDK computes it (`Stack.allocateLogicalId`:
 * a human part and an 8-digit hash of the path below the stack, `Default`
 * components dropped, a final `Resource` left out of the human part), over the
 * path without the marked scopes. CDK cannot change this scheme without replacing
 * every resource of every app, so it is safe to restate; a test checks this
 * rendition against CDK's own on the unmarked resources of the real stacks.
 */
export function groupedLogicalId(element: CfnElement): string {
  const components = pathFromStack(element)
    .filter((scope) => !TRANSPARENT.has(scope))
    .map((scope) => scope.node.id)
    .filter((id) => id !== 'Default');
  if (components.length === 1) {
    const candidate = alphanumeric(components[0]!);
    if (candidate.length <= 255) return candidate;
  }
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human = withoutRepeats(components)
    .filter((id) => id !== 'Resource')
    .map(alphanumeric)
    .join('')
    .slice(0, 240);
  return human + hash;
}

function pathFromStack(element: CfnElement): IConstruct[] {
  const scopes = element.node.scopes;
  return scopes.slice(scopes.indexOf(Stack.of(element)) + 1);
}

function alphanumeric(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '');
}

/** Drops a component the one kept before it ends with (`['Bucket', 'Bucket']` → `['Bucket']`), as CDK's human part does. */
function withoutRepeats(components: readonly string[]): string[] {
  const kept: string[] = [];
  for (const component of components) {
    if (kept.length === 0 || !kept[kept.length - 1]!.endsWith(component)) kept.push(component);
  }
  return kept;
}
