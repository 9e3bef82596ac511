/**
 * The tenant groups of one sweep execution, written once by its list step and
 * read by the Distributed Map's ItemReader (and by the closing step). One JSON
 * array per execution: `[{ "tenantIds": [...] }, ...]`, ids only (no personal
 * data). It lives in the exports bucket under `sweeps/`, which expires every
 * object after 7 days, is outside the blob guard's watch and is never swept.
 */
import { ValidationError } from '../errors.js';

/** One Distributed Map item: a sweep group (up to 25 tenants, `sweepGroups`). */
export interface SweepGroupItem {
  readonly tenantIds: readonly string[];
}

/** Where a manifest is stored. */
export interface ManifestLocation {
  readonly bucket: string;
  readonly key: string;
}

/** Key prefix of sweep manifests in the exports bucket. */
export const MANIFEST_PREFIX = 'sweeps/';

/** The manifest key of a run (the execution name). */
export function manifestKey(runId: string): string {
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(runId)) throw new ValidationError('runId', 'is not a run id');
  return `${MANIFEST_PREFIX}${runId}/groups.json`;
}

/** Stores and reads sweep manifests (S3 in AWS and in local mode). */
export interface SweepManifestStore {
  /** Writes the run's groups; answers where (the Distributed Map's ItemReader reads it there). */
  write(runId: string, groups: readonly SweepGroupItem[]): Promise<ManifestLocation>;
  /** The groups of a manifest this store wrote. */
  read(location: ManifestLocation): Promise<SweepGroupItem[]>;
}

/** Parses a manifest's text, refusing anything but an array of groups of ids. */
export function parseManifest(text: string): SweepGroupItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('manifest', 'is not JSON', { cause: error });
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (g) => typeof g === 'object' && g !== null && Array.isArray((g as SweepGroupItem).tenantIds) && (g as SweepGroupItem).tenantIds.every((t) => typeof t === 'string'),
    );
  if (!valid) throw new ValidationError('manifest', 'is not a list of sweep groups');
  return parsed as SweepGroupItem[];
}
