import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
  type Attribute,
  type GlobalSecondaryIndexProps,
  type ITable,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { IndexDefinition, KeyAttribute, TableDefinition } from '../../shared/adapters/table-definitions.js';
import { ValidationError } from '../errors.js';

/** What a function bound to a store may do with it. */
export type DataAccess = 'read' | 'readWrite';

/** DynamoDB keeps continuous backups for 1 to 35 days. */
export const MAX_PITR_PERIOD_DAYS = 35;

export interface LetheTableProps {
  /** The shared table definition (keys, indexes, TTL, whether PITR is allowed). */
  readonly definition: TableDefinition;
  /** Customer-managed key for encryption at rest. */
  readonly encryptionKey: IKey;
  /**
   * Days of continuous backups kept for point-in-time recovery (1–35). Only for
   * definitions that allow PITR; setting it on one that forbids PITR is an error.
   * @default 35 where the definition allows PITR; PITR off otherwise
   */
  readonly pointInTimeRecoveryPeriodDays?: number;
  /**
   * Whether DynamoDB refuses to delete the table.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An on-demand DynamoDB table built from a shared {@link TableDefinition}:
 * customer-managed KMS encryption, PITR where the definition allows it, TTL
 * where it names an attribute, deletion protection and retain-on-delete.
 */
export class LetheTable extends Construct {
  readonly table: ITable;
  readonly definition: TableDefinition;

  constructor(scope: Construct, id: string, props: LetheTableProps) {
    super(scope, id);
    const { definition } = props;
    this.definition = definition;

    if (!definition.pointInTimeRecovery && props.pointInTimeRecoveryPeriodDays !== undefined) {
      throw new ValidationError(
        `the ${definition.id} table must not have point-in-time recovery ` +
          '(a restore would bring back shredded keys); do not set pointInTimeRecoveryPeriodDays for it',
        this,
      );
    }
    const recoveryPeriodInDays = props.pointInTimeRecoveryPeriodDays ?? MAX_PITR_PERIOD_DAYS;
    assertPitrPeriod(this, recoveryPeriodInDays);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const deletionProtection = props.deletionProtection ?? true;
    if (deletionProtection && removalPolicy === RemovalPolicy.DESTROY) {
      throw new ValidationError(
        'removalPolicy DESTROY cannot delete a table with deletion protection; set deletionProtection: false as well',
        this,
      );
    }

    // Table rather than TableV2: TableV2 (AWS::DynamoDB::GlobalTable) cannot render a
    // customer-managed key in a region-agnostic stack, and Lethe synthesizes without an env.
    const table = new Table(this, 'Table', {
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey === undefined ? {} : { sortKey: attribute(definition.sortKey) }),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: definition.pointInTimeRecovery
        ? { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays }
        : { pointInTimeRecoveryEnabled: false },
      ...(definition.timeToLiveAttribute === undefined ? {} : { timeToLiveAttribute: definition.timeToLiveAttribute }),
      deletionProtection,
      removalPolicy,
    });
    for (const index of definition.globalSecondaryIndexes) table.addGlobalSecondaryIndex(globalSecondaryIndex(index));
    // Only the keys table has a reason to go without PITR; any other table without it must fail cdk-nag.
    if (!definition.pointInTimeRecovery && definition.id === 'keys') {
      Validations.of(table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'Point-in-time recovery is deliberately off on the keys table: it holds the per-subject data keys, ' +
          'and a restore would bring back keys that crypto-shredding destroyed.',
      });
    }
    this.table = table;
  }

  /** Query, Get and Scan the table and its indexes (and decrypt with its key). */
  grantRead(grantee: IGrantable): Grant {
    return this.table.grantReadData(grantee);
  }

  /** Read, put, update and delete items (and use its key to do so). */
  grantReadWrite(grantee: IGrantable): Grant {
    return this.table.grantReadWriteData(grantee);
  }

  /** `grantRead` or `grantReadWrite`, for binding code that takes the access level as data. */
  grantAccess(grantee: IGrantable, access: DataAccess): Grant {
    return access === 'read' ? this.grantRead(grantee) : this.grantReadWrite(grantee);
  }
}

function assertPitrPeriod(scope: Construct, days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_PITR_PERIOD_DAYS) {
    throw new ValidationError(`pointInTimeRecoveryPeriodDays must be an integer from 1 to ${MAX_PITR_PERIOD_DAYS}, got ${days}`, scope);
  }
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

function globalSecondaryIndex(index: IndexDefinition): GlobalSecondaryIndexProps {
  const keys = { indexName: index.indexName, partitionKey: attribute(index.partitionKey), sortKey: attribute(index.sortKey) };
  if (index.projection === 'KEYS_ONLY') return { ...keys, projectionType: ProjectionType.KEYS_ONLY };
  if (index.projection === 'ALL') return { ...keys, projectionType: ProjectionType.ALL };
  return { ...keys, projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] };
}
