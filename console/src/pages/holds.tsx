/** Legal holds: what is held and why, place one (customer, conversation, call and/or category), release one. */
import { useState } from 'preact/hooks';
import { CATEGORIES } from '../../../shared/domain/catalog.js';
import { call } from '../api.js';
import { ErrorNote, label, Loading, Section, useAsync, useConsole, when } from '../ui.js';

export function HoldsPage() {
  const { api, tenantId } = useConsole();
  const t = { path: { t: tenantId } };
  const holds = useAsync(() => call(api.GET('/v1/tenants/{t}/legal-holds', { params: t })), [tenantId]);
  const [form, setForm] = useState({ customerId: '', conversationId: '', callId: '', category: '', reason: '', expiresAt: '' });
  const [error, setError] = useState<Error>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);

  const field = (name: keyof typeof form) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      setStatus(await work());
      holds.reload();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const place = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const scope = Object.fromEntries((['customerId', 'conversationId', 'callId', 'category'] as const).filter((k) => form[k] !== '').map((k) => [k, form[k]]));
      const expires = form.expiresAt === '' ? undefined : new Date(`${form.expiresAt}T23:59:59Z`).toISOString();
      const hold = await call(
        api.POST('/v1/tenants/{t}/legal-holds', { params: t, body: { scope, reason: form.reason, ...(expires !== undefined && { expiresAt: expires }) } as never }),
      );
      setForm({ customerId: '', conversationId: '', callId: '', category: '', reason: '', expiresAt: '' });
      return `Hold ${hold.holdId} placed.`;
    });
  };
  const release = (holdId: string) =>
    run(async () => {
      await call(api.DELETE('/v1/tenants/{t}/legal-holds/{holdId}', { params: { path: { t: tenantId, holdId } } }));
      return `Hold ${holdId} released.`;
    });

  const list = holds.data?.holds ?? [];
  return (
    <>
      <ErrorNote error={error ?? holds.error} />
      {status !== undefined && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      <Section title="Place a hold" id="place-h">
        <p class="muted small">Held data is not deleted by sweeps, erasures or manual deletions until the hold is released. An empty scope holds the whole tenant.</p>
        <form class="grid" onSubmit={place} aria-label="Place a legal hold">
          <label>
            Customer id
            <input {...field('customerId')} autoComplete="off" />
          </label>
          <label>
            Conversation id
            <input {...field('conversationId')} autoComplete="off" />
          </label>
          <label>
            Call id
            <input {...field('callId')} autoComplete="off" />
          </label>
          <label>
            Category
            <select {...field('category')} onChange={(e) => setForm({ ...form, category: (e.target as HTMLSelectElement).value })}>
              <option value="">(every category)</option>
              {CATEGORIES.map((c) => (
                <option value={c}>{label(c)}</option>
              ))}
            </select>
          </label>
          <label class="wide">
            Reason (required; no personal data)
            <input {...field('reason')} required maxLength={1000} />
          </label>
          <label>
            Expires (optional)
            <input type="date" {...field('expiresAt')} />
          </label>
          <div class="actions wide">
            <button type="submit" class="primary" disabled={busy}>
              Place hold
            </button>
          </div>
        </form>
      </Section>
      <Section title="Holds" id="holds-h">
        <Loading when={holds.loading && holds.data === undefined} />
        {holds.data !== undefined && list.length === 0 && <p class="muted">No legal hold.</p>}
        {list.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">hold</th>
                <th scope="col">scope</th>
                <th scope="col">reason</th>
                <th scope="col">placed</th>
                <th scope="col">status</th>
                <th scope="col">
                  <span class="sr-only">actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((h) => (
                <tr>
                  <td class="mono small">{h.holdId}</td>
                  <td class="small">
                    {Object.entries(h.scope)
                      .map(([k, v]) => `${k} ${k === 'category' ? label(String(v)) : String(v)}`)
                      .join(' · ') || 'whole tenant'}
                  </td>
                  <td>{h.reason}</td>
                  <td class="small">{when(h.createdAt)}</td>
                  <td>
                    <span class={`badge ${h.active ? 'warn' : 'muted'}`}>{h.status ?? (h.active ? 'active' : 'released')}</span>
                    {h.expiresAt !== undefined && <div class="small muted">expires {when(h.expiresAt)}</div>}
                    {h.releasedAt !== undefined && <div class="small muted">released {when(h.releasedAt)}</div>}
                  </td>
                  <td>
                    {h.active && (
                      <button type="button" disabled={busy} onClick={() => void release(h.holdId)} aria-label={`Release hold ${h.holdId}`}>
                        Release
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
