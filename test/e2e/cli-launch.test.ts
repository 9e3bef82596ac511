/**
 * How `npx lethe` starts: `bin/lethe.js` runs the prebuilt bundle while it is
 * newer than every source it was built from, and the TypeScript through tsx
 * otherwise (no bundle, a source edited or gone since the build), so an edited
 * CLI never runs stale. The bundle itself (scripts/build-cli.ts) answers
 * `--version` with the package's version, fast.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, buildCli, INPUTS_FILE } from '../../scripts/build-cli.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const node = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000 });

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lethe-launch-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the CLI bundle', () => {
  it('answers --version with the package version, and lists its commands under --help', async () => {
    const outdir = join(scratch, 'bundle');
    const built = await buildCli(outdir);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

    const started = performance.now();
    const version = await node([built.bundle, '--version']);
    const seconds = (performance.now() - started) / 1000;
    const help = await node([built.bundle, '--help']);

    expect(version.stdout.trim()).toBe(pkg.version);
    // About 0.2 s on an idle 2-core machine (tsx compiling the sources took 0.7 s); the bound leaves room for a loaded one.
    expect(seconds).toBeLessThan(1.5);
    expect(help.stdout).toMatch(/^  customers /mu);
    expect(help.stdout).toMatch(/^  records /mu);
    expect(built.inputs).toContain('cli/program.ts');
    expect(built.inputs).toContain('package.json');
    expect(built.inputs.some((path) => path.includes('node_modules'))).toBe(false);
  });
});

describe('bin/lethe.js', () => {
  /** A project tree with the real launcher, a stand-in bundle and stand-in sources, each printing which one ran. */
  async function fakeProject(name: string): Promise<{ root: string; launch: () => Promise<string>; age: (path: string, secondsAgo: number) => Promise<void> }> {
    const root = join(scratch, name);
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'dist', 'cli'), { recursive: true });
    await mkdir(join(root, 'cli'), { recursive: true });
    await copyFile(join(ROOT, 'bin', 'lethe.js'), join(root, 'bin', 'lethe.js'));
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    await writeFile(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(root, 'bin', 'lethe.ts'), "import { where } from '../cli/where.js';\nconsole.log(where);\n");
    await writeFile(join(root, 'cli', 'where.ts'), "export const where: string = 'source';\n");
    await writeFile(join(root, 'dist', 'cli', BUNDLE_FILE), "console.log('bundle');\n");
    await writeFile(join(root, 'dist', 'cli', INPUTS_FILE), JSON.stringify({ inputs: ['bin/lethe.ts', 'cli/where.ts'] }));
    const age = async (path: string, secondsAgo: number) => {
      const at = new Date(Date.now() - secondsAgo * 1000);
      await utimes(join(root, path), at, at);
    };
    // Sources first, the bundle after: as `npm ci` leaves them.
    await age('bin/lethe.ts', 60);
    await age('cli/where.ts', 60);
    await age(`dist/cli/${BUNDLE_FILE}`, 30);
    return { root, age, launch: async () => (await node([join(root, 'bin', 'lethe.js')], { LETHE_CLI_FROM_SOURCE: '' })).stdout.trim() };
  }

  it('runs the bundle while it is newer than its sources', async () => {
    const project = await fakeProject('fresh');

    expect(await project.launch()).toBe('bundle');
  });

  it('runs the sources once one of them changed after the build', async () => {
    const project = await fakeProject('edited');
    await project.age('cli/where.ts', 0);

    expect(await project.launch()).toBe('source');
  });

  it('runs the sources when there is no bundle, or a source it was built from is gone', async () => {
    const unbuilt = await fakeProject('unbuilt');
    await rm(join(unbuilt.root, 'dist'), { recursive: true });
    const moved = await fakeProject('moved');
    await writeFile(join(moved.root, 'dist', 'cli', INPUTS_FILE), JSON.stringify({ inputs: ['bin/lethe.ts', 'cli/where.ts', 'cli/renamed.ts'] }));
    await moved.age(`dist/cli/${INPUTS_FILE}`, 30);

    expect(await unbuilt.launch()).toBe('source');
    expect(await moved.launch()).toBe('source');
  });
});
