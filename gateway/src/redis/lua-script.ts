import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { storeErrorOf } from './store-error.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not have it cached
 * (first use, restart, failover, SCRIPT FLUSH). Unlike `defineCommand`, it does not add methods to
 * a Redis client that other components share.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; a Redis that cannot serve throws StoreUnavailableError (see store-error.ts). */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      try {
        return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        return await redis.eval(this.source, keys.length, ...keys, ...args);
      }
    } catch (error) {
      throw storeErrorOf(error);
    }
  }
}
