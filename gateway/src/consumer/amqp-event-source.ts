import type { Config } from '../config/config.js';
import type { EventSink, EventSource } from './event-source.js';
import { createMessageHandler } from './message-handler.js';
import { createResilientAmqp, type AmqpLink, type ResilientAmqpDeps } from './resilient-amqp.js';
import { declareTopology } from './topology.js';

export type AmqpEventSourceOptions = NonNullable<Config['amqp']> & {
  readonly podName: string;
  /** Wait before requeueing a message whose sink handler failed (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** Longest `stop()` waits for the sink handler in progress (default 5000 ms). */
  readonly stopTimeoutMs?: number;
  /** TCP connect and AMQP handshake timeout (default 10000 ms). */
  readonly connectTimeoutMs?: number;
};

export type AmqpEventSourceDeps = ResilientAmqpDeps;

/**
 * Consumes the pod's own queue (see topology.ts) and hands valid events to the sink, in order, one
 * at a time: each message is acked individually after its sink handler settles. Invalid messages
 * are rejected without requeue (dead-lettered) and never reach the sink; a sink failure requeues
 * the message after `retryDelayMs`. Delivery is at-least-once: a message whose ack was lost with
 * its connection comes again.
 *
 * Connection, reconnection, readiness and stop are resilient-amqp.ts's (see there); this layer
 * declares topology.ts's pod queue and consumes it through message-handler.ts.
 *
 * Readiness: connected, and a canary published by this pod through the exchange came back
 * through its queue within two intervals (see canary-monitor.ts). One is published at once on
 * every (re)connection, so a new connection is ready as soon as the path is proven.
 */
export function createAmqpEventSource(options: AmqpEventSourceOptions, deps: AmqpEventSourceDeps): EventSource {
  const amqp = createResilientAmqp<EventSink, AmqpLink>({ ...options, canaryExchange: options.exchange }, deps, async (session, sink) => {
    await declareTopology(session.model, options, deps.logger);
    const consumer = await session.openChannel('consumer');
    await consumer.prefetch(options.prefetch);
    const publisher = await session.openConfirmChannel('publisher');
    await session.consume('consumer', consumer, options.queueName, (message) => handleMessage(consumer, message, sink));
    return { publisher };
  });
  const handleMessage = createMessageHandler({
    podName: options.podName,
    retryDelayMs: options.retryDelayMs ?? 1_000,
    logger: deps.logger,
    metrics: deps.metrics,
    now: deps.now ?? Date.now,
    sleep: amqp.sleep,
    onCanary: amqp.canaryReceived,
  });
  return {
    start: (sink) => amqp.start(sink),
    stop: () => amqp.stop(),
    isReady: () => amqp.isReady(),
  };
}
