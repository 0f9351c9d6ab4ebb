import { setTimeout as sleepFor } from 'node:timers/promises';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { publishCanary } from './amqp-publisher.js';
import { backoffDelay } from '../retry/backoff.js';
import { createCanaryMonitor } from './canary-monitor.js';
import { BrokerSetupError, BrokerUnavailableError, EventSourceStateError } from './event-source-error.js';

export interface ResilientAmqpOptions {
  readonly url: string;
  /** Names the connection (`orgcast <pod>`) and this pod's readiness canary. */
  readonly podName: string;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly canaryIntervalMs: number;
  /** Where the canary goes, with routing key `orgcast.canary.<pod>`; `setup` routes it to a queue it consumes. */
  readonly canaryExchange: string;
  /** TCP connect and AMQP handshake timeout (default 10000 ms). */
  readonly connectTimeoutMs?: number;
  /** Longest `stop()` waits for the handlers in progress, and for a connection to close (default 5000 ms). */
  readonly stopTimeoutMs?: number;
}

export interface ResilientAmqpDeps {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What `setup` hands back for a live connection; the canary is published on `publisher`. */
export interface AmqpLink {
  readonly publisher: ConfirmChannel;
}

export type DeliveryHandler = (message: ConsumeMessage) => void | Promise<void>;

/** One connection, as `setup` sees it while it declares topology and starts consumers. */
export interface AmqpSession {
  readonly model: ChannelModel;
  /** No earlier connection of this source was ever established. */
  readonly first: boolean;
  /** This is still the live connection (not lost, not stopping). */
  isCurrent(): boolean;
  /** A channel whose loss takes the whole connection down, which then reconnects. */
  openChannel(role: string): Promise<Channel>;
  openConfirmChannel(role: string): Promise<ConfirmChannel>;
  /**
   * Consumes `queue` with manual acks. `handle` runs for one message at a time, in delivery order,
   * in one pipeline per `role` that spans reconnections (a new connection's messages wait for the
   * old one's handler in progress). Messages wait until `setup` has completed; those of a lost
   * connection, or handled after `stop()`, are skipped and left unacked, so the broker redelivers
   * them once their channel is gone.
   */
  consume(role: string, channel: Channel, queue: string, handle: DeliveryHandler): Promise<void>;
}

/** Declares topology and starts consumers on every (re)connection; throws to retry later. */
export type AmqpSetup<S, L extends AmqpLink> = (session: AmqpSession, sink: S) => Promise<L>;

export interface ResilientAmqp<S, L extends AmqpLink> {
  start(sink: S): Promise<void>;
  /** Idempotent: waits for the handlers in progress (bounded), then closes. */
  stop(): Promise<void>;
  /** Connected, and this pod's canary came back within the window (see canary-monitor.ts). */
  isReady(): boolean;
  /** The live connection's link; also while `stop()` drains the handlers, until it closes. */
  link(): L | undefined;
  /**
   * The live link at once, else the next one: rejects with BrokerUnavailableError after
   * `timeoutMs`, with EventSourceStateError once stopping.
   */
  whenConnected(timeoutMs: number): Promise<L>;
  /** One of this pod's own canaries came back (sent at `sentAtMs`). */
  canaryReceived(sentAtMs: number): void;
  /** Resolves true after `ms`, false at once when stopping. */
  sleep(ms: number): Promise<boolean>;
}

interface Live<L> {
  readonly generation: number;
  readonly model: ChannelModel;
  readonly link: L;
}

type State<L> =
  | { readonly kind: 'idle' }
  | { readonly kind: 'down' }
  | { readonly kind: 'up'; readonly live: Live<L> }
  | { readonly kind: 'stopping'; readonly live: Live<L> | undefined }
  | { readonly kind: 'stopped' };

interface Waiter<L> {
  readonly resolve: (link: L) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The connection machinery shared by the broker event sources: connect with a timeout, reconnect
 * with jittered backoff (at most one attempt in flight), generation tracking so that a late event
 * of an old connection never touches the new one, readiness canaries, sequential consumer
 * pipelines, and a stop bounded by a deadline. A layer supplies `setup`, run on each connection.
 *
 * `start()` resolves once the first connection is set up, or once the first attempt has failed:
 * a broker that is down at boot must not keep the pod from starting (it reports not ready, and
 * the reconnect loop keeps trying in the background, logging each failure).
 *
 * `stop()` never cancels consumers first: it lets the handler in progress (and the work it left in
 * flight) finish, skips the messages behind it, then closes the connection, which hands every
 * unacked message back at once.
 * A single-active-consumer queue thus fails over in order: after a cancel, a broker may activate
 * the next consumer while this one still holds prefetched messages (RabbitMQ 3.10's classic
 * queues wait, which is not a promise every queue type and version keeps).
 */
export function createResilientAmqp<S, L extends AmqpLink>(
  options: ResilientAmqpOptions,
  deps: ResilientAmqpDeps,
  setup: AmqpSetup<S, L>,
  /** Work the handlers left in flight (pipelined handlers return early); `stop()` waits for it too. */
  inFlight?: () => Promise<void>,
): ResilientAmqp<S, L> {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const canary = createCanaryMonitor(options.canaryIntervalMs);
  const stopping = new AbortController();

  let state: State<L> = { kind: 'idle' };
  let sink: S | undefined;
  let generation = 0;
  let everConnected = false;
  let reconnecting: Promise<void> | undefined;
  let connecting: Promise<void> | undefined;
  /** Connections being closed after a loss; `stop()` waits for them. */
  const closing = new Set<Promise<void>>();
  let stopped: Promise<void> | undefined;
  let canaryTimer: NodeJS.Timeout | undefined;
  let lastCanarySentAtMs = 0;
  /** Tail of each role's sequential message pipeline; never rejects. */
  const pipelines = new Map<string, Promise<void>>();
  const waiters = new Set<Waiter<L>>();

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
    const target = sink;
    if (target === undefined) throw new EventSourceStateError('connecting before start');
    generation += 1;
    const current = generation;
    let lostReason: string | undefined;
    const onLost = (reason: string) => () => {
      lostReason ??= reason;
      lose(current, reason);
    };
    let open: (ok: boolean) => void = () => undefined;
    const opened = new Promise<boolean>((resolve) => {
      open = resolve;
    });
    const model = await connect(options.url, {
      timeout: options.connectTimeoutMs ?? 10_000,
      // amqplib leaves Nagle on: every confirm would then wait ~40 ms for a delayed ACK.
      noDelay: true,
      clientProperties: { connection_name: `orgcast ${options.podName}` },
    });
    model.on('error', (error: Error) => logger.warn({ err: error }, 'amqp connection error'));
    model.on('close', onLost('connection closed'));
    model.on('blocked', (reason: string) => logger.warn({ reason }, 'amqp connection blocked by the broker'));
    model.on('unblocked', () => logger.info('amqp connection unblocked'));
    const isCurrent = () => current === generation && !stopping.signal.aborted;
    const watch = <C extends Channel>(channel: C, role: string): C => {
      channel.on('error', (error: Error) => logger.warn({ err: error, role }, 'amqp channel error'));
      channel.on('close', onLost(`${role} channel closed`));
      return channel;
    };
    const session: AmqpSession = {
      model,
      first: !everConnected,
      isCurrent,
      openChannel: async (role) => watch(await model.createChannel(), role),
      openConfirmChannel: async (role) => watch(await model.createConfirmChannel(), role),
      async consume(role, channel, queue, handle) {
        await channel.consume(queue, (message) => {
          if (message === null) {
            logger.warn({ queue }, 'consumer cancelled by the broker (queue deleted?)');
            lose(current, 'consumer cancelled by the broker');
            return;
          }
          enqueue(role, async () => {
            if ((await opened) && isCurrent()) await handle(message);
          });
        }, { noAck: false });
      },
    };
    try {
      canary.reset(now());
      const link = await setup(session, target);
      if (lostReason !== undefined) throw new BrokerSetupError(`broker connection lost during setup (${lostReason})`);
      if (stopping.signal.aborted) throw new BrokerSetupError('stopped during setup');
      state = { kind: 'up', live: { generation: current, model, link } };
      open(true);
      metrics.brokerConnected.set(1);
      for (const waiter of takeWaiters()) waiter.resolve(link);
      sendCanary(link);
    } catch (error) {
      open(false);
      await closeQuietly(model);
      throw error;
    }
  }

  function enqueue(role: string, work: () => Promise<void>): void {
    const tail = (pipelines.get(role) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => logger.error({ err: error, role }, 'unexpected error while handling a broker message'));
    pipelines.set(role, tail);
  }

  /** A connection or channel of generation `lost` closed: go down and reconnect (once). */
  function lose(lost: number, reason: string): void {
    if (state.kind !== 'up' || state.live.generation !== lost) return;
    const { model } = state.live;
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
      const delayMs = backoffDelay(attempt + 1, { minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs }, random);
      if (!(await sleep(delayMs))) return;
      try {
        await connectOnce();
        if (everConnected) metrics.brokerReconnects.inc();
        everConnected = true;
        logger.info({ attempt: attempt + 1 }, 'broker connection established');
      } catch (error) {
        if (stopping.signal.aborted) return;
        // One line per doubling of the attempts (1, 2, 4, 8, ...): an outage is visible, not a flood
        // (readiness and the broker alerts say it is down meanwhile).
        const n = attempt + 1;
        const level = (n & (n - 1)) === 0 ? 'warn' : 'debug';
        logger[level]({ err: error, attempt: n, nextMaxDelayMs: delayMs * 2 }, 'broker connection attempt failed; retrying');
      }
    }
  }

  async function sleep(ms: number): Promise<boolean> {
    try {
      await sleepFor(ms, undefined, { signal: stopping.signal });
      return true;
    } catch (error) {
      if (stopping.signal.aborted) return false;
      throw error;
    }
  }

  function takeWaiters(): Waiter<L>[] {
    const taken = [...waiters];
    waiters.clear();
    for (const waiter of taken) clearTimeout(waiter.timer);
    return taken;
  }

  function sendCanary(link: L): void {
    const sentAtMs = now();
    try {
      publishCanary(link.publisher, options.canaryExchange, options.podName, sentAtMs, (error) => {
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
    if (state.kind === 'up') sendCanary(state.live.link);
  }

  async function shutdown(): Promise<void> {
    const live = state.kind === 'up' ? state.live : undefined;
    state = { kind: 'stopping', live };
    stopping.abort();
    clearInterval(canaryTimer);
    metrics.brokerConnected.set(0);
    for (const waiter of takeWaiters()) waiter.reject(new EventSourceStateError('the event source stopped'));
    // The pipelines first (no message starts once stopping), then what they left in flight.
    await withDeadline(Promise.all([...pipelines.values(), reconnecting, settled(connecting), ...closing]).then(() => inFlight?.()), stopTimeoutMs);
    state = { kind: 'stopped' };
    if (live !== undefined) await closeQuietly(live.model);
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
      if (state.kind !== 'idle') throw new EventSourceStateError(`cannot start an event source that is ${state.kind === 'stopped' || state.kind === 'stopping' ? 'stopped' : 'started'}`);
      sink = eventSink;
      state = { kind: 'down' };
      lastCanarySentAtMs = now();
      canaryTimer = setInterval(onCanaryTick, options.canaryIntervalMs);
      try {
        await connectOnce();
        everConnected = true;
        logger.info({ canaryExchange: options.canaryExchange }, 'consuming from the broker');
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
    link() {
      return state.kind === 'up' || state.kind === 'stopping' ? state.live?.link : undefined;
    },
    whenConnected(timeoutMs) {
      if (state.kind === 'up') return Promise.resolve(state.live.link);
      if (stopping.signal.aborted) return Promise.reject(new EventSourceStateError('the event source is stopped'));
      return new Promise<L>((resolve, reject) => {
        const waiter: Waiter<L> = {
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new BrokerUnavailableError(`not connected to the broker within ${timeoutMs} ms`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    canaryReceived(sentAtMs) {
      if (!canary.received(sentAtMs)) return;
      lastCanarySentAtMs = Math.max(lastCanarySentAtMs, sentAtMs);
      updateCanaryAge();
    },
    sleep,
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
