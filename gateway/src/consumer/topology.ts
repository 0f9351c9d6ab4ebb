import type { Channel, ChannelModel, Options } from 'amqplib';
import type { Logger } from 'pino';
import { deadLetterQueueName, overflowQueueName } from './routing-keys.js';

export interface TopologyOptions {
  readonly exchange: string;
  readonly deadLetterExchange: string;
  readonly queueName: string;
  readonly queueExpiresMs: number;
  readonly queueMaxLength: number;
  readonly podName: string;
}

/** Bound on the shared dead-letter queue, so a flood of poison cannot fill the broker's disk. */
export const DEAD_LETTER_QUEUE_MAX_LENGTH = 100_000;

/**
 * The pod queue. Durable, not exclusive, not auto-delete: it survives a connection blip (and a
 * broker restart), and `x-expires` deletes it once no consumer has used it for `queueExpiresMs`,
 * i.e. after the pod is gone. Durable also keeps it valid on RabbitMQ 4, which deprecates
 * transient non-exclusive queues.
 *
 * Overflow is `drop-head`, not `reject-publish-dlx`: when a pod falls `queueMaxLength` behind, the
 * oldest frames go to the overflow exchange (`<exchange>.overflow`, counted there, apart from
 * poison messages), and the sequencer's publishes are never refused: with `reject-publish*`, one
 * stuck pod would hold up the routing of every organization. The pod sees the hole in its frames'
 * `prev` chain and reads what it lost from history.
 */
export function podQueueOptions(options: TopologyOptions): Options.AssertQueue {
  return {
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: {
      'x-expires': options.queueExpiresMs,
      'x-max-length': options.queueMaxLength,
      'x-overflow': 'drop-head',
      'x-dead-letter-exchange': overflowQueueName(options.exchange),
    },
  };
}

/** Bound on the shared overflow queue: it is only counted and emptied, never kept. */
export const OVERFLOW_QUEUE_MAX_LENGTH = 10_000;

/**
 * The durable topic exchange the task service publishes to; the fanout dead-letter exchange and
 * its durable queue `<exchange>.dead-letter`, where rejected messages are kept for inspection.
 * Returns the open setup channel, for the caller's own declarations (and to close).
 */
export async function declareExchanges(model: ChannelModel, options: Pick<TopologyOptions, 'exchange' | 'deadLetterExchange'>, logger: Logger): Promise<Channel> {
  let channel = await openSetupChannel(model, logger);
  await channel.assertExchange(options.exchange, 'topic', { durable: true });
  await channel.assertExchange(options.deadLetterExchange, 'fanout', { durable: true });
  const deadLetterQueue = deadLetterQueueName(options.exchange);
  channel = await assertQueueOrUseExisting(model, channel, deadLetterQueue, {
    durable: true,
    arguments: { 'x-max-length': DEAD_LETTER_QUEUE_MAX_LENGTH, 'x-overflow': 'drop-head' },
  }, logger);
  await channel.bindQueue(deadLetterQueue, options.deadLetterExchange, '');
  return channel;
}

async function openSetupChannel(model: ChannelModel, logger: Logger): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', (error: Error) => logger.debug({ err: error }, 'amqp setup channel error'));
  return channel;
}

/**
 * A queue declared earlier with other arguments (an older release, changed settings) makes the
 * broker refuse the declaration with 406. Consuming from the queue as it is beats never consuming:
 * the pod queue expires with the pod and comes back with the new arguments. Returns the channel to
 * go on with (a fresh one after a refusal, which closed the old one).
 */
export async function assertQueueOrUseExisting(model: ChannelModel, channel: Channel, queue: string, options: Options.AssertQueue, logger: Logger): Promise<Channel> {
  try {
    await channel.assertQueue(queue, options);
    return channel;
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    logger.warn({ err: error, queue }, 'queue exists with other arguments; using it as it is');
    const fresh = await openSetupChannel(model, logger);
    await fresh.checkQueue(queue);
    return fresh;
  }
}

function isPreconditionFailed(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 406;
}
