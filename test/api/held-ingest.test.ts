/**
 * Held data stays as it is: through ingest, a stored record under a legal
 * hold cannot be given other content or another blob; a repeat of what is
 * stored, new records under the hold and a profile's moving clocks are
 * accepted. After the release, the same change goes through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { apiWorld, customerRecords, daysAgo, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';

const T = 'held-ingest';
const C: CustomerFixture = { id: 'kept', name: 'Kit Keeper', phone: '+14155550190', email: 'kit@example.test', secret: 'evidence', age: 20 };
let w: ApiWorld;
let records: IngestRecordInput[];
let holdId: string;

const post = (body: unknown, role: 'Administrator' | 'ComplianceAdministrator' = 'Administrator') =>
  w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, token: token(role, T), body });
const b64 = (text: string) => Buffer.from(text).toString('base64');
const byId = (id: string) => records.find((r) => r.id === id) as IngestRecordInput & Record<string, unknown>;
const stored = async () => new Map((await w.runDeps.records.findBySubject(T, C.id)).map((i) => [i.sk, i]));
const recordingBlob = async () => {
  const rec = [...(await stored()).values()].find((i) => i.category === 'call_recording')!;
  return Buffer.from((await w.stores.blobs.get(rec.blobBucket!, rec.blobKey!))!).toString();
};

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  records = customerRecords(C);
  await ingest(w, T, records);
  const hold = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, token: token('ComplianceAdministrator', T), body: { scope: { customerId: C.id }, reason: 'litigation' } });
  expect(hold.status).toBe(201);
  holdId = hold.body.holdId;
});

describe('ingest under a legal hold', () => {
  it('accepts a repeat of what is stored, and writes no new blob for it', async () => {
    const before = await stored();
    const objects = await w.stores.blobs.list('recordings', `recordings/${T}/${C.id}/`);

    const again = await post({ records });

    expect(again.status).toBe(200);
    expect([...(await stored()).values()].map((i) => [i.sk, i.data])).toEqual([...before.values()].map((i) => [i.sk, i.data]));
    expect(await w.stores.blobs.list('recordings', `recordings/${T}/${C.id}/`)).toEqual(objects);
  });

  it('refuses other text for a held message, naming the record and the hold, and changes nothing', async () => {
    const message = byId(`${C.id}-conv-m1`);
    const index = 1;
    const before = await stored();

    const changed = await post({ records: [byId(C.id), { ...message, text: 'rewritten after the fact' }] });

    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatchObject({ code: 'held', field: `records.${index}`, holdIds: [holdId] });
    expect(JSON.stringify(changed.body)).not.toContain('rewritten');
    expect([...(await stored()).values()].map((i) => [i.sk, i.data])).toEqual([...before.values()].map((i) => [i.sk, i.data]));
  });

  it('refuses other audio for a held recording, and an upload URL for it, keeping the held bytes', async () => {
    const recording = byId(`${C.id}-call-rec`);

    const replaced = await post({ records: [{ ...recording, contentBase64: b64('doctored audio') }] });
    const { contentBase64: _inline, ...withoutContent } = recording as Record<string, unknown>;
    const upload = await post({ records: [withoutContent] });

    expect(replaced.status).toBe(409);
    expect(upload.status).toBe(409);
    expect(upload.body).not.toHaveProperty('uploads');
    expect(await recordingBlob()).toBe(`voice ${C.secret}`);
  });

  it('accepts new records under the hold, and a profile whose last contact moves while its data stays', async () => {
    const conversation = `${C.id}-conv`;
    const later = await post({
      records: [
        { ...byId(C.id), lastContactAt: daysAgo(1) },
        { type: 'message', id: `${conversation}-m3`, conversationId: conversation, customerId: C.id, sentAt: daysAgo(1), direction: 'inbound', text: 'a new message' },
      ],
    });

    expect(later.status).toBe(200);
    expect([...(await stored()).values()].some((i) => i.id === `${conversation}-m3`)).toBe(true);
  });

  it('lets the same change through once the hold is released', async () => {
    const released = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: token('ComplianceAdministrator', T) });
    expect(released.status).toBe(200);

    const changed = await post({ records: [{ ...byId(`${C.id}-conv-m1`), text: 'corrected after the release' }] });

    expect(changed.status).toBe(200);
    const message = [...(await stored()).values()].find((i) => i.id === `${C.id}-conv-m1`);
    expect(JSON.stringify(message?.data)).toContain('corrected after the release');
  });
});
