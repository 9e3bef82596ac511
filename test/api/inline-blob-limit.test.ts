/**
 * The inline blob limit is one figure everywhere (4 MiB decoded): a blob of
 * exactly that much goes through the API handler in one body under the 6 MB
 * a synchronous Lambda invocation takes; one byte more is a 400 naming the
 * field and pointing to upload URLs, and nothing is written.
 */
import { describe, expect, it } from 'vitest';
import { MAX_INLINE_BLOB_BYTES } from '../../shared/domain/ingest/schemas.js';
import { apiWorld, registerTenant, token } from '../support/api.js';

const T = 'inline';

describe('an inline recording', () => {
  it('of exactly 4 MiB is stored through the handler; one byte more is refused naming the field, nothing written', async () => {
    const w = await apiWorld({ maxInlineBlobBytes: MAX_INLINE_BLOB_BYTES });
    await registerTenant(w, T);
    const admin = token('Administrator', T);
    const startedAt = new Date(w.clock.now().getTime() - 3_600_000).toISOString();
    const base = [
      { type: 'customer', id: 'c1', name: 'Ada Quill', phones: ['+14155550101'], lastContactAt: startedAt },
      { type: 'call', id: 'call-1', customerId: 'c1', startedAt, durationSeconds: 60 },
    ];
    const recording = (bytes: number) => ({
      type: 'recording',
      id: `rec-${bytes}`,
      callId: 'call-1',
      customerId: 'c1',
      contentType: 'audio/wav',
      contentBase64: Buffer.alloc(bytes, 7).toString('base64'),
    });

    const ok = await w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, token: admin, body: { records: [...base, recording(MAX_INLINE_BLOB_BYTES)] } });
    expect(ok.body).toMatchObject({ accepted: 3 });
    expect(JSON.stringify({ records: [...base, recording(MAX_INLINE_BLOB_BYTES)] }).length).toBeLessThan(6_000_000);
    const stored = await w.stores.blobs.list('recordings', `recordings/${T}/c1/`);
    expect(stored.map((o) => o.size)).toEqual([MAX_INLINE_BLOB_BYTES]);

    const tooBig = await w.call({ method: 'POST', path: `/v1/tenants/${T}/records`, token: admin, body: { records: [recording(MAX_INLINE_BLOB_BYTES + 1)] } });
    expect(tooBig.status).toBe(400);
    expect(JSON.stringify(tooBig.body)).toContain('records.0.contentBase64');
    expect(JSON.stringify(tooBig.body)).toContain('upload URL');
    expect((await w.stores.blobs.list('recordings', `recordings/${T}/c1/`)).map((o) => o.size)).toEqual([MAX_INLINE_BLOB_BYTES]);
  });
});
