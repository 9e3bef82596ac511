/**
 * The retention overview behind the console's chart: per category, how many
 * records are stored by age (days since the clock that decides when they go,
 * the index clock: the record's own or its container's, whichever is
 * earlier), and the age past which the tenant's policy makes them due (the
 * cutoff a sweep started now would use). Read-only: it pages through the
 * `byRetention` index as a sweep does and counts; it never reads `data`.
 */
import { z } from 'zod';
import { CATEGORIES, type Category } from '../../../domain/catalog.js';
import { defaultTenantPolicy } from '../../../domain/policy.js';
import { retentionShardsOf } from '../../../domain/records.js';
import { runCutoffs } from '../../../domain/sweep/cutoffs.js';
import type { Tenant } from '../../../domain/tenant.js';
import type { ApiApp, Caller } from '../app.js';

const DAY_MS = 86_400_000;
/** Later than any clock start: the index query then lists every record of a category. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');
const PAGE = 1000;
/** Index entries counted per category at most; past it the category says `truncated`. */
export const MAX_COUNTED_PER_CATEGORY = 200_000;
export const DEFAULT_BUCKET_DAYS = 30;

export const retentionOverviewQuery = z.strictObject({
  bucketDays: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, 'must be an integer from 1 to 365')
    .transform(Number)
    .refine((n) => n <= 365, 'must be an integer from 1 to 365')
    .optional(),
});

const categoryOverview = z.object({
  stored: z.number().int().describe('Records stored (identifier items not included).'),
  pastCutoff: z.number().int().describe('Of those, records older than the cutoff: due at the next sweep unless held (or kept by their container).'),
  cutoffAgeDays: z.number().nullable().describe('Age in days past which a record is due (period plus grace); null: kept indefinitely or by the account lifetime.'),
  buckets: z.array(z.number().int()).describe('Records per age bucket: index i counts ages from i × bucketDays (inclusive) to (i + 1) × bucketDays.'),
  truncated: z.literal(true).optional().describe(`Set when the category holds more than ${MAX_COUNTED_PER_CATEGORY} records: only that many were counted.`),
});

export const retentionOverviewResponse = z.object({
  tenantId: z.string(),
  at: z.string(),
  bucketDays: z.number().int(),
  categories: z.partialRecord(z.enum(CATEGORIES), categoryOverview),
});
export type RetentionOverview = z.output<typeof retentionOverviewResponse>;
type CategoryOverview = z.output<typeof categoryOverview>;

export async function retentionOverview(app: ApiApp, caller: Caller, tenant: Tenant, bucketDays = DEFAULT_BUCKET_DAYS): Promise<RetentionOverview> {
  const { platform, control, records } = app.deps;
  const now = caller.now;
  const policy = (await control.getPolicy(tenant.tenantId)) ?? defaultTenantPolicy(platform, tenant.tenantId);
  const cutoffs = runCutoffs({ tenant, platform, policy, holds: [] }, now);
  const shards = retentionShardsOf(tenant);

  const count = async (category: Category): Promise<CategoryOverview> => {
    const cutoff = cutoffs[category];
    const cutoffMs = cutoff === null ? undefined : Date.parse(cutoff);
    const buckets: number[] = [];
    let stored = 0;
    let pastCutoff = 0;
    let cursor: string | undefined;
    do {
      const page = await records.findDueForDeletion(tenant.tenantId, category, END_OF_TIME, { shards, limit: PAGE, ...(cursor !== undefined && { cursor }) });
      for (const entry of page.items) {
        const clock = entry.parentClock !== undefined && entry.parentClock < entry.clockStart ? entry.parentClock : entry.clockStart;
        const clockMs = Date.parse(clock);
        const bucket = Math.max(0, Math.floor((now.getTime() - clockMs) / DAY_MS / bucketDays));
        buckets[bucket] = (buckets[bucket] ?? 0) + 1;
        stored++;
        if (cutoffMs !== undefined && clockMs < cutoffMs) pastCutoff++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined && stored < MAX_COUNTED_PER_CATEGORY);
    return {
      stored,
      pastCutoff,
      cutoffAgeDays: cutoffMs === undefined ? null : Math.round(((now.getTime() - cutoffMs) / DAY_MS) * 100) / 100,
      buckets: Array.from(buckets, (n) => n ?? 0),
      ...(cursor !== undefined && { truncated: true as const }),
    };
  };

  const entries = await Promise.all(CATEGORIES.map(async (category) => [category, await count(category)] as const));
  return { tenantId: tenant.tenantId, at: now.toISOString(), bucketDays, categories: Object.fromEntries(entries) };
}
