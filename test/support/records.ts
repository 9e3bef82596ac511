/** Builders of records-table items for adapter tests, keyed only through `keys`. */
import type { Category } from '../../shared/domain/catalog.js';
import {
  DEFAULT_RETENTION_SHARDS,
  keys,
  retentionShard,
  type RecordItem,
} from '../../shared/domain/records.js';

export interface TestRecord {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly id: string;
  readonly category?: Category;
  readonly clockStart?: string;
  readonly expiresAt?: number;
  readonly shardCount?: number;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A conversation-like record of a customer, indexed in `byRetention` on its shard. */
export function recordItem(r: TestRecord): RecordItem {
  const category = r.category ?? 'conversation';
  const clockStart = r.clockStart ?? '2024-01-01T00:00:00.000Z';
  const pk = keys.subjectPk(r.tenantId, r.subjectId);
  const sk = keys.conversationSk(r.id);
  const shard = retentionShard(pk, sk, r.shardCount ?? DEFAULT_RETENTION_SHARDS);
  return {
    pk,
    sk,
    tenantId: r.tenantId,
    category,
    id: r.id,
    subjectId: r.subjectId,
    clockStart,
    retentionPk: keys.retentionPk(r.tenantId, category, shard),
    retentionSk: keys.retentionSk(clockStart, r.id),
    status: 'closed',
    ...(r.expiresAt !== undefined && { expiresAt: r.expiresAt }),
    ...(r.data !== undefined && { data: r.data }),
  };
}
