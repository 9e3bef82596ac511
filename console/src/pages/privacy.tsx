/**
 * Privacy requests: file an erasure, access export or anonymisation for one
 * customer, or a bulk erasure by filter with its preview first; the list
 * below shows each request's status live (polled while any is still working).
 */
import { useEffect, useState } from 'preact/hooks';
import { call, type Answer } from '../api.js';
import { randomString } from '../auth.js';
import { CountsTable, ErrorNote, label, Loading, Section, total, useAsync, useConsole, when } from '../ui.js';

type Preview = Answer<'/v1/tenants/{t}/privacy-requests/preview', 'post'>;
const KINDS = ['erasure', 'access', 'anonymization'] as const;
const SELECTORS = ['customerId', 'phone', 'email', 'name'] as const;
const CHANNELS = ['chat', 'sms', 'whatsapp', 'email', 'voice'] as const;
const WORKING = new Set(['received', 'running']);
const POLL_MS = 1500;

const dayStart = (date: string) => (date === '' ? undefined : new Date(`${date}T00:00:00Z`).toISOString());
const dayEnd = (date: string) => (date === '' ? undefined : new Date(`${date}T23:59:59.999Z`).toISOString());

export function PrivacyPage() {
  const { api, tenantId } = useConsole();
  const t = { path: { t: tenantId } };
  const requests = useAsync(() => call(api.GET('/v1/tenants/{t}/privacy-requests', { params: { ...t, query: { limit: '50' } } })), [tenantId]);
  const [kind, setKind] = useState<(typeof KINDS)[number]>('erasure');
  const [mode, setMode] = useState<'subject' | 'filter'>('subject');
  const [selector, setSelector] = useState<(typeof SELECTORS)[number]>('customerId');
  const [value, setValue] = useState('');
  const [filter, setFilter] = useState({ botId: '', channel: '', from: '', to: '' });
  const [force, setForce] = useState(false);
  const [notify, setNotify] = useState('');
  const [preview, setPreview] = useState<Preview>();
  const [error, setError] = useState<Error>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);

  // Live status: poll while a request is still received or running.
  const working = (requests.data?.requests ?? []).some((r) => WORKING.has(r.status));
  useEffect(() => {
    if (!working) return;
    const timer = setTimeout(() => requests.reload(), POLL_MS);
    return () => clearTimeout(timer);
  }, [working, requests.data]);

  const filterBody = () => ({
    ...(filter.botId !== '' && { botId: filter.botId }),
    ...(filter.channel !== '' && { channel: filter.channel }),
    ...(dayStart(filter.from) !== undefined && { firstContactFrom: dayStart(filter.from) }),
    ...(dayEnd(filter.to) !== undefined && { firstContactTo: dayEnd(filter.to) }),
  });
  const body = () => ({
    kind,
    ...(mode === 'subject' ? { subject: { [selector]: value.trim() } } : { filter: filterBody() }),
    ...(force && { force: true }),
    ...(notify.trim() !== '' && { notify: { email: notify.trim() } }),
  });
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      await work();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const doPreview = () =>
    run(async () => setPreview(await call(api.POST('/v1/tenants/{t}/privacy-requests/preview', { params: { ...t, query: { limit: '500' } }, body: body() as never }))));
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const accepted = await call(
        api.POST('/v1/tenants/{t}/privacy-requests', { params: { ...t, header: { 'Idempotency-Key': randomString(16) } }, body: body() as never }),
      );
      setStatus(`Request ${accepted.requestId} ${accepted.status}; due by ${when(accepted.dueAt)}.`);
      setValue('');
      setPreview(undefined);
      requests.reload();
    });
  };
  const filterMode = kind === 'erasure' && mode === 'filter';

  return (
    <>
      <ErrorNote error={error} />
      {status !== undefined && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      <Section title="File a request" id="file-h">
        <form class="grid" onSubmit={submit} aria-label="File a privacy request">
          <label>
            Kind
            <select name="kind" value={kind} onChange={(e) => (setKind((e.target as HTMLSelectElement).value as typeof kind), setMode('subject'))}>
              {KINDS.map((k) => (
                <option value={k}>{k}</option>
              ))}
            </select>
          </label>
          {kind === 'erasure' && (
            <fieldset class="wide">
              <legend>Whose data</legend>
              <label class="inline">
                <input type="radio" name="mode" checked={mode === 'subject'} onChange={() => setMode('subject')} /> one customer
              </label>
              <label class="inline">
                <input type="radio" name="mode" checked={mode === 'filter'} onChange={() => setMode('filter')} /> every customer matching a filter (bulk)
              </label>
            </fieldset>
          )}
          {!filterMode && (
            <>
              <label>
                Find the customer by
                <select name="selector" value={selector} onChange={(e) => setSelector((e.target as HTMLSelectElement).value as typeof selector)}>
                  {SELECTORS.map((s) => (
                    <option value={s}>{s === 'customerId' ? 'customer id' : s === 'email' ? 'e-mail' : s}</option>
                  ))}
                </select>
              </label>
              <label>
                Value
                <input name="value" value={value} required autoComplete="off" onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
          {filterMode && (
            <>
              <label>
                Bot id
                <input name="botId" value={filter.botId} onInput={(e) => setFilter({ ...filter, botId: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                Channel
                <select name="channel" value={filter.channel} onChange={(e) => setFilter({ ...filter, channel: (e.target as HTMLSelectElement).value })}>
                  <option value="">(any)</option>
                  {CHANNELS.map((c) => (
                    <option value={c}>{c}</option>
                  ))}
                </select>
              </label>
              <label>
                First contact from
                <input type="date" name="from" value={filter.from} onInput={(e) => setFilter({ ...filter, from: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                First contact to
                <input type="date" name="to" value={filter.to} onInput={(e) => setFilter({ ...filter, to: (e.target as HTMLInputElement).value })} />
              </label>
            </>
          )}
          <label>
            Notify (e-mail, optional)
            <input type="email" name="notify" value={notify} onInput={(e) => setNotify((e.target as HTMLInputElement).value)} />
          </label>
          {kind !== 'access' && (
            <label class="inline">
              <input type="checkbox" name="force" checked={force} onChange={(e) => setForce((e.target as HTMLInputElement).checked)} /> close open conversations
              instead of refusing
            </label>
          )}
          <div class="actions wide">
            {filterMode && (
              <button type="button" disabled={busy} onClick={() => void doPreview()}>
                Preview
              </button>
            )}
            <button type="submit" class="primary" disabled={busy || (filterMode && preview === undefined)}>
              File {kind} request
            </button>
            {filterMode && preview === undefined && <span class="muted small">Preview the filter first.</span>}
          </div>
        </form>
        {filterMode && preview !== undefined && (
          <div class="preview">
            <p>
              The erasure would take <strong>{preview.customers.length}</strong>
              {preview.nextCursor !== undefined ? '+' : ''} customer{preview.customers.length === 1 ? '' : 's'} and delete{' '}
              <strong>{total(preview.categories, 'wouldDelete')}</strong> items
              {preview.skipped !== undefined && preview.skipped.length > 0 && <> ({preview.skipped.length} skipped: an open conversation)</>}.
            </p>
            <CountsTable counts={preview.categories} columns={['wouldDelete', 'held', 'examined']} caption="What the erasure would delete, per category" />
          </div>
        )}
      </Section>
      <Section title="Requests" id="requests-h">
        <ErrorNote error={requests.error} />
        <Loading when={requests.loading && requests.data === undefined} />
        {requests.data !== undefined && requests.data.requests.length === 0 && <p class="muted">No privacy request yet.</p>}
        {requests.data !== undefined && requests.data.requests.length > 0 && (
          <table aria-live="polite">
            <thead>
              <tr>
                <th scope="col">request</th>
                <th scope="col">kind</th>
                <th scope="col">by</th>
                <th scope="col" class="num">
                  customers
                </th>
                <th scope="col">received</th>
                <th scope="col">status</th>
                <th scope="col" class="num">
                  deleted
                </th>
              </tr>
            </thead>
            <tbody>
              {requests.data.requests.map((r) => (
                <tr data-request={r.requestId}>
                  <td class="mono small">{r.requestId}</td>
                  <td>{r.kind}</td>
                  <td>{label(r.selector)}</td>
                  <td class="num">{r.subjects}</td>
                  <td class="small">{when(r.receivedAt)}</td>
                  <td>
                    <span class={`badge status-${r.status}`}>{label(r.status)}</span>
                    {r.reason !== undefined && <div class="small muted">{r.reason}</div>}
                    {r.exportUrl !== undefined && (
                      <div class="small">
                        <a href={r.exportUrl}>export</a>
                      </div>
                    )}
                  </td>
                  <td class="num">{total(r.counts, 'deleted')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
