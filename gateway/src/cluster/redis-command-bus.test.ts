import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../../test/helpers/redis.js';
import { waitFor } from '../../test/helpers/wait.js';
import type { ClusterCommand, CommandBus } from './command-bus.js';
import { createRedisCommandBus } from './redis-command-bus.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const disconnect = (userId: string): ClusterCommand => ({ type: 'disconnect_user', userId, reason: 'test' });

describe('createRedisCommandBus', () => {
  const buses: CommandBus[] = [];
  let redis: TestRedis | undefined;
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.stop()));
    await redis?.cleanup();
    redis = undefined;
  });

  async function started(options: { maxLength?: number } = {}) {
    redis ??= await createTestRedis();
    const heard: string[] = [];
    let missed = 0;
    const bus = createRedisCommandBus({ redis: redis.redis, keyPrefix: redis.prefix, logger, blockMs: 200, ...options });
    buses.push(bus);
    await bus.start({ command: (command) => void heard.push(command.type === 'disconnect_user' ? command.userId : command.change.userId), missed: () => void (missed += 1) });
    return { bus, heard, missed: () => missed };
  }

  it('delivers every command to every pod, in publish order, this one included', async () => {
    const a = await started();
    const b = await started();
    for (const user of ['u1', 'u2', 'u3']) await a.bus.publish(disconnect(user));
    await waitFor(() => a.heard.length === 3 && b.heard.length === 3, 3_000, 'both heard all');
    expect(a.heard).toEqual(['u1', 'u2', 'u3']);
    expect(b.heard).toEqual(['u1', 'u2', 'u3']);
    expect(a.missed() + b.missed()).toBe(0);
  });

  it('a pod whose connection dropped hears what was published meanwhile once it is back', async () => {
    const a = await started();
    const b = await started();
    await a.bus.publish(disconnect('before'));
    await waitFor(() => b.heard.length === 1, 3_000, 'the first command');
    // Kill b's reading connection (the one blocked in XREAD), then publish while it reconnects.
    const clients = String(await redis!.redis.client('LIST')).split('\n').filter((line) => line.includes(`name=${redis!.prefix}command-reader`));
    expect(clients).toHaveLength(2);
    for (const line of clients) await redis!.redis.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
    await a.bus.publish(disconnect('while-away-1'));
    await a.bus.publish(disconnect('while-away-2'));
    await waitFor(() => b.heard.length === 3, 5_000, 'what it missed');
    expect(b.heard).toEqual(['before', 'while-away-1', 'while-away-2']);
    expect(b.missed()).toBe(0);
  });

  it('says commands were missed when the stream no longer holds them, or the counter went back (Redis lost its data)', async () => {
    const reader = await started({ maxLength: 1 });
    await reader.bus.publish(disconnect('first'));
    await waitFor(() => reader.heard.length === 1, 3_000, 'the first command');
    // Data loss: stream and counter are gone; the numbering starts again.
    await redis!.redis.del(`${redis!.prefix}{commands}`, `${redis!.prefix}{commands}:seq`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // a restart takes longer than the millisecond of an id
    await reader.bus.publish(disconnect('after-loss'));
    await waitFor(() => reader.heard.length === 2, 3_000, 'the next command');
    expect(reader.missed()).toBe(1);
  });

  it('says commands were missed when the counter went back while it was idle', async () => {
    const reader = await started();
    for (const user of ['a', 'b', 'c']) await reader.bus.publish(disconnect(user));
    await waitFor(() => reader.heard.length === 3, 3_000, 'three commands');
    await redis!.redis.del(`${redis!.prefix}{commands}`, `${redis!.prefix}{commands}:seq`);
    await redis!.redis.set(`${redis!.prefix}{commands}:seq`, '1');
    await waitFor(() => reader.missed() === 1, 3_000, 'the loss noticed');
  });

  it('after a restore from an older snapshot, re-applies none of the restored commands, and goes on with new ones', async () => {
    const reader = await started();
    for (const user of ['a', 'b', 'c']) await reader.bus.publish(disconnect(user));
    await waitFor(() => reader.heard.length === 3, 3_000, 'three commands');
    // The snapshot held a and b: c's entry is gone and the counter is back at 2.
    const stream = `${redis!.prefix}{commands}`;
    const [last] = await redis!.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    await redis!.redis.xdel(stream, last![0]);
    await redis!.redis.set(`${stream}:seq`, '2');
    await waitFor(() => reader.missed() === 1, 3_000, 'the restore noticed');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reader.bus.publish(disconnect('d'));
    await waitFor(() => reader.heard.length === 4, 3_000, 'the new command');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reader.heard).toEqual(['a', 'b', 'c', 'd']);
  });
});
