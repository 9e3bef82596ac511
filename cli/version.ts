/** The CLI's version: the package's, baked in by the bundle (scripts/build-cli.ts), read from package.json when run from source. */
import { readFileSync } from 'node:fs';

declare const __LETHE_VERSION__: string | undefined;

function packageVersion(): string {
  // From source this module is cli/version.ts, one level below package.json.
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export const VERSION: string = typeof __LETHE_VERSION__ === 'string' ? __LETHE_VERSION__ : packageVersion();
