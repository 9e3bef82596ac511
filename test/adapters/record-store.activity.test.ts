import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { GetCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRecordStore } from '../../shared/adapters/dynamodb/record-store.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { keys, retentionKeysOf, type RecordItem, type RecordKey } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';
import { clearFaults, failAttempts, fastRetryClients } from './sdk-faults.js';

const NOW = new Date('2025-03-01T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const FAULT = 'injectUpdateFault';

let stores: Stores;
/** A client whose SDK retries do not wait, with faults injected on it, and the store on it. */
const sdk = fastRetryClients();
let throttled: DynamoRecordStore;

beforeAll(async () => {
  stores = await makeStores({ clock: new TestClock(NOW) });
  throttled = new DynamoRecordStore({ doc: sdk.doc, tableName: stores.tableNames.records, clock: stores.clock });
});

afterEach(() => {
  stores.dynamo.middlewareStack.remove(FAULT);
  clearFaults(sdk.client);
  sdk.retries.length = 0;
});

function tenant(): string {
  return `t-${uniqueSuffix()}`;
}

interface ProfileFacts {
  readonly clockStart?: string;
  readonly expiresAt?: number;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A customer's profile item, indexed in `customer_profile` as ingest would index it. */
function profileItem(tenantId: string, subjectId: string, facts: ProfileFacts = {}): RecordItem {
  const base = {
    pk: keys.subjectPk(tenantId, subjectId),
    sk: keys.profileSk(),
    tenantId,
    category: 'customer_profile',
    id: subjectId,
    clockStart: facts.clockStart ?? '2025-01-01T00:00:00.000Z',
  } as const;
  return {
    ...base,
    subjectId,
    ...retentionKeysOf(base, 1),
    status: 'open',
    data: facts.data ?? { displayName: 'Ann' },
    ...(facts.expiresAt !== undefined && { expiresAt: facts.expiresAt }),
  };
}

function identifierItem(tenantId: string, subjectId: string, clockStart: string): RecordItem {
  return {
    pk: keys.subjectPk(tenantId, subjectId),
    sk: keys.identifierSk('EMAIL', `${subjectId}@example.com`),
    tenantId,
    category: 'customer_profile',
    id: `${subjectId}-email`,
    subjectId,
    clockStart,
    identifierPk: keys.identifierPk(tenantId, 'EMAIL', `${subjectId}@example.com`),
    identifierSk: subjectId,
  };
}

function keyOf(item: RecordKey): RecordKey {
  return { pk: item.pk, sk: item.sk };
}

/** The profile as stored, whatever its expiresAt. */
async function storedProfile(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await stores.doc.send(
    new GetCommand({ TableName: stores.tableNames.records, Key: { pk, sk: keys.profileSk() }, ConsistentRead: true }),
  );
  return Item;
}

/** Makes the first `failures` UpdateItem attempts of the `throttled` store's client fail whole with the named error, where the SDK's retries see them. */
function injectUpdateErrors(name: string, failures: number): { sends: () => number } {
  return failAttempts(sdk.client, 'UpdateItemCommand', name, { failures });
}

/** The UpdateItem requests the client sends from now on. */
function recordUpdates(): UpdateCommandInput[] {
  const seen: UpdateCommandInput[] = [];
  const middleware: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    if (context.commandName === 'UpdateItemCommand') seen.push(args.input as unknown as UpdateCommandInput);
    return next(args);
  };
  stores.dynamo.middlewareStack.add(middleware, { step: 'initialize', name: FAULT });
  return seen;
}

describe('DynamoRecordStore.putProfiles', () => {
  it('creates a profile that does not exist yet and returns its key as untracked', async () => {
    const profile = profileItem(tenant(), 'c1');

    const { untracked } = await stores.records.putProfiles([profile]);

    expect(untracked).toEqual([keyOf(profile)]);
    expect(await storedProfile(profile.pk)).toEqual(profile);
  });

  it('replaces the attributes of a stored profile and removes those the new version lacks', async () => {
    const tenantId = tenant();
    const expiring = profileItem(tenantId, 'c1', { expiresAt: NOW_SECONDS + 86_400, data: { displayName: 'Ann', note: 'vip' } });
    await stores.records.putProfiles([expiring]);
    // Put under a legal hold: the new version has no TTL backstop and another payload.
    const held = profileItem(tenantId, 'c1', { data: { displayName: 'Ann B.' } });

    await stores.records.putProfiles([held]);

    const stored = await storedProfile(held.pk);
    expect(stored).toEqual(held);
    expect(stored).not.toHaveProperty('expiresAt');
  });

  it('leaves a profile as it is when the version given has an earlier last contact (delivered out of order)', async () => {
    const tenantId = tenant();
    const newer = profileItem(tenantId, 'c1', { clockStart: '2025-02-01T00:00:00.000Z', data: { displayName: 'Ann B.' } });
    await stores.records.putProfiles([newer]);

    const result = await stores.records.putProfiles([profileItem(tenantId, 'c1', { clockStart: '2025-01-01T00:00:00.000Z', data: { displayName: 'Ann' } })]);

    expect(await storedProfile(newer.pk)).toEqual(newer);
    expect(result).toEqual({ untracked: [], stale: [keyOf(newer)] });
  });

  it('keeps the activity watermark written earlier, whatever the new version says of it', async () => {
    const tenantId = tenant();
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putProfiles([profile]);
    await stores.records.raiseActivity([{ pk: profile.pk, until: '2025-02-01T00:00:00.000Z' }]);
    await stores.records.trackActivity(profile.pk);

    await stores.records.putProfiles([{ ...profile, activityUntil: '2020-01-01T00:00:00.000Z', activityTracked: false }]);

    expect(await storedProfile(profile.pk)).toMatchObject({
      activityUntil: '2025-02-01T00:00:00.000Z',
      activityTracked: true,
    });
  });

  it('returns only the keys of the profiles whose watermark is not tracked yet', async () => {
    const tenantId = tenant();
    const tracked = profileItem(tenantId, 'c1');
    const untracked = profileItem(tenantId, 'c2');
    const created = profileItem(tenantId, 'c3');
    await stores.records.putProfiles([tracked, untracked]);
    await stores.records.trackActivity(tracked.pk);

    const { untracked: result } = await stores.records.putProfiles([tracked, untracked, created]);

    expect(result).toEqual([keyOf(untracked), keyOf(created)]);
  });

  it('writes a profile named twice once, with its last version', async () => {
    const tenantId = tenant();
    const first = profileItem(tenantId, 'c1', { data: { displayName: 'Ann' } });
    const last = profileItem(tenantId, 'c1', { data: { displayName: 'Anna' } });

    const { untracked } = await stores.records.putProfiles([first, last]);

    expect(untracked).toEqual([keyOf(last)]);
    expect(await storedProfile(last.pk)).toEqual(last);
  });

  it('refuses an item that is not a profile, and writes nothing', async () => {
    const tenantId = tenant();
    const profile = profileItem(tenantId, 'c1');
    const conversation = recordItem({ tenantId, subjectId: 'c2', id: 'conv1' });

    const write = stores.records.putProfiles([profile, conversation]);

    await expect(write).rejects.toThrow(ValidationError);
    await expect(write).rejects.toMatchObject({ field: 'items[1].sk' });
    expect(await storedProfile(profile.pk)).toBeUndefined();
  });

  it('refuses a clock start that would not sort as an instant', async () => {
    const profile = { ...profileItem(tenant(), 'c1'), retentionSk: keys.retentionSk('2025-01-01T00:00:00Z', 'c1') };

    const write = stores.records.putProfiles([profile]);

    await expect(write).rejects.toMatchObject({ name: 'ValidationError', field: 'items[0].retentionSk' });
  });

  it('writes a profile that DynamoDB throttles on the SDK\'s retries, sending it no more often', async () => {
    const profile = profileItem(tenant(), 'c1');
    const injected = injectUpdateErrors('ProvisionedThroughputExceededException', 3);

    const { untracked } = await throttled.putProfiles([profile]);

    expect(untracked).toEqual([keyOf(profile)]);
    expect(await storedProfile(profile.pk)).toEqual(profile);
    expect(injected.sends()).toBe(4);
    expect(sdk.retries).toHaveLength(3);
  });
});

describe('DynamoRecordStore.raiseActivity', () => {
  it('raises the watermark of a profile to the latest until given for it', async () => {
    const profile = profileItem(tenant(), 'c1');
    await stores.records.putProfiles([profile]);

    await stores.records.raiseActivity([
      { pk: profile.pk, until: '2025-01-10T00:00:00.000Z' },
      { pk: profile.pk, until: '2025-01-20T00:00:00.000Z' },
      { pk: profile.pk, until: '2025-01-15T00:00:00.000Z' },
    ]);

    expect((await storedProfile(profile.pk))?.activityUntil).toBe('2025-01-20T00:00:00.000Z');
  });

  it('never lowers a watermark', async () => {
    const profile = profileItem(tenant(), 'c1');
    await stores.records.putProfiles([profile]);
    await stores.records.raiseActivity([{ pk: profile.pk, until: '2025-02-01T00:00:00.000Z' }]);

    await stores.records.raiseActivity([{ pk: profile.pk, until: '2025-01-01T00:00:00.000Z' }]);

    expect((await storedProfile(profile.pk))?.activityUntil).toBe('2025-02-01T00:00:00.000Z');
  });

  it('raises the watermarks of several customers in one call', async () => {
    const tenantId = tenant();
    const ann = profileItem(tenantId, 'c1');
    const bob = profileItem(tenantId, 'c2');
    await stores.records.putProfiles([ann, bob]);

    await stores.records.raiseActivity([
      { pk: ann.pk, until: '2025-01-10T00:00:00.000Z' },
      { pk: bob.pk, until: '2025-01-11T00:00:00.000Z' },
    ]);

    expect((await storedProfile(ann.pk))?.activityUntil).toBe('2025-01-10T00:00:00.000Z');
    expect((await storedProfile(bob.pk))?.activityUntil).toBe('2025-01-11T00:00:00.000Z');
  });

  it('creates no profile for a customer that has none', async () => {
    const pk = keys.subjectPk(tenant(), 'c1');

    await stores.records.raiseActivity([{ pk, until: '2025-01-10T00:00:00.000Z' }]);

    expect(await storedProfile(pk)).toBeUndefined();
  });

  it('refuses an until that would not compare as an instant, and raises nothing', async () => {
    const profile = profileItem(tenant(), 'c1');
    await stores.records.putProfiles([profile]);

    const raise = stores.records.raiseActivity([
      { pk: profile.pk, until: '2025-01-10T00:00:00.000Z' },
      { pk: profile.pk, until: '2025-01-20T00:00:00Z' },
    ]);

    await expect(raise).rejects.toMatchObject({ name: 'ValidationError', field: 'raises[1].until' });
    expect(await storedProfile(profile.pk)).not.toHaveProperty('activityUntil');
  });

  it('raises a watermark that DynamoDB throttles on the SDK\'s retries, sending it no more often', async () => {
    const profile = profileItem(tenant(), 'c1');
    await stores.records.putProfiles([profile]);
    const injected = injectUpdateErrors('ThrottlingException', 3);

    await throttled.raiseActivity([{ pk: profile.pk, until: '2025-01-10T00:00:00.000Z' }]);

    expect((await storedProfile(profile.pk))?.activityUntil).toBe('2025-01-10T00:00:00.000Z');
    expect(injected.sends()).toBe(4);
    expect(sdk.retries).toHaveLength(3);
  });
});

describe('DynamoRecordStore.trackActivity', () => {
  it('raises the watermark to the latest clock start of the records written before the profile, and marks it tracked', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([
      recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' }),
      recordItem({ tenantId, subjectId: 'c1', id: 'conv2', clockStart: '2025-01-07T00:00:00.000Z' }),
    ]);
    const profile = profileItem(tenantId, 'c1', { clockStart: '2025-01-01T00:00:00.000Z' });
    await stores.records.putProfiles([profile]);

    await stores.records.trackActivity(profile.pk);

    expect(await storedProfile(profile.pk)).toMatchObject({
      activityUntil: '2025-01-07T00:00:00.000Z',
      activityTracked: true,
    });
  });

  it('ignores the clock starts of identifier items and of the profile itself', async () => {
    const tenantId = tenant();
    const profile = profileItem(tenantId, 'c1', { clockStart: '2025-02-01T00:00:00.000Z' });
    await stores.records.putBatch([
      recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' }),
      identifierItem(tenantId, 'c1', '2025-02-10T00:00:00.000Z'),
    ]);
    await stores.records.putProfiles([profile]);

    await stores.records.trackActivity(profile.pk);

    expect((await storedProfile(profile.pk))?.activityUntil).toBe('2025-01-05T00:00:00.000Z');
  });

  it('counts a record past its TTL backstop that DynamoDB has not removed yet', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([
      recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' }),
      recordItem({ tenantId, subjectId: 'c1', id: 'old', clockStart: '2025-01-09T00:00:00.000Z', expiresAt: NOW_SECONDS - 60 }),
    ]);
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putProfiles([profile]);

    await stores.records.trackActivity(profile.pk);

    expect((await storedProfile(profile.pk))?.activityUntil).toBe('2025-01-09T00:00:00.000Z');
  });

  it('leaves a later watermark as it is', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' })]);
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putProfiles([profile]);
    await stores.records.raiseActivity([{ pk: profile.pk, until: '2025-02-01T00:00:00.000Z' }]);

    await stores.records.trackActivity(profile.pk);

    expect(await storedProfile(profile.pk)).toMatchObject({
      activityUntil: '2025-02-01T00:00:00.000Z',
      activityTracked: true,
    });
  });

  it('marks a profile with no records under it tracked, without a watermark', async () => {
    const tenantId = tenant();
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putBatch([identifierItem(tenantId, 'c1', '2025-01-05T00:00:00.000Z')]);
    await stores.records.putProfiles([profile]);

    await stores.records.trackActivity(profile.pk);

    const stored = await storedProfile(profile.pk);
    expect(stored?.activityTracked).toBe(true);
    expect(stored).not.toHaveProperty('activityUntil');
  });

  it('raises the watermark before it marks the profile tracked', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' })]);
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putProfiles([profile]);
    const updates = recordUpdates();

    await stores.records.trackActivity(profile.pk);

    const attributes = updates.map((u) => Object.values(u.ExpressionAttributeNames ?? {}));
    expect(attributes).toHaveLength(2);
    expect(attributes[0]).toContain('activityUntil');
    expect(attributes[0]).not.toContain('activityTracked');
    expect(attributes[1]).toContain('activityTracked');
  });

  it('resolves quietly and creates nothing for a customer without a profile', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([recordItem({ tenantId, subjectId: 'c1', id: 'conv1' })]);
    const pk = keys.subjectPk(tenantId, 'c1');

    await stores.records.trackActivity(pk);

    expect(await storedProfile(pk)).toBeUndefined();
  });

  it('lets a later raise still raise the watermark of a tracked profile', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([recordItem({ tenantId, subjectId: 'c1', id: 'conv1', clockStart: '2025-01-05T00:00:00.000Z' })]);
    const profile = profileItem(tenantId, 'c1');
    await stores.records.putProfiles([profile]);
    await stores.records.trackActivity(profile.pk);

    await stores.records.raiseActivity([{ pk: profile.pk, until: '2025-01-20T00:00:00.000Z' }]);

    expect(await storedProfile(profile.pk)).toMatchObject({
      activityUntil: '2025-01-20T00:00:00.000Z',
      activityTracked: true,
    });
  });
});

describe('DynamoRecordStore.putLatest', () => {
  const user = (tenantId: string, lastSignInAt: string, hasAccountAccess: boolean): RecordItem => {
    const base = { pk: keys.userPk(tenantId, 'u1'), sk: keys.userSk(), tenantId, category: 'user', id: 'u1', clockStart: lastSignInAt } as const;
    return { ...base, ...retentionKeysOf(base, 1), hasAccountAccess, data: { lastSignInAt, hasAccountAccess } };
  };

  it('writes a user that is not stored yet, and a later version over it', async () => {
    const tenantId = tenant();
    await stores.records.putLatest([user(tenantId, '2025-01-01T00:00:00.000Z', true)]);

    const kept = await stores.records.putLatest([user(tenantId, '2025-02-01T00:00:00.000Z', false)]);

    expect(kept).toEqual([]);
    expect(await stores.records.get({ pk: keys.userPk(tenantId, 'u1'), sk: keys.userSk() })).toEqual(user(tenantId, '2025-02-01T00:00:00.000Z', false));
  });

  it('leaves a user as it is when the version given signed in earlier (delivered out of order)', async () => {
    const tenantId = tenant();
    const current = user(tenantId, '2025-02-01T00:00:00.000Z', true);
    await stores.records.putLatest([current]);

    const kept = await stores.records.putLatest([user(tenantId, '2024-06-01T00:00:00.000Z', false)]);

    expect(kept).toEqual([{ pk: current.pk, sk: current.sk }]);
    expect(await stores.records.get(current)).toEqual(current);
  });
});
