import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  CfnBucket,
  ObjectOwnership,
  type IBucket,
  type LifecycleRule,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QUARANTINE_PREFIX as UPLOAD_QUARANTINE_PREFIX } from '../../shared/adapters/crypto/sealed-blob-store.js';
import { BUCKETS, type BucketDefinition } from '../../shared/adapters/table-definitions.js';
import { GUARDED_BUCKETS } from '../../shared/app/blob-guard.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import type { PlatformPolicy } from '../../shared/domain/policy.js';
import { backstopGaps, prefixBackstops } from '../blob-backstops.js';
import { ValidationError } from '../errors.js';
import type { DataAccess } from './lethe-table.js';

/**
 * Where upload URLs put objects in a guarded bucket until the blob guard seals
 * them into place or deletes them (shared/adapters/crypto/sealed-blob-store.ts).
 */
export const QUARANTINE_PREFIX: string = UPLOAD_QUARANTINE_PREFIX;

/** Days after which an upload still in quarantine (the guard failed on it, or never heard of it) expires. */
export const QUARANTINE_EXPIRATION_DAYS = 1;

/** What a function bound to a bucket may do with its objects. */
export type BlobAccess = DataAccess | 'put' | 'delete' | 'legalHold';

export interface BlobBucketsProps {
  /** The loaded platform-policy profile; its caps set the per-prefix lifecycle backstops. */
  readonly platformPolicy: PlatformPolicy;
  /** Customer-managed key for the governed buckets (the access-log bucket uses SSE-S3, the only encryption S3 log delivery supports). */
  readonly encryptionKey: IKey;
  /**
   * The bucket definitions to build.
   * @default BUCKETS from shared/adapters/table-definitions
   */
  readonly definitions?: readonly BucketDefinition[];
  /**
   * Days after which a non-current object version is expired on versioned buckets.
   * The sweeper deletes every version itself; this only catches leftovers.
   * @default 1
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Days after which an incomplete multipart upload is aborted.
   * @default 1
   */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * Days S3 server access logs are kept. They name object keys (tenant and
   * subject ids), so they are a store too and expire.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
  /**
   * What happens to the buckets when they leave the stack. CloudFormation
   * cannot delete a bucket that still holds objects.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Buckets that send their object events to EventBridge (the blob guard's
   * rule, in the stateless stack, listens there: no reference back to it).
   * Upload URLs write under their `quarantine/` prefix, whose objects (and
   * their non-current versions) expire after {@link QUARANTINE_EXPIRATION_DAYS}.
   * @default GUARDED_BUCKETS, the buckets records point into (recordings, media)
   */
  readonly eventBridgeBuckets?: readonly BucketName[];
}

/**
 * The blob buckets (recordings, media, exports): KMS-encrypted, TLS-only,
 * public access blocked, server access logs to a dedicated bucket, Object Lock
 * where the definition asks for legal holds, lifecycle backstops at the
 * platform's caps, and a one-day expiry of uploads left in quarantine.
 */
export class BlobBuckets extends Construct {
  /** Receives the S3 server access logs of every governed bucket. */
  readonly accessLogsBucket: IBucket;
  readonly definitions: readonly BucketDefinition[];
  private readonly buckets = new Map<BucketName, Bucket>();

  constructor(scope: Construct, id: string, props: BlobBucketsProps) {
    super(scope, id);
    this.definitions = props.definitions ?? BUCKETS;
    const gaps = backstopGaps(this.definitions);
    if (gaps.length > 0) throw new ValidationError(`bucket definitions leave blobs without a backstop: ${gaps.join('; ')}`, this);

    const noncurrentDays = positiveDays(this, 'noncurrentVersionExpirationDays', props.noncurrentVersionExpirationDays ?? 1);
    const abortDays = positiveDays(this, 'abortIncompleteMultipartUploadDays', props.abortIncompleteMultipartUploadDays ?? 1);
    const logDays = positiveDays(this, 'accessLogRetentionDays', props.accessLogRetentionDays ?? 90);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const eventBridgeBuckets = new Set(props.eventBridgeBuckets ?? GUARDED_BUCKETS);

    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(logDays),
          abortIncompleteMultipartUploadAfter: Duration.days(abortDays),
        },
      ],
      removalPolicy,
    });
    // cdk-nag S1 treats a bucket that receives access logs as compliant: nothing to acknowledge.
    this.accessLogsBucket = accessLogs;

    for (const definition of this.definitions) {
      const versioned = definition.objectLock;
      const bucket = new Bucket(this, pascalCase(definition.id), {
        encryption: BucketEncryption.KMS,
        encryptionKey: props.encryptionKey,
        bucketKeyEnabled: true,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned,
        // Object Lock without a default retention: only legal holds, set per object.
        objectLockEnabled: definition.objectLock,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: `${definition.id}/`,
        lifecycleRules: lifecycleRules(props.platformPolicy, definition, {
          versioned,
          noncurrentDays,
          abortDays,
          quarantine: eventBridgeBuckets.has(definition.id),
        }),
        removalPolicy,
      });
      if (eventBridgeBuckets.has(definition.id)) {
        // On the bucket resource itself: the L2 eventBridgeEnabled adds a notifications custom resource (a Lambda with a wildcard role).
        (bucket.node.defaultChild as CfnBucket).notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
      }
      this.buckets.set(definition.id, bucket);
    }
  }

  /** The bucket of a logical name. */
  bucket(name: BucketName): IBucket {
    return this.concreteBucket(name);
  }

  /** Get and list objects and their versions (and decrypt them). */
  grantRead(grantee: IGrantable, name: BucketName): Grant {
    return this.concreteBucket(name).grants.read(grantee);
  }

  /**
   * Put objects (with tags) and abort their multipart uploads, encrypting with
   * the bucket key. Deliberately not `s3:PutObject*`: no ACLs, no retention
   * periods (an Object Lock retention in compliance mode could never be undone,
   * in a deletion engine), no legal holds.
   */
  grantPut(grantee: IGrantable, name: BucketName): Grant {
    return this.concreteBucket(name).grants.actionsOnObjectKeys(
      grantee,
      '*',
      's3:PutObject',
      's3:PutObjectTagging',
      's3:AbortMultipartUpload',
      'kms:GenerateDataKey',
      'kms:Decrypt',
    );
  }

  /** Delete objects and every version of them, and list versions to find them. */
  grantDelete(grantee: IGrantable, name: BucketName): Grant {
    const bucket = this.concreteBucket(name);
    return bucket.grants.delete(grantee).combine(
      Grant.addToPrincipalOrResource({
        grantee,
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resourceArns: [bucket.bucketArn],
        resource: bucket,
      }),
    );
  }

  /** Read, put and delete (all versions); not retention, ACLs or legal holds. */
  grantReadWrite(grantee: IGrantable, name: BucketName): Grant {
    return this.grantRead(grantee, name).combine(this.grantPut(grantee, name)).combine(this.grantDelete(grantee, name));
  }

  /**
   * Set, read and clear S3 Object Lock legal holds, on every version of a key
   * (listing the versions to find them); only on buckets with Object Lock.
   */
  grantLegalHold(grantee: IGrantable, name: BucketName): Grant {
    const definition = this.definitions.find((d) => d.id === name);
    if (definition?.objectLock !== true) {
      throw new ValidationError(`the ${name} bucket has no Object Lock, so it cannot take legal holds`, this);
    }
    const bucket = this.concreteBucket(name);
    return bucket.grants.actionsOnObjectKeys(grantee, '*', 's3:PutObjectLegalHold', 's3:GetObjectLegalHold').combine(
      Grant.addToPrincipalOrResource({ grantee, actions: ['s3:ListBucketVersions'], resourceArns: [bucket.bucketArn], resource: bucket }),
    );
  }

  /** One of the grants above by name, for binding code that takes the access level as data. */
  grantAccess(grantee: IGrantable, name: BucketName, access: BlobAccess): Grant {
    switch (access) {
      case 'read':
        return this.grantRead(grantee, name);
      case 'readWrite':
        return this.grantReadWrite(grantee, name);
      case 'put':
        return this.grantPut(grantee, name);
      case 'delete':
        return this.grantDelete(grantee, name);
      case 'legalHold':
        return this.grantLegalHold(grantee, name);
    }
  }

  private concreteBucket(name: BucketName): Bucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw new ValidationError(`no bucket is defined for ${name}`, this);
    return bucket;
  }
}

interface HousekeepingOptions {
  readonly versioned: boolean;
  readonly noncurrentDays: number;
  readonly abortDays: number;
  /** Whether upload URLs write to the bucket's quarantine prefix. */
  readonly quarantine: boolean;
}

function lifecycleRules(policy: PlatformPolicy, definition: BucketDefinition, options: HousekeepingOptions): LifecycleRule[] {
  const rules: LifecycleRule[] = [];
  for (const backstop of prefixBackstops(policy, definition)) {
    // Indefinite categories get no expiry at all; the sweeper still applies tenant periods.
    if (backstop.expirationDays === null) continue;
    rules.push({
      id: `expire-${backstop.prefix}-at-cap`,
      prefix: `${backstop.prefix}/`,
      expiration: Duration.days(backstop.expirationDays),
    });
  }
  if (options.quarantine) {
    // The guard seals an upload into place or deletes it within seconds; what is still here a day later has no record to belong to.
    rules.push({
      id: 'expire-quarantine',
      prefix: QUARANTINE_PREFIX,
      expiration: Duration.days(QUARANTINE_EXPIRATION_DAYS),
      ...(options.versioned ? { noncurrentVersionExpiration: Duration.days(QUARANTINE_EXPIRATION_DAYS) } : {}),
    });
  }
  if (definition.expireAllAfterDays !== undefined) {
    rules.push({ id: 'expire-all', expiration: Duration.days(definition.expireAllAfterDays) });
  }
  // S3 refuses ExpiredObjectDeleteMarker next to an expiration, hence a rule of its own.
  rules.push({
    id: 'housekeeping',
    abortIncompleteMultipartUploadAfter: Duration.days(options.abortDays),
    ...(options.versioned
      ? { noncurrentVersionExpiration: Duration.days(options.noncurrentDays), expiredObjectDeleteMarker: true }
      : {}),
  });
  return rules;
}

function positiveDays(scope: Construct, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ValidationError(`${name} must be a whole number of days ≥ 1, got ${value}`, scope);
  return value;
}

function pascalCase(value: string): string {
  return value
    .split(/[^a-zA-Z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
