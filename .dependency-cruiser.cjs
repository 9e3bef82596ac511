/**
 * Lethe's architecture rules, checked by test/unit/architecture.test.ts (part of
 * `npm test`) and by hand with `npx depcruise bin cli infra functions shared scripts bench test`.
 *
 * The rules name folders, not files, so they hold whatever a folder is split
 * into (`shared/domain/ingest/`, `shared/domain/deletion/`, …) and wherever the
 * CLI lives (`cli/`, formerly `shared/local/cli/`). Type-only imports count:
 * a port that names an entity of the app is as much an upward import as a call.
 *
 * test/fixtures/architecture/ plants one breach of each rule; the test asserts
 * that every one is reported, so a rule that stops matching fails the test.
 */

const path = require('node:path');

/** What the domain may import besides itself: pure libraries only (no I/O, no clock, no environment). */
const DOMAIN_LIBRARIES = [
  // schemas of request bodies, policies and ingest records
  '(^|/)node_modules/zod/',
  // phone number normalisation of identifiers
  '(^|/)node_modules/libphonenumber-js/',
  // keyed HMACs of subject references (node:crypto)
  '^(node:)?crypto$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'shared/domain/** imports only the domain and its pure libraries (STYLE.md rule 3): no adapters, app, ' +
        'config, local runtime, AWS SDK, Lambda or CDK. Ports are interfaces in the domain; adapters implement them.',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { pathNot: ['^shared/domain/', ...DOMAIN_LIBRARIES] },
    },
    {
      name: 'adapters-import-no-app',
      comment:
        'shared/adapters/** implement the domain\'s ports and import only the domain (and their SDKs), never ' +
        'shared/app/**: a port an adapter needs belongs in shared/domain/ports.ts.',
      severity: 'error',
      from: { path: '^shared/adapters/' },
      to: { path: '^shared/app/' },
    },
    {
      name: 'shared-imports-no-cli',
      comment:
        'The CLI is a client of shared/ (the admin tool of local and deployed stacks); nothing in shared/ imports it.',
      severity: 'error',
      from: { path: '^shared/', pathNot: '^shared/local/cli/' },
      to: { path: '^(cli|shared/local/cli)/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycle anywhere, type-only imports included: split the module or move the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // The planted breaches are cruised on their own by the architecture test.
    exclude: { path: '^test/fixtures/architecture/' },
    // Keep type-only imports (`import type`), which TypeScript erases, in the graph.
    tsPreCompilationDeps: true,
    // Absolute, so the fixture cruise (run from its own folder) resolves like the repository's.
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
