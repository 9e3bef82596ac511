import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { backstopDays } from '../../infra/blob-backstops.js';
import { QUARANTINE_PREFIX } from '../../infra/constructs/blob-buckets.js';
import { BUCKETS } from '../../shared/adapters/table-definitions.js';
import { QUARANTINE } from '../../shared/app/blob-guard.js';
import { loadProfile, PROFILE_NAMES } from '../../shared/config/profiles.js';
import { CATALOG, CATEGORIES, type BucketName, type Category } from '../../shared/domain/catalog.js';
import { backstopCapDays, platformPolicySchema, type PlatformPolicy } from '../../shared/domain/policy.js';
import { arnOf, built, refTo, resourceOf, statefulStack, type CfnResourceJson } from './helpers.js';

const GOVERNED: readonly BucketName[] = ['recordings', 'media', 'exports'];

/** Blob categories grouped by `<bucket>/<prefix>`, straight from the catalog. */
function blobPrefixes(): { bucket: BucketName; prefix: string; categories: Category[] }[] {
  const groups = new Map<string, { bucket: BucketName; prefix: string; categories: Category[] }>();
  for (const category of CATEGORIES) {
    const store = CATALOG[category].store;
    if (store.kind !== 'blob') continue;
    const key = `${store.bucket}/${store.prefix}`;
    const group = groups.get(key) ?? { bucket: store.bucket, prefix: store.prefix, categories: [] };
    group.categories.push(category);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Cap + grace in whole days, worked out by hand: 0 days is the grace alone; S3 needs at least 1 day. */
function expectedDays(policy: PlatformPolicy, categories: readonly Category[]): number | null {
  const caps = categories.map((c) => backstopCapDays(policy, c));
  if (caps.some((c) => c === null)) return null;
  const hours = Math.max(...caps.map((c) => c! * 24)) + policy.sweep.graceHours;
  return Math.max(1, Math.ceil(hours / 24));
}

function rules(bucket: CfnResourceJson): Record<string, any>[] {
  return bucket.Properties.LifecycleConfiguration.Rules as Record<string, any>[];
}

function expirationFor(bucket: CfnResourceJson, prefix: string): number | undefined {
  return rules(bucket).find((r) => r.Prefix === `${prefix}/` && r.ExpirationInDays !== undefined)?.ExpirationInDays;
}

describe.each(PROFILE_NAMES)('blob buckets under the %s profile', (profile) => {
  const { stateful, template } = built({ profile });
  const policy = loadProfile(profile);
  const bucket = (name: BucketName) => resourceOf(template, stateful.blobs.bucket(name));

  it.each(blobPrefixes())('expire $bucket/$prefix/ at the cap of $categories plus grace', ({ bucket: name, prefix, categories }) => {
    const expected = expectedDays(policy, categories);
    expect(expirationFor(bucket(name), prefix)).toBe(expected ?? undefined);
  });

  it('never expire recordings or media bucket-wide, only per prefix', () => {
    for (const name of ['recordings', 'media'] as const) {
      for (const rule of rules(bucket(name)).filter((r) => r.ExpirationInDays !== undefined)) {
        expect(rule.Prefix).toMatch(/^[a-z]+\/$/);
      }
    }
  });

  it('expire every export after 7 days', () => {
    expect(rules(bucket('exports'))).toEqual(
      expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 7, Status: 'Enabled' })]),
    );
    const expireAll = rules(bucket('exports')).find((r) => r.ExpirationInDays === 7);
    expect(expireAll?.Prefix).toBeUndefined();
  });

  it.each(GOVERNED)('%s: abort incomplete multipart uploads after 1 day', (name) => {
    expect(rules(bucket(name))).toEqual(
      expect.arrayContaining([expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]),
    );
  });

  it.each(['recordings', 'media'] as const)('%s: versioned with Object Lock for legal holds, old versions and stale delete markers expire', (name) => {
    const b = bucket(name);
    expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(b.Properties.ObjectLockEnabled).toBe(true);
    // Legal holds only: no default retention that would block the sweeper.
    expect(b.Properties.ObjectLockConfiguration).toBeUndefined();
    expect(rules(b)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 1 }, ExpiredObjectDeleteMarker: true }),
      ]),
    );
  });

  it.each(['recordings', 'media'] as const)('%s: uploads left in quarantine/ expire after a day, their old versions a day later', (name) => {
    expect(rules(bucket(name)).filter((r) => r.Prefix === QUARANTINE_PREFIX)).toEqual([
      { Id: 'expire-quarantine', Prefix: 'quarantine/', Status: 'Enabled', ExpirationInDays: 1, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
    ]);
  });

  it('exports: no quarantine, upload URLs never write there', () => {
    expect(rules(bucket('exports')).filter((r) => r.Prefix === QUARANTINE_PREFIX)).toEqual([]);
  });

  it('expire under the prefix upload URLs write to and the blob guard clears', () => {
    expect(QUARANTINE_PREFIX).toBe(QUARANTINE);
    expect(QUARANTINE_PREFIX).toMatch(/^[a-z]+\/$/);
  });

  it('keep the quarantine apart from every governed prefix', () => {
    for (const definition of BUCKETS) expect(definition.prefixes.map((p) => `${p}/`), definition.id).not.toContain(QUARANTINE_PREFIX);
  });

  it('exports: no versioning, so an expired or deleted export is gone', () => {
    expect(bucket('exports').Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket('exports').Properties.ObjectLockEnabled).not.toBe(true);
  });

  it.each(GOVERNED)('%s: encrypted with the customer-managed data key', (name) => {
    expect(bucket(name).Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(stateful.encryptionKey) },
      },
    ]);
  });

  it.each([...GOVERNED, 'access logs'] as const)('%s: blocks all public access and disables ACLs', (name) => {
    const b = name === 'access logs' ? resourceOf(template, stateful.blobs.accessLogsBucket) : bucket(name);
    expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(b.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it.each([...GOVERNED, 'access logs'] as const)('%s: the bucket policy denies every request without TLS', (name) => {
    const b = name === 'access logs' ? stateful.blobs.accessLogsBucket : stateful.blobs.bucket(name);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: refTo(b),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it.each(GOVERNED)('%s: sends server access logs to the access-log bucket', (name) => {
    expect(bucket(name).Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: refTo(stateful.blobs.accessLogsBucket),
      LogFilePrefix: `${name}/`,
    });
  });

  it('lets S3 log delivery write access logs through a bucket policy scoped to each source bucket', () => {
    for (const name of GOVERNED) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: refTo(stateful.blobs.accessLogsBucket),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': arnOf(stateful.blobs.bucket(name)) } }),
            }),
          ]),
        },
      });
    }
  });

  it('keeps buckets when they leave the stack', () => {
    for (const b of [...GOVERNED.map(bucket), resourceOf(template, stateful.blobs.accessLogsBucket)]) {
      expect(b.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('lifecycle backstops match the shipped profiles (DESIGN §7)', () => {
  const days = (profile: (typeof PROFILE_NAMES)[number], name: BucketName, prefix: string) => {
    const { stateful, template } = built({ profile });
    return expirationFor(resourceOf(template, stateful.blobs.bucket(name)), prefix);
  };

  it('conversations: OTT media 30 days, e-mail attachments a year, outbound media at most 2 years', () => {
    expect(days('conversations', 'media', 'inbound')).toBe(30);
    expect(days('conversations', 'media', 'email')).toBe(365);
    expect(days('conversations', 'media', 'outbound')).toBe(730);
  });

  it('voice: the 1095-day cap plus 2 hours of grace rounds up to 1096 days', () => {
    expect(days('voice', 'recordings', 'recordings')).toBe(1096);
  });

  it('chatbot: nothing personal beyond 13 months (396 days)', () => {
    expect(days('chatbot', 'media', 'inbound')).toBe(396);
  });
});

describe('lifecycle backstops at the edges', () => {
  const base = loadProfile('conversations');
  const edgePolicy = platformPolicySchema.parse({
    ...base,
    categories: {
      ...base.categories,
      inbound_media: { defaultDays: null, minDays: 0, maxDays: null, extendable: true, indefiniteAllowed: true },
      call_recording: { defaultDays: 0, minDays: 0, maxDays: 0, extendable: false, indefiniteAllowed: false },
    },
  });
  const { stack, template } = statefulStack({ platformPolicy: edgePolicy });

  it('set no expiry under a prefix whose category is kept indefinitely', () => {
    const media = resourceOf(template, stack.blobs.bucket('media'));
    expect(rules(media).filter((r) => r.Prefix === 'inbound/')).toEqual([]);
    expect(expirationFor(media, 'email')).toBeGreaterThan(0);
  });

  it('round a 0-day cap (the grace alone) up to 1 day, the least S3 can do', () => {
    expect(expirationFor(resourceOf(template, stack.blobs.bucket('recordings')), 'recordings')).toBe(1);
  });

  it('add grace before rounding: a 0-day cap with 24 hours of grace is 1 day, with 25 hours 2 days', () => {
    const withGrace = (graceHours: number) => ({ ...edgePolicy, sweep: { ...edgePolicy.sweep, graceHours } });
    expect(backstopDays(withGrace(24), ['call_recording'])).toBe(1);
    expect(backstopDays(withGrace(25), ['call_recording'])).toBe(2);
  });

  it('set no expiry for blobs of customers under a subject clock (support-desk, whatever the setting’s maximum)', () => {
    const desk = loadProfile('support-desk');
    const capped = platformPolicySchema.parse({ ...desk, settings: desk.settings!.map((s) => ({ ...s, maxDays: 3650, indefiniteAllowed: true })) });
    expect(backstopDays(capped, ['call_recording'])).toBeNull();
    expect(backstopDays(capped, ['inbound_media', 'outbound_media'])).toBeNull();
  });

  it('take the longest cap when several categories share a prefix', () => {
    const policy = loadProfile('conversations');
    expect(backstopDays(policy, ['inbound_media', 'email_attachment'])).toBe(365);
  });
});
