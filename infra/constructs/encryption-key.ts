import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IGrantable, Grant } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ValidationError } from '../errors.js';

export interface LetheEncryptionKeyProps {
  /** What the key protects; shown in the KMS console. */
  readonly description: string;
  /**
   * Alias name, with or without the `alias/` prefix.
   * @default - no alias
   */
  readonly alias?: string;
  /**
   * Days between automatic rotations of the key material (90–2560).
   * @default 365
   */
  readonly rotationPeriodDays?: number;
  /**
   * What happens to the key when it leaves the stack. Scheduling a key for
   * deletion makes every item and object it encrypted unreadable.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Waiting period before a key scheduled for deletion is deleted (7–30 days).
   * @default 30
   */
  readonly pendingWindowDays?: number;
}

/** A customer-managed, symmetric KMS key with automatic rotation on. */
export class LetheEncryptionKey extends Construct {
  readonly key: IKey;

  constructor(scope: Construct, id: string, props: LetheEncryptionKeyProps) {
    super(scope, id);
    const rotationPeriodDays = props.rotationPeriodDays ?? 365;
    if (!Number.isInteger(rotationPeriodDays) || rotationPeriodDays < 90 || rotationPeriodDays > 2560) {
      throw new ValidationError(`rotationPeriodDays must be an integer from 90 to 2560, got ${rotationPeriodDays}`, this);
    }
    const pendingWindowDays = props.pendingWindowDays ?? 30;
    if (!Number.isInteger(pendingWindowDays) || pendingWindowDays < 7 || pendingWindowDays > 30) {
      throw new ValidationError(`pendingWindowDays must be an integer from 7 to 30, got ${pendingWindowDays}`, this);
    }
    this.key = new Key(this, 'Key', {
      description: props.description,
      ...(props.alias === undefined ? {} : { alias: props.alias }),
      enableKeyRotation: true,
      rotationPeriod: Duration.days(rotationPeriodDays),
      pendingWindow: Duration.days(pendingWindowDays),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Encrypt and decrypt with the key directly (envelope encryption of data keys). */
  grantEncryptDecrypt(grantee: IGrantable): Grant {
    return this.key.grantEncryptDecrypt(grantee);
  }

  /** Generate data keys under the key and unwrap them later. */
  grantGenerateDataKey(grantee: IGrantable): Grant {
    return this.key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
}
