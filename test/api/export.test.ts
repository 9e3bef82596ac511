/**
 * The one subject export (`domain/export.ts`) through the admin API on the
 * emulators: the export route and an access request give the same document;
 * a held call past its category's cap is in both, before and after a sweep;
 * a recording whose blob an anonymisation deleted says so; links live 15
 * minutes on the route unless the deployment says otherwise, 7 days in an
 * access request's document.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../shared/app/api/handler.js';
import * as s from '../../shared/app/api/schemas.js';
import { ConfigurationError, readLambdaConfig } from '../../shared/config/lambda-env.js';
import { loadProfile } from '../../shared/config/profiles.js';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import {
  apiEvent,
  apiWorld,
  CapturingLogger,
  customerRecords,
  daysAgo,
  ingest,
  registerTenant,
  token,
  type ApiWorld,
  type CustomerFixture,
} from '../support/api.js';

/** The chatbot profile caps calls and their data at 396 days, and sweeps monthly. */
const PROFILE = 'chatbot';
const T = 'exp';
const COMPLIANCE = token('ComplianceAdministrator', T);
const ADMIN = token('Administrator', T);
const b64 = (text: string) => Buffer.from(text).toString('base64');

let w: ApiWorld;
let n = 0;

beforeAll(async () => {
  w = await apiWorld({ profile: PROFILE });
  await registerTenant(w, T);
});

type ExportDocument = ReturnType<typeof s.exportResponse.parse>;

/** A fresh customer with everything (`customerRecords`), and more records of theirs when asked. */
async function customer(more: (customerId: string) => IngestRecordInput[] = () => []): Promise<CustomerFixture> {
  n += 1;
  const c: CustomerFixture = {
    id: `ex-${n}`,
    name: `Ottoline Exley-${n}`,
    phone: `+1415555${String(3100 + n)}`,
    email: `ottoline.${n}@export.example`,
    secret: `secret-${n}`,
    age: 10,
  };
  await ingest(w, T, [...customerRecords(c), ...more(c.id)]);
  return c;
}

/** Two calls of the customer started 400 days ago, past the profile's 396-day cap: one with a recording. */
function oldCalls(customerId: string): IngestRecordInput[] {
  return [
    { type: 'call', id: `${customerId}-held`, customerId, startedAt: daysAgo(400), durationSeconds: 60, thirdPartyRef: `tp-${customerId}-held` },
    { type: 'recording', id: `${customerId}-held-rec`, callId: `${customerId}-held`, customerId, contentType: 'audio/wav', contentBase64: b64('held voice') },
    { type: 'call', id: `${customerId}-free`, customerId, startedAt: daysAgo(400), durationSeconds: 30, thirdPartyRef: `tp-${customerId}-free` },
  ];
}

async function holdCall(callId: string): Promise<void> {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope: { callId }, reason: 'litigation' }, token: COMPLIANCE });
  expect(answer.status).toBe(201);
}

async function routeExport(customerId: string, handler = w.handler) {
  const result = await handler(apiEvent({ method: 'GET', path: `/v1/tenants/${T}/customers/${customerId}/export`, token: COMPLIANCE }));
  expect(result.statusCode).toBe(200);
  return s.exportResponse.parse(JSON.parse(result.body as string));
}

/** Runs an access request through the API (its workflow runs to its end in-process) and reads the document it wrote. */
async function accessExport(customerId: string) {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'access', subject: { customerId } }, token: COMPLIANCE });
  expect(answer.status).toBe(202);
  const request = await w.privacyDeps.privacy.get(T, answer.body.requestId);
  expect(request?.status).toBe('completed');
  const document = JSON.parse(new TextDecoder().decode(await w.runDeps.blobs.get('exports', request?.exportKey as string))) as {
    subjects: unknown[];
  };
  expect(document.subjects).toHaveLength(1);
  return s.exportResponse.parse(document.subjects[0]);
}

/** A document without what differs between two exports of the same data: the time and the links' signatures. */
function comparable(document: ExportDocument): unknown {
  const { exportedAt: _, ...rest } = document;
  return JSON.parse(JSON.stringify(rest).replace(/"(https?:\/\/[^"?]+)\?[^"]*"/gu, '"$1"'));
}

const linkLifetime = (url: string | undefined) => new URL(url ?? 'http://missing').searchParams.get('X-Amz-Expires');

describe('one export for the route and access requests', () => {
  it('gives the same document for the same subject, tombstones and held old calls included', async () => {
    const c = await customer(oldCalls);
    await holdCall(`${c.id}-held`);
    const deleted = await w.call({ method: 'DELETE', path: `/v1/tenants/${T}/conversations/${c.id}-conv/messages/${c.id}-conv-m2`, token: COMPLIANCE });
    expect(deleted.status).toBe(200);

    const byRoute = await routeExport(c.id);
    const byAccess = await accessExport(c.id);

    expect(comparable(byAccess)).toEqual(comparable(byRoute));
    expect(byRoute.conversations[0]?.messages[1]).toEqual({ id: `${c.id}-conv-m2`, deleted: true, text: 'This item has been deleted' });
    expect(byRoute.calls.map((call) => call.id).sort()).toEqual([`${c.id}-call`, `${c.id}-held`]);
    expect(byRoute.thirdPartyCallData).toContainEqual({ id: `${c.id}-held`, callId: `${c.id}-held`, ref: `tp-${c.id}-held` });
    expect(byRoute.customer).toMatchObject({ customerId: c.id, name: c.name, phones: [c.phone], emails: [c.email] });
    expect(byRoute.identifiers.map((i) => i.kind).sort()).toEqual(['email', 'name', 'phone']);
  });
});

describe('a held call past its category cap', () => {
  it('is in the route’s export and the access request’s, with its recording and third-party reference; an unheld one is not', async () => {
    const c = await customer(oldCalls);
    await holdCall(`${c.id}-held`);

    for (const exported of [await routeExport(c.id), await accessExport(c.id)]) {
      const held = exported.calls.find((call) => call.id === `${c.id}-held`);
      expect(held).toMatchObject({ durationSeconds: 60, thirdPartyRef: `tp-${c.id}-held` });
      expect(held?.recordings).toEqual([expect.objectContaining({ id: `${c.id}-held-rec`, url: expect.stringMatching(/X-Amz-Signature=/u) })]);
      expect(exported.thirdPartyCallData).toContainEqual({ id: `${c.id}-held`, callId: `${c.id}-held`, ref: `tp-${c.id}-held` });
      expect(exported.calls.map((call) => call.id)).not.toContain(`${c.id}-free`);
      expect(JSON.stringify(exported)).not.toContain(`tp-${c.id}-free`);
    }
  });

  it('stays in the store and in the export after a sweep, which deletes the unheld one', async () => {
    const c = await customer(oldCalls);
    await holdCall(`${c.id}-held`);

    const run = await w.call({ method: 'POST', path: `/v1/tenants/${T}/deletion-runs`, token: ADMIN });
    expect(run.status).toBe(202);

    const stored = await w.stores.records.findBySubject(T, c.id, { includeExpired: true });
    expect(stored.filter((i) => i.category === 'call').map((i) => i.id).sort()).toEqual([`${c.id}-call`, `${c.id}-held`]);
    const exported = await routeExport(c.id);
    expect(exported.calls.map((call) => call.id).sort()).toEqual([`${c.id}-call`, `${c.id}-held`]);
    expect(exported.calls.find((call) => call.id === `${c.id}-held`)?.recordings).toHaveLength(1);
  });
});

describe('a blob deleted under a kept record', () => {
  it('shows as contentDeleted without a url after an anonymisation, in a document the schema accepts', async () => {
    const c = await customer();
    const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/privacy-requests`, body: { kind: 'anonymization', subject: { customerId: c.id } }, token: COMPLIANCE });
    expect((await w.privacyDeps.privacy.get(T, answer.body.requestId))?.status).toBe('completed');

    const exported = await routeExport(c.id);

    const recording = exported.calls[0]?.recordings[0];
    expect(recording).toMatchObject({ id: `${c.id}-call-rec`, contentDeleted: true });
    expect(recording).not.toHaveProperty('url');
    expect(exported.media).toHaveLength(2);
    for (const blob of [...exported.media, ...exported.emailAttachments]) {
      expect(blob.contentDeleted).toBe(true);
      expect(blob.url).toBeUndefined();
    }
    expect(JSON.stringify(exported)).not.toContain(c.secret);
  });
});

describe('the export link lifetime', () => {
  it('is 15 minutes on the route by default, and 7 days in an access request’s document', async () => {
    const c = await customer();

    const byRoute = await routeExport(c.id);
    const byAccess = await accessExport(c.id);

    expect(linkLifetime(byRoute.calls[0]?.recordings[0]?.url)).toBe('900');
    expect(linkLifetime(byAccess.calls[0]?.recordings[0]?.url)).toBe('604800');
  });

  it('follows the deployment’s setting on the route', async () => {
    const c = await customer();
    const handler = createApiHandler({ ...w.deps, exportLinkSeconds: 120 }, { logger: new CapturingLogger() });

    const exported = await routeExport(c.id, handler);

    expect(linkLifetime(exported.media[0]?.url)).toBe('120');
  });

  it('is read from EXPORT_LINK_SECONDS in Lambda, optional, and refused above S3’s 7 days', () => {
    const env = {
      AWS_REGION: 'eu-west-1',
      RECORDS_TABLE: 'records',
      CONTROL_TABLE: 'control',
      KEYS_TABLE: 'keys',
      RECORDINGS_BUCKET: 'rec',
      MEDIA_BUCKET: 'media',
      EXPORTS_BUCKET: 'exports',
      PLATFORM_POLICY: JSON.stringify(loadProfile(PROFILE)),
      REF_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:ref',
      OPERATOR_EMAILS: '',
      MAIL_FROM: 'lethe@example.com',
      STAGE_BUDGET_MS: '60000',
    };

    expect(readLambdaConfig({ ...env, EXPORT_LINK_SECONDS: '300' }).exportLinkSeconds).toBe(300);
    expect(readLambdaConfig(env).exportLinkSeconds).toBeUndefined();
    expect(() => readLambdaConfig({ ...env, EXPORT_LINK_SECONDS: '604801' })).toThrow(ConfigurationError);
    expect(() => readLambdaConfig({ ...env, EXPORT_LINK_SECONDS: '15m' })).toThrow(/EXPORT_LINK_SECONDS/u);
  });
});
