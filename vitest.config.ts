import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      POWERTOOLS_DEV: 'false',
      // The AWS SDK's own switch for its one "NodeVersionSupportWarning" (SDK releases after January 2027
      // need Node 22): without it each test file's first client prints it again (27 times a run on Node 20).
      // Only that notice goes; every other warning, the SDK's included, still prints. Child processes
      // the tests spawn (local mode, the CLI) inherit it with the rest of this environment.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The CLI's session directory (`lethe login`): never the developer's own, so no test talks to a deployed stack.
      LETHE_CONFIG_DIR: '/nonexistent/lethe-tests',
    },
  },
});
