import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import { keys, type RecordItem } from '../../shared/domain/records.js';
import { TestClock } from '../support/clock.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';
import { recordItem } from '../support/records.js';

const NOW = new Date('2025-03-01T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;

let stores: Stores;

beforeAll(async () => {
  stores = await makeStores({ clock: new TestClock(NOW) });
});

function tenant(): string {
  return `t-${uniqueSuffix()}`;
}

function identifierItem(tenantId: string, subjectId: string, email: string, expiresAt?: number): RecordItem {
  return {
    pk: keys.subjectPk(tenantId, subjectId),
    sk: keys.identifierSk('EMAIL', email),
    tenantId,
    category: 'customer_profile',
    id: `${subjectId}-email`,
    subjectId,
    clockStart: '2025-01-01T00:00:00.000Z',
    identifierPk: keys.identifierPk(tenantId, 'EMAIL', email),
    identifierSk: subjectId,
    ...(expiresAt !== undefined && { expiresAt }),
  };
}

describe('DynamoRecordStore reads', () => {
  it('get returns a stored record with its payload', async () => {
    const tenantId = tenant();
    const item = recordItem({ tenantId, subjectId: 'c1', id: 'conv1', data: { notes: 'called back' } });
    await stores.records.putBatch([item]);

    const read = await stores.records.get(item);

    expect(read).toEqual(item);
  });

  it('get hides a record whose expiresAt has passed, even though TTL has not removed it', async () => {
    const tenantId = tenant();
    const expired = recordItem({ tenantId, subjectId: 'c1', id: 'old', expiresAt: NOW_SECONDS - 1 });
    await stores.records.putBatch([expired]);

    const read = await stores.records.get(expired);

    expect(read).toBeUndefined();
  });

  it('get hides a record that expires exactly now and shows one that expires a second later', async () => {
    const tenantId = tenant();
    const expiringNow = recordItem({ tenantId, subjectId: 'c1', id: 'now', expiresAt: NOW_SECONDS });
    const expiringLater = recordItem({ tenantId, subjectId: 'c1', id: 'later', expiresAt: NOW_SECONDS + 1 });
    await stores.records.putBatch([expiringNow, expiringLater]);

    const [now, later] = await Promise.all([stores.records.get(expiringNow), stores.records.get(expiringLater)]);

    expect(now).toBeUndefined();
    expect(later).toEqual(expiringLater);
  });

  it('findBySubject returns the live items of one customer and hides expired ones', async () => {
    const tenantId = tenant();
    const live = recordItem({ tenantId, subjectId: 'c1', id: 'live' });
    const expired = recordItem({ tenantId, subjectId: 'c1', id: 'gone', expiresAt: NOW_SECONDS - 3600 });
    const otherCustomer = recordItem({ tenantId, subjectId: 'c2', id: 'other' });
    await stores.records.putBatch([live, expired, otherCustomer]);

    const items = await stores.records.findBySubject(tenantId, 'c1');

    expect(items).toEqual([live]);
  });

  it('findByPartition narrows to the items whose sk starts with a prefix', async () => {
    const tenantId = tenant();
    const conversation = recordItem({ tenantId, subjectId: 'c1', id: 'conv1' });
    const message: RecordItem = {
      ...recordItem({ tenantId, subjectId: 'c1', id: 'm1', category: 'message' }),
      sk: keys.messageSk('conv1', '2024-01-01T00:00:01.000Z', 'm1'),
      parentSk: conversation.sk,
    };
    const otherConversation = recordItem({ tenantId, subjectId: 'c1', id: 'conv2' });
    await stores.records.putBatch([conversation, message, otherConversation]);

    const children = await stores.records.findByPartition(conversation.pk, {
      skPrefix: keys.childPrefix(conversation.sk),
    });

    expect(children).toEqual([message]);
  });

  it('findByIdentifier returns every customer carrying the identifier, once each, in this tenant only', async () => {
    const tenantId = tenant();
    const otherTenant = tenant();
    await stores.records.putBatch([
      identifierItem(tenantId, 'c1', 'ann@example.com'),
      identifierItem(tenantId, 'c2', 'ann@example.com'),
      identifierItem(tenantId, 'c3', 'bob@example.com'),
      identifierItem(otherTenant, 'c9', 'ann@example.com'),
    ]);

    const subjects = await stores.records.findByIdentifier(tenantId, 'EMAIL', 'ann@example.com');

    expect(subjects.sort()).toEqual(['c1', 'c2']);
  });

  it('findByIdentifier hides identifiers whose expiresAt has passed', async () => {
    const tenantId = tenant();
    await stores.records.putBatch([
      identifierItem(tenantId, 'c1', 'ann@example.com', NOW_SECONDS - 60),
      identifierItem(tenantId, 'c2', 'ann@example.com', NOW_SECONDS + 60),
    ]);

    const subjects = await stores.records.findByIdentifier(tenantId, 'EMAIL', 'ann@example.com');

    expect(subjects).toEqual(['c2']);
  });
});

describe('DynamoRecordStore writes', () => {
  it('putBatch refuses a clock start that would not sort as an instant, and writes nothing', async () => {
    const tenantId = tenant();
    const good = recordItem({ tenantId, subjectId: 'c1', id: 'good' });
    const noMillis = recordItem({ tenantId, subjectId: 'c1', id: 'bad', clockStart: '2024-01-01T00:00:00Z' });

    const write = stores.records.putBatch([good, noMillis]);

    await expect(write).rejects.toThrow(ValidationError);
    await expect(write).rejects.toMatchObject({ field: 'items[1].retentionSk' });
    expect(await stores.records.get(good)).toBeUndefined();
  });

  it('update sets and removes attributes of an existing item and resolves true', async () => {
    const tenantId = tenant();
    const item = recordItem({ tenantId, subjectId: 'c1', id: 'conv1', expiresAt: NOW_SECONDS + 86_400 });
    await stores.records.putBatch([item]);

    const updated = await stores.records.update(item, { set: { status: 'open' }, remove: ['expiresAt'] });

    expect(updated).toBe(true);
    const read = await stores.records.get(item);
    expect(read?.status).toBe('open');
    expect(read).not.toHaveProperty('expiresAt');
  });

  it('update resolves false and creates nothing when the item does not exist', async () => {
    const tenantId = tenant();
    const missing = recordItem({ tenantId, subjectId: 'c1', id: 'missing' });

    const updated = await stores.records.update(missing, { set: { status: 'closed' } });

    expect(updated).toBe(false);
    expect(await stores.records.findBySubject(tenantId, 'c1')).toEqual([]);
  });

  it('update resolves false and changes nothing when an equals condition does not hold', async () => {
    const tenantId = tenant();
    const item = recordItem({ tenantId, subjectId: 'c1', id: 'conv1' });
    await stores.records.putBatch([item]);

    const updated = await stores.records.update(item, { set: { status: 'deleted' } }, { equals: { status: 'open' } });

    expect(updated).toBe(false);
    expect((await stores.records.get(item))?.status).toBe('closed');
  });

  it('update applies the change when an equals condition holds', async () => {
    const tenantId = tenant();
    const item = recordItem({ tenantId, subjectId: 'c1', id: 'conv1' });
    await stores.records.putBatch([item]);

    const updated = await stores.records.update(
      item,
      { set: { status: 'deleted', data: { text: 'This item has been deleted' } } },
      { equals: { status: 'closed', tenantId } },
    );

    expect(updated).toBe(true);
    expect(await stores.records.get(item)).toMatchObject({ status: 'deleted', data: { text: 'This item has been deleted' } });
  });

  it('update with exists false only creates an item that is not there yet', async () => {
    const tenantId = tenant();
    const item = recordItem({ tenantId, subjectId: 'c1', id: 'conv1' });

    const first = await stores.records.update(item, { set: { status: 'open' } }, { exists: false });
    const second = await stores.records.update(item, { set: { status: 'closed' } }, { exists: false });

    expect([first, second]).toEqual([true, false]);
  });
});
