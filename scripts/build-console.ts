/**
 * Builds the web console into `console/dist/` (git-ignored): the Preact app
 * bundled by esbuild (`app.js`, `app.css`, uPlot's stylesheet included), its
 * `index.html`, and the API docs page under `docs/` (Swagger UI from
 * swagger-ui-dist, copied, with a start script of our own that reads
 * `/openapi.json`). Offline and quick; run by `npm run build:console` and by
 * `prepare` (so `npm ci` has it). Local mode serves the result; the deployed
 * stack uploads it with its own `config.json`.
 *
 * Usage: `tsx scripts/build-console.ts [--outdir <dir>]`.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'console');
/** Where local mode looks for the console (shared/local/console-site.ts). */
export const DEFAULT_CONSOLE_OUTDIR = join(SOURCE, 'dist');
/** What of swagger-ui-dist the docs page needs. */
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'] as const;

/**
 * The console uses the constants of `shared/domain` (roles, categories), not
 * its zod schemas (those validate profiles and requests, server-side); zod
 * would be 450 KiB of the bundle. Imported from there, it is an inert
 * stand-in whose schemas throw if anything ever parses with them.
 */
const INERT_ZOD = `
const fail = () => { throw new Error('zod is not bundled into the console: validate on the server'); };
const inert = new Proxy(function () {}, {
  get: (_t, key) => (['parse', 'safeParse', 'parseAsync', 'safeParseAsync'].includes(key) ? fail : inert),
  apply: () => inert,
});
export const z = inert;
export default inert;
`;
const inertZod: Plugin = {
  name: 'inert-zod',
  setup(b) {
    b.onResolve({ filter: /^zod(\/.*)?$/ }, (args) => (args.importer.includes(`${join('shared', 'domain')}`) ? { path: 'zod', namespace: 'inert-zod' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'inert-zod' }, () => ({ contents: INERT_ZOD, loader: 'js' }));
  },
};

export interface ConsoleBuildResult {
  readonly outdir: string;
  /** Bytes of the app's script and stylesheet. */
  readonly appBytes: number;
}

export async function buildConsole(outdir: string = DEFAULT_CONSOLE_OUTDIR): Promise<ConsoleBuildResult> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(join(outdir, 'docs'), { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { app: join(SOURCE, 'src', 'main.tsx') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(SOURCE, 'tsconfig.json'),
    logLevel: 'warning',
    plugins: [inertZod],
  });
  await copyFile(join(SOURCE, 'index.html'), join(outdir, 'index.html'));
  for (const file of ['index.html', 'init.js', 'docs.css']) await copyFile(join(SOURCE, 'docs', file), join(outdir, 'docs', file));
  const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  for (const file of SWAGGER_FILES) await copyFile(join(swagger, file), join(outdir, 'docs', file));
  const appBytes = (await stat(join(outdir, 'app.js'))).size + (await stat(join(outdir, 'app.css'))).size;
  return { outdir, appBytes };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const started = Date.now();
  const result = await buildConsole(values.outdir === undefined ? undefined : resolve(values.outdir));
  process.stdout.write(`console built in ${Date.now() - started} ms: ${result.outdir} (app ${(result.appBytes / 1024).toFixed(0)} KiB)\n`);
}
