/**
 * Bundles the `lethe` CLI into one ESM file (`dist/cli/lethe.mjs`), so that
 * `npx lethe` starts without compiling TypeScript. Run by `npm install` /
 * `npm ci` (the `prepare` script); `bin/lethe.js` runs the bundle while it is
 * newer than every source it was built from (listed in `inputs.json` beside
 * it) and the TypeScript through tsx otherwise.
 *
 * Usage: `tsx scripts/build-cli.ts [--outdir <dir>]`.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `bin/lethe.js` looks for the bundle. */
export const DEFAULT_OUTDIR = join(ROOT, 'dist', 'cli');
export const BUNDLE_FILE = 'lethe.mjs';
export const INPUTS_FILE = 'inputs.json';

export interface BuildResult {
  readonly bundle: string;
  /** The project's own sources in the bundle, relative to the project root. */
  readonly inputs: readonly string[];
  readonly bytes: number;
}

/** Builds the bundle and its list of inputs into `outdir`. */
export async function buildCli(outdir: string = DEFAULT_OUTDIR): Promise<BuildResult> {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  await mkdir(outdir, { recursive: true });
  const bundle = join(outdir, BUNDLE_FILE);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'bin', 'lethe.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    define: { __LETHE_VERSION__: JSON.stringify(version) },
    // Dependencies written as CommonJS `require` Node's built-ins; an ESM bundle has no `require` of its own.
    banner: { js: "import { createRequire as __letheRequire } from 'node:module'; const require = __letheRequire(import.meta.url);" },
  });
  // The sources the bundle was built from, package.json included (the version is baked in).
  const inputs = Object.keys(result.metafile.inputs)
    .filter((path) => !path.includes('node_modules/'))
    .map((path) => relative(ROOT, resolve(ROOT, path)))
    .concat('package.json')
    .sort();
  await writeFile(join(outdir, INPUTS_FILE), `${JSON.stringify({ inputs }, null, 2)}\n`);
  return { bundle, inputs, bytes: (await stat(bundle)).size };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const started = Date.now();
  const built = await buildCli(values.outdir === undefined ? DEFAULT_OUTDIR : resolve(values.outdir));
  process.stdout.write(
    `lethe CLI bundled: ${relative(ROOT, built.bundle)} (${Math.round(built.bytes / 1024)} KiB, ${built.inputs.length} sources) in ${Date.now() - started} ms\n`,
  );
}
