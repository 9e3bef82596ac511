/** Small pieces every page uses: loading state, error notes, dates, count tables. */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import type { Access } from './access.js';
import type { Api } from './api.js';
import type { Claims } from './auth.js';
import type { ConsoleConfig } from './config.js';

export interface ConsoleContext {
  readonly api: Api;
  readonly tenantId: string;
  readonly access: Access;
  readonly claims: Claims;
  readonly config: ConsoleConfig;
}

export const Ctx = createContext<ConsoleContext | undefined>(undefined);

export function useConsole(): ConsoleContext {
  const ctx = useContext(Ctx);
  if (ctx === undefined) throw new Error('outside the console');
  return ctx;
}

export interface AsyncState<T> {
  readonly data?: T;
  readonly error?: Error;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` now and whenever `deps` change; `reload` runs it again. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function ErrorNote({ error }: { error?: Error | undefined }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** `call_recording` → `call recording`. */
export const label = (name: string) => name.replace(/_/g, ' ');

export function when(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function days(value: number | null | undefined): string {
  if (value === null) return 'indefinitely';
  if (value === undefined) return '—';
  return value === 1 ? '1 day' : `${value} days`;
}

export interface Counts {
  readonly examined?: number;
  readonly deleted?: number;
  readonly wouldDelete?: number;
  readonly held?: number;
  readonly failed?: number;
  readonly kept?: number;
}

/** Per-category counts as a table; `columns` chooses which counts show. */
export function CountsTable({
  counts,
  columns,
  caption,
}: {
  counts: Readonly<Record<string, Counts | undefined>>;
  columns: readonly (keyof Counts)[];
  caption: string;
}) {
  const rows = Object.entries(counts).filter((e): e is [string, Counts] => e[1] !== undefined);
  if (rows.length === 0) return <p class="muted">{caption}: nothing.</p>;
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">category</th>
          {columns.map((c) => (
            <th scope="col" class="num">
              {c === 'wouldDelete' ? 'would delete' : c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map(([category, c]) => (
          <tr>
            <th scope="row">{label(category)}</th>
            {columns.map((col) => (
              <td class="num">{c[col] ?? 0}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function total(counts: Readonly<Record<string, Counts | undefined>> | undefined, key: keyof Counts): number {
  return Object.values(counts ?? {}).reduce((sum, c) => sum + (c?.[key] ?? 0), 0);
}

/** Offers a JSON document as a file download (no server round trip: the data is already here). */
export function downloadJson(filename: string, data: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
