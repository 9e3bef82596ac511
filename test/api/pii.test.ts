/**
 * Logs, receipts, audit events and error bodies are stores too: after every
 * route has been exercised with distinctive personal data — valid and invalid,
 * in bodies, paths and query strings — none of it appears in any of them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IngestRecordInput } from '../../shared/domain/ingest/schemas.js';
import { apiWorld, daysAgo, registerTenant, SUPER, token, type Answer, type ApiWorld, type Call } from '../support/api.js';

const T = 'pii-tenant';
const ADMIN = token('Administrator', T);
const COMPLIANCE = token('ComplianceAdministrator', T);

const PEOPLE = [
  { id: 'cust-q', name: 'Quintessa Blumenfeld-Oyelaran', phone: '+44 20 7946 0958', email: 'Quintessa.Private@Mailbox.example', text: 'my passport number is ZX-4471-QBO' },
  { id: 'cust-x', name: 'Ximena Thorvaldsdottir', phone: '+1 (212) 555-0147', email: 'ximena.t.secret@inbox.example', text: 'call me back about the VK-9923-XTD diagnosis' },
] as const;

/** Every spelling of the personal data that must never show up. */
const NEEDLES = [
  ...PEOPLE.flatMap((p) => [p.name, p.name.toLowerCase(), p.phone, p.email, p.email.toLowerCase(), p.text]),
  'Blumenfeld', 'Oyelaran', 'Thorvaldsdottir', '2079460958', '7946 0958', '2125550147', '555-0147', 'quintessa.private', 'ximena.t.secret', 'ZX-4471', 'VK-9923',
];

function recordsOf(p: (typeof PEOPLE)[number], age: number): IngestRecordInput[] {
  const conv = `${p.id}-conv`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    { type: 'customer', id: p.id, name: p.name, phones: [p.phone], emails: [p.email], lastContactAt: daysAgo(age) },
    { type: 'conversation', id: conv, customerId: p.id, channel: 'email', startedAt: daysAgo(age), status: 'closed', notes: `about ${p.name}: ${p.text}` },
    { type: 'message', id: `${conv}-m1`, conversationId: conv, customerId: p.id, sentAt: daysAgo(age, 1), direction: 'inbound', text: p.text },
    { type: 'message', id: `${conv}-m2`, conversationId: conv, customerId: p.id, sentAt: daysAgo(age, 2), direction: 'outbound', text: `Dear ${p.name}, reach us at ${p.phone}` },
    { type: 'email_attachment', id: `${conv}-att`, conversationId: conv, customerId: p.id, sentAt: daysAgo(age, 1), contentType: 'text/plain', contentBase64: b64(p.text), messageId: `${conv}-m1` },
    { type: 'communication_log', id: `${conv}-log`, conversationId: conv, customerId: p.id, loggedAt: daysAgo(age, 3), text: `${p.name} ${p.phone}` },
    { type: 'call', id: `${p.id}-call`, customerId: p.id, startedAt: daysAgo(age), durationSeconds: 30 },
    { type: 'recording', id: `${p.id}-rec`, callId: `${p.id}-call`, customerId: p.id, contentType: 'audio/wav', contentBase64: b64(`voice of ${p.name}`) },
  ];
}

let w: ApiWorld;
const errorBodies: string[] = [];

async function call(c: Call): Promise<Answer> {
  const answer = await w.call(c);
  if (answer.status >= 400) errorBodies.push(answer.text);
  return answer;
}

beforeAll(async () => {
  w = await apiWorld();
  await registerTenant(w, T);
  const [q, x] = PEOPLE;
  const path = `/v1/tenants/${T}`;

  // Ingest: valid, then invalid with the same data in the wrong places.
  await call({ method: 'POST', path: `${path}/records`, body: { records: [...recordsOf(q, 300), ...recordsOf(x, 10)] }, token: ADMIN });
  await call({
    method: 'POST',
    path: `${path}/records`,
    body: {
      records: [
        { type: 'customer', id: 'bad-1', name: q.name, phones: [`${q.phone} ext. PII`, '12'], emails: [q.email.replace('@', '@@')], lastContactAt: daysAgo(1) },
        { type: 'message', id: 'bad-2', conversationId: 'nowhere', customerId: x.id, sentAt: daysAgo(1), direction: 'inbound', text: x.text },
        { type: 'customer', id: q.name, lastContactAt: q.text },
        { type: 'user', id: 'u', email: x.name, lastSignInAt: daysAgo(1), hasAccountAccess: 'yes' },
      ],
    },
    token: ADMIN,
  });

  // Lookups in every form, valid and not.
  const lookups: Record<string, string>[] = [
    { phone: q.phone },
    { phone: x.phone },
    { email: q.email },
    { name: x.name },
    { phone: `${q.phone} PII` },
    { email: x.name },
    { phone: q.phone, email: q.email },
    { [q.email]: q.name },
  ];
  for (const query of lookups) {
    await call({ method: 'GET', path: `${path}/customers`, query, token: COMPLIANCE });
  }
  await call({ method: 'GET', path: `${path}/customers`, query: { phone: q.phone }, token: ADMIN });
  await call({ method: 'GET', path: `${path}/customers/${q.id}/export`, token: COMPLIANCE });
  await call({ method: 'GET', path: `${path}/customers/${encodeURIComponent(q.name)}/export`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/customers/${encodeURIComponent(x.email)}`, token: COMPLIANCE });

  // Holds, policy, preview, runs.
  const hold = await call({ method: 'POST', path: `${path}/legal-holds`, body: { scope: { customerId: x.id }, reason: 'litigation 2025-17' }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/legal-holds`, body: { scope: { customerId: q.name }, reason: 'x' }, token: COMPLIANCE });
  await call({ method: 'GET', path: `${path}/legal-holds`, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/retention-policy/preview`, body: { categories: { conversation: { days: 30 } } }, token: ADMIN });
  await call({ method: 'PUT', path: `${path}/retention-policy`, body: { categories: { [q.name]: { days: 30 } } }, token: ADMIN });
  await call({ method: 'PUT', path: `${path}/retention-policy`, body: { categories: { conversation: { days: 30 } } }, token: ADMIN });
  await call({ method: 'PUT', path: `${path}/retention-policy`, body: { categories: { conversation: { days: 30 } }, acknowledgeDataLoss: true }, token: ADMIN });
  await call({ method: 'GET', path: `${path}/retention-policy`, token: ADMIN });
  await call({ method: 'GET', path: `${path}/retention-policy/history`, token: ADMIN });

  // Manual deletes: a held customer (partly), a message, a recording, a conversation, a customer.
  await call({ method: 'DELETE', path: `${path}/conversations/${x.id}-conv/messages/${x.id}-conv-m1`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/customers/${x.id}`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/legal-holds/${hold.body.holdId}`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/conversations/${x.id}-conv/messages/${x.id}-conv-m2`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/calls/${x.id}-call/recording`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/conversations/${x.id}-conv`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/customers/${x.id}`, token: COMPLIANCE });

  // Privacy requests: valid (an access export with a notify address), and with the data in the wrong places.
  const access = await call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'access', subject: { email: q.email }, notify: { email: q.email } }, token: COMPLIANCE, headers: { 'Idempotency-Key': 'pii-access-1' } });
  await call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'erasure', subject: { phone: `${q.phone} 99999` } }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'erasure', subject: { email: x.name, [q.name]: q.email } }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'anonymization', subject: { name: q.name }, notify: { email: q.name } }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/privacy-requests`, body: { kind: 'access', subject: { customerId: q.id } }, token: COMPLIANCE, headers: { 'Idempotency-Key': `${q.email}\u0001` } });
  await call({ method: 'GET', path: `${path}/privacy-requests/${access.body.requestId}`, token: COMPLIANCE });
  await call({ method: 'GET', path: `${path}/privacy-requests`, token: COMPLIANCE });

  // One attachment, one record anonymised, admin activity logs, a bulk-erasure preview: valid, and with the data in the wrong places.
  await call({ method: 'DELETE', path: `${path}/conversations/${q.id}-conv/attachments/${q.id}-conv-att`, token: COMPLIANCE });
  await call({ method: 'DELETE', path: `${path}/conversations/${q.id}-conv/attachments/${encodeURIComponent(q.name)}`, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/calls/${q.id}-call/anonymize`, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/communication-records/anonymize`, body: { type: 'message', id: `${q.id}-conv-m2`, conversationId: `${q.id}-conv` }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/communication-records/anonymize`, body: { type: 'message', id: q.text, conversationId: q.email }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/records`, body: { records: [{ type: 'admin_activity_log', id: 'pii-log', occurredAt: daysAgo(3), actor: q.email, action: `exported ${q.name}` }] }, token: ADMIN });
  await call({ method: 'GET', path: `${path}/admin-activity-logs`, query: { actor: q.email }, token: COMPLIANCE });
  await call({ method: 'GET', path: `${path}/admin-activity-logs`, query: { from: q.text, [q.name]: q.phone }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/admin-activity-logs/delete`, body: { ids: [q.name] }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/admin-activity-logs/delete`, body: { actor: q.email }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/admin-activity-logs/delete`, body: { actor: q.email }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/privacy-requests/preview`, body: { kind: 'erasure', filter: { channel: 'email' } }, token: COMPLIANCE });
  await call({ method: 'POST', path: `${path}/privacy-requests/preview`, body: { kind: 'erasure', filter: { botId: q.name }, subject: { email: q.email } }, token: COMPLIANCE });

  // A sweep deletes the older customer.
  const run = await call({ method: 'POST', path: `${path}/deletion-runs`, body: {}, token: ADMIN });
  await call({ method: 'GET', path: `${path}/deletion-runs/${run.body.runId}`, token: ADMIN });
  await call({ method: 'GET', path: `${path}/deletion-runs`, token: ADMIN });
  await call({ method: 'GET', path: `${path}/audit-events`, token: ADMIN });
  await call({ method: 'GET', path: '/v1/tenants', token: SUPER });
  await call({ method: 'GET', path: `${path}/audit-events`, token: token('Administrator', 'other') });
  await call({ method: 'GET', path: `${path}/audit-events`, query: { cursor: q.email }, token: ADMIN });
});

function leaks(text: string): string[] {
  return NEEDLES.filter((needle) => text.includes(needle));
}

describe('personal data', () => {
  it('was really exercised: the export carried it, and some calls failed on it', async () => {
    const exported = await w.call({ method: 'GET', path: `/v1/tenants/${T}/customers/${PEOPLE[0].id}/export`, token: COMPLIANCE });

    expect(exported.status).toBe(200);
    expect(leaks(exported.text).length).toBeGreaterThan(3);
    expect(errorBodies.length).toBeGreaterThan(8);
  });

  it('never appears in the logs', () => {
    expect(w.logLines.length).toBeGreaterThan(30);
    expect(leaks(w.logLines.join('\n'))).toEqual([]);
  });

  it('never appears in error bodies', () => {
    expect(leaks(errorBodies.join('\n')), errorBodies.filter((b) => leaks(b).length > 0).join('\n')).toEqual([]);
  });

  it('never appears in receipts or audit events, nor do raw customer ids', async () => {
    const receipts = await w.stores.control.listReceipts(T);
    const events = await w.stores.control.listAudit(T);
    expect(receipts.some((r) => r.kind === 'manual')).toBe(true);
    expect(receipts.some((r) => r.kind === 'sweep')).toBe(true);
    expect(events.length).toBeGreaterThan(10);

    const text = JSON.stringify(receipts) + JSON.stringify(events);
    expect(leaks(text)).toEqual([]);
    for (const p of PEOPLE) expect(text).not.toContain(p.id);
  });
});
