import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseCommand, type ClusterCommand, type CommandBus } from './command-bus.js';

/**
 * Commands over Redis pub/sub on `<prefix>commands`. Subscribing needs a connection of its own
 * (a subscribed connection can do nothing else): a duplicate of the shared one, which ioredis
 * re-subscribes after a reconnection.
 */
export function createRedisCommandBus(options: { redis: Redis; keyPrefix: string; logger: Logger }): CommandBus {
  const channel = `${options.keyPrefix}commands`;
  let subscriber: Redis | undefined;

  return {
    async start(handler: (command: ClusterCommand) => void) {
      const connection = options.redis.duplicate();
      subscriber = connection;
      connection.on('error', (error: Error) => options.logger.debug({ err: error }, 'command bus connection error'));
      connection.on('message', (from: string, text: string) => {
        if (from !== channel) return;
        const command = parseCommand(text);
        if (command === undefined) {
          options.logger.warn('ignored a malformed cluster command');
          return;
        }
        handler(command);
      });
      await connection.subscribe(channel);
    },
    async publish(command) {
      await options.redis.publish(channel, JSON.stringify(command));
    },
    async stop() {
      const connection = subscriber;
      subscriber = undefined;
      if (connection === undefined) return;
      try {
        await connection.quit();
      } catch (error) {
        options.logger.debug({ err: error }, 'command bus quit failed; disconnecting');
        connection.disconnect();
      }
    },
  };
}
