/**
 * The retention overview: per category, the records stored by age with the
 * cutoff line (past it they are due at the next sweep), and the deletions of
 * each run over time. Charts by uPlot.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { call, type Answer } from '../api.js';
import { ErrorNote, label, Loading, Section, total, useAsync, useConsole, when } from '../ui.js';

type Overview = Answer<'/v1/tenants/{t}/retention-overview', 'get'>;
type CategoryOverview = NonNullable<Overview['categories'][keyof Overview['categories']]>;
type Runs = Answer<'/v1/tenants/{t}/deletion-runs', 'get'>['runs'];

const BUCKET_DAYS = 30;
const INK = '#1f2a37';
const BAR = '#4f7cac';
const CUTOFF = '#c0392b';

/** A uPlot chart in a div; rebuilt when its data change. */
function Chart({ options, data, title }: { options: Omit<uPlot.Options, 'width'>; data: uPlot.AlignedData; title: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (host.current === null) return;
    const width = Math.max(240, host.current.clientWidth);
    const plot = new uPlot({ ...options, width }, data, host.current);
    return () => plot.destroy();
  }, [data, options]);
  return <div class="chart" ref={host} role="img" aria-label={title} />;
}

/** Draws a vertical dashed line at x = `at` (the cutoff), with a label. */
function cutoffLine(at: number | null): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          if (at === null) return;
          const x = u.valToPos(at, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
          const { ctx } = u;
          ctx.save();
          ctx.strokeStyle = CUTOFF;
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = CUTOFF;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.fillText('cutoff', x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
          ctx.restore();
        },
      ],
    },
  };
}

function AgeChart({ category, c, bucketDays }: { category: string; c: CategoryOverview; bucketDays: number }) {
  // Bars at each bucket's middle age, in days; the x range reaches past the cutoff so the line shows.
  const xs = c.buckets.map((_, i) => (i + 0.5) * bucketDays);
  const maxX = Math.max(bucketDays, c.buckets.length * bucketDays, c.cutoffAgeDays !== null ? c.cutoffAgeDays * 1.1 : 0);
  const options: Omit<uPlot.Options, 'width'> = {
    height: 150,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: () => [0, maxX] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [
      { stroke: INK, size: 30, values: (_u, ticks) => ticks.map((t) => `${Math.round(t)}d`) },
      { stroke: INK, size: 40 },
    ],
    series: [{}, { label: 'records', stroke: BAR, fill: 'rgba(79,124,172,0.55)', paths: uPlot.paths.bars!({ size: [0.9, Infinity] }), points: { show: false } }],
    plugins: [cutoffLine(c.cutoffAgeDays)],
  };
  return (
    <figure class="small-chart">
      <figcaption>
        <strong>{label(category)}</strong> · {c.stored} stored
        {c.pastCutoff > 0 && <span class="warn-text"> · {c.pastCutoff} past the cutoff</span>}
        {c.cutoffAgeDays === null ? ' · no cutoff' : ` · cutoff ${Math.round(c.cutoffAgeDays)} days`}
        {c.truncated === true && ' · (counted in part)'}
      </figcaption>
      <Chart options={options} data={[xs, c.buckets]} title={`${label(category)}: records by age in ${bucketDays}-day buckets`} />
    </figure>
  );
}

function DeletionsChart({ runs }: { runs: Runs }) {
  const real = runs.filter((r) => !r.dryRun && r.status !== 'running').sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  if (real.length === 0) return <p class="muted">No completed run yet.</p>;
  const xs = real.map((r) => Date.parse(r.startedAt) / 1000);
  const deleted = real.map((r) => total(r.categories, 'deleted'));
  const held = real.map((r) => total(r.categories, 'held'));
  const options: Omit<uPlot.Options, 'width'> = {
    height: 220,
    scales: { x: { time: true, ...(xs.length === 1 && { range: (_u, min, max) => [min - 3600, max + 3600] }) } },
    axes: [{ stroke: INK }, { stroke: INK, size: 50 }],
    series: [
      {},
      { label: 'deleted', stroke: BAR, width: 2, fill: 'rgba(79,124,172,0.15)', points: { show: true, size: 7 } },
      { label: 'held', stroke: '#b7791f', width: 2, points: { show: true, size: 7 } },
    ],
  };
  return <Chart options={options} data={[xs, deleted, held]} title="Records deleted and held per run over time" />;
}

export function OverviewPage() {
  const { api, tenantId, access } = useConsole();
  const overview = useAsync(
    () => call(api.GET('/v1/tenants/{t}/retention-overview', { params: { path: { t: tenantId }, query: { bucketDays: String(BUCKET_DAYS) } } })),
    [tenantId],
  );
  const runs = useAsync(
    async () => (access.atLeast('Administrator') ? (await call(api.GET('/v1/tenants/{t}/deletion-runs', { params: { path: { t: tenantId }, query: { limit: '100' } } }))).runs : []),
    [tenantId],
  );
  const categories = Object.entries(overview.data?.categories ?? {}).filter((e): e is [string, CategoryOverview] => e[1] !== undefined && e[1].stored > 0);
  return (
    <>
      <Section title="Stored records by age, per category" id="ages-h">
        <p class="muted small">
          Age in days since the clock that decides when a record goes ({BUCKET_DAYS}-day bars). Past the dashed cutoff a record is due at the next sweep, unless
          a legal hold keeps it. {overview.data !== undefined && <>As of {when(overview.data.at)}.</>}
        </p>
        <ErrorNote error={overview.error} />
        <Loading when={overview.loading && overview.data === undefined} />
        {overview.data !== undefined && categories.length === 0 && <p class="muted">Nothing stored.</p>}
        <div class="charts">
          {categories.map(([category, c]) => (
            <AgeChart category={category} c={c} bucketDays={overview.data?.bucketDays ?? BUCKET_DAYS} />
          ))}
        </div>
      </Section>
      {access.atLeast('Administrator') && (
        <Section title="Deletions per run" id="runs-chart-h">
          <ErrorNote error={runs.error} />
          <Loading when={runs.loading && runs.data === undefined} />
          {runs.data !== undefined && <DeletionsChart runs={runs.data} />}
        </Section>
      )}
    </>
  );
}
