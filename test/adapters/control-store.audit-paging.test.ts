import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../shared/domain/audit.js';
import { makeStores, uniqueSuffix, type Stores } from '../support/env.js';

let stores: Stores;

beforeAll(async () => {
  stores = await makeStores();
});

function event(tenantId: string, at: string, eventId: string): AuditEvent {
  return { tenantId, eventId, at, actor: 'h:actor', action: 'test.done' };
}

describe('DynamoControlStore audit paging', () => {
  it('pages newest first from the position of the last event seen, the same instant included', async () => {
    const t = `t-${uniqueSuffix()}`;
    const events = [
      event(t, '2025-01-01T00:00:00.000Z', 'a'),
      event(t, '2025-01-02T00:00:00.000Z', 'b'),
      event(t, '2025-01-02T00:00:00.000Z', 'c'),
      event(t, '2025-01-03T00:00:00.000Z', 'd'),
      event(t, '2025-01-04T00:00:00.000Z', 'e'),
    ];
    for (const e of events) await stores.control.appendAudit(e);
    await stores.control.putHold({ tenantId: t, holdId: 'h', scope: {}, reason: 'r', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'x' });

    const first = await stores.control.listAudit(t, { limit: 2 });
    const second = await stores.control.listAudit(t, { limit: 2, before: first.at(-1) as AuditEvent });
    const third = await stores.control.listAudit(t, { limit: 2, before: second.at(-1) as AuditEvent });
    const rest = await stores.control.listAudit(t, { before: first.at(-1) as AuditEvent });

    expect(first.map((e) => e.eventId)).toEqual(['e', 'd']);
    expect(second.map((e) => e.eventId)).toEqual(['c', 'b']);
    expect(third.map((e) => e.eventId)).toEqual(['a']);
    expect(rest.map((e) => e.eventId)).toEqual(['c', 'b', 'a']);
  });
});
