/**
 * A profile's first contact in the records table (dynalite): `lowerFirstContact`
 * only moves it earlier, creates no profile, and `putProfiles` leaves it as it
 * is, so a newer customer record cannot move it later.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import { keys, retentionKeysOf, type RecordItem } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';

let stores: Stores;

beforeAll(async () => {
  stores = await makeStores({ clock: new TestClock('2025-03-01T10:00:00.000Z') });
});

function profile(tenantId: string, subjectId: string, clockStart: string): RecordItem {
  const base = { pk: keys.subjectPk(tenantId, subjectId), sk: keys.profileSk(), tenantId, category: 'customer_profile', id: subjectId, clockStart } as const;
  return { ...base, subjectId, ...retentionKeysOf(base, 1), data: { lastContactAt: clockStart } };
}

const firstContactOf = async (pk: string) => (await stores.records.get({ pk, sk: keys.profileSk() }))?.firstContactAt;

describe('lowerFirstContact', () => {
  it('sets an absent first contact, lowers a later one and leaves an earlier one', async () => {
    const p = profile(`t-${uniqueSuffix()}`, 'c1', '2025-02-01T00:00:00.000Z');
    await stores.records.putProfiles([p]);

    await stores.records.lowerFirstContact([{ pk: p.pk, at: '2025-01-20T00:00:00.000Z' }]);
    expect(await firstContactOf(p.pk)).toBe('2025-01-20T00:00:00.000Z');
    await stores.records.lowerFirstContact([{ pk: p.pk, at: '2025-01-25T00:00:00.000Z' }]);
    expect(await firstContactOf(p.pk)).toBe('2025-01-20T00:00:00.000Z');
    await stores.records.lowerFirstContact([{ pk: p.pk, at: '2024-12-31T00:00:00.000Z' }]);
    expect(await firstContactOf(p.pk)).toBe('2024-12-31T00:00:00.000Z');
  });

  it('takes the earliest of several lowers of one profile in a call', async () => {
    const p = profile(`t-${uniqueSuffix()}`, 'c1', '2025-02-01T00:00:00.000Z');
    await stores.records.putProfiles([p]);

    await stores.records.lowerFirstContact([
      { pk: p.pk, at: '2025-01-10T00:00:00.000Z' },
      { pk: p.pk, at: '2025-01-05T00:00:00.000Z' },
      { pk: p.pk, at: '2025-01-07T00:00:00.000Z' },
    ]);

    expect(await firstContactOf(p.pk)).toBe('2025-01-05T00:00:00.000Z');
  });

  it('creates no profile', async () => {
    const pk = keys.subjectPk(`t-${uniqueSuffix()}`, 'nobody');

    await stores.records.lowerFirstContact([{ pk, at: '2025-01-05T00:00:00.000Z' }]);

    expect(await stores.records.findByPartition(pk)).toEqual([]);
  });

  it('survives a newer version of the profile written by putProfiles', async () => {
    const tenantId = `t-${uniqueSuffix()}`;
    const p = profile(tenantId, 'c1', '2025-02-01T00:00:00.000Z');
    await stores.records.putProfiles([p]);
    await stores.records.lowerFirstContact([{ pk: p.pk, at: '2025-01-05T00:00:00.000Z' }]);

    await stores.records.putProfiles([profile(tenantId, 'c1', '2025-02-20T00:00:00.000Z')]);

    expect(await stores.records.get({ pk: p.pk, sk: keys.profileSk() })).toMatchObject({ clockStart: '2025-02-20T00:00:00.000Z', firstContactAt: '2025-01-05T00:00:00.000Z' });
  });

  it('refuses an instant not in the canonical spelling, naming it', async () => {
    await expect(stores.records.lowerFirstContact([{ pk: 'T#x#S#y', at: '2025-01-05T00:00:00Z' }])).rejects.toBeInstanceOf(ValidationError);
    await expect(stores.records.lowerFirstContact([{ pk: 'T#x#S#y', at: '2025-01-05T00:00:00Z' }])).rejects.toMatchObject({ field: 'lowers[0].at' });
  });
});
