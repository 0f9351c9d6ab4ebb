import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { mintDevToken } from '../../src/tools/dev-token.js';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly port: number;
  readonly managementPort: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly managementUrl: string;
  stop(): Promise<void>;
}

/** Starts an in-process gateway on free ports with HS256 auth and the given extra environment. */
export async function startGateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({
    PORT: '0',
    MANAGEMENT_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    POD_NAME: `test-${randomBytes(4).toString('hex')}`,
    JWT_SECRET: TEST_SECRET,
    DRAIN_WINDOW_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '5000',
    CONNECT_RATE_BURST: '1000',
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const gateway = await createGateway(config, { logger });
  const { port, managementPort } = await gateway.start();
  let stopped: Promise<void> | undefined;
  return {
    gateway,
    config,
    port,
    managementPort,
    wsUrl: `ws://127.0.0.1:${port}/api/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    managementUrl: `http://127.0.0.1:${managementPort}`,
    stop: () => (stopped ??= gateway.stop()),
  };
}

export function token(userId: string, organizations: string[], options: { ttlSeconds?: number; scopes?: string[]; issuedAt?: Date; secret?: string } = {}): Promise<string> {
  return mintDevToken({
    secret: options.secret ?? TEST_SECRET,
    userId,
    organizations,
    ttlSeconds: options.ttlSeconds ?? 3600,
    scopes: options.scopes,
    issuedAt: options.issuedAt,
  });
}
