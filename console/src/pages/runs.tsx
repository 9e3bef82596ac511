/** Runs and receipts: every deletion run (sweeps, manual deletions, privacy requests) with its counts; one run's receipt in full; start a run or a dry run. */
import { useEffect, useState } from 'preact/hooks';
import { call, type Answer } from '../api.js';
import { CountsTable, ErrorNote, label, Loading, Section, total, useAsync, useConsole, when } from '../ui.js';

type Run = Answer<'/v1/tenants/{t}/deletion-runs/{id}', 'get'>;
const POLL_MS = 2000;

function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function Receipt({ run }: { run: Run }) {
  return (
    <Section title={`Receipt ${run.runId}`} id="receipt-h">
      <dl class="facts">
        <dt>kind</dt>
        <dd>
          {label(run.kind)}
          {run.dryRun ? ' (dry run: nothing deleted)' : ''}
        </dd>
        <dt>status</dt>
        <dd>
          <span class={`badge status-${run.status}`}>{run.status}</span>
        </dd>
        <dt>started</dt>
        <dd>{when(run.startedAt)}</dd>
        <dt>finished</dt>
        <dd>
          {when(run.finishedAt)} ({duration(run.durationMs)})
        </dd>
        <dt>policy</dt>
        <dd>
          {run.profile}, version {run.policyVersion}
        </dd>
        <dt>{run.dryRun ? 'would delete' : 'deleted'}</dt>
        <dd>{total(run.categories, 'deleted')}</dd>
        {run.shredded !== undefined && (
          <>
            <dt>keys destroyed</dt>
            <dd>
              {run.shredded.subjectKeys} subject, {run.shredded.epochKeys} epoch
            </dd>
          </>
        )}
        {run.exportsDeleted !== undefined && (
          <>
            <dt>exports deleted</dt>
            <dd>{run.exportsDeleted}</dd>
          </>
        )}
      </dl>
      {run.failedStages.map((f) => (
        <p class="error">
          Stage {f.stage} failed: {f.error}
        </p>
      ))}
      <CountsTable counts={run.categories} columns={['examined', 'deleted', 'held', 'failed', 'kept']} caption={run.dryRun ? 'Per category (dry run: "deleted" would be deleted)' : 'Per category'} />
      {Object.keys(run.cutoffs).length > 0 && (
        <details>
          <summary>Cutoffs (records whose clock started before these were due)</summary>
          <ul class="small">
            {Object.entries(run.cutoffs).map(([c, at]) => (
              <li>
                {label(c)}: {at === null ? 'kept indefinitely' : when(at)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}

export function RunsPage({ runId }: { runId: string }) {
  const { api, tenantId } = useConsole();
  const t = { path: { t: tenantId } };
  const runs = useAsync(() => call(api.GET('/v1/tenants/{t}/deletion-runs', { params: { ...t, query: { limit: '50' } } })), [tenantId]);
  const run = useAsync(
    async () => (runId === '' ? undefined : call(api.GET('/v1/tenants/{t}/deletion-runs/{id}', { params: { path: { t: tenantId, id: decodeURIComponent(runId) } } }))),
    [tenantId, runId],
  );
  const [error, setError] = useState<Error>();
  const [status, setStatus] = useState<string>();
  const running = (runs.data?.runs ?? []).some((r) => r.status === 'running');
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(() => (runs.reload(), run.reload()), POLL_MS);
    return () => clearTimeout(timer);
  }, [running, runs.data]);

  const start = async (dryRun: boolean) => {
    setError(undefined);
    try {
      const started = await call(api.POST('/v1/tenants/{t}/deletion-runs', { params: t, body: { dryRun } }));
      setStatus(`Run ${started.runId} started${dryRun ? ' (dry run)' : ''}.`);
      runs.reload();
    } catch (e) {
      setError(e as Error);
    }
  };

  return (
    <>
      <div class="actions">
        <button type="button" onClick={() => void start(true)}>
          Start a dry run
        </button>
        <button type="button" class="danger" onClick={() => void start(false)}>
          Sweep now
        </button>
      </div>
      <ErrorNote error={error ?? runs.error ?? run.error} />
      {status !== undefined && (
        <p class="ok" role="status">
          {status}
        </p>
      )}
      {run.data !== undefined && <Receipt run={run.data} />}
      <Section title="Runs" id="runs-h">
        <Loading when={runs.loading && runs.data === undefined} />
        {runs.data !== undefined && runs.data.runs.length === 0 && <p class="muted">No run yet.</p>}
        {runs.data !== undefined && runs.data.runs.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">run</th>
                <th scope="col">kind</th>
                <th scope="col">started</th>
                <th scope="col">status</th>
                <th scope="col" class="num">
                  examined
                </th>
                <th scope="col" class="num">
                  deleted
                </th>
                <th scope="col" class="num">
                  held
                </th>
                <th scope="col" class="num">
                  failed
                </th>
                <th scope="col" class="num">
                  took
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.data.runs.map((r) => (
                <tr aria-current={r.runId === decodeURIComponent(runId) ? 'true' : undefined}>
                  <td class="mono small">
                    <a href={`#/runs/${encodeURIComponent(r.runId)}`}>{r.runId}</a>
                  </td>
                  <td>
                    {label(r.kind)}
                    {r.dryRun ? <span class="badge muted">dry run</span> : null}
                  </td>
                  <td class="small">{when(r.startedAt)}</td>
                  <td>
                    <span class={`badge status-${r.status}`}>{r.status}</span>
                  </td>
                  <td class="num">{total(r.categories, 'examined')}</td>
                  <td class="num">{r.dryRun ? <span title="would delete">({total(r.categories, 'deleted')})</span> : total(r.categories, 'deleted')}</td>
                  <td class="num">{total(r.categories, 'held')}</td>
                  <td class="num">{total(r.categories, 'failed')}</td>
                  <td class="num">{duration(r.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
