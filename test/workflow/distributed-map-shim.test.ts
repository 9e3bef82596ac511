/**
 * The local Distributed Map shim (`inlineDistributedMaps`): a CDK Distributed
 * Map with an S3 JSON ItemReader, run locally, gives each child exactly what
 * the same processor gets from an inline Map over the same items, and fails,
 * tolerates and is caught as a Distributed Map is.
 */
import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import {
  DefinitionBody,
  DistributedMap,
  JsonPath,
  Map as InlineMap,
  Pass,
  S3JsonItemReader,
  StateMachine,
  TaskInput,
  type CfnStateMachine,
  type IChainable,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { S3SweepManifestStore } from '../../shared/adapters/s3/sweep-manifest-store.js';
import { inlineDistributedMaps, renderStateMachine } from '../../shared/local/asl.js';
import { executeLocally, type TaskHandler } from '../../shared/local/sweep-runner.js';
import { makeStores } from '../support/env.js';

type Json = Record<string, any>;

const ITEMS = [{ tenantIds: ['a', 'b'] }, { tenantIds: ['c'] }, { tenantIds: ['d', 'e', 'f'] }, { tenantIds: ['g'] }];
const SELECTOR = { group: JsonPath.objectAt('$$.Map.Item.Value'), index: JsonPath.numberAt('$$.Map.Item.Index'), tag: JsonPath.stringAt('$.tag') };

/** One state machine: `Prepare` → the map under test → `After`, its processor one Lambda task. */
function machine(kind: 'distributed' | 'inline', options: { tolerated?: number; catchTo?: boolean } = {}) {
  const stack = new Stack(new App(), `Shim${kind}`);
  const worker = new LambdaFunction(stack, 'Worker', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  const processor = new LambdaInvoke(stack, 'Work', { lambdaFunction: worker, payload: TaskInput.fromJsonPathAt('$'), retryOnServiceExceptions: false, outputPath: '$.Payload' });
  const map =
    kind === 'distributed'
      ? new DistributedMap(stack, 'Groups', {
          itemReader: new S3JsonItemReader({ bucketNamePath: JsonPath.stringAt('$.manifest.bucket'), key: JsonPath.stringAt('$.manifest.key') }),
          itemSelector: SELECTOR,
          maxConcurrency: 2,
          resultPath: JsonPath.DISCARD,
          ...(options.tolerated !== undefined && { toleratedFailurePercentage: options.tolerated }),
        }).itemProcessor(processor)
      : new InlineMap(stack, 'Groups', { itemsPath: '$.items', itemSelector: SELECTOR, maxConcurrency: 2, resultPath: JsonPath.DISCARD }).itemProcessor(processor);
  if (options.catchTo === true) map.addCatch(new Pass(stack, 'Caught', { parameters: { 'caught.$': '$.error.Error' } }), { resultPath: '$.error' });
  const definition: IChainable = new Pass(stack, 'Prepare').next(map).next(new Pass(stack, 'After'));
  const sm = new StateMachine(stack, 'Machine', { definitionBody: DefinitionBody.fromChainable(definition) });
  return renderStateMachine(stack, sm.node.defaultChild as CfnStateMachine, { worker });
}

async function manifestStore() {
  const stores = await makeStores();
  const manifests = new S3SweepManifestStore({ s3: stores.s3, bucket: stores.bucketNames.exports });
  const manifest = await manifests.write('shim-run', ITEMS);
  const itemReader: TaskHandler = async (p) => manifests.read({ bucket: (p as Json).Bucket, key: (p as Json).Key });
  return { manifest, itemReader };
}

function recordingWorker(failIndex?: number) {
  const seen: Json[] = [];
  const worker: TaskHandler = async (payload) => {
    seen.push(payload as Json);
    if ((payload as Json).index === failIndex) throw Object.assign(new Error('child failed'), { name: 'ChildFailed' });
    return { ok: true };
  };
  return { seen, worker };
}

const byIndex = (a: Json, b: Json) => a.index - b.index;

describe('the local Distributed Map shim', () => {
  it('gives every child the same input as an inline Map over the same items, and hands on the same output', async () => {
    const { manifest, itemReader } = await manifestStore();
    const distributed = recordingWorker();
    const inline = recordingWorker();

    const outD = await executeLocally(machine('distributed'), { worker: distributed.worker }, { tag: 'x', manifest }, { executionName: 'd', itemReader });
    const outI = await executeLocally(machine('inline'), { worker: inline.worker }, { tag: 'x', items: ITEMS }, { executionName: 'i' });

    expect(distributed.seen.sort(byIndex)).toEqual(inline.seen.sort(byIndex));
    expect(distributed.seen.map((s) => s.group)).toEqual(ITEMS);
    expect(outD).toEqual({ tag: 'x', manifest });
    expect(outI).toEqual({ tag: 'x', items: ITEMS });
  });

  it('lets the other children run when one fails within the tolerated share', async () => {
    const { manifest, itemReader } = await manifestStore();
    const w = recordingWorker(1);

    const out = await executeLocally(machine('distributed', { tolerated: 25 }), { worker: w.worker }, { tag: 'x', manifest }, { executionName: 'tol', itemReader });

    expect(w.seen.map((s) => s.index).sort()).toEqual([0, 1, 2, 3]);
    expect(out).toEqual({ tag: 'x', manifest });
  });

  it('fails with States.ExceedToleratedFailureThreshold past the threshold (no threshold: any failure), which a Catch catches', async () => {
    const { manifest, itemReader } = await manifestStore();
    const strict = recordingWorker(2);
    await expect(
      executeLocally(machine('distributed'), { worker: strict.worker }, { tag: 'x', manifest }, { executionName: 'strict', itemReader }),
    ).rejects.toThrow();
    // Every child still ran: a failed child does not stop the others.
    expect(strict.seen.map((s) => s.index).sort()).toEqual([0, 1, 2, 3]);

    const caught = recordingWorker(2);
    const out = await executeLocally(machine('distributed', { tolerated: 10, catchTo: true }), { worker: caught.worker }, { tag: 'x', manifest }, { executionName: 'caught', itemReader });
    expect(out).toMatchObject({ caught: 'States.ExceedToleratedFailureThreshold' });
  });

  it('refuses what it does not emulate instead of approximating it', () => {
    const { definition } = machine('distributed');
    const states = definition.States as Json;
    const withWriter = { ...definition, States: { ...states, Groups: { ...states.Groups, ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b', Prefix: 'r' } } } } };
    expect(() => inlineDistributedMaps(withWriter)).toThrow(/does not support ResultWriter/);
    const withBatcher = { ...definition, States: { ...states, Groups: { ...states.Groups, ItemBatcher: { MaxItemsPerBatch: 2 } } } };
    expect(() => inlineDistributedMaps(withBatcher)).toThrow(/does not support ItemBatcher/);
  });
});
