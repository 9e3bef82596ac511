/**
 * In-memory fakes of the ports, for the pure domain tier (hundreds of random
 * worlds per test). They follow the same contracts as the emulator-backed
 * adapters, which have their own tests against dynalite and s3rver.
 */
import type { AuditEvent } from '../../shared/domain/audit.js';
import type { BucketName, Category } from '../../shared/domain/catalog.js';
import type { DeletionTask } from '../../shared/domain/deletion/task.js';
import type { LegalHold } from '../../shared/domain/holds.js';
import type { PolicyRevision, TenantPolicy } from '../../shared/domain/policy.js';
import type {
  ActivityRaise,
  FirstContactLower,
  PutProfilesResult,
  AuditListOptions,
  BatchResult,
  BlobObject,
  BlobStore,
  Clock,
  ControlStore,
  ExternalDataProvider,
  FindDueOptions,
  MailMessage,
  Mailer,
  Page,
  RecordStore,
  UpdateChanges,
  UpdateCondition,
} from '../../shared/domain/ports.js';
import type { Receipt } from '../../shared/domain/receipt.js';
import {
  RETENTION_PROJECTION,
  type DueRecord,
  type IdentifierKind,
  type RecordItem,
  type RecordKey,
  type RetentionPartition,
} from '../../shared/domain/records.js';
import type { Tenant, TenantStatus, ThirdPartyEndpoint } from '../../shared/domain/tenant.js';

const k = (r: RecordKey) => `${r.pk}\u0000${r.sk}`;

/** One global sequence across the fakes, so tests can check the order of deletes across stores. */
let sequence = 0;
export const nextSequence = (): number => ++sequence;

export class FixedClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  set(d: Date): void {
    this.current = new Date(d);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Fault hooks: return a reason to fail that key, or undefined. */
export interface RecordFaults {
  deleteFails?: (key: RecordKey) => string | undefined;
}

export class MemoryRecordStore implements RecordStore {
  readonly items = new Map<string, RecordItem>();
  faults: RecordFaults = {};
  /** Every deleted key, in order. */
  readonly deleteLog: (RecordKey & { seq: number })[] = [];
  requests = 0;

  async putBatch(items: readonly RecordItem[]): Promise<void> {
    this.requests += Math.ceil(items.length / 25);
    for (const i of items) this.items.set(k(i), structuredClone(i));
  }
  async findByPartition(pk: string, options?: { skPrefix?: string; includeExpired?: boolean }): Promise<RecordItem[]> {
    this.requests++;
    return [...this.items.values()]
      .filter((i) => i.pk === pk && (options?.skPrefix === undefined || i.sk.startsWith(options.skPrefix)))
      .sort((a, b) => (a.sk < b.sk ? -1 : 1))
      .map((i) => structuredClone(i));
  }
  async findBySubject(tenantId: string, subjectId: string): Promise<RecordItem[]> {
    return this.findByPartition(`T#${tenantId}#S#${subjectId}`);
  }
  async get(key: RecordKey): Promise<RecordItem | undefined> {
    this.requests++;
    const i = this.items.get(k(key));
    return i === undefined ? undefined : structuredClone(i);
  }
  async getBatch(keys: readonly RecordKey[]): Promise<RecordItem[]> {
    this.requests += Math.ceil(keys.length / 100);
    const unique = new Set(keys.map(k));
    return [...unique].flatMap((key) => {
      const i = this.items.get(key);
      return i === undefined ? [] : [structuredClone(i)];
    });
  }
  async findDueForDeletion(tenantId: string, partition: RetentionPartition, cutoff: Date, options: FindDueOptions): Promise<Page<DueRecord>> {
    this.requests++;
    const prefix = `T#${tenantId}#${partition}#`;
    const cutoffIso = cutoff.toISOString();
    // Like the index: only the shards asked for are read.
    const all = [...this.items.values()]
      .filter((i) => i.retentionPk?.startsWith(prefix) && Number(i.retentionPk.slice(prefix.length)) < options.shards && (i.retentionSk as string) < cutoffIso)
      .sort((a, b) => (k(a) < k(b) ? -1 : 1));
    const start = options?.cursor === undefined ? 0 : all.findIndex((i) => k(i) > options.cursor!);
    const from = start < 0 ? all.length : start;
    const limit = options?.limit ?? 500;
    const slice = all.slice(from, from + limit);
    const items = slice.map((i) => project(i));
    const last = slice.at(-1);
    return { items, cursor: from + limit < all.length && last !== undefined ? k(last) : undefined };
  }
  async findByIdentifier(tenantId: string, kind: IdentifierKind, normalised: string): Promise<string[]> {
    this.requests++;
    const pk = `T#${tenantId}#${kind}#${normalised}`;
    return [...new Set([...this.items.values()].filter((i) => i.identifierPk === pk).map((i) => i.subjectId as string))];
  }
  async deleteBatch(keys: readonly RecordKey[]): Promise<BatchResult<RecordKey>> {
    this.requests += Math.ceil(keys.length / 25);
    const succeeded: RecordKey[] = [];
    const failed: { key: RecordKey; reason: string }[] = [];
    for (const key of keys) {
      const reason = this.faults.deleteFails?.(key);
      if (reason !== undefined) {
        failed.push({ key, reason });
        continue;
      }
      this.items.delete(k(key));
      this.deleteLog.push({ pk: key.pk, sk: key.sk, seq: nextSequence() });
      succeeded.push({ pk: key.pk, sk: key.sk });
    }
    return { succeeded, failed };
  }
  async putProfiles(profiles: readonly RecordItem[]): Promise<PutProfilesResult> {
    const untracked: RecordKey[] = [];
    const stale: RecordKey[] = [];
    for (const p of profiles) {
      this.requests++;
      if (p.sk !== 'PROFILE') throw new Error('not a profile');
      const current = this.items.get(k(p));
      if (current !== undefined && current.clockStart > p.clockStart) {
        stale.push({ pk: p.pk, sk: p.sk });
        continue;
      }
      const { activityUntil: _u, activityTracked: _t, firstContactAt: _f, ...rest } = structuredClone(p);
      const next: RecordItem = {
        ...rest,
        ...(current?.activityUntil !== undefined && { activityUntil: current.activityUntil }),
        ...(current?.activityTracked !== undefined && { activityTracked: current.activityTracked }),
        ...(current?.firstContactAt !== undefined && { firstContactAt: current.firstContactAt }),
      };
      this.items.set(k(p), next);
      if (next.activityTracked !== true) untracked.push({ pk: p.pk, sk: p.sk });
    }
    return { untracked, stale };
  }
  async putLatest(items: readonly RecordItem[]): Promise<RecordKey[]> {
    const kept: RecordKey[] = [];
    for (const i of items) {
      this.requests++;
      const current = this.items.get(k(i));
      if (current !== undefined && current.clockStart > i.clockStart) kept.push({ pk: i.pk, sk: i.sk });
      else this.items.set(k(i), structuredClone(i));
    }
    return kept;
  }
  async raiseActivity(raises: readonly ActivityRaise[]): Promise<void> {
    for (const r of raises) {
      this.requests++;
      const profile = this.items.get(k({ pk: r.pk, sk: 'PROFILE' }));
      if (profile === undefined) continue;
      if (profile.activityUntil === undefined || profile.activityUntil < r.until) this.items.set(k(profile), { ...profile, activityUntil: r.until });
    }
  }
  async lowerFirstContact(lowers: readonly FirstContactLower[]): Promise<void> {
    for (const l of lowers) {
      this.requests++;
      const profile = this.items.get(k({ pk: l.pk, sk: 'PROFILE' }));
      if (profile === undefined) continue;
      if (profile.firstContactAt === undefined || profile.firstContactAt > l.at) this.items.set(k(profile), { ...profile, firstContactAt: l.at });
    }
  }
  async trackActivity(pk: string): Promise<void> {
    this.requests += 3;
    const latest = [...this.items.values()]
      .filter((i) => i.pk === pk && i.sk !== 'PROFILE' && !i.sk.startsWith('ID#'))
      .reduce<string | undefined>((m, i) => (m === undefined || i.clockStart > m ? i.clockStart : m), undefined);
    if (latest !== undefined) await this.raiseActivity([{ pk, until: latest }]);
    const profile = this.items.get(k({ pk, sk: 'PROFILE' }));
    if (profile !== undefined) this.items.set(k(profile), { ...profile, activityTracked: true });
  }
  async update(key: RecordKey, changes: UpdateChanges, condition?: UpdateCondition): Promise<boolean> {
    this.requests++;
    const current = this.items.get(k(key));
    if (current === undefined) {
      if (condition?.exists !== false) return false;
    }
    for (const [a, v] of Object.entries(condition?.equals ?? {})) {
      if ((current as Record<string, unknown> | undefined)?.[a] !== v) return false;
    }
    const next: Record<string, unknown> = { ...(current ?? { pk: key.pk, sk: key.sk }) };
    for (const [a, v] of Object.entries(changes.set ?? {})) next[a] = v;
    for (const a of changes.remove ?? []) delete next[a];
    this.items.set(k(key), next as unknown as RecordItem);
    return true;
  }
}

function project(i: RecordItem): DueRecord {
  const out: Record<string, unknown> = { pk: i.pk, sk: i.sk };
  for (const a of RETENTION_PROJECTION) {
    const v = (i as unknown as Record<string, unknown>)[a];
    if (v !== undefined) out[a] = v;
  }
  return out as unknown as DueRecord;
}

export class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, { body: Uint8Array; contentType: string; legalHold: boolean }>();
  /** Per-key fault: a reason to fail the delete of that key. */
  deleteFails: (bucket: BucketName, key: string) => string | undefined = () => undefined;
  readonly deleteLog: { bucket: BucketName; key: string; seq: number }[] = [];
  deleteRequests = 0;

  async put(bucket: BucketName, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, {
      body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
      contentType,
      legalHold: false,
    });
  }
  async get(bucket: BucketName, key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(`${bucket}/${key}`)?.body;
  }
  async read(bucket: BucketName, key: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    const o = this.objects.get(`${bucket}/${key}`);
    return o === undefined ? undefined : { body: o.body, contentType: o.contentType };
  }
  async list(bucket: BucketName, prefix: string): Promise<BlobObject[]> {
    return [...this.objects.entries()]
      .filter(([name]) => name.startsWith(`${bucket}/${prefix}`))
      .map(([name, o]) => ({ key: name.slice(bucket.length + 1), size: o.body.length }));
  }
  async deleteBatch(bucket: BucketName, keys: readonly string[]): Promise<BatchResult<string>> {
    this.deleteRequests += Math.ceil(keys.length / 1000);
    const succeeded: string[] = [];
    const failed: { key: string; reason: string }[] = [];
    for (const key of keys) {
      const o = this.objects.get(`${bucket}/${key}`);
      const reason = o?.legalHold ? 'AccessDenied' : this.deleteFails(bucket, key);
      if (reason !== undefined) {
        failed.push({ key, reason });
        continue;
      }
      this.objects.delete(`${bucket}/${key}`);
      this.deleteLog.push({ bucket, key, seq: nextSequence() });
      succeeded.push(key);
    }
    return { succeeded, failed };
  }
  async setLegalHold(bucket: BucketName, key: string, on: boolean): Promise<'applied' | 'unsupported'> {
    const o = this.objects.get(`${bucket}/${key}`);
    if (o !== undefined) o.legalHold = on;
    return 'applied';
  }
  async presignGet(bucket: BucketName, key: string, expiresInSeconds: number): Promise<string> {
    return `memory://${bucket}/${key}?expires=${expiresInSeconds}`;
  }
  async presignPut(bucket: BucketName, key: string, _contentType: string, expiresInSeconds: number): Promise<string> {
    return `memory://${bucket}/${key}?put&expires=${expiresInSeconds}`;
  }
}

export class MemoryControlStore implements ControlStore {
  readonly tenants = new Map<string, Tenant>();
  readonly policies = new Map<string, TenantPolicy>();
  readonly history = new Map<string, PolicyRevision[]>();
  readonly holds = new Map<string, LegalHold>();
  readonly receipts = new Map<string, Receipt>();
  readonly deletionTasks = new Map<string, DeletionTask>();
  readonly audit: AuditEvent[] = [];

  async putTenant(tenant: Tenant): Promise<void> {
    this.tenants.set(tenant.tenantId, structuredClone(tenant));
  }
  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    const t = this.tenants.get(tenantId);
    return t === undefined ? undefined : structuredClone(t);
  }
  async getTenants(tenantIds: readonly string[]): Promise<Tenant[]> {
    return [...new Set(tenantIds)].flatMap((id) => {
      const t = this.tenants.get(id);
      return t === undefined ? [] : [structuredClone(t)];
    });
  }
  async listTenants(options?: { status?: TenantStatus }): Promise<Tenant[]> {
    return [...this.tenants.values()].filter((t) => options?.status === undefined || t.status === options.status);
  }
  async touchTenantActivity(tenantId: string, at: string): Promise<void> {
    const t = this.tenants.get(tenantId);
    if (t !== undefined && (t.lastActivityAt === undefined || t.lastActivityAt < at)) {
      this.tenants.set(tenantId, { ...t, lastActivityAt: at });
    }
  }
  async getPolicy(tenantId: string): Promise<TenantPolicy | undefined> {
    return this.policies.get(tenantId);
  }
  async getPolicies(tenantIds: readonly string[]): Promise<TenantPolicy[]> {
    return [...new Set(tenantIds)].flatMap((id) => {
      const p = this.policies.get(id);
      return p === undefined ? [] : [structuredClone(p)];
    });
  }
  async savePolicy(revision: PolicyRevision, expectedVersion: number): Promise<void> {
    const current = this.policies.get(revision.policy.tenantId);
    if ((current?.version ?? 0) !== expectedVersion) throw new Error('ConcurrentModification');
    this.policies.set(revision.policy.tenantId, revision.policy);
    this.history.set(revision.policy.tenantId, [...(this.history.get(revision.policy.tenantId) ?? []), revision]);
  }
  async policyHistory(tenantId: string): Promise<PolicyRevision[]> {
    return [...(this.history.get(tenantId) ?? [])].reverse();
  }
  async putHold(hold: LegalHold): Promise<void> {
    this.holds.set(`${hold.tenantId}/${hold.holdId}`, structuredClone(hold));
  }
  async getHold(tenantId: string, holdId: string): Promise<LegalHold | undefined> {
    return this.holds.get(`${tenantId}/${holdId}`);
  }
  async listHolds(tenantId: string): Promise<LegalHold[]> {
    return [...this.holds.values()].filter((h) => h.tenantId === tenantId);
  }
  async putDeletionTask(task: DeletionTask): Promise<void> {
    this.deletionTasks.set(`${task.tenantId}/${task.taskId}`, structuredClone(task));
  }
  async getDeletionTask(tenantId: string, taskId: string): Promise<DeletionTask | undefined> {
    const t = this.deletionTasks.get(`${tenantId}/${taskId}`);
    return t === undefined ? undefined : structuredClone(t);
  }
  async listDeletionTasks(tenantId: string): Promise<DeletionTask[]> {
    return [...this.deletionTasks.values()].filter((t) => t.tenantId === tenantId).map((t) => structuredClone(t));
  }
  async putReceipt(receipt: Receipt): Promise<void> {
    this.receipts.set(`${receipt.tenantId}/${receipt.runId}`, structuredClone(receipt));
  }
  async putReceipts(receipts: readonly Receipt[]): Promise<void> {
    for (const r of receipts) await this.putReceipt(r);
  }
  async getReceipt(tenantId: string, runId: string): Promise<Receipt | undefined> {
    const r = this.receipts.get(`${tenantId}/${runId}`);
    return r === undefined ? undefined : structuredClone(r);
  }
  async getReceipts(refs: readonly { readonly tenantId: string; readonly runId: string }[]): Promise<Receipt[]> {
    const out: Receipt[] = [];
    for (const ref of new Map(refs.map((r) => [`${r.tenantId}/${r.runId}`, r])).values()) {
      const r = await this.getReceipt(ref.tenantId, ref.runId);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  async listReceipts(tenantId: string): Promise<Receipt[]> {
    return [...this.receipts.values()].filter((r) => r.tenantId === tenantId);
  }
  async appendAudit(event: AuditEvent): Promise<void> {
    this.audit.push(event);
  }
  async listAudit(tenantId: string, options: AuditListOptions = {}): Promise<AuditEvent[]> {
    const position = (e: Pick<AuditEvent, 'at' | 'eventId'>) => `${e.at}#${e.eventId}`;
    const newestFirst = this.audit
      .filter((e) => e.tenantId === tenantId)
      .sort((a, b) => (position(a) < position(b) ? 1 : -1))
      .filter((e) => options.before === undefined || position(e) < position(options.before));
    return options.limit === undefined ? newestFirst : newestFirst.slice(0, options.limit);
  }
}

export class MemoryMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  async send(message: MailMessage): Promise<void> {
    this.sent.push(message);
  }
}

export class MemoryExternalProvider implements ExternalDataProvider {
  readonly deleted: { tenantId: string; endpoint: string; ref: string; seq: number }[] = [];
  fails: (ref: string) => boolean = () => false;
  async deleteCallData(tenant: Tenant, endpoint: ThirdPartyEndpoint, ref: string): Promise<'deleted' | 'not_found'> {
    if (this.fails(ref)) throw Object.assign(new Error('provider unavailable'), { name: 'ExternalProviderError' });
    this.deleted.push({ tenantId: tenant.tenantId, endpoint: endpoint.name, ref, seq: nextSequence() });
    return 'deleted';
  }
}
