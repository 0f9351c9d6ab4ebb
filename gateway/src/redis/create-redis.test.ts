import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { TEST_REDIS_URL } from '../../test/helpers/redis.js';
import { PrivateRedis } from '../../test/helpers/private-redis.js';
import { createRedis, quitRedis, RedisOptionsError, writeWithTimeout } from './create-redis.js';
import type { Redis } from 'ioredis';

interface LogLine {
  level: number;
  msg: string;
}

/** A TCP proxy in front of the test Redis that a test can cut, freeze and restore. */
async function startProxy() {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<Socket>();
  let frozen = false;
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = new (client.constructor as typeof Socket)();
      upstream.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (chunk) => { if (!frozen) upstream.write(chunk); });
      upstream.on('data', (chunk) => { if (!frozen) client.write(chunk); });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address !== null && typeof address === 'object') port = address.port;
  };
  await listen();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    freeze() {
      frozen = true;
    },
    async cut() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    },
    restore: listen,
    stop() {
      for (const s of sockets) s.destroy();
      server?.close();
    },
  };
}

function capture() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, at: (level: number) => lines.filter((l) => l.level === level).map((l) => l.msg) };
}

const gauge = async (metrics: GatewayMetrics): Promise<number | undefined> => (await metrics.redisConnected.get()).values[0]?.value;
const counter = async (metrics: GatewayMetrics): Promise<number> => (await metrics.redisReconnects.get()).values[0]?.value ?? 0;

describe('createRedis', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  function make(url: string, commandTimeoutMs = 2_000) {
    const metrics = createMetrics({ collectDefaults: false });
    const log = capture();
    const redis = createRedis({ url, metrics, logger: log.logger, name: 'test-client', retry: { minMs: 20, maxMs: 100 }, commandTimeoutMs });
    cleanups.push(() => quitRedis(redis, 500));
    return { redis, metrics, log };
  }

  const ready = (redis: Redis) => vi.waitFor(() => expect(redis.status).toBe('ready'), { timeout: 5_000 });

  it('connects, reports itself connected and takes the readiness write', async () => {
    const { redis, metrics, log } = make(TEST_REDIS_URL);
    await ready(redis);
    expect(await gauge(metrics)).toBe(1);
    expect(await writeWithTimeout(redis, `test:probe:${process.pid}`, 1_000)).toBe(true);
    expect(await redis.client('GETNAME')).toBe('test-client');
    await quitRedis(redis, 1_000);
    await vi.waitFor(() => expect(redis.status).toBe('end'));
    expect(await gauge(metrics)).toBe(0);
    expect(log.at(40)).toEqual([]);
    expect(log.at(50)).toEqual([]);
  });

  it('is not ready while Redis answers PING but refuses writes (out of memory)', async () => {
    const own = await PrivateRedis.start();
    cleanups.push(() => own.stop());
    const { redis } = make(own.url);
    await ready(redis);
    expect(await writeWithTimeout(redis, 'probe', 1_000)).toBe(true);
    await redis.config('SET', 'maxmemory', '1');
    expect(await redis.ping()).toBe('PONG');
    expect(await writeWithTimeout(redis, 'probe', 1_000)).toBe(false);
    await redis.config('SET', 'maxmemory', '0');
    expect(await writeWithTimeout(redis, 'probe', 1_000)).toBe(true);
  });

  it('survives an outage: fails fast, warns once, counts reconnects, recovers', async () => {
    const proxy = await startProxy();
    cleanups.push(() => proxy.stop());
    const { redis, metrics, log } = make(proxy.url);
    await ready(redis);

    await proxy.cut();
    await vi.waitFor(async () => expect(await gauge(metrics)).toBe(0));
    const started = Date.now();
    await expect(redis.get('some-key')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await writeWithTimeout(redis, `test:probe:${process.pid}`, 200)).toBe(false);
    await vi.waitFor(async () => expect(await counter(metrics)).toBeGreaterThanOrEqual(5));
    expect(log.at(40)).toEqual(['redis connection lost; reconnecting']);

    await proxy.restore();
    await ready(redis);
    expect(await gauge(metrics)).toBe(1);
    expect(await writeWithTimeout(redis, `test:probe:${process.pid}`, 1_000)).toBe(true);
    expect(log.at(30)).toContain('redis connection restored');
    expect(log.at(40)).toHaveLength(1);
  });

  it('keeps retrying quietly when Redis is unreachable from the start, and stops on quit', async () => {
    const proxy = await startProxy();
    const url = proxy.url;
    await proxy.cut();
    const { redis, metrics, log } = make(url);
    await vi.waitFor(async () => expect(await counter(metrics)).toBeGreaterThanOrEqual(3));
    expect(log.at(40)).toEqual(['redis unavailable; retrying in the background']);
    expect(await writeWithTimeout(redis, `test:probe:${process.pid}`, 100)).toBe(false);
    await quitRedis(redis, 500);
    const attempts = await counter(metrics);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await counter(metrics)).toBe(attempts);
    expect(log.at(50)).toEqual([]);
  });

  it('times commands out and quit falls back to disconnect when the server stops answering', async () => {
    const proxy = await startProxy();
    cleanups.push(() => proxy.stop());
    const { redis } = make(proxy.url, 300);
    await ready(redis);
    proxy.freeze();
    expect(await writeWithTimeout(redis, `test:probe:${process.pid}`, 100)).toBe(false);
    await expect(redis.get('some-key')).rejects.toThrow(/timed out/i);
    const started = Date.now();
    await quitRedis(redis, 200);
    expect(Date.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(redis.status).toBe('end'));
  });

  it('rejects bad options without revealing the URL', () => {
    const metrics = createMetrics({ collectDefaults: false });
    const { logger } = capture();
    const options = { url: TEST_REDIS_URL, metrics, logger, name: 'ok' };
    expect(() => createRedis({ ...options, name: 'has space' })).toThrow(RedisOptionsError);
    expect(() => createRedis({ ...options, url: 'http://user:hunter2@example.com' })).toThrow(/^(?!.*hunter2).*redis:\/\//);
    expect(() => createRedis({ ...options, retry: { minMs: 0, maxMs: 10 } })).toThrow(RedisOptionsError);
    expect(() => createRedis({ ...options, maxRetriesPerRequest: -1 })).toThrow(RedisOptionsError);
    expect(() => createRedis({ ...options, commandTimeoutMs: 0 })).toThrow(RedisOptionsError);
  });
});
