/**
 * An upload URL cannot outlive its record, in local mode as a user drives it:
 * ingest a recording without content (an upload URL, valid 15 minutes),
 * delete the customer, then PUT to the URL. The S3 emulator accepts it, and
 * its event reaches the blob guard, which deletes the object no record points
 * to. An upload whose record is still there stays, and so do blobs ingested
 * inline (stored before their records, within one request).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api-client.js';
import { startLocalRuntime, type LocalRuntime } from '../../shared/local/runtime.js';
import { CapturingLogger } from '../support/api.js';

const T = 'guarded';
const SETTLE_MS = 400;
const DAY = 86_400_000;

let dataDir: string;
let runtime: LocalRuntime;
let client: ApiClient;
const lines: string[] = [];

interface Upload {
  readonly recordId: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly expiresAt: string;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lethe-local-blob-guard-'));
  runtime = await startLocalRuntime({ dataDir, port: 0, profile: 'conversations', logger: new CapturingLogger(lines), blobGuardSettleMs: SETTLE_MS });
  const root = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ roles: ['SuperAdministrator'], subject: 'test' }) });
  await root.put(`/v1/tenants/${T}`, { name: T, adminEmails: [`dpo@${T}.example`], thirdPartyEndpoints: [] });
  client = new ApiClient({ endpoint: runtime.url, token: await runtime.issueToken({ tenantId: T, roles: ['Administrator', 'ComplianceAdministrator'], subject: 'admin' }) });
}, 120_000);

afterAll(async () => {
  await runtime?.close({ graceMs: 1000 });
  await rm(dataDir, { recursive: true, force: true });
});

const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** A customer with a call and its recording: without content (an upload URL comes back), or inline. */
async function customerWithRecording(id: string, content?: string): Promise<{ upload?: Upload; key: string }> {
  const answer = await client.post<{ accepted: number; uploads?: Upload[] }>(`/v1/tenants/${T}/records`, {
    records: [
      { type: 'customer', id, name: `Lucasta Ormerod ${id}`, phones: ['+14155550142'], lastContactAt: ago(2) },
      { type: 'call', id: `${id}-call`, customerId: id, startedAt: ago(2), durationSeconds: 30 },
      {
        type: 'recording',
        id: `${id}-rec`,
        callId: `${id}-call`,
        customerId: id,
        contentType: 'audio/wav',
        ...(content !== undefined && { contentBase64: Buffer.from(content).toString('base64') }),
      },
    ],
  });
  return { ...(answer.uploads?.[0] !== undefined && { upload: answer.uploads[0] }), key: `recordings/${T}/${id}/${id}-rec` };
}

async function storedKeys(): Promise<string[]> {
  return (await runtime.deps.blobs.list('recordings', `recordings/${T}/`)).map((o) => o.key);
}

const put = (upload: Upload, body: string) => fetch(upload.url, { method: 'PUT', headers: upload.headers, body });

describe('an upload URL used after its customer was deleted', () => {
  it('stores the object, which the blob guard deletes, while an upload whose record is still there stays', async () => {
    const gone = await customerWithRecording('cg-1');
    const kept = await customerWithRecording('cg-2');
    // The URL lives 15 minutes.
    expect(new URL(gone.upload!.url).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(Date.parse(gone.upload!.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    await client.delete(`/v1/tenants/${T}/customers/cg-1`);

    const late = await put(gone.upload!, 'the voice of a deleted customer');
    const legitimate = await put(kept.upload!, 'a voice whose record is there');
    expect([late.status, legitimate.status]).toEqual([200, 200]);
    await runtime.blobGuardIdle();

    const keys = await storedKeys();
    expect(keys).not.toContain(gone.key);
    expect(keys).toContain(kept.key);
    const deletions = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.message).includes('blob guard deleted'));
    expect(deletions).toEqual([expect.objectContaining({ tenantId: T, bucket: 'recordings', category: 'call_recording' })]);
    for (const line of lines) for (const pii of ['cg-1', 'Lucasta', '+14155550142']) expect(line).not.toContain(pii);
  });

  it('leaves recordings ingested inline, whose objects are stored before their records', async () => {
    const inline = await Promise.all(['ci-1', 'ci-2', 'ci-3'].map((id) => customerWithRecording(id, `inline voice ${id}`)));

    await runtime.blobGuardIdle();

    const keys = await storedKeys();
    for (const { key } of inline) expect(keys).toContain(key);
  });
});
