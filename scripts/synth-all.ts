/**
 * Synthesizes the Lethe app for every shipped profile into `cdk.out/<profile>/`,
 * in-process through the CDK API: no CLI, no AWS credentials, no network.
 * cdk-nag runs as a validation plugin during synth; any unacknowledged finding
 * (v3 fails synth on warnings as well as errors) fails that profile, and any failed profile makes the exit code 1.
 * The context is only `{ profile }`; buildApp applies the feature flags it needs.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { acknowledgementsUnder } from '../infra/acknowledgements.js';
import { buildApp } from '../infra/app.js';
import { PROFILE_NAMES } from '../shared/config/profiles.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_ROOT = join(ROOT, 'cdk.out');

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity: string }[];
  }[];
}

function readReport(outdir: string): ValidationReport {
  const path = join(outdir, 'validation-report.json');
  if (!existsSync(path)) return { pluginReports: [] };
  return JSON.parse(readFileSync(path, 'utf8')) as ValidationReport;
}

/** Unacknowledged findings, e.g. `AwsSolutions-DDB3 (warning)`. cdk-nag v3 fails synth on warnings too. */
function findings(report: ValidationReport): string[] {
  const all = report.pluginReports.flatMap((r) => r.violations.map((v) => `${v.ruleName} (${v.severity})`));
  return [...new Set(all)];
}

let failed = 0;
for (const profile of PROFILE_NAMES) {
  const outdir = join(OUT_ROOT, profile);
  rmSync(outdir, { recursive: true, force: true });
  const started = performance.now();
  const app = new App({ outdir, context: { profile } });
  let line: string;
  try {
    buildApp(app);
    const assembly = app.synth();
    const resources = assembly.stacks.reduce(
      (n, s) => n + Object.keys((s.template as { Resources?: object }).Resources ?? {}).length,
      0,
    );
    const unacknowledged = findings(readReport(outdir));
    const acknowledged = acknowledgementsUnder(app).length;
    line =
      `ok    ${profile.padEnd(14)} ${assembly.stacks.map((s) => s.stackName).join(', ')} ` +
      `(${resources} resources) cdk-nag: ${unacknowledged.length} findings, ${acknowledged} acknowledged ` +
      `-> ${relative(ROOT, outdir)} in ${Math.round(performance.now() - started)} ms`;
  } catch (err) {
    failed += 1;
    const unacknowledged = findings(readReport(outdir));
    const detail =
      unacknowledged.length > 0 ? `unacknowledged cdk-nag findings: ${unacknowledged.join(', ')}` : (err as Error).message;
    line = `FAIL  ${profile.padEnd(14)} ${detail}`;
  }
  console.log(line);
}
if (failed > 0) {
  console.error(`${failed} of ${PROFILE_NAMES.length} profiles failed to synthesize`);
  process.exitCode = 1;
}
