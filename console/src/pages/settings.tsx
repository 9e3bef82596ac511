/**
 * Retention settings: the profile's settings and every category's period with
 * its bounds, the lock, and the history. A change that shortens a period (or
 * one the profile always wants acknowledged) first shows what the preview
 * says it would delete, per category, and is sent with acknowledgeDataLoss
 * only once "I understand" is ticked.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, type Answer } from '../api.js';
import { CountsTable, days, ErrorNote, label, Loading, Section, total, useAsync, useConsole, when } from '../ui.js';

type Policy = Answer<'/v1/tenants/{t}/retention-policy', 'get'>;
type Preview = Answer<'/v1/tenants/{t}/retention-policy/preview', 'post'>;
type Period = number | null;

interface Draft {
  readonly settings: Record<string, Period>;
  readonly categories: Record<string, Period>;
}

const EMPTY: Draft = { settings: {}, categories: {} };

function isShorter(next: Period, previous: Period): boolean {
  if (next === null) return false;
  return previous === null || next < previous;
}

function PeriodInput({
  id,
  name,
  value,
  min,
  max,
  indefiniteAllowed,
  disabled,
  onChange,
}: {
  id: string;
  name: string;
  value: Period;
  min: number;
  max: Period;
  indefiniteAllowed: boolean;
  disabled: boolean;
  onChange: (value: Period) => void;
}) {
  return (
    <span class="period">
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={min}
        {...(max !== null && { max })}
        value={value ?? ''}
        disabled={disabled || value === null}
        aria-label={`${name}: days kept`}
        onInput={(e) => {
          const raw = (e.target as HTMLInputElement).value;
          if (raw !== '' && Number.isFinite(Number(raw))) onChange(Math.trunc(Number(raw)));
        }}
      />{' '}
      days
      {indefiniteAllowed && (
        <label class="inline">
          <input
            type="checkbox"
            checked={value === null}
            disabled={disabled}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? null : min)}
          />{' '}
          indefinitely
        </label>
      )}
    </span>
  );
}

/** The modal asking for the acknowledgement, with the preview's counts. */
function AcknowledgeDialog({
  preview,
  busy,
  onConfirm,
  onCancel,
}: {
  preview: Preview;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [understood, setUnderstood] = useState(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const count = total(preview.categories, 'wouldDelete');
  return (
    <dialog ref={ref} class="ack" aria-labelledby="ack-title" onCancel={onCancel}>
      <h2 id="ack-title">This change deletes data</h2>
      <p>
        At the next sweep, <strong>{count}</strong> item{count === 1 ? '' : 's'} kept today would be deleted for good (held items stay).
      </p>
      <CountsTable counts={preview.categories} columns={['wouldDelete', 'held']} caption="What the next sweep would delete, per category" />
      <label class="inline understand">
        <input type="checkbox" name="understand" checked={understood} onChange={(e) => setUnderstood((e.target as HTMLInputElement).checked)} /> I understand
        that these {count} items will be deleted and cannot be recovered
      </label>
      <div class="actions">
        <button type="button" class="danger" disabled={!understood || busy} onClick={onConfirm}>
          Save and acknowledge data loss
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export function SettingsPage() {
  const { api, tenantId, access } = useConsole();
  const t = { path: { t: tenantId } };
  const policy = useAsync(() => call(api.GET('/v1/tenants/{t}/retention-policy', { params: t })), [tenantId]);
  const history = useAsync(() => call(api.GET('/v1/tenants/{t}/retention-policy/history', { params: t })), [tenantId]);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [lock, setLock] = useState(false);
  const [preview, setPreview] = useState<Preview>();
  const [asking, setAsking] = useState<Preview>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string>();
  const canChange = access.can('changeRetentionSettings');

  if (policy.data === undefined) {
    return (
      <>
        <Loading when={policy.loading} />
        <ErrorNote error={policy.error} />
      </>
    );
  }
  const p: Policy = policy.data;

  const changed = Object.keys(draft.settings).length + Object.keys(draft.categories).length > 0;
  const body = () => ({
    ...(Object.keys(draft.settings).length > 0 && { settings: Object.fromEntries(Object.entries(draft.settings).map(([k, v]) => [k, { days: v }])) }),
    ...(Object.keys(draft.categories).length > 0 && { categories: Object.fromEntries(Object.entries(draft.categories).map(([k, v]) => [k, { days: v }])) }),
    ...(lock && { lock: true }),
  });
  const needsAcknowledgement = () =>
    Object.entries(draft.settings).some(([name, v]) => p.settings[name]?.acknowledge === 'always' || isShorter(v, p.settings[name]?.days ?? null)) ||
    Object.entries(draft.categories).some(([name, v]) => isShorter(v, p.categories[name as keyof Policy['categories']]?.days ?? null));

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const doPreview = () => call(api.POST('/v1/tenants/{t}/retention-policy/preview', { params: t, body: body() as never }));
  const save = (acknowledgeDataLoss: boolean) =>
    run(async () => {
      const result = await call(
        api.PUT('/v1/tenants/{t}/retention-policy', {
          params: t,
          body: { ...body(), ...(acknowledgeDataLoss && { acknowledgeDataLoss: true }), expectedVersion: p.version } as never,
        }),
      );
      setAsking(undefined);
      setPreview(undefined);
      setDraft(EMPTY);
      setLock(false);
      setSaved(`Saved: version ${result.version}.`);
      policy.reload();
      history.reload();
    });
  const onSave = () =>
    run(async () => {
      setSaved(undefined);
      if (needsAcknowledgement()) setAsking(await doPreview());
      else await save(false);
    });

  const setPeriod = (kind: keyof Draft, name: string, current: Period) => (value: Period) =>
    setDraft((d) => {
      const next = { ...d[kind] };
      if (value === current) delete next[name];
      else next[name] = value;
      return { ...d, [kind]: next };
    });

  const settings = Object.entries(p.settings);
  return (
    <>
      <p>
        Profile <strong>{p.profile}</strong> · version {p.version}
        {p.updatedAt !== undefined && <> · changed {when(p.updatedAt)}</>} ·{' '}
        {p.locked ? <strong class="badge">locked: periods can only be extended</strong> : <span class="badge muted">not locked</span>}
      </p>
      {!canChange && <p class="muted">Your role may read these settings, not change them.</p>}
      <ErrorNote error={error} />
      {saved !== undefined && (
        <p class="ok" role="status">
          {saved}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSave();
        }}
        aria-label="Retention settings"
      >
        {settings.length > 0 && (
          <Section title="Settings" id="settings-h">
            <table>
              <thead>
                <tr>
                  <th scope="col">setting</th>
                  <th scope="col">kept for</th>
                  <th scope="col">bounds</th>
                  <th scope="col">governs</th>
                </tr>
              </thead>
              <tbody>
                {settings.map(([name, s]) => (
                  <tr>
                    <th scope="row">
                      {label(name)}
                      <div class="muted small">{s.description}</div>
                    </th>
                    <td>
                      <PeriodInput
                        id={`setting-${name}`}
                        name={name}
                        value={name in draft.settings ? (draft.settings[name] as Period) : s.days}
                        min={s.min}
                        max={s.max}
                        indefiniteAllowed={s.indefiniteAllowed}
                        disabled={!canChange}
                        onChange={setPeriod('settings', name, s.days)}
                      />
                    </td>
                    <td class="small">
                      {s.min}–{s.max ?? '∞'} days · default {days(s.default)}
                      {s.source === 'tenant' ? ' · set by tenant' : ''}
                    </td>
                    <td class="small">{s.governs.map(label).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        )}
        <Section title="Categories" id="categories-h">
          <table>
            <thead>
              <tr>
                <th scope="col">category</th>
                <th scope="col">kept for</th>
                <th scope="col">bounds</th>
                <th scope="col">decided by</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(p.categories).map(([name, c]) => (
                <tr>
                  <th scope="row">{label(name)}</th>
                  <td>
                    {c.governedBy === 'category' ? (
                      <PeriodInput
                        id={`category-${name}`}
                        name={label(name)}
                        value={name in draft.categories ? (draft.categories[name] as Period) : c.days}
                        min={c.min}
                        max={c.max}
                        indefiniteAllowed={c.indefiniteAllowed}
                        disabled={!canChange}
                        onChange={setPeriod('categories', name, c.days)}
                      />
                    ) : (
                      days(c.days)
                    )}
                  </td>
                  <td class="small">
                    {c.min}–{c.max ?? '∞'} days · default {days(c.default)}
                    {c.source === 'tenant' ? ' · set by tenant' : ''}
                  </td>
                  <td class="small">
                    {c.governedBy === 'setting'
                      ? `setting ${label(c.setting ?? '')}`
                      : c.governedBy === 'account_lifetime'
                        ? `account lifetime${p.accountLifetime !== null ? ` (${p.accountLifetime.inactivityDays} days inactive)` : ''}`
                        : 'its own period'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        {canChange && (
          <div class="actions">
            {!p.locked && (
              <label class="inline">
                <input type="checkbox" name="lock" checked={lock} onChange={(e) => setLock((e.target as HTMLInputElement).checked)} /> Lock the policy (from
                then on periods can only be extended)
              </label>
            )}
            <button type="button" disabled={!changed || busy} onClick={() => run(async () => setPreview(await doPreview()))}>
              Preview change
            </button>
            <button type="submit" class="primary" disabled={(!changed && !lock) || busy}>
              Save
            </button>
            <button type="button" disabled={!changed || busy} onClick={() => (setDraft(EMPTY), setPreview(undefined))}>
              Discard
            </button>
          </div>
        )}
      </form>
      {preview !== undefined && (
        <Section title="Preview" id="preview-h">
          <p>
            At {when(preview.at)} the change would make <strong>{total(preview.categories, 'wouldDelete')}</strong> items due for deletion.
          </p>
          <CountsTable counts={preview.categories} columns={['wouldDelete', 'held', 'examined']} caption="Per category" />
        </Section>
      )}
      {asking !== undefined && <AcknowledgeDialog preview={asking} busy={busy} onConfirm={() => void save(true)} onCancel={() => setAsking(undefined)} />}
      <Section title="History" id="history-h">
        <ErrorNote error={history.error} />
        <Loading when={history.loading && history.data === undefined} />
        {history.data !== undefined && history.data.revisions.length === 0 && <p class="muted">No change yet: the profile's defaults apply.</p>}
        {history.data !== undefined && history.data.revisions.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">version</th>
                <th scope="col">changed</th>
                <th scope="col">by</th>
                <th scope="col">what</th>
              </tr>
            </thead>
            <tbody>
              {history.data.revisions.map((r) => (
                <tr>
                  <td>{r.version}</td>
                  <td>{when(r.changedAt)}</td>
                  <td class="mono small">{r.changedBy}</td>
                  <td class="small">{describeRevision(r.policy, r.previous, p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

type Revision = Answer<'/v1/tenants/{t}/retention-policy/history', 'get'>['revisions'][number];

/** `conversation 183 → 90 days; locked` */
function describeRevision(policy: Revision['policy'], previous: Revision['previous'], view: Policy): string {
  const parts: string[] = [];
  const compare = (kind: 'settings' | 'categories') => {
    const now = (policy[kind] ?? {}) as Record<string, { days: Period } | undefined>;
    const before = (previous?.[kind] ?? {}) as Record<string, { days: Period } | undefined>;
    // A value the tenant never set is the profile's default.
    const fallback = (name: string): Period | undefined => (view[kind] as Record<string, { default: Period } | undefined>)[name]?.default;
    const show = (v: Period | undefined) => (v === undefined ? 'default' : days(v));
    for (const name of new Set([...Object.keys(now), ...Object.keys(before)])) {
      const a = before[name]?.days;
      const b = now[name]?.days;
      if (a !== b) parts.push(`${label(name)} ${show(a === undefined ? fallback(name) : a)} → ${show(b === undefined ? fallback(name) : b)}`);
    }
  };
  compare('settings');
  compare('categories');
  if (policy.locked && previous?.locked !== true) parts.push('locked');
  return parts.length > 0 ? parts.join('; ') : 'no period changed';
}
