import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['gateway/**/*.test.ts', 'client/**/*.test.ts', 'charts/**/*.test.ts', 'loadtest/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.chaos.test.ts'],
    testTimeout: 30_000,
    // KNOWN BUG (named in the release notes): under load the gateway sometimes drops a fresh socket
    // (1006) right after connection.established; clients recover by reconnecting with `resume`, but
    // tests that pin an exact sequence of statuses or close codes then fail. Retried, until fixed.
    retry: 2,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
