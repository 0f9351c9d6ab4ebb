import type { ChannelModel, Options } from 'amqplib';
import type { Logger } from 'pino';
import { EVENT_BINDING_PATTERNS, canaryRoutingKey, ingestQueueName, overflowQueueName, routedExchangeName } from './routing-keys.js';
import { OVERFLOW_QUEUE_MAX_LENGTH, assertQueueOrUseExisting, declareExchanges, podQueueOptions, type TopologyOptions } from './topology.js';

export interface ClusterTopologyOptions extends TopologyOptions {
  readonly ingestMaxLength: number;
}

/**
 * The ingest queue: every event enters it once for the whole cluster. Durable and never expiring
 * (events wait there while no pod runs); one consumer per pod, of which the broker feeds exactly
 * one at a time (`x-single-active-consumer`) and fails over, in order, when it goes.
 *
 * Overflow is `reject-publish`, unlike the pod queues' `drop-head`: what waits here is not yet
 * sequenced, and dropping it would lose it for every member of the organization, silently. A
 * refused publish is nacked to the task service's publisher confirm instead, so it still holds the
 * event and can retry; nothing is dead-lettered (a `-dlx` copy would pile up beside the retries).
 */
export function ingestQueueOptions(options: ClusterTopologyOptions): Options.AssertQueue {
  return {
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: {
      'x-single-active-consumer': true,
      'x-max-length': options.ingestMaxLength,
      'x-overflow': 'reject-publish',
      'x-dead-letter-exchange': options.deadLetterExchange,
    },
  };
}

/**
 * Declares the cluster path on a short-lived channel (see docs/architecture.md): the exchanges and
 * dead-letter queue (topology.ts); the ingest queue bound to the event types; the direct exchange
 * `<exchange>.routed`; the overflow exchange and queue `<exchange>.overflow`; the pod queue
 * (podQueueOptions) bound to the routed exchange with this pod's canary key.
 * Organizations are bound by the caller.
 *
 * `fresh` (this process's first connection) deletes the pod queue before declaring it: bindings
 * and frames left by an earlier process of the same pod name (a restart, a StatefulSet, an older
 * release whose pod queue was bound to the event types) would bring this pod events no member of it
 * asked for. After a reconnection the queue is kept: its frames are for this pod's live sockets.
 */
export async function declareClusterTopology(model: ChannelModel, options: ClusterTopologyOptions, logger: Logger, fresh: boolean): Promise<void> {
  let channel = await declareExchanges(model, options, logger);
  const ingest = ingestQueueName(options.exchange);
  channel = await assertQueueOrUseExisting(model, channel, ingest, ingestQueueOptions(options), logger);
  for (const pattern of EVENT_BINDING_PATTERNS) await channel.bindQueue(ingest, options.exchange, pattern);
  const routed = routedExchangeName(options.exchange);
  await channel.assertExchange(routed, 'direct', { durable: true });
  const overflow = overflowQueueName(options.exchange);
  await channel.assertExchange(overflow, 'fanout', { durable: true });
  channel = await assertQueueOrUseExisting(model, channel, overflow, { durable: true, arguments: { 'x-max-length': OVERFLOW_QUEUE_MAX_LENGTH, 'x-overflow': 'drop-head' } }, logger);
  await channel.bindQueue(overflow, overflow, '');
  if (fresh) await channel.deleteQueue(options.queueName);
  channel = await assertQueueOrUseExisting(model, channel, options.queueName, podQueueOptions(options), logger);
  await channel.bindQueue(options.queueName, routed, canaryRoutingKey(options.podName));
  await channel.close();
}
