/**
 * The continuation of a stage chunk: where it stopped, for every tenant of its
 * group, as a token the orchestrator hands back to the next chunk.
 */
import type { Stage } from '../catalog.js';
import { ValidationError } from '../errors.js';
import { ROUNDS, type TenantPosition } from './plan.js';

/** What a continuation is checked against: the run and stage it must have come from. */
interface ContinuationInput {
  readonly runId: string;
  readonly stage: Stage;
}

/**
 * Where a stage chunk stopped, for every tenant of the group. Plain JSON (the
 * store's cursors inside are compact already), bound to its run and stage.
 */
export interface Continuation {
  readonly v: 3;
  readonly run: string;
  readonly s: Stage;
  /** Round index within the stage. */
  readonly r: number;
  readonly t: Readonly<Record<string, TenantPosition>>;
}

export function encode(c: Continuation): string {
  return JSON.stringify(c);
}

export function decode(token: string | undefined, tenantIds: readonly string[], input: ContinuationInput): Continuation | undefined {
  if (token === undefined) return undefined;
  let parsed: Partial<Continuation> | null;
  try {
    parsed = JSON.parse(token) as Partial<Continuation> | null;
  } catch (error) {
    throw new ValidationError('continuation', 'is not one this stage returned', { cause: error });
  }
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    parsed.v === 3 &&
    parsed.run === input.runId &&
    parsed.s === input.stage &&
    Number.isInteger(parsed.r) &&
    (parsed.r as number) >= 0 &&
    (parsed.r as number) < ROUNDS[input.stage].length &&
    typeof parsed.t === 'object' &&
    parsed.t !== null &&
    Object.values(parsed.t).every(
      (p) => p === 0 || (Array.isArray(p) && Number.isInteger(p[0]) && p[0] >= 0 && (p[1] === undefined || typeof p[1] === 'string')),
    ) &&
    // Every tenant of the chunk must have a position; a tenant the caller dropped since (its stage failed) may remain in it.
    tenantIds.every((id) => Object.hasOwn(parsed.t as object, id));
  if (!valid) throw new ValidationError('continuation', 'is not one this run\'s stage returned for these tenants');
  return parsed as Continuation;
}
