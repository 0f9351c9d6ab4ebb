import { defineConfig } from 'vitest/config';
import { uwsEnvironment } from './gateway/src/transport/uws-settings.js';

/** Tests that disturb shared services (restart the RabbitMQ node): run alone, after the main pass. */
export default defineConfig({
  test: {
    include: ['**/*.chaos.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In-process gateways load uWebSockets.js with the settings the entry point gives it.
    env: uwsEnvironment(),
    fileParallelism: false,
  },
});
