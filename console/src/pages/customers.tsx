/**
 * Customers: look one up by phone, e-mail, name or external id; download
 * everything kept about them (the export); delete them with everything under
 * them — a 409 (an open conversation) is explained, and what a legal hold
 * keeps is said.
 */
import { useRef, useState } from 'preact/hooks';
import { ApiError, call, type Answer } from '../api.js';
import { CountsTable, ErrorNote, Section, useConsole, when, downloadJson } from '../ui.js';

type Customer = Answer<'/v1/tenants/{t}/customers', 'get'>['customers'][number];
type Deletion = Answer<'/v1/tenants/{t}/customers/{id}', 'delete'>;
const KEYS = ['phone', 'email', 'name', 'externalId'] as const;
const KEY_LABEL: Record<(typeof KEYS)[number], string> = { phone: 'phone', email: 'e-mail', name: 'name', externalId: 'external id' };

function explain(error: Error): string {
  if (error instanceof ApiError && error.status === 409) {
    if (error.code === 'conversation_open') {
      return `Not deleted: ${error.message.replace(/^id: /, '')}. A customer in the middle of a conversation is not deleted under it: close the conversation in the platform (or file an erasure with "close open conversations") and try again.`;
    }
    return `Not deleted (409 ${error.code ?? 'conflict'}): ${error.message}`;
  }
  return error.message;
}

export function CustomersPage() {
  const { api, tenantId, access } = useConsole();
  const [key, setKey] = useState<(typeof KEYS)[number]>('phone');
  const [value, setValue] = useState('');
  const [found, setFound] = useState<Customer[]>();
  const [error, setError] = useState<Error>();
  const [status, setStatus] = useState<string>();
  const [deletion, setDeletion] = useState<Deletion>();
  const [confirming, setConfirming] = useState<string>();
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

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
  const lookup = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      setDeletion(undefined);
      const answer = await call(api.GET('/v1/tenants/{t}/customers', { params: { path: { t: tenantId }, query: { [key]: value.trim() } } }));
      setFound(answer.customers);
    });
  };
  const exportOne = (id: string) =>
    run(async () => {
      const data = await call(api.GET('/v1/tenants/{t}/customers/{id}/export', { params: { path: { t: tenantId, id } } }));
      downloadJson(`lethe-export-${tenantId}-${id}.json`, data);
      setStatus(`Export of ${id} downloaded (${data.recordCount} records).`);
    });
  const askDelete = (id: string) => {
    setConfirming(id);
    setTimeout(() => dialog.current?.showModal(), 0);
  };
  const deleteOne = (id: string) =>
    run(async () => {
      dialog.current?.close();
      setConfirming(undefined);
      const outcome = await call(api.DELETE('/v1/tenants/{t}/customers/{id}', { params: { path: { t: tenantId, id } } }));
      setDeletion(outcome);
      setStatus(
        outcome.status === 'continuing'
          ? `Deleting ${id}: ${outcome.deleted} items so far; the rest continues in the background (receipt ${outcome.receiptId}).`
          : `Customer ${id}: ${outcome.deleted} items deleted${outcome.held > 0 ? `, ${outcome.held} kept by legal hold ${(outcome.holdIds ?? []).join(', ')}` : ''}${outcome.failed > 0 ? `, ${outcome.failed} failed (retried later)` : ''} (receipt ${outcome.receiptId}).`,
      );
      setFound((list) => (outcome.held > 0 ? list : list?.filter((c) => c.customerId !== id)));
    });

  return (
    <>
      <Section title="Find a customer" id="find-h">
        <form class="grid" onSubmit={lookup} aria-label="Find a customer">
          <label>
            By
            <select name="key" value={key} onChange={(e) => setKey((e.target as HTMLSelectElement).value as typeof key)}>
              {KEYS.map((k) => (
                <option value={k}>{KEY_LABEL[k]}</option>
              ))}
            </select>
          </label>
          <label>
            Value
            <input name="value" value={value} required autoComplete="off" onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          </label>
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Find
            </button>
          </div>
        </form>
      </Section>
      {error !== undefined && (
        <p class="error" role="alert">
          {explain(error)}
        </p>
      )}
      {status !== undefined && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      {deletion !== undefined && <CountsTable counts={deletion.categories} columns={['deleted', 'held', 'failed']} caption="What the deletion did, per category" />}
      {found !== undefined && (
        <Section title="Customers found" id="found-h">
          {found.length === 0 && <p class="muted">No customer with that {KEY_LABEL[key]}.</p>}
          {found.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">customer id</th>
                  <th scope="col">first contact</th>
                  <th scope="col">last contact</th>
                  <th scope="col" class="num">
                    conversations
                  </th>
                  <th scope="col" class="num">
                    open
                  </th>
                  <th scope="col" class="num">
                    calls
                  </th>
                  <th scope="col">
                    <span class="sr-only">actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {found.map((c) => (
                  <tr>
                    <td class="mono">{c.customerId}</td>
                    <td class="small">{when(c.firstContactAt)}</td>
                    <td class="small">{when(c.lastContactAt)}</td>
                    <td class="num">{c.conversations}</td>
                    <td class="num">{c.openConversations}</td>
                    <td class="num">{c.calls}</td>
                    <td class="actions">
                      {access.can('exportCustomers') && (
                        <button type="button" disabled={busy} onClick={() => void exportOne(c.customerId)} aria-label={`Export ${c.customerId}`}>
                          Export
                        </button>
                      )}
                      {access.can('deleteCustomers') && (
                        <button type="button" class="danger" disabled={busy} onClick={() => askDelete(c.customerId)} aria-label={`Delete ${c.customerId}`}>
                          Delete…
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      )}
      <dialog ref={dialog} aria-labelledby="delete-title" onCancel={() => setConfirming(undefined)}>
        <h2 id="delete-title">Delete customer {confirming}?</h2>
        <p>Everything of this customer goes now: profile, identifiers, conversations, messages, calls, recordings, media. What a legal hold keeps stays.</p>
        <div class="actions">
          <button type="button" class="danger" disabled={busy || confirming === undefined} onClick={() => confirming !== undefined && void deleteOne(confirming)}>
            Delete customer
          </button>
          <button type="button" onClick={() => (dialog.current?.close(), setConfirming(undefined))}>
            Cancel
          </button>
        </div>
      </dialog>
      <ErrorNote error={undefined} />
    </>
  );
}
