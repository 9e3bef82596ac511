/**
 * The deletion events bus in the synthesized stacks: the stateful stack
 * creates it (named, with a replay archive of Lethe's events, its name an
 * output); exactly the functions that publish are told its name and may put
 * events on it, on that bus only; the Lambda config reads the name exactly
 * where it is set.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { EVENT_BUS_VARIABLE } from '../../infra/constructs/event-bus.js';
import { LetheFunction } from '../../infra/constructs/lethe-function.js';
import { readLambdaConfig } from '../../shared/config/lambda-env.js';
import { statementsOf, testApp } from '../infra/helpers.js';

type Json = Record<string, any>;

/** The functions whose code publishes events (DESIGN.md §4), by construct id. */
const PUBLISHERS = ['CustomersFunction', 'DeletionWorker', 'HoldsFunction', 'PolicyFunction', 'PrivacyWorker', 'SweepLifecycle', 'SweepStage'];

const app = testApp({ profile: 'voice', mailFrom: 'alerts@lethe.example' });
const lethe = buildApp(app, { nag: false });
const stateful = Template.fromStack(lethe.stateful);
const resources = Template.fromStack(lethe.stateless).toJSON().Resources as Record<string, Json>;
const functions = lethe.stateless.node.findAll().filter((c): c is LetheFunction => c instanceof LetheFunction);
const variables = (fn: LetheFunction): Json => resources[lethe.stateless.getLogicalId(fn.function.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
const busArn = lethe.stateless.resolve(lethe.stateful.exportValue(lethe.stateful.events.bus.eventBusArn)) as Json;
const busName = lethe.stateless.resolve(lethe.stateful.exportValue(lethe.stateful.events.bus.eventBusName)) as Json;
const publishes = (fn: LetheFunction) => PUBLISHERS.includes(fn.node.id);

describe('the deletion events bus', () => {
  it('is created by the stateful stack with the profile in its name, and kept on removal', () => {
    stateful.hasResource('AWS::Events::EventBus', { Properties: { Name: 'lethe-voice-events' }, DeletionPolicy: 'Retain' });
  });

  it('archives every event of source lethe for replay, for 30 days', () => {
    stateful.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['lethe'] }, RetentionDays: 30 });
  });

  it('is named in the stack outputs', () => {
    expect(stateful.findOutputs('DeletionEventBusName')).toEqual({ DeletionEventBusName: expect.objectContaining({ Value: expect.anything() }) });
  });

  it('is told to exactly the functions that publish', () => {
    const told = functions.filter((fn) => EVENT_BUS_VARIABLE in variables(fn)).map((fn) => fn.node.id).sort();

    expect(told).toEqual(PUBLISHERS);
    for (const fn of functions.filter(publishes)) expect(variables(fn)[EVENT_BUS_VARIABLE], fn.node.id).toEqual(busName);
  });

  it('lets those functions put events on this bus and nothing else, and no other function put events at all', () => {
    for (const fn of functions) {
      const onEvents = statementsOf(resources, fn.function).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('events:')));
      if (publishes(fn)) expect(onEvents, fn.node.id).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }]);
      else expect(onEvents, fn.node.id).toEqual([]);
    }
  });

  it('is read by the Lambda runtime config exactly where it is set', () => {
    for (const fn of functions) {
      const env = Object.fromEntries(
        Object.entries(variables(fn)).map(([k, v]) => [k, typeof v === 'string' ? v : k === 'PUBLIC_API_URL' ? 'https://abc.execute-api.eu-west-1.amazonaws.com' : `resolved-${k}`]),
      );
      expect(readLambdaConfig({ AWS_REGION: 'eu-west-1', ...env }).eventBusName !== undefined, fn.node.id).toBe(publishes(fn));
    }
  });
});
