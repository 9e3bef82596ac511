/**
 * The Lethe web console: reads `/config.json`, signs in (dev or Cognito),
 * and shows the pages the signed-in role may use. Hash routes (`#/settings`)
 * so a static host needs no rewrite rules.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { accessFor, type Access } from './access.js';
import { call, createApi } from './api.js';
import {
  beginCognitoSignIn,
  clearSession,
  completeCognitoSignIn,
  decodeClaims,
  loadSession,
  logoutUrl,
  needsRefresh,
  refreshCognitoSession,
  type Session,
} from './auth.js';
import { loadConfig, type ConsoleConfig } from './config.js';
import { AuditPage } from './pages/audit.js';
import { CustomersPage } from './pages/customers.js';
import { HoldsPage } from './pages/holds.js';
import { OverviewPage } from './pages/overview.js';
import { PrivacyPage } from './pages/privacy.js';
import { RunsPage } from './pages/runs.js';
import { SettingsPage } from './pages/settings.js';
import { DevSignIn } from './pages/sign-in.js';
import { Ctx, ErrorNote, useAsync, type ConsoleContext } from './ui.js';

interface PageSpec {
  readonly path: string;
  readonly title: string;
  readonly allowed: (access: Access) => boolean;
  readonly render: (rest: string) => preact.JSX.Element;
}

const PAGES: readonly PageSpec[] = [
  { path: 'overview', title: 'Overview', allowed: (a) => a.can('readRetentionSettings'), render: () => <OverviewPage /> },
  { path: 'settings', title: 'Retention settings', allowed: (a) => a.can('readRetentionSettings'), render: () => <SettingsPage /> },
  { path: 'holds', title: 'Legal holds', allowed: (a) => a.can('manageLegalHolds'), render: () => <HoldsPage /> },
  { path: 'privacy', title: 'Privacy requests', allowed: (a) => a.can('filePrivacyRequests'), render: () => <PrivacyPage /> },
  { path: 'customers', title: 'Customers', allowed: (a) => a.lookUpCustomers, render: () => <CustomersPage /> },
  { path: 'runs', title: 'Runs and receipts', allowed: (a) => a.atLeast('Administrator'), render: (rest) => <RunsPage runId={rest} /> },
  { path: 'audit', title: 'Audit trail', allowed: (a) => a.atLeast('Administrator'), render: () => <AuditPage /> },
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Shell({ config, session, onSignOut }: { config: ConsoleConfig; session: Session; onSignOut: () => void }) {
  const claims = decodeClaims(session.token);
  const access = accessFor(claims.role, config.actionRoles);
  const [current, setCurrent] = useState(session);
  const api = useMemo(
    () =>
      createApi({
        baseUrl: config.apiUrl,
        token: async () => {
          if (config.auth.mode !== 'cognito' || !needsRefresh(current)) return current.token;
          const next = await refreshCognitoSession(config.auth, current, sessionStorage);
          setCurrent(next);
          return next.token;
        },
        onUnauthorized: onSignOut,
      }),
    [config, current, onSignOut],
  );
  // A SuperAdministrator's token names no tenant: pick one.
  const tenants = useAsync(
    async () => (claims.tenantId !== undefined ? [claims.tenantId] : (await call(api.GET('/v1/tenants'))).tenants.map((t) => t.tenantId)),
    [claims.tenantId],
  );
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const tenantId = claims.tenantId ?? picked ?? tenants.data?.[0];
  const hash = useHash();
  const pages = PAGES.filter((p) => p.allowed(access));
  const [path = '', ...rest] = hash.replace(/^#\/?/, '').split('/');
  const page = pages.find((p) => p.path === path) ?? pages[0];

  useEffect(() => {
    document.title = page === undefined ? 'Lethe console' : `${page.title} · Lethe console`;
  }, [page]);

  const ctx: ConsoleContext | undefined = tenantId === undefined ? undefined : { api, tenantId, access, claims, config };
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Lethe</span>
        <span class="who">
          {claims.displayName ?? 'signed in'} · <strong>{claims.role ?? 'no admin role'}</strong>
          {claims.tenantId !== undefined ? (
            <>
              {' '}
              · tenant <strong>{claims.tenantId}</strong>
            </>
          ) : (
            <label>
              {' '}
              · tenant{' '}
              <select value={tenantId} onChange={(e) => setPicked((e.target as HTMLSelectElement).value)}>
                {(tenants.data ?? []).map((t) => (
                  <option value={t}>{t}</option>
                ))}
              </select>
            </label>
          )}
        </span>
        <a class="docs-link" href="/docs">
          API docs
        </a>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav class="side" aria-label="Console pages">
        <ul>
          {pages.map((p) => (
            <li>
              <a href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <ErrorNote error={tenants.error} />
        {page === undefined ? (
          <p>This role ({claims.role ?? 'none'}) may not use any page of the console.</p>
        ) : ctx === undefined ? (
          <p class="muted">{tenants.loading ? 'Loading…' : 'No tenant to show.'}</p>
        ) : (
          <Ctx.Provider value={ctx}>
            <h1>{page.title}</h1>
            {page.render(rest.join('/'))}
          </Ctx.Provider>
        )}
      </main>
    </div>
  );
}

function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [session, setSession] = useState<Session | undefined>(() => loadSession(sessionStorage));
  const [error, setError] = useState<Error>();

  useEffect(() => {
    (async () => {
      const loaded = await loadConfig();
      setConfig(loaded);
      const params = new URLSearchParams(location.search);
      if (loaded.auth.mode === 'cognito' && (params.has('code') || params.has('error'))) {
        history.replaceState(null, '', `${location.pathname}${location.hash}`);
        setSession(await completeCognitoSignIn(loaded.auth, params, sessionStorage));
      }
    })().catch((e: unknown) => setError(e instanceof Error ? e : new Error(String(e))));
  }, []);

  const signOut = useMemo(
    () => () => {
      clearSession(sessionStorage);
      setSession(undefined);
      if (config?.auth.mode === 'cognito') location.assign(logoutUrl(config.auth));
    },
    [config],
  );

  if (error !== undefined) {
    return (
      <main class="center">
        <h1>Lethe console</h1>
        <ErrorNote error={error} />
      </main>
    );
  }
  if (config === undefined) return <p class="boot">Loading the Lethe console…</p>;
  const live = session !== undefined && (session.mode === 'cognito' ? session.refreshToken !== undefined || !needsRefresh(session) : !needsRefresh(session));
  if (session !== undefined && live) return <Shell config={config} session={session} onSignOut={signOut} />;
  if (config.auth.mode === 'dev') return <DevSignIn config={config} onSignedIn={setSession} />;
  const auth = config.auth;
  return (
    <main class="center">
      <h1>Lethe console</h1>
      <p>Sign in with your organisation's account.</p>
      <button
        type="button"
        class="primary"
        onClick={() => void beginCognitoSignIn(auth, sessionStorage).then((url) => location.assign(url), (e: Error) => setError(e))}
      >
        Sign in
      </button>
    </main>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
