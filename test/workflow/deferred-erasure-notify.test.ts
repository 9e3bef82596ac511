/**
 * A requester whose erasure a legal hold deferred is told the final outcome:
 * the PrivacyRequest, Hold and Sweep state machines run locally against the
 * production workers (the API's own in-process starters), and the e-mails
 * are read from the mailer. Released by hand or by its expiry, the hold's
 * release resumes the erasure, and its completion is e-mailed; a resumed run
 * that another hold still defers sends nothing twice.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MailMessage } from '../../shared/domain/ports.js';
import { holdHandlers, InProcessHoldWorkStarter } from '../../shared/local/hold-runner.js';
import { runSweepLocally, sweepHandlers } from '../../shared/local/sweep-runner.js';
import { apiWorld, customerRecords, ingest, registerTenant, token, type ApiWorld, type CustomerFixture } from '../support/api.js';
import type { MemoryMailer } from '../support/memory.js';

const T = 'deferred-mail';
const COMPLIANCE = token('ComplianceAdministrator', T);
const REQUESTER = 'requester@inbox.example';
const quiet = new Logger({ serviceName: 'lethe-test', logLevel: 'SILENT' });

let w: ApiWorld;
let n = 0;

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
});

async function customer(): Promise<CustomerFixture> {
  n += 1;
  const c: CustomerFixture = { id: `dm-${n}`, name: `Ottoline Vexworth-${n}`, phone: `+1415555${8100 + n}`, email: `ottoline.${n}@private.example`, secret: `dm-secret-${n}`, age: 10 };
  await ingest(w, T, customerRecords(c));
  return c;
}

const mails = (): MailMessage[] => (w.runDeps.mailer as MemoryMailer).sent;
const toRequester = (from: number) => mails().slice(from).filter((m) => m.to.includes(REQUESTER));

async function hold(scope: Record<string, string>, extra: Record<string, unknown> = {}): Promise<string> {
  const answer = await w.call({ method: 'POST', path: `/v1/tenants/${T}/legal-holds`, body: { scope, reason: 'litigation', ...extra }, token: COMPLIANCE });
  expect(answer.status).toBe(201);
  return answer.body.holdId as string;
}

async function erase(c: CustomerFixture): Promise<string> {
  const answer = await w.call({
    method: 'POST',
    path: `/v1/tenants/${T}/privacy-requests`,
    body: { kind: 'erasure', subject: { customerId: c.id }, notify: { email: REQUESTER } },
    token: COMPLIANCE,
  });
  expect(answer.status).toBe(202);
  return answer.body.requestId as string;
}

const release = (holdId: string) => w.call({ method: 'DELETE', path: `/v1/tenants/${T}/legal-holds/${holdId}`, token: COMPLIANCE });

describe('an erasure a legal hold deferred', () => {
  it('tells the requester it is partly deferred, then, once the hold is released and the erasure resumed, that it completed', async () => {
    const c = await customer();
    const holdId = await hold({ conversationId: `${c.id}-conv` });
    const before = mails().length;

    const requestId = await erase(c);

    const first = toRequester(before);
    expect(first).toHaveLength(1);
    expect(first[0]!.subject).toBe(`Privacy request ${requestId}: partially_completed`);
    expect(first[0]!.text).toContain('another message when the request completes');
    // The address waits on the request, never shown by the API.
    expect((await w.privacyDeps.privacy.get(T, requestId))?.notifyEmail).toBe(REQUESTER);
    expect(JSON.stringify((await w.call({ method: 'GET', path: `/v1/tenants/${T}/privacy-requests/${requestId}`, token: COMPLIANCE })).body)).not.toContain(REQUESTER);

    expect((await release(holdId)).status).toBe(200);

    const second = toRequester(before + 1);
    expect(second).toHaveLength(1);
    expect(second[0]!.subject).toBe(`Privacy request ${requestId}: completed`);
    expect(second[0]!.text).toContain('Outcome: completed');
    expect(second[0]!.text).not.toContain('legal hold');
    for (const pii of [c.name, c.phone, c.email, c.secret]) expect(JSON.stringify(second)).not.toContain(pii);
    const done = await w.privacyDeps.privacy.get(T, requestId);
    expect(done?.status).toBe('completed');
    expect(done?.notifyEmail).toBeUndefined();
    expect(done?.notifiedOutcome).toBeUndefined();
    expect(await w.stores.records.findBySubject(T, c.id)).toEqual([]);
  });

  it('sends the completion when the hold ends by its expiry and the next sweep releases it', async () => {
    const c = await customer();
    const expiresAt = new Date(w.clock.now().getTime() + 3_600_000).toISOString();
    const holdId = await hold({ conversationId: `${c.id}-conv` }, { expiresAt });
    const before = mails().length;
    const requestId = await erase(c);
    expect(toRequester(before).map((m) => m.subject)).toEqual([`Privacy request ${requestId}: partially_completed`]);
    w.clock.advance(2 * 3_600_000);
    const holdWork = new InProcessHoldWorkStarter(holdHandlers({ ...w.runDeps, privacy: w.privacyDeps.privacy, privacyRequests: w.privacyRequests }, { logger: quiet }));

    await runSweepLocally(w.runDeps, sweepHandlers({ ...w.runDeps, holdWork }, { stageBudgetMs: 5_000, logger: quiet }), { tenantIds: [T] }, { executionName: `sweep-${holdId}` });

    expect(holdWork.started.map((s) => s.executionName)).toEqual([`${holdId}-release`]);
    expect(toRequester(before).map((m) => m.subject)).toEqual([
      `Privacy request ${requestId}: partially_completed`,
      `Privacy request ${requestId}: completed`,
    ]);
    expect((await w.privacyDeps.privacy.get(T, requestId))?.notifyEmail).toBeUndefined();
  });

  it('sends nothing twice when a resumed run is still deferred by another hold, and tells the completion after the last release', async () => {
    const c = await customer();
    const onConversation = await hold({ conversationId: `${c.id}-conv` });
    const onCall = await hold({ callId: `${c.id}-call` });
    const before = mails().length;
    const requestId = await erase(c);

    expect((await release(onConversation)).status).toBe(200);

    // Resumed, deferred again by the call's hold: the requester was told that already.
    const resumed = await w.privacyDeps.privacy.get(T, requestId);
    expect(resumed?.runIds).toHaveLength(2);
    expect(resumed?.status).toBe('partially_completed');
    expect(toRequester(before)).toHaveLength(1);

    expect((await release(onCall)).status).toBe(200);

    expect(toRequester(before).map((m) => m.subject)).toEqual([
      `Privacy request ${requestId}: partially_completed`,
      `Privacy request ${requestId}: completed`,
    ]);
  });
});
