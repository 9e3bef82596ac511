/** Shared set-up for the infra assertion tests: apps without bundling, resources found through their constructs. */
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { applyFeatureFlags, buildApp, type BuildAppOptions, type LetheApp } from '../../infra/app.js';
import { StatefulStack, type StatefulStackProps } from '../../infra/stateful-stack.js';

export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...NO_BUNDLING, ...context } });
}

export interface BuiltApp extends LetheApp {
  readonly app: App;
  readonly template: Template;
}

/** The app as bin/app.ts builds it, for a context and options. */
export function built(context: Record<string, unknown> = {}, options: BuildAppOptions = {}): BuiltApp {
  const app = testApp(context);
  const lethe = buildApp(app, options);
  return { ...lethe, app, template: Template.fromStack(lethe.stateful) };
}

/** A stateful stack for a hand-made policy (e.g. with an indefinite blob category). */
export function statefulStack(props: StatefulStackProps): { stack: StatefulStack; template: Template } {
  const app = testApp();
  applyFeatureFlags(app);
  const stack = new StatefulStack(app, 'Stateful', props);
  return { stack, template: Template.fromStack(stack) };
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, any>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The logical id CDK gave an L2 construct's CloudFormation resource (found, never pinned). */
export function logicalIdOf(construct: IConstruct): string {
  const cfn = construct.node.defaultChild;
  if (!(cfn instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(cfn);
}

/** The template entry of an L2 construct's underlying CloudFormation resource. */
export function resourceOf(template: Template, construct: IConstruct): CfnResourceJson {
  const logicalId = logicalIdOf(construct);
  const resource = (template.toJSON().Resources as Record<string, CfnResourceJson>)[logicalId];
  if (resource === undefined) throw new Error(`${construct.node.path} is not in the template`);
  return resource;
}

/** `{ Ref }` to a construct's resource, as other resources refer to it. */
export function refTo(construct: IConstruct): { Ref: string } {
  return { Ref: logicalIdOf(construct) };
}

/** `{ 'Fn::GetAtt': [id, 'Arn'] }` of a construct's resource. */
export function arnOf(construct: IConstruct): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalIdOf(construct), 'Arn'] };
}
