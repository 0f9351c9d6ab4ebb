import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestRedis } from '../../test/helpers/redis.js';
import { LuaScript } from './lua-script.js';

describe('LuaScript', () => {
  it('loads an uncached script with EVAL, then runs it by SHA', async () => {
    const { redis, prefix, cleanup } = await createTestRedis();
    try {
      const script = new LuaScript(`-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
      expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
      expect(await script.run(redis, [`${prefix}n`], [2])).toBe(2);
      expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
      expect(await script.run(redis, [`${prefix}n`], [3])).toBe(5);
    } finally {
      await cleanup();
    }
  });

  it('passes script errors through', async () => {
    const { redis, cleanup } = await createTestRedis();
    try {
      const script = new LuaScript(`-- ${randomUUID()}\nreturn redis.error_reply('boom')`);
      await expect(script.run(redis, [], [])).rejects.toThrow('boom');
      await expect(script.run(redis, [], [])).rejects.toThrow('boom');
    } finally {
      await cleanup();
    }
  });
});
