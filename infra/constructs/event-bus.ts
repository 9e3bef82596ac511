import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../shared/domain/events.js';

/** Variable that carries the bus's name, set only on the functions that publish (shared/config/lambda-env.ts). */
export const EVENT_BUS_VARIABLE = 'EVENT_BUS_NAME';

export interface DeletionEventBusProps {
  /** The bus's name. */
  readonly eventBusName: string;
  /**
   * Days the bus's archive keeps every Lethe event, so a consumer that was
   * down (or a new one) can have them replayed.
   * @default 30
   */
  readonly archiveRetentionDays?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The EventBridge bus Lethe publishes its deletion events to (DESIGN.md §4):
 * `RecordsDeleted`, `SubjectErased`, `KeysShredded`, `RunCompleted` and the
 * rest, source `lethe`, PII-free, at-least-once with an id in the detail for
 * de-duplication. Downstream copies (search indexes, warehouses) subscribe
 * with their own rules. An archive of the bus's Lethe events allows replay.
 * Functions are granted `events:PutEvents` on this bus through
 * `LetheRuntime` (`FunctionAccess.publishesEvents`), nothing more.
 */
export class DeletionEventBus extends Construct {
  readonly bus: IEventBus;

  constructor(scope: Construct, id: string, props: DeletionEventBusProps) {
    super(scope, id);
    const bus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: 'Lethe deletion events (PII-free): records deleted, subjects erased or anonymised, keys shredded, holds, policy changes, runs completed',
    });
    bus.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    bus.archive('Archive', {
      description: 'Every Lethe event, for replay to a consumer that missed some',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(props.archiveRetentionDays ?? 30),
    });
    this.bus = bus;
    new CfnOutput(this, 'NameOutput', { value: bus.eventBusName, description: 'EventBridge bus of Lethe deletion events (source lethe)' }).overrideLogicalId('DeletionEventBusName');
    new CfnOutput(this, 'ArnOutput', { value: bus.eventBusArn, description: 'ARN of the EventBridge bus of Lethe deletion events' }).overrideLogicalId('DeletionEventBusArn');
  }
}
