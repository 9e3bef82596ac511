/**
 * Synthesizes the Lethe app for every shipped profile into `cdk.out/<profile>/`,
 * in-process through the CDK API: no CLI, no AWS credentials, no network.
 * cdk-nag runs as a validation plugin during synth; any unacknowledged finding
 * (v3 fails synth on warnings as well as errors) fails that profile, and any
 * failed profile makes the exit code 1. The context is only `{ profile }`;
 * buildApp applies the feature flags it needs.
 *
 * Output: one line per stack (ok or FAIL, resources, cdk-nag findings and
 * acknowledgements, the template's path), each synth-time warning once, and
 * a total. The profiles are synthesized in one child process whose stdout and
 * stderr go to `cdk.out/synth.log`: the Lambda bundler (CDK's "Bundling
 * asset …" and esbuild's report, about 100 lines a profile) writes straight
 * to the process's file descriptors, so only a child's can be sent elsewhere.
 *
 * Usage: `tsx scripts/synth-all.ts [--verbose]` (--verbose: the bundler's
 * output on the terminal as well).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { acknowledgementsUnder } from '../infra/acknowledgements.js';
import { buildApp } from '../infra/app.js';
import { PROFILE_NAMES } from '../shared/config/profiles.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_ROOT = join(ROOT, 'cdk.out');
const LOG_FILE = join(OUT_ROOT, 'synth.log');
const CHILD_FLAG = '--child-profile';

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly {
      readonly ruleName: string;
      readonly severity?: string;
      readonly violatingConstructs?: readonly { readonly templatePath?: string; readonly resourceLogicalId?: string }[];
    }[];
  }[];
}

/** One unacknowledged cdk-nag finding, e.g. `AwsSolutions-DDB3 (warning) on RecordsTable1234`. */
interface Finding {
  readonly rule: string;
  readonly severity: string;
  /** Template file name the finding is in, when the report says. */
  readonly template?: string;
  readonly resource?: string;
}

interface StackResult {
  readonly stackName: string;
  /** Relative to the project root. */
  readonly templatePath: string;
  readonly resources: number;
  readonly findings: readonly Finding[];
  readonly acknowledged: number;
  /** Synth-time warnings the stack's constructs annotated (a placeholder sender, …). */
  readonly warnings: readonly string[];
}

/** What a child reports to the parent for its profile. */
type ProfileResult =
  | { readonly ok: true; readonly profile: string; readonly stacks: readonly StackResult[]; readonly ms: number }
  | { readonly ok: false; readonly profile: string; readonly error: string; readonly findings: readonly Finding[]; readonly ms: number };

function readReport(outdir: string): ValidationReport {
  const path = join(outdir, 'validation-report.json');
  if (!existsSync(path)) return { pluginReports: [] };
  return JSON.parse(readFileSync(path, 'utf8')) as ValidationReport;
}

/** Unacknowledged findings, one per rule and resource. cdk-nag v3 fails synth on warnings too. */
function findings(report: ValidationReport): Finding[] {
  const seen = new Map<string, Finding>();
  for (const plugin of report.pluginReports) {
    for (const violation of plugin.violations) {
      const constructs = violation.violatingConstructs?.length ? violation.violatingConstructs : [{}];
      for (const c of constructs) {
        const finding: Finding = {
          rule: violation.ruleName,
          severity: violation.severity ?? 'error',
          ...(c.templatePath !== undefined && { template: basename(c.templatePath) }),
          ...(c.resourceLogicalId !== undefined && { resource: c.resourceLogicalId }),
        };
        seen.set(`${finding.rule}|${finding.template ?? ''}|${finding.resource ?? ''}`, finding);
      }
    }
  }
  return [...seen.values()];
}

/** Synthesizes one profile (in the child process). */
function synthProfile(profile: string): ProfileResult {
  const outdir = join(OUT_ROOT, profile);
  rmSync(outdir, { recursive: true, force: true });
  const started = performance.now();
  const app = new App({ outdir, context: { profile } });
  try {
    buildApp(app);
    const assembly = app.synth();
    const unacknowledged = findings(readReport(outdir));
    const constructs = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
    const stacks = assembly.stacks.map((artifact): StackResult => {
      const stack = constructs.find((s) => s.artifactId === artifact.id);
      const template = basename(artifact.templateFullPath);
      return {
        stackName: artifact.stackName,
        templatePath: relative(ROOT, artifact.templateFullPath),
        resources: Object.keys((artifact.template as { Resources?: object }).Resources ?? {}).length,
        findings: unacknowledged.filter((f) => f.template === template),
        acknowledged: stack === undefined ? 0 : acknowledgementsUnder(stack).length,
        warnings: [...new Set(artifact.messages.filter((m) => m.level === 'warning').map((m) => String(m.entry.data)))],
      };
    });
    // A finding the report ties to no template would fail synth anyway; keep it visible on the first stack.
    const placed = new Set(stacks.flatMap((s) => s.findings));
    const unplaced = unacknowledged.filter((f) => !placed.has(f));
    if (unplaced.length > 0 && stacks[0] !== undefined) stacks[0] = { ...stacks[0], findings: [...stacks[0].findings, ...unplaced] };
    return { ok: true, profile, stacks, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, profile, error: (error as Error).message, findings: findings(readReport(outdir)), ms: performance.now() - started };
  }
}

function describeFinding(f: Finding): string {
  return `${f.rule} (${f.severity})${f.resource === undefined ? '' : ` on ${f.resource}`}${f.template === undefined ? '' : ` in ${f.template}`}`;
}

const seconds = (ms: number) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);

/**
 * Runs the synth of every profile in one child (one module load, one warm JIT),
 * its output to the log (and the terminal with --verbose); `onResult` gets each
 * profile's result as the child sends it. A profile the child never reported on
 * (it crashed) comes back failed.
 */
function runChild(profiles: readonly string[], log: WriteStream, verbose: boolean, onResult: (result: ProfileResult) => void): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), CHILD_FLAG, ...profiles], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const reported = new Set<string>();
    let started = performance.now();
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (verbose) process.stderr.write(chunk);
      });
    }
    child.on('message', (message) => {
      const result = message as ProfileResult | { readonly starting: string };
      if ('starting' in result) {
        log.write(`\n===== ${result.starting} (${new Date().toISOString()}) =====\n`);
        return;
      }
      reported.add(result.profile);
      started = performance.now();
      onResult(result);
    });
    child.on('close', (code, signal) => {
      for (const profile of profiles.filter((p) => !reported.has(p))) {
        onResult({
          ok: false,
          profile,
          error: `the synth process ended (${signal ?? `exit code ${code}`}) before this profile was done`,
          findings: [],
          ms: performance.now() - started,
        });
      }
      resolve();
    });
  });
}

function printResult(result: ProfileResult, warnings: Map<string, string[]>): number {
  const name = result.profile.padEnd(14);
  if (!result.ok) {
    const detail = result.findings.length > 0 ? `unacknowledged cdk-nag findings: ${result.findings.map(describeFinding).join(', ')}` : result.error;
    console.log(`FAIL  ${name} ${detail}`);
    return 1;
  }
  let failed = 0;
  for (const stack of result.stacks) {
    const ok = stack.findings.length === 0;
    if (!ok) failed += 1;
    console.log(
      `${ok ? 'ok  ' : 'FAIL'}  ${name} ${stack.stackName.padEnd(30)} ${String(stack.resources).padStart(4)} resources  ` +
        `cdk-nag: ${stack.findings.length} unacknowledged, ${String(stack.acknowledged).padStart(3)} acknowledged  ${stack.templatePath}`,
    );
    for (const f of stack.findings) console.log(`        ${describeFinding(f)}`);
    for (const w of stack.warnings) warnings.set(w, [...(warnings.get(w) ?? []), stack.stackName]);
  }
  return failed > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  const verbose = process.argv.includes('--verbose');
  mkdirSync(OUT_ROOT, { recursive: true });
  const log = createWriteStream(LOG_FILE);
  const started = performance.now();
  console.log(`Synthesizing ${PROFILE_NAMES.length} profiles into ${relative(ROOT, OUT_ROOT)}/ (bundler output: ${relative(ROOT, LOG_FILE)})`);
  let failedProfiles = 0;
  let stacks = 0;
  const warnings = new Map<string, string[]>();
  await runChild(PROFILE_NAMES, log, verbose, (result) => {
    if (printResult(result, warnings) > 0) failedProfiles += 1;
    if (result.ok) stacks += result.stacks.length;
  });
  await new Promise<void>((resolve) => log.end(resolve));
  for (const [warning, where] of warnings) {
    console.log(`warning (${where.length} of ${stacks} stacks): ${warning}`);
  }
  const total = seconds(performance.now() - started);
  if (failedProfiles > 0) {
    console.error(`${failedProfiles} of ${PROFILE_NAMES.length} profiles failed to synthesize (${total}); details in ${relative(ROOT, LOG_FILE)}`);
    process.exitCode = 1;
  } else {
    console.log(`${PROFILE_NAMES.length} profiles, ${stacks} stacks in ${total}; cdk-nag AwsSolutions: no unacknowledged finding`);
  }
}

const childAt = process.argv.indexOf(CHILD_FLAG);
if (childAt >= 0) {
  const send = (message: ProfileResult | { readonly starting: string }) =>
    new Promise<void>((resolve, reject) => process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())) ?? resolve());
  for (const profile of process.argv.slice(childAt + 1)) {
    await send({ starting: profile });
    await send(
      PROFILE_NAMES.includes(profile as (typeof PROFILE_NAMES)[number])
        ? synthProfile(profile)
        : { ok: false, profile, error: `unknown profile "${profile}"`, findings: [], ms: 0 },
    );
  }
  process.disconnect?.();
} else {
  await main();
}
