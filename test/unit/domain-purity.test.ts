/**
 * Guards STYLE.md rule 3: `shared/domain/**` stays pure. No AWS SDK, Lambda types
 * or CDK, no environment reads, no wall clock (take a `Clock` or a `now`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOMAIN = join(ROOT, 'shared/domain');

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
}

const RULES: readonly Rule[] = [
  // import … from '…', export … from '…', import('…'), require('…'), side-effect import '…'
  { name: 'imports @aws-sdk/*', pattern: /(?:from|import|require)\s*\(?\s*['"]@aws-sdk\//u },
  { name: 'imports aws-lambda', pattern: /(?:from|import|require)\s*\(?\s*['"]aws-lambda['"/]/u },
  { name: 'imports aws-cdk-lib', pattern: /(?:from|import|require)\s*\(?\s*['"]aws-cdk-lib(?:['"/])/u },
  { name: 'reads process.env', pattern: /\bprocess\s*(?:\.\s*env\b|\[\s*['"]env['"]\s*\])/u },
  { name: 'calls Date.now()', pattern: /\bDate\s*\.\s*now\s*\(/u },
  { name: 'constructs the current date with new Date()', pattern: /\bnew\s+Date\s*\(\s*\)/u },
];

/** Drops comments, so a doc comment may talk about `Date.now()` or `process.env`. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//gu, '').replace(/(^|[^:'"`])\/\/.*$/gmu, '$1');
}

function violations(source: string): string[] {
  const code = stripComments(source);
  return RULES.filter((r) => r.pattern.test(code)).map((r) => r.name);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('domain purity', () => {
  const files = tsFiles(DOMAIN);

  it('finds the domain sources', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(['shared/domain/catalog.ts', 'shared/domain/policy.ts']));
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s imports no AWS SDK, Lambda or CDK, reads no environment and no wall clock', (_, file) => {
    expect(violations(readFileSync(file, 'utf8'))).toEqual([]);
  });
});

describe('the purity guard itself', () => {
  it.each([
    ["import { DynamoDBClient } from '@aws-sdk/client-dynamodb';", 'imports @aws-sdk/*'],
    ["export { S3Client } from \"@aws-sdk/client-s3\";", 'imports @aws-sdk/*'],
    ["const sdk = await import('@aws-sdk/lib-dynamodb');", 'imports @aws-sdk/*'],
    ["import type { Handler } from 'aws-lambda';", 'imports aws-lambda'],
    ["import { Stack } from 'aws-cdk-lib';", 'imports aws-cdk-lib'],
    ["import * as s3 from 'aws-cdk-lib/aws-s3';", 'imports aws-cdk-lib'],
    ['const region = process.env.AWS_REGION;', 'reads process.env'],
    ["const { TABLE } = process['env'];", 'reads process.env'],
    ['const t = Date.now();', 'calls Date.now()'],
    ['const t = Date . now ();', 'calls Date.now()'],
    ['const today = new Date();', 'constructs the current date with new Date()'],
  ])('catches %s', (source, rule) => {
    expect(violations(source)).toContain(rule);
  });

  it.each([
    "import { z } from 'zod';",
    "import { createHmac } from 'node:crypto';",
    '/** Never call Date.now() here; read process.env elsewhere. */',
    '// aws-lambda handlers live in functions/',
    'const at = new Date(clock.now().getTime() - 1000);',
    "const url = 'https://example.com/x'; const later = new Date(iso);",
    'const envelope = process.envelope;',
  ])('lets %s through', (source) => {
    expect(violations(source)).toEqual([]);
  });
});
