/**
 * Receipts: the PII-free proof of one tenant run (sweep, manual deletion or
 * privacy request), with what it examined, deleted, held, failed and kept per
 * category. Kept in the control table (`ControlStore`).
 */
import type { Category } from './catalog.js';

/**
 * Why an examined record that is neither held (itself, or through a held
 * record under it) nor failed itself stayed: something under it failed, now
 * or in an earlier pass of the run; or, for an identifier, its profile stayed;
 * or, for an analytics event of a customer being erased, anonymised or
 * deleted, it was unlinked from her (it stays, without her, until its own
 * period ends).
 */
export const KEPT_REASONS = ['child_failed', 'profile_kept', 'unlinked'] as const;
export type KeptReason = (typeof KEPT_REASONS)[number];

/**
 * Why a deleted record went although something would have kept it: a legal
 * hold covered it, but the profile lets no hold keep data past its cap
 * (`holds.beyondCap: false`), and it was past its cap.
 */
export type DeletedReason = 'cap_over_hold';

/**
 * Per-category counts of a deletion run. Every record examined is counted in
 * exactly one of deleted, held, failed and kept: examined = deleted + held +
 * failed + kept.
 */
export interface CategoryCounts {
  examined: number;
  deleted: number;
  held: number;
  failed: number;
  kept: number;
  /** Why the kept ones stayed, by reason. */
  keptReasons?: Partial<Record<KeptReason, number>>;
  /** Deleted ones that went although something would have kept them, by reason (counted in `deleted` too). */
  deletedReasons?: Partial<Record<DeletedReason, number>>;
}

/** Keys a run destroyed. */
export interface ShredCounts {
  readonly subjectKeys: number;
  readonly epochKeys: number;
}

/** Two shred counts added up; undefined when both are absent. */
export function addShredded(a: ShredCounts | undefined, b: Partial<ShredCounts> | undefined): ShredCounts | undefined {
  if (a === undefined && b === undefined) return undefined;
  return { subjectKeys: (a?.subjectKeys ?? 0) + (b?.subjectKeys ?? 0), epochKeys: (a?.epochKeys ?? 0) + (b?.epochKeys ?? 0) };
}

/** PII-free proof of one tenant run (sweep, manual deletion or privacy request). */
export interface Receipt {
  readonly runId: string;
  readonly tenantId: string;
  readonly kind: 'sweep' | 'manual' | 'privacy_request';
  readonly status: 'running' | 'completed' | 'failed';
  readonly dryRun: boolean;
  readonly policyVersion: number;
  readonly profile: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly cutoffs: Partial<Record<Category, string | null>>;
  /**
   * Set on a sweep that found the account over at its start (a profile with an
   * account lifetime): why everything of the account was due.
   */
  readonly reason?: 'contract_ended' | 'inactive';
  /**
   * The tenant's write shards when the run started: the run queries those, so
   * raising them mid-run cannot grow its continuations (records written to the
   * new shards meanwhile are swept by the next run).
   */
  readonly retentionShards?: number;
  readonly categories: Partial<Record<Category, CategoryCounts>>;
  /**
   * Keys destroyed (crypto-shredding): subject keys of subjects of whom nothing
   * is left, and epoch keys of days of which no record is left. What they
   * sealed — in backups, old object versions, anywhere — can no longer be read.
   */
  readonly shredded?: ShredCounts;
  /**
   * Deletion events about this run that could not be published after the
   * publisher's retries (DESIGN.md §4): the deletions stand, a sweep with any
   * is critical and alerts.
   */
  readonly eventsUnpublished?: number;
  /** An erasure: earlier access-export documents of its subjects it deleted from the exports bucket. */
  readonly exportsDeleted?: number;
  /** Keyed HMACs of the subjects touched; never raw ids of people. */
  readonly subjectRefs?: readonly string[];
  /** Set when more subjects were touched than a receipt lists. */
  readonly subjectRefsTruncated?: boolean;
  readonly failedStages?: readonly { readonly stage: number; readonly error: string }[];
  /** Stages that ran to completion (a re-run of a finished stage is a no-op). */
  readonly completedStages?: readonly number[];
  /** When the critical-run alert went out, if it did. */
  readonly alertedAt?: string;
  /**
   * A manual deletion its request could not finish continues in a `Deletion`
   * workflow: the request's receipt lists the attempts' receipts (and stays
   * `running` until the last), each attempt's receipt names the request's.
   */
  readonly continuedBy?: readonly string[];
  readonly continuationOf?: string;
  /** The last chunk folded in, so a retry of it replaces rather than adds its counts. */
  readonly lastChunk?: { readonly key: string; readonly counts: Partial<Record<Category, CategoryCounts>> };
}
