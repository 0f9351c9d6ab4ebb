import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { publishEvent, publishMembershipChange } from '../consumer/amqp-publisher.js';
import type { DevPublish } from './dev-publish-route.js';

/**
 * The dev endpoint's way into RabbitMQ when AMQP_URL is set (DEV_PUBLISH_ENABLED=true): publishes
 * exactly what a task service would, on a lazily opened confirm channel, and waits for the confirm.
 */
export function createAmqpDevPublish(options: Pick<NonNullable<Config['amqp']>, 'url' | 'exchange'>, logger: Logger): { publish: DevPublish; close: () => Promise<void> } {
  let opening: Promise<{ connection: ChannelModel; channel: ConfirmChannel }> | undefined;

  const open = (): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> => {
    opening ??= (async () => {
      const connection = await connect(options.url, { noDelay: true });
      const forget = (): void => {
        opening = undefined;
      };
      connection.on('close', forget);
      connection.on('error', (error: unknown) => {
        logger.warn({ err: error }, 'dev publish connection error');
        forget();
      });
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: unknown) => logger.warn({ err: error }, 'dev publish channel error'));
      channel.on('close', forget);
      await channel.assertExchange(options.exchange, 'topic', { durable: true });
      return { connection, channel };
    })();
    opening.catch(() => {
      opening = undefined;
    });
    return opening;
  };

  return {
    publish: async (message) => {
      const { channel } = await open();
      if ('userId' in message) publishMembershipChange(channel, options.exchange, message);
      else publishEvent(channel, options.exchange, message);
      await channel.waitForConfirms();
    },
    close: async () => {
      const current = opening;
      opening = undefined;
      if (current === undefined) return;
      // A connection that never opened has nothing to close.
      const opened = await current.catch(() => undefined);
      await opened?.connection.close();
    },
  };
}
