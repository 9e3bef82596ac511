/** Local mode's sign-in: pick a tenant and a role; the local server mints a dev token (`lethe token` in a browser). */
import { useState } from 'preact/hooks';
import type { Role } from '../../../shared/domain/roles.js';
import { devSignIn, devSignInChoices, type Session } from '../auth.js';
import type { ConsoleConfig } from '../config.js';
import { ErrorNote, Loading, useAsync } from '../ui.js';

export function DevSignIn({ config, onSignedIn }: { config: ConsoleConfig; onSignedIn: (session: Session) => void }) {
  const choices = useAsync(() => devSignInChoices(config.apiUrl), []);
  const [tenantId, setTenantId] = useState('');
  const [role, setRole] = useState<Role>('ComplianceAdministrator');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const tenants = choices.data?.tenants ?? [];
  const tenant = tenantId !== '' ? tenantId : (tenants[0]?.tenantId ?? '');

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await devSignIn(config.apiUrl, role === 'SuperAdministrator' && tenant === '' ? undefined : tenant, role, sessionStorage));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center">
      <h1>Lethe console</h1>
      <p class="muted">Local mode: sign in as any tenant's administrator with a dev token (as <code>npx lethe token</code> gives).</p>
      <Loading when={choices.loading} />
      <ErrorNote error={choices.error ?? error} />
      {choices.data !== undefined && (
        <form class="stack" onSubmit={submit} aria-label="Dev sign-in">
          <label>
            Tenant
            <select name="tenant" value={tenant} onChange={(e) => setTenantId((e.target as HTMLSelectElement).value)}>
              {tenants.length === 0 && <option value="">(no tenant yet)</option>}
              {tenants.map((t) => (
                <option value={t.tenantId}>{t.name !== undefined ? `${t.tenantId} — ${t.name}` : t.tenantId}</option>
              ))}
            </select>
          </label>
          <label>
            Role
            <select name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
              {choices.data.roles.map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      <p>
        <a href="/docs">API docs</a>
      </p>
    </main>
  );
}
