/** The audit trail: who did what and when, newest first, with before and after; paged. */
import { useState } from 'preact/hooks';
import { call, type Answer } from '../api.js';
import { ErrorNote, Loading, Section, useAsync, useConsole, when } from '../ui.js';

type Page = Answer<'/v1/tenants/{t}/audit-events', 'get'>;
const PAGE_SIZE = 50;

export function AuditPage() {
  const { api, tenantId } = useConsole();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useAsync<Page>(
    () => call(api.GET('/v1/tenants/{t}/audit-events', { params: { path: { t: tenantId }, query: { limit: String(PAGE_SIZE), ...(cursor !== undefined && { cursor }) } } })),
    [tenantId, cursor],
  );
  const events = page.data?.events ?? [];
  return (
    <>
      <p class="muted small">Actors are shown as keyed hashes of their token subject: the trail names no person.</p>
      <ErrorNote error={page.error} />
      <Section title={cursors.length === 0 ? 'Latest events' : `Older events (page ${cursors.length + 1})`} id="audit-h">
        <Loading when={page.loading} />
        {page.data !== undefined && events.length === 0 && <p class="muted">No event.</p>}
        {events.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">when</th>
                <th scope="col">action</th>
                <th scope="col">actor</th>
                <th scope="col">details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td class="small">{when(e.at)}</td>
                  <td class="mono small">{e.action}</td>
                  <td class="mono small">{e.actor}</td>
                  <td class="small">
                    {e.refs !== undefined && (
                      <div>
                        {Object.entries(e.refs)
                          .map(([k, v]) => `${k} ${v}`)
                          .join(' · ')}
                      </div>
                    )}
                    {(e.before !== undefined || e.after !== undefined) && (
                      <details>
                        <summary>before / after</summary>
                        <div class="diff">
                          <pre aria-label="before">{e.before === undefined ? '—' : JSON.stringify(e.before, null, 2)}</pre>
                          <pre aria-label="after">{e.after === undefined ? '—' : JSON.stringify(e.after, null, 2)}</pre>
                        </div>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div class="actions">
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer
          </button>
          <button type="button" disabled={page.data?.nextCursor === undefined} onClick={() => page.data?.nextCursor !== undefined && setCursors([...cursors, page.data.nextCursor])}>
            Older
          </button>
        </div>
      </Section>
    </>
  );
}
