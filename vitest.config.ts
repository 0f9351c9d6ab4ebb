import { defineConfig } from 'vitest/config';
import { uwsEnvironment } from './gateway/src/transport/uws-settings.js';

export default defineConfig({
  test: {
    include: ['gateway/**/*.test.ts', 'client/**/*.test.ts', 'charts/**/*.test.ts', 'loadtest/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.chaos.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // In-process gateways load uWebSockets.js with the settings the entry point gives it.
    env: uwsEnvironment(),
    reporters: ['default'],
  },
});
