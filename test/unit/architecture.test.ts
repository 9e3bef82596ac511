/**
 * The architecture rules of `.dependency-cruiser.cjs` (the domain imports only
 * itself and its pure libraries, adapters never import the app, nothing in
 * shared/ imports the CLI, no import cycle) hold on the repository, and each
 * rule still rejects the breach planted for it in test/fixtures/architecture/.
 * test/unit/domain-purity.test.ts keeps the checks a dependency graph cannot
 * make (no environment reads, no wall clock in the domain).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const TSCONFIG = join(ROOT, 'tsconfig.json');
const FIXTURE = join(ROOT, 'test/fixtures/architecture');

/** A violation as a line: the rule, and the import, or the cycle from its least module round to it again. */
interface Finding {
  readonly rule: string;
  readonly from: string;
  readonly to: string;
}

function findingOf(v: IViolation): Finding {
  if (v.cycle !== undefined && v.cycle.length > 0) {
    // The cruiser reports a cycle from wherever it entered it; start it at its least module so the line is stable.
    const ring = [v.from, ...v.cycle.map((c) => c.name).filter((name) => name !== v.from)];
    const start = ring.indexOf([...ring].sort()[0] as string);
    const path = [...ring.slice(start), ...ring.slice(0, start)];
    return { rule: v.rule.name, from: path[0] as string, to: [...path.slice(1), path[0]].join(' → ') };
  }
  return { rule: v.rule.name, from: v.from, to: v.to };
}

const byLine = (a: Finding, b: Finding) => `${a.rule} ${a.from} ${a.to}`.localeCompare(`${b.rule} ${b.from} ${b.to}`);

/** Cruises `roots` (relative to `baseDir`) with the project's rules and resolution. */
async function cruiseWithProjectRules(baseDir: string, roots: readonly string[]): Promise<ICruiseResult> {
  const options: ICruiseOptions = { ...(await extractDepcruiseOptions(CONFIG)), baseDir, validate: true };
  const { output } = await cruise([...roots], options, {}, { tsConfig: extractTSConfig(TSCONFIG) });
  if (typeof output === 'string') throw new Error('dependency-cruiser returned a report instead of a result');
  return output;
}

/** The folders and files the project type-checks (tsconfig `include`), as they exist now. */
function projectRoots(): string[] {
  const include = (extractTSConfig(TSCONFIG).raw as { include?: string[] }).include ?? [];
  return include.filter((entry) => existsSync(join(ROOT, entry)));
}

describe('the repository', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    result = await cruiseWithProjectRules(ROOT, projectRoots());
  }, 120_000);

  it('is cruised whole: domain, ports, adapters, app and CLI are in the graph, the planted fixtures are not', () => {
    const sources = result.modules.map((m) => m.source);
    expect(sources).toEqual(
      expect.arrayContaining([
        'shared/domain/ports.ts',
        'shared/adapters/sfn/sweep-starter.ts',
        'shared/app/api/routes.ts',
        'shared/app/api/openapi.ts',
      ]),
    );
    expect(sources.some((s) => s.startsWith('cli/') || s.startsWith('shared/local/cli/'))).toBe(true);
    expect(sources.filter((s) => s.startsWith('test/fixtures/architecture/'))).toEqual([]);
  });

  it('breaks none of the architecture rules', () => {
    expect(result.summary.violations.map(findingOf).sort(byLine)).toEqual([]);
  });
});

describe('the rules themselves', () => {
  let findings: Finding[];
  let sources: string[];

  beforeAll(async () => {
    const result = await cruiseWithProjectRules(FIXTURE, ['shared', 'cli']);
    findings = result.summary.violations.map(findingOf).sort(byLine);
    sources = result.modules.map((m) => m.source);
  }, 120_000);

  it('reject an upward import from the domain to the app, type-only included', () => {
    expect(findings).toContainEqual({ rule: 'domain-is-pure', from: 'shared/domain/upward.ts', to: 'shared/app/service.ts' });
  });

  it('reject a library the domain is not allowed (the AWS SDK)', () => {
    expect(findings).toContainEqual(
      expect.objectContaining({ rule: 'domain-is-pure', from: 'shared/domain/sdk.ts', to: expect.stringContaining('node_modules/@aws-sdk/client-dynamodb/') }),
    );
  });

  it('reject an adapter importing from the app', () => {
    expect(findings).toContainEqual({ rule: 'adapters-import-no-app', from: 'shared/adapters/store.ts', to: 'shared/app/service.ts' });
  });

  it('reject shared/ importing the CLI, at cli/ and at its former place shared/local/cli/', () => {
    expect(findings).toContainEqual({ rule: 'shared-imports-no-cli', from: 'shared/local/runtime.ts', to: 'cli/program.ts' });
    expect(findings).toContainEqual({ rule: 'shared-imports-no-cli', from: 'shared/app/legacy-cli-user.ts', to: 'shared/local/cli/legacy.ts' });
  });

  it('reject an import cycle, and a cycle of type-only imports', () => {
    expect(findings).toContainEqual({ rule: 'no-circular', from: 'shared/app/cycle-a.ts', to: 'shared/app/cycle-b.ts → shared/app/cycle-a.ts' });
    expect(findings).toContainEqual({
      rule: 'no-circular',
      from: 'shared/domain/type-cycle-a.ts',
      to: 'shared/domain/type-cycle-b.ts → shared/domain/type-cycle-a.ts',
    });
  });

  it('report nothing but the planted breaches: the domain may use zod, libphonenumber-js, node:crypto and itself; the CLI may use shared/', () => {
    expect(sources).toEqual(expect.arrayContaining(['shared/domain/pure.ts', 'cli/program.ts']));
    expect(findings.map((f) => f.from)).toEqual([
      'shared/adapters/store.ts',
      'shared/domain/sdk.ts',
      'shared/domain/upward.ts',
      'shared/app/cycle-a.ts',
      'shared/domain/type-cycle-a.ts',
      'shared/app/legacy-cli-user.ts',
      'shared/local/runtime.ts',
    ]);
  });
});
