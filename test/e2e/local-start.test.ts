/**
 * `npm start` on a fresh data directory, seed on (the default): the API is
 * announced, and answers, before the demo tenant's records are in; the seed
 * and the first sweep follow in the background; Ctrl-C during the seed says
 * it will not be resumed. Runs `npx tsx bin/local.ts` in a child process on a
 * free port, as local-mode.test.ts does.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const READY = /Lethe is ready at (http:\/\/127\.0\.0\.1:\d+)/;

let server: ChildProcess | undefined;
let serverExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
let output = '';
let outputAtReady = '';
let dataDir: string;
let url: string;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = output.match(pattern);
      if (match !== null) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(match);
      }
    }, 50);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`npm start did not print ${pattern} within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    void serverExit?.then(({ code, signal }) => {
      clearInterval(timer);
      clearTimeout(deadline);
      if (output.match(pattern) === null) reject(new Error(`npm start exited (${code ?? signal}) before ${pattern}:\n${output}`));
    });
  });
}

/** The node process running bin/local.ts (under npx and tsx): the deepest, started last. */
function lethePid(): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-f', `bin/local.ts --data-dir ${dataDir}`], { encoding: 'utf8' });
    const pids = out.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 0);
    return pids.length === 0 ? undefined : Math.max(...pids);
  } catch {
    return undefined;
  }
}

/** Ctrl-C to the Lethe process itself (see local-mode.test.ts on tsx's relay); SIGKILL to the group if it hangs. */
async function stopServer(): Promise<void> {
  if (server?.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const group = server.pid;
  const pid = lethePid();
  try {
    process.kill(pid ?? -group, 'SIGINT');
  } catch {
    return;
  }
  const stopped = await Promise.race([serverExit, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
  if (stopped === 'timeout') {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lethe-start-'));
  const port = await freePort();
  server = spawn('npx', ['tsx', 'bin/local.ts', '--data-dir', dataDir, '--port', String(port)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LETHE_LOG_LEVEL: 'ERROR' },
  });
  serverExit = new Promise((resolve) => server?.once('close', (code, signal) => resolve({ code, signal })));
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  server.stdout?.on('data', collect);
  server.stderr?.on('data', collect);
  const ready = await waitFor(READY, 60_000);
  outputAtReady = output.slice(0, (ready.index ?? 0) + ready[0].length);
  url = ready[1] as string;
}, 90_000);

afterAll(async () => {
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
}, 45_000);

describe('npm start on a fresh data directory', () => {
  it('announces the API with tokens for the demo tenant before its records are in', () => {
    expect(outputAtReady).toContain('Dev token, ComplianceAdministrator of "demo"');
    expect(outputAtReady).toMatch(/Seeding "demo" in the background: \d+ records, then a first sweep/);
    expect(outputAtReady).not.toContain('Seeded tenant');
    expect(outputAtReady).not.toContain('Receipt ');
  });

  it('answers for the demo tenant while it is being seeded', async () => {
    const token = /Dev token, ComplianceAdministrator of "demo" \(24 h\):\s+(\S+)/.exec(outputAtReady)?.[1];
    expect(token).toBeDefined();

    const response = await fetch(`${url}/v1/tenants/demo`, { headers: { authorization: `Bearer ${token}` } });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ tenantId: 'demo' });
  });

  it('stops on Ctrl-C; a seed still running is reported as not resumed', async () => {
    await stopServer();

    expect(output).toContain('Stopped. The data stays in the data directory');
    // On a fast machine the seed may be over before the signal (it may end while the signal is on its way):
    // then there is nothing to report. Exactly one of the two is said.
    const notice = 'The demo seed was interrupted and is not resumed';
    expect(output.includes('Seeded tenant') !== output.includes(notice), output).toBe(true);
  }, 45_000);
});
