import { setTimeout as sleepFor } from 'node:timers/promises';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { publishCanary } from './amqp-publisher.js';
import { backoffDelayMs } from './backoff.js';
import { createCanaryMonitor } from './canary-monitor.js';
import { BrokerSetupError, EventSourceStateError } from './event-source-error.js';
import type { EventSink, EventSource } from './event-source.js';
import { createMessageHandler } from './message-handler.js';
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

export interface AmqpEventSourceDeps {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** One live connection: its channels are valid while `generation` is the current one. */
interface Link {
  readonly generation: number;
  readonly model: ChannelModel;
  readonly consumer: Channel;
  readonly publisher: ConfirmChannel;
  readonly consumerTag: string;
}

type State =
  | { readonly kind: 'idle' }
  | { readonly kind: 'down' }
  | { readonly kind: 'up'; readonly link: Link }
  | { readonly kind: 'stopped' };

/**
 * Consumes the pod's own queue (see topology.ts) and hands valid events to the sink, in order, one
 * at a time: each message is acked individually after its sink handler settles. Invalid messages
 * are rejected without requeue (dead-lettered) and never reach the sink; a sink failure requeues
 * the message after `retryDelayMs`. Delivery is at-least-once: a message whose ack was lost with
 * its connection comes again.
 *
 * `start()` resolves once the first connection consumes, or once the first attempt has failed:
 * a broker that is down at boot must not keep the pod from starting (it reports not ready, and
 * the reconnect loop keeps trying in the background, logging each failure).
 *
 * Readiness: connected, and a canary published by this pod through the exchange came back
 * through its queue within two intervals (see canary-monitor.ts). One is published at once on
 * every (re)connection, so a new connection is ready as soon as the path is proven.
 */
export function createAmqpEventSource(options: AmqpEventSourceOptions, deps: AmqpEventSourceDeps): EventSource {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const canary = createCanaryMonitor(options.canaryIntervalMs);
  const stopping = new AbortController();

  let state: State = { kind: 'idle' };
  let sink: EventSink | undefined;
  let generation = 0;
  let everConnected = false;
  let reconnecting: Promise<void> | undefined;
  let connecting: Promise<void> | undefined;
  /** Connections being closed after a loss; `stop()` waits for them. */
  const closing = new Set<Promise<void>>();
  let stopped: Promise<void> | undefined;
  let canaryTimer: NodeJS.Timeout | undefined;
  let lastCanarySentAtMs = 0;
  /** Tail of the sequential message pipeline; never rejects. */
  let pipeline: Promise<void> = Promise.resolve();
  const handleMessage = createMessageHandler({
    podName: options.podName,
    retryDelayMs,
    logger,
    metrics,
    now,
    sleep,
    onCanary(sentAtMs) {
      if (!canary.received(sentAtMs)) return;
      lastCanarySentAtMs = Math.max(lastCanarySentAtMs, sentAtMs);
      updateCanaryAge();
    },
  });

  metrics.brokerConnected.set(0);

  /** One connection attempt; `stop()` waits for the one in flight. */
  async function connectOnce(): Promise<void> {
    const attempt = establish();
    connecting = attempt;
    try {
      await attempt;
    } finally {
      if (connecting === attempt) connecting = undefined;
    }
  }

  async function establish(): Promise<void> {
    generation += 1;
    const current = generation;
    let lostReason: string | undefined;
    const onLost = (reason: string) => () => {
      lostReason ??= reason;
      lose(current, reason);
    };
    const model = await connect(options.url, {
      timeout: options.connectTimeoutMs ?? 10_000,
      clientProperties: { connection_name: `orgcast ${options.podName}` },
    });
    model.on('error', (error: Error) => logger.warn({ err: error }, 'amqp connection error'));
    model.on('close', onLost('connection closed'));
    model.on('blocked', (reason: string) => logger.warn({ reason }, 'amqp connection blocked by the broker'));
    model.on('unblocked', () => logger.info('amqp connection unblocked'));
    try {
      await declareTopology(model, options, logger);
      const consumer = await model.createChannel();
      consumer.on('error', (error: Error) => logger.warn({ err: error }, 'amqp consumer channel error'));
      consumer.on('close', onLost('consumer channel closed'));
      await consumer.prefetch(options.prefetch);
      const publisher = await model.createConfirmChannel();
      publisher.on('error', (error: Error) => logger.warn({ err: error }, 'amqp publisher channel error'));
      publisher.on('close', onLost('publisher channel closed'));
      canary.reset(now());
      const { consumerTag } = await consumer.consume(options.queueName, (message) => onDelivery(current, consumer, message), { noAck: false });
      if (lostReason !== undefined) throw new BrokerSetupError(`broker connection lost during setup (${lostReason})`);
      if (stopping.signal.aborted) throw new BrokerSetupError('stopped during setup');
      const link: Link = { generation: current, model, consumer, publisher, consumerTag };
      state = { kind: 'up', link };
      metrics.brokerConnected.set(1);
      sendCanary(link);
    } catch (error) {
      await closeQuietly(model);
      throw error;
    }
  }

  /** A connection or channel of generation `lost` closed: go down and reconnect (once). */
  function lose(lost: number, reason: string): void {
    if (state.kind !== 'up' || state.link.generation !== lost) return;
    const { model } = state.link;
    state = { kind: 'down' };
    metrics.brokerConnected.set(0);
    logger.warn({ reason }, 'broker connection lost; reconnecting');
    // A channel can close while its connection stays open: close it all and start over. Deferred:
    // when the connection itself is going, its channels report first, and a close() issued from
    // their handlers would wait for a handshake that never comes; a tick later it fails at once.
    const closed = Promise.resolve()
      .then(() => closeQuietly(model))
      .finally(() => closing.delete(closed));
    closing.add(closed);
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (reconnecting !== undefined || stopping.signal.aborted) return;
    reconnecting = reconnectLoop().finally(() => {
      reconnecting = undefined;
    });
  }

  async function reconnectLoop(): Promise<void> {
    for (let attempt = 0; state.kind === 'down' && !stopping.signal.aborted; attempt += 1) {
      const delayMs = backoffDelayMs(attempt, { minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs }, random);
      if (!(await sleep(delayMs))) return;
      try {
        await connectOnce();
        if (everConnected) metrics.brokerReconnects.inc();
        everConnected = true;
        logger.info({ attempt: attempt + 1 }, 'broker connection established');
      } catch (error) {
        if (stopping.signal.aborted) return;
        logger.error({ err: error, attempt: attempt + 1, nextMaxDelayMs: delayMs * 2 }, 'broker connection attempt failed');
      }
    }
  }

  /** Resolves true after `ms`, false at once when stopping. */
  async function sleep(ms: number): Promise<boolean> {
    try {
      await sleepFor(ms, undefined, { signal: stopping.signal });
      return true;
    } catch (error) {
      if (stopping.signal.aborted) return false;
      throw error;
    }
  }

  function onDelivery(from: number, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      logger.warn('consumer cancelled by the broker (queue deleted?)');
      lose(from, 'consumer cancelled by the broker');
      return;
    }
    pipeline = pipeline
      .then(() => {
        // Left unacked: the broker redelivers it once its channel is closed.
        if (from !== generation || stopping.signal.aborted || sink === undefined) return undefined;
        return handleMessage(channel, message, sink);
      })
      .catch((error: unknown) => logger.error({ err: error }, 'unexpected error while handling a broker message'));
  }


  function sendCanary(link: Link): void {
    const sentAtMs = now();
    try {
      publishCanary(link.publisher, options.exchange, options.podName, sentAtMs, (error) => {
        if (error !== null && error !== undefined) logger.warn({ err: error }, 'readiness canary not confirmed by the broker');
      });
    } catch (error) {
      logger.warn({ err: error }, 'could not publish the readiness canary');
    }
  }

  function updateCanaryAge(): void {
    metrics.canaryAge.set(Math.max(0, now() - lastCanarySentAtMs) / 1000);
  }

  function onCanaryTick(): void {
    updateCanaryAge();
    if (state.kind === 'up') sendCanary(state.link);
  }

  async function shutdown(): Promise<void> {
    const link = state.kind === 'up' ? state.link : undefined;
    state = { kind: 'stopped' };
    stopping.abort();
    clearInterval(canaryTimer);
    metrics.brokerConnected.set(0);
    if (link !== undefined) {
      try {
        await link.consumer.cancel(link.consumerTag);
      } catch (error) {
        logger.debug({ err: error }, 'could not cancel the consumer; closing the connection instead');
      }
    }
    await withDeadline(Promise.all([pipeline, reconnecting, settled(connecting), ...closing]), stopTimeoutMs);
    if (link !== undefined) await closeQuietly(link.model);
  }

  /** Closes a connection, giving up (and leaving it to the socket) after `stopTimeoutMs`. */
  async function closeQuietly(model: ChannelModel): Promise<void> {
    try {
      await withDeadline(model.close(), stopTimeoutMs);
    } catch (error) {
      logger.debug({ err: error }, 'amqp connection already closed');
    }
  }

  return {
    async start(eventSink) {
      if (state.kind !== 'idle') throw new EventSourceStateError(`cannot start an event source that is ${state.kind === 'stopped' ? 'stopped' : 'started'}`);
      sink = eventSink;
      state = { kind: 'down' };
      lastCanarySentAtMs = now();
      canaryTimer = setInterval(onCanaryTick, options.canaryIntervalMs);
      try {
        await connectOnce();
        everConnected = true;
        logger.info({ queue: options.queueName, exchange: options.exchange }, 'consuming from the broker');
      } catch (error) {
        if (stopping.signal.aborted) return;
        logger.error({ err: error }, 'first broker connection failed; retrying in the background, not ready meanwhile');
        scheduleReconnect();
      }
    },
    stop() {
      stopped ??= shutdown();
      return stopped;
    },
    isReady() {
      return state.kind === 'up' && canary.isFresh(now());
    },
  };
}

/** Resolves when `work` settles, whether it fulfils or rejects (its rejection is handled elsewhere). */
function settled(work: Promise<unknown> | undefined): Promise<void> {
  return work === undefined ? Promise.resolve() : work.then(() => undefined, () => undefined);
}

/** Waits for `work`, at most `ms`. */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
