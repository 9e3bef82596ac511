#!/usr/bin/env node
// `npx lethe …`: runs the prebuilt bundle (dist/cli/lethe.mjs, built by `npm install`'s
// prepare script: scripts/build-cli.ts) while it is newer than every source it was built
// from, else the TypeScript through tsx's loader, so that an edited source never runs stale
// (`npm run prepare` rebuilds it; LETHE_CLI_FROM_SOURCE=1 always runs the sources).
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const bundle = new URL('dist/cli/lethe.mjs', root);

/** Whether the bundle exists and no source listed in its inputs.json changed (or went) since it was built. */
function bundleIsFresh() {
  try {
    const builtAt = statSync(bundle).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    return inputs.every((path) => statSync(new URL(path, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

if (process.env.LETHE_CLI_FROM_SOURCE !== '1' && bundleIsFresh()) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./lethe.ts');
}
