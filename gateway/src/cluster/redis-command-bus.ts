import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LuaScript } from '../redis/lua-script.js';
import { backoffDelay } from '../retry/backoff.js';
import { parseCommand, type ClusterCommand, type CommandBus, type CommandHandler } from './command-bus.js';
import { CommandProgress, type CommandFence } from './command-progress.js';

export interface RedisCommandBusOptions {
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly logger: Logger;
  /** Entries the stream keeps (approximately): how long a pod may be away and still hear everything. */
  readonly maxLength?: number;
  /** How long one XREAD blocks (a stop waits at most this long for the reader). */
  readonly blockMs?: number;
  /** How long a frame or a read waits at most for this pod's reader to apply a command (CommandFence). */
  readonly fenceTimeoutMs?: number;
  /** A fence wait ended by its timeout (the reader could not read the stream meanwhile). */
  readonly fenceTimedOut?: (seq: number, heard: number) => void;
}

/** KEYS = stream, sequence counter; ARGV = command JSON, max length. Numbers the command and appends it. */
const PUBLISH = new LuaScript(`
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 's', seq, 'c', ARGV[1])
return seq
`);

/**
 * Commands on a Redis stream, `<prefix>{commands}`, each numbered by `<prefix>{commands}:seq`. Every pod
 * reads the stream from where it stands (XREAD BLOCK on a connection of its own), so a pod whose
 * Redis connection dropped hears what it missed once it is back. A number that does not follow the
 * last one heard (entries trimmed while the pod was away, or the counter reset because Redis lost
 * its data) tells the pod it may have missed commands (`missed`).
 */
export function createRedisCommandBus(options: RedisCommandBusOptions): CommandBus {
  // One hash slot for both (a Redis Cluster runs the script on one node).
  const stream = `${options.keyPrefix}{commands}`;
  const counter = `${options.keyPrefix}{commands}:seq`;
  const maxLength = options.maxLength ?? 100_000;
  const blockMs = options.blockMs ?? 2_000;
  const { logger } = options;
  const progress = new CommandProgress({
    timeoutMs: options.fenceTimeoutMs ?? 5_000,
    timedOut: options.fenceTimedOut ?? ((seq, heard) => logger.warn({ seq, heard }, 'waited in vain for the cluster command reader; delivering without it')),
  });
  const fence: CommandFence = {
    hasHeard: (seq) => progress.hasHeard(seq),
    waitFor: (seq) => progress.waitFor(seq),
    latest: async () => Number(await options.redis.get(counter) ?? 0),
  };
  let reader: Redis | undefined;
  let reading: Promise<void> | undefined;
  let stopped = false;

  /** A handler that throws (a bug) must not end the reading: this pod would hear no command again. */
  function contained(apply: () => void): void {
    try {
      apply();
    } catch (error) {
      logger.error({ err: error }, 'applying a cluster command threw; the reader goes on with the next');
    }
  }

  async function read(connection: Redis, handler: CommandHandler, from: { id: string; seq: number | undefined }): Promise<void> {
    let { id: lastId, seq: lastSeq } = from;
    let failures = 0;
    while (!stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = await connection.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', stream, lastId) as typeof reply;
        failures = 0;
      } catch (error) {
        if (stopped) return;
        failures += 1;
        logger.warn({ err: error, failures }, 'reading cluster commands failed; retrying from where this pod stands');
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(failures, { minMs: 100, maxMs: 2_000 })));
        continue;
      }
      if (reply === null) {
        // Idle: a counter below the last number heard means Redis lost its data or was restored
        // from an older snapshot. The memberships are re-read (missed); commands go on after the
        // last id heard: a restored stream's older entries were applied already (re-applying a
        // disconnect would close its user again), a new stream's ids come later (Redis's clock).
        const current = await connection.get(counter).catch(() => null);
        if (current !== null && lastSeq !== undefined && Number(current) < lastSeq) {
          logger.warn({ heard: lastSeq, counter: Number(current) }, 'the cluster command counter went back (Redis lost its data): re-reading membership state');
          progress.restarted(Number(current), lastSeq);
          contained(() => handler.missed());
          lastSeq = undefined;
        }
        continue;
      }
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          lastId = id;
          const values = new Map<string, string>();
          for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
          const seq = Number(values.get('s'));
          if (lastSeq !== undefined && seq !== lastSeq + 1) {
            logger.warn({ expected: lastSeq + 1, got: seq }, 'cluster commands were missed: re-reading membership state');
            if (seq < lastSeq) progress.restarted(seq - 1, lastSeq);
            contained(() => handler.missed());
          }
          lastSeq = seq;
          const command = parseCommand(values.get('c') ?? '');
          if (command === undefined) logger.warn('ignored a malformed cluster command');
          else contained(() => handler.command(command));
          // Applied (a membership change takes effect synchronously): what waits behind it goes on.
          if (Number.isSafeInteger(seq)) progress.applied(seq);
        }
      }
    }
  }

  /** Where the stream stands now: its last entry (or the counter, for an empty stream). */
  async function position(connection: Redis): Promise<{ id: string; seq: number | undefined }> {
    const last = await connection.xrevrange(stream, '+', '-', 'COUNT', 1);
    if (last.length > 0) {
      const [id, fields] = last[0]!;
      const index = fields.indexOf('s');
      return { id, seq: index >= 0 ? Number(fields[index + 1]) : undefined };
    }
    const seq = await connection.get(counter);
    return { id: '0-0', seq: seq === null ? 0 : Number(seq) };
  }

  return {
    async start(handler) {
      // Its own timeout, above the block: a read that never answers (a connection killed in the
      // middle of a blocking XREAD) fails and is retried instead of stalling the reader for good.
      const connection = options.redis.duplicate({ connectionName: `${options.keyPrefix}command-reader`, commandTimeout: blockMs + 3_000 });
      reader = connection;
      connection.on('error', (error: Error) => logger.debug({ err: error }, 'command bus connection error'));
      const from = await position(connection);
      // Commands before the pod started are in the stores its connections read on connect.
      if (from.seq !== undefined) progress.applied(from.seq);
      reading = read(connection, handler, from).catch((error: unknown) => {
        if (!stopped) logger.error({ err: error }, 'the cluster command reader stopped: this pod hears no more commands');
      });
    },
    async publish(command: ClusterCommand) {
      return Number(await PUBLISH.run(options.redis, [stream, counter], [JSON.stringify(command), maxLength]));
    },
    fence,
    async stop() {
      stopped = true;
      progress.close();
      const connection = reader;
      reader = undefined;
      if (connection === undefined) return;
      // Unblocks the XREAD (at the latest its own timeout does).
      connection.disconnect();
      await reading;
    },
  };
}
