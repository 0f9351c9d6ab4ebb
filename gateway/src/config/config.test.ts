import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const secret = 'x'.repeat(40);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('runs embedded with no configuration at all, using the dev secret file', () => {
    const config = loadConfig({});
    expect(config.embedded).toBe(true);
    expect(config.server.port).toBe(8081);
    expect(config.server.managementPort).toBe(9091);
    expect(config.auth.devSecretFile).toBe('.orgcast-dev/jwt-secret');
    expect(config.devPublishEnabled).toBe(true);
    expect(config.amqp).toBeUndefined();
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('names every bad variable at once, without echoing secrets', () => {
    const problems = problemsOf({
      PORT: 'abc',
      MAX_CONNECTIONS: '-5',
      JWT_CLOCK_TOLERANCE_SECONDS: '61',
      LOG_LEVEL: 'loud',
      AMQP_URL: 'http://guest:topsecret@host',
      JWT_SECRET: 'short-secret-value',
    });
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['PORT', 'MAX_CONNECTIONS', 'JWT_CLOCK_TOLERANCE_SECONDS', 'LOG_LEVEL', 'AMQP_URL', 'JWT_SECRET']));
    expect(problems.join('\n')).not.toContain('topsecret');
    expect(problems.join('\n')).not.toContain('short-secret-value');
    expect(problems.join('\n')).toContain('"abc"');
  });

  it('refuses a REDIS_KEY_PREFIX with braces: they would take the place of the keys\' {org} hash tags', () => {
    for (const prefix of ['a{', '{app}:', 'x}']) expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix }).map((p) => p.split(':')[0])).toContain('REDIS_KEY_PREFIX');
    expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'a-development-secret-of-at-least-32-chars', REDIS_KEY_PREFIX: 'app.prod:' })).toEqual([]);
  });

  it('checks cross-field rules even when another variable is bad', () => {
    const names = problemsOf({ PORT: 'abc', HEARTBEAT_INTERVAL_MS: '70000' }).map((p) => p.split(':')[0]);
    expect(names.sort()).toEqual(['HEARTBEAT_INTERVAL_MS', 'PORT']);
  });

  it('takes integers in decimal only', () => {
    for (const bad of ['1e3', '0x7a3f', '8081.0', '+8081', ' 80 81', '08081', '1_000']) {
      expect(problemsOf({ PORT: bad }).map((p) => p.split(':')[0]), bad).toEqual(['PORT']);
    }
    expect(loadConfig({ PORT: '8082' }).server.port).toBe(8082);
    expect(loadConfig({ PORT: '0' }).server.port).toBe(0);
  });

  it('checks JWT_PUBLIC_KEY as a key, beside every other problem, without quoting it', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const weakProblems = problemsOf({ JWT_PUBLIC_KEY: weak, PORT: 'abc' });
    expect(weakProblems.map((p) => p.split(':')[0]).sort()).toEqual(['JWT_PUBLIC_KEY', 'PORT']);
    expect(weakProblems.join('\n')).toMatch(/1024 bits/);
    const garbage = '-----BEGIN PUBLIC KEY-----\nnot-a-key\n-----END PUBLIC KEY-----';
    const garbageProblems = problemsOf({ JWT_PUBLIC_KEY: garbage });
    expect(garbageProblems.map((p) => p.split(':')[0])).toEqual(['JWT_PUBLIC_KEY']);
    expect(garbageProblems.join('\n')).not.toContain('not-a-key');
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(problemsOf({ JWT_PUBLIC_KEY: good })).toEqual([]);
  });

  it('derives the drain window from the shutdown timeout unless both are set', () => {
    expect(loadConfig({}).lifecycle).toEqual({ shutdownTimeoutMs: 25_000, drainWindowMs: 10_000 });
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '8000' }).lifecycle).toEqual({ shutdownTimeoutMs: 8_000, drainWindowMs: 3_200 });
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '1000' }).lifecycle.drainWindowMs).toBe(0);
    expect(loadConfig({ DRAIN_WINDOW_MS: '20000', SHUTDOWN_TIMEOUT_MS: '30000' }).lifecycle.drainWindowMs).toBe(20_000);
    expect(problemsOf({ DRAIN_WINDOW_MS: '24500' }).map((p) => p.split(':')[0])).toEqual(['DRAIN_WINDOW_MS']);
  });

  it('refuses a connected deployment without any JWT key', () => {
    expect(problemsOf({ AMQP_URL: 'amqp://localhost' })[0]).toMatch(/JWT_SECRET/);
    expect(problemsOf({ AMQP_URL: 'amqp://localhost', JWT_SECRET: secret })).toEqual([]);
  });

  it('checks cross-field rules', () => {
    const problems = problemsOf({
      PORT: '9000',
      MANAGEMENT_PORT: '9000',
      HEARTBEAT_INTERVAL_MS: '70000',
      HEARTBEAT_TIMEOUT_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '5000',
      DRAIN_WINDOW_MS: '4500',
      AMQP_RECONNECT_MIN_MS: '5000',
      AMQP_RECONNECT_MAX_MS: '1000',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['AMQP_RECONNECT_MIN_MS', 'DRAIN_WINDOW_MS', 'HEARTBEAT_INTERVAL_MS', 'MANAGEMENT_PORT']);
  });

  it('treats empty strings as unset and parses lists and booleans', () => {
    const config = loadConfig({
      PORT: '',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example,',
      TRUSTED_PROXIES: '10.0.0.0/8',
      DEV_PUBLISH_ENABLED: 'false',
      POD_NAME: 'gw-1',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      JWT_SECRET: secret,
    });
    expect(config.server.port).toBe(8081);
    expect(config.server.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.server.trustedProxies).toEqual(['10.0.0.0/8']);
    expect(config.devPublishEnabled).toBe(false);
    expect(config.amqp?.queueName).toBe('orgcast.pod.gw-1');
    expect(config.amqp?.deadLetterExchange).toBe('tasks.dead-letter');
    expect(config.auth.devSecretFile).toBeUndefined();
  });
});
