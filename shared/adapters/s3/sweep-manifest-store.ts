/**
 * Sweep manifests in S3 (the exports bucket, `sweeps/<run>/groups.json`):
 * plain JSON, encrypted at rest by the bucket's KMS key, which the Sweep state
 * machine's Distributed Map reads with its ItemReader. Not sealed: it holds
 * tenant ids only, and Step Functions must be able to read it.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { manifestKey, parseManifest, type ManifestLocation, type SweepGroupItem, type SweepManifestStore } from '../../domain/sweep/manifest.js';

export interface S3SweepManifestStoreOptions {
  readonly s3: S3Client;
  /** Physical name of the exports bucket. */
  readonly bucket: string;
}

export class S3SweepManifestStore implements SweepManifestStore {
  constructor(private readonly options: S3SweepManifestStoreOptions) {}

  async write(runId: string, groups: readonly SweepGroupItem[]): Promise<ManifestLocation> {
    const key = manifestKey(runId);
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: JSON.stringify(groups), ContentType: 'application/json' }),
    );
    return { bucket: this.options.bucket, key };
  }

  async read(location: ManifestLocation): Promise<SweepGroupItem[]> {
    if (location.bucket !== this.options.bucket) throw new Error('a sweep manifest is read from the exports bucket only');
    const object = await this.options.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (object.Body === undefined) throw new Error('a sweep manifest has no body');
    return parseManifest(await object.Body.transformToString('utf8'));
  }
}
