import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (no JVM, no DynamoDB Local: the fast inner loop) and `integration`
 * (`*.int.test.ts`: DynamoDB Local, started once by the global setup, and the local stack).
 * `vitest run` runs both; `--project unit` or `--project integration` one of them.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // DynamoDB Local and the CDK synth are shared and heavy: keep parallelism modest on 2 cores.
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.int.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.int.test.ts'], globalSetup: ['test/support/global-setup.ts'] },
      },
    ],
  },
});
