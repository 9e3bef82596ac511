/**
 * Downloads through the API with crypto-shredding on (as deployed and in local
 * mode): blobs and access exports are ciphertext in the buckets, their links
 * are the API's download links, fetched here over HTTP from a server in front
 * of the handler. A link serves the original bytes and content type; after the
 * erasure of its subject it answers 404; an altered, foreign or expired one
 * answers 403 without saying whether the object exists; an upload through an
 * issued URL reaches its record only through the blob guard, sealed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { blobGuardHandler } from '../../shared/app/blob-guard.js';
import { DownloadTokens } from '../../shared/app/download-links.js';
import { MAX_DOWNLOAD_BYTES } from '../../shared/app/api/use-cases/downloads.js';
import type { BucketName } from '../../shared/domain/catalog.js';
import { blobKey } from '../../shared/domain/records.js';
import { apiWorld, CapturingLogger, customerRecords, daysAgo, ingest, registerTenant, token, type Answer, type ApiWorld, type CustomerFixture } from '../support/api.js';

const T = 'dl';
const COMPLIANCE = token('ComplianceAdministrator', T);

let w: ApiWorld;
let n = 0;

beforeAll(async () => {
  w = await apiWorld({ shredding: true });
  await registerTenant(w, T);
});

async function customer(): Promise<CustomerFixture> {
  n += 1;
  const c: CustomerFixture = { id: `dl-${n}`, name: `Clementina Vayle-${n}`, phone: `+1415555${7100 + n}`, email: `clementina.${n}@private.example`, secret: `dl-secret-${n}`, age: 10 };
  await ingest(w, T, customerRecords(c));
  return c;
}

async function exportOf(c: CustomerFixture): Promise<Answer> {
  const answer = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/${c.id}/export`, token: COMPLIANCE });
  expect(answer.status).toBe(200);
  return answer;
}

async function submit(body: unknown): Promise<Answer> {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body, token: COMPLIANCE });
  expect(answer.status).toBe(202);
  return w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${answer.body.requestId}`, token: COMPLIANCE });
}

/** The bytes S3 holds for an object, as a backup or a reader of the bucket would see them. */
async function stored(bucket: BucketName, key: string): Promise<string> {
  return Buffer.from((await w.stores.blobs.get(bucket, key)) ?? new Uint8Array()).toString('latin1');
}

describe('links to blobs', () => {
  it('are download links of the API that serve the ingested bytes and content type, while S3 holds ciphertext', async () => {
    const c = await customer();
    const exported = await exportOf(c);
    const url = exported.body.calls[0].recordings[0].url as string;

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/u);
    const served = await fetch(url);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('audio/wav');
    expect(served.headers.get('cache-control')).toBe('no-store');
    expect(await served.text()).toBe(`voice ${c.secret}`);
    expect(await stored('recordings', blobKey('recordings', T, c.id, `${c.id}-call-rec`))).not.toContain(c.secret);
    const media = await fetch(exported.body.media.find((m: { id: string }) => m.id === `${c.id}-conv-in`).url);
    expect([media.status, await media.text()]).toEqual([200, `photo ${c.secret}`]);
  });

  it('answer 404 once the subject is erased (the object deleted, its key shredded)', async () => {
    const c = await customer();
    const url = (await exportOf(c)).body.calls[0].recordings[0].url as string;

    const erasure = await submit({ kind: 'erasure', subject: { customerId: c.id } });

    expect(erasure.body.status).toBe('completed');
    const gone = await fetch(url);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'not_found', field: 'token' } });
  });

  it('answer 404 when only the key is gone, the object still there (a copy the erasure did not reach)', async () => {
    const c = await customer();
    const key = blobKey('recordings', T, c.id, `${c.id}-call-rec`);
    const url = (await exportOf(c)).body.calls[0].recordings[0].url as string;

    await w.keyStore!.shredSubject(`T#${T}#S#${c.id}`);

    expect(await stored('recordings', key)).not.toBe('');
    expect((await fetch(url)).status).toBe(404);
  });

  it('refuse an altered, foreign or expired link with 403, the same whether or not the object exists', async () => {
    const c = await customer();
    const real = blobKey('recordings', T, c.id, `${c.id}-call-rec`);
    const never = blobKey('recordings', T, c.id, 'never-stored');
    const base = new URL((await exportOf(c)).body.calls[0].recordings[0].url as string).origin;
    const ours = new DownloadTokens('api-test-reference-secret-0123456789abcdef');
    const theirs = new DownloadTokens('another deployment');
    const soon = new Date(w.clock.now().getTime() + 600_000);
    const past = new Date(w.clock.now().getTime() - 1_000);
    const altered = (t: string) => `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`;

    const answers: Record<string, unknown>[] = [];
    for (const key of [real, never]) {
      for (const t of [altered(ours.issue('recordings', key, soon)), theirs.issue('recordings', key, soon), ours.issue('recordings', key, past)]) {
        const answer = await fetch(`${base}/v1/downloads/${t}`);
        expect(answer.status).toBe(403);
        answers.push((await answer.json()) as Record<string, unknown>);
      }
    }
    expect(answers.slice(0, 3)).toEqual(answers.slice(3));
    expect(answers[2]).toMatchObject({ error: { code: 'forbidden', field: 'token', message: expect.stringContaining('expired') } });
    for (const a of answers) expect(JSON.stringify(a)).not.toContain(c.id);
  });

  it('refuse a malformed token with 400 naming it', async () => {
    const answer = await w.call({ method: 'GET', path: '/v1/downloads/not.a-token' });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'token' });
  });

  it('refuse an object larger than a Lambda answer can carry with 400 naming the limit', async () => {
    const c = await customer();
    const [recording] = (await w.runDeps.records.findBySubject(T, c.id)).filter((i) => i.category === 'call_recording');
    await w.runDeps.blobs.put('recordings', recording!.blobKey!, new Uint8Array(MAX_DOWNLOAD_BYTES + 1), 'audio/wav', recording);
    const url = (await exportOf(c)).body.calls[0].recordings[0].url as string;

    const answer = await fetch(url);

    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { code: 'download_too_large', field: 'token', message: expect.stringContaining(String(MAX_DOWNLOAD_BYTES)) } });
  });
});

describe('an access export', () => {
  it('is sealed under its subject in the bucket, and its link serves the document', async () => {
    const c = await customer();

    const access = await submit({ kind: 'access', subject: { customerId: c.id } });

    expect(access.body.status).toBe('completed');
    const served = await fetch(access.body.exportUrl);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('application/json');
    const document = (await served.json()) as { subjects: { identifiers: { value: string }[] }[] };
    expect(document.subjects[0]?.identifiers.map((i) => i.value)).toContain(c.phone);
    const raw = await stored('exports', `exports/${T}/${access.body.requestId}.json`);
    for (const value of [c.name, c.phone, c.email, c.secret]) expect(raw).not.toContain(value);
  });

  it('answers 404 after the erasure of its subject', async () => {
    const c = await customer();
    const access = await submit({ kind: 'access', subject: { customerId: c.id } });
    expect((await fetch(access.body.exportUrl)).status).toBe(200);

    await submit({ kind: 'erasure', subject: { customerId: c.id } });

    expect((await fetch(access.body.exportUrl)).status).toBe(404);
  });
});

describe('an upload through an issued URL', () => {
  async function recordingWithoutContent(id: string): Promise<{ url: string; headers: Record<string, string> }> {
    const answer = await ingest(w, T, [
      { type: 'customer', id, name: `Aurelian Quist ${id}`, phones: ['+14155557999'], lastContactAt: daysAgo(1) },
      { type: 'call', id: `${id}-call`, customerId: id, startedAt: daysAgo(1), durationSeconds: 12 },
      { type: 'recording', id: `${id}-rec`, callId: `${id}-call`, customerId: id, contentType: 'audio/ogg' },
    ]);
    return answer.body.uploads[0];
  }
  /** What S3 sends the blob guard for the uploaded object. */
  const guard = (key: string) =>
    blobGuardHandler({ records: w.runDeps.records, blobs: w.runDeps.blobs, clock: w.clock }, { logger: new CapturingLogger(), bucketNames: w.stores.bucketNames })({
      Records: [{ eventName: 'ObjectCreated:Put', eventTime: w.clock.now().toISOString(), s3: { bucket: { name: w.stores.bucketNames.recordings }, object: { key: encodeURIComponent(key) } } }],
    });

  it('lands in quarantine, and the blob guard seals it into place, where its link serves it', async () => {
    const upload = await recordingWithoutContent('up-1');
    const key = blobKey('recordings', T, 'up-1', 'up-1-rec');
    expect(decodeURIComponent(new URL(upload.url).pathname)).toContain(`/quarantine/${key}`);

    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: 'OggS voice of Aurelian' })).status).toBe(200);
    expect(await w.stores.blobs.get('recordings', key)).toBeUndefined();
    expect((await guard(`quarantine/${key}`)).outcomes).toEqual([{ outcome: 'placed' }]);

    expect(await stored('recordings', key)).not.toContain('Aurelian');
    expect((await w.stores.blobs.list('recordings', 'quarantine/')).map((o) => o.key)).not.toContain(`quarantine/${key}`);
    const exported = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/up-1/export`, token: COMPLIANCE });
    const served = await fetch(exported.body.calls[0].recordings[0].url);
    expect([served.status, served.headers.get('content-type'), await served.text()]).toEqual([200, 'audio/ogg', 'OggS voice of Aurelian']);
  });
});
