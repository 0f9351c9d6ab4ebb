import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { createTestVhost, randomName, vhostUrl, type TestVhost } from '../../test/helpers/rabbit.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createAmqpEventSource, type AmqpEventSourceOptions } from './amqp-event-source.js';
import { publishEvent, publishMembershipChange } from './amqp-publisher.js';
import type { EventSink, EventSource, InboundMembershipChange, InboundTaskEvent } from './event-source.js';
import { EventSourceStateError } from './event-source-error.js';
import { canaryRoutingKey, deadLetterQueueName } from './routing-keys.js';

const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
let vhost: TestVhost;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  vhost = await createTestVhost();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await vhost?.cleanup();
});

function sourceOptions(overrides: Partial<AmqpEventSourceOptions> = {}): AmqpEventSourceOptions {
  const exchange = randomName('tasks');
  return {
    url: vhost.url,
    exchange,
    deadLetterExchange: `${exchange}.dead-letter`,
    queueName: `${exchange}.pod`,
    queueExpiresMs: 60_000,
    queueMaxLength: 10_000,
    prefetch: 50,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    canaryIntervalMs: 200,
    podName: randomName('pod'),
    retryDelayMs: 50,
    ...overrides,
  };
}

interface Recorder extends EventSink {
  readonly tasks: InboundTaskEvent[];
  readonly changes: InboundMembershipChange[];
}

function recorder(onTask?: (event: InboundTaskEvent) => void | Promise<void>): Recorder {
  const tasks: InboundTaskEvent[] = [];
  const changes: InboundMembershipChange[] = [];
  return {
    tasks,
    changes,
    async onTaskEvent(event) {
      await onTask?.(event);
      tasks.push(event);
    },
    onMembershipChange(change) {
      changes.push(change);
    },
  };
}

interface Harness {
  readonly options: AmqpEventSourceOptions;
  readonly source: EventSource;
  readonly metrics: GatewayMetrics;
}

async function startSource(sink: EventSink, overrides: Partial<AmqpEventSourceOptions> = {}): Promise<Harness> {
  const options = sourceOptions(overrides);
  const metrics = createMetrics({ collectDefaults: false });
  const source = createAmqpEventSource(options, { logger, metrics });
  cleanups.push(() => source.stop());
  await source.start(sink);
  return { options, source, metrics };
}

/** A separate client on the test vhost, as the task service or an operator would be. */
async function openClient(url = vhost.url): Promise<{ model: ChannelModel; channel: ConfirmChannel }> {
  const model = await connect(url);
  const errors: Error[] = [];
  model.on('error', (error: Error) => errors.push(error));
  const channel = await model.createConfirmChannel();
  channel.on('error', (error: Error) => errors.push(error));
  let closed = false;
  model.on('close', () => {
    closed = true;
  });
  cleanups.push(async () => {
    if (!closed) await model.close();
  });
  return { model, channel };
}

const task = (organizationId: string, data: unknown) => ({ eventType: 'task.event.created' as const, organizationId, data });

async function metricValue(metrics: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label));
  return sample?.value ?? 0;
}

describe('createAmqpEventSource', () => {
  it('delivers valid events to the sink in publish order, through a durable, shared, bounded pod queue', async () => {
    const sink = recorder();
    const { source, options, metrics } = await startSource(sink);
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const { channel } = await openClient();
    for (let i = 0; i < 30; i += 1) {
      if (i % 10 === 5) publishMembershipChange(channel, options.exchange, { eventType: 'organization.member.added', organizationId: 'org-a', userId: `user-${i}`, timestampMs: 1_700_000_000_000 + i });
      else publishEvent(channel, options.exchange, { ...task(i % 2 === 0 ? 'org-a' : 'org-b', { seq: i }), timestampMs: 1_700_000_000_123 + i, messageId: `m-${i}` });
    }
    await channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 27 && sink.changes.length === 3, 5_000, 'all events');

    expect(sink.tasks.map((event) => (event.data as { seq: number }).seq)).toEqual([...Array(30).keys()].filter((i) => i % 10 !== 5));
    expect(sink.tasks[1]).toEqual({ eventType: 'task.event.created', organizationId: 'org-b', data: { seq: 1 }, publishedAtMs: 1_700_000_000_124, messageId: 'm-1' });
    expect(sink.changes.map((change) => change.userId)).toEqual(['user-5', 'user-15', 'user-25']);
    expect(sink.changes[0]).toEqual({ eventType: 'organization.member.added', organizationId: 'org-a', userId: 'user-5', atMs: 1_700_000_000_005 });
    expect(await metricValue(metrics, 'orgcast_events_consumed_total', { event_type: 'task.event.created' })).toBe(27);
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(1);

    // Another connection can use the queue (not exclusive) and re-declaring it with the same
    // arguments succeeds (the broker refuses a declaration that differs).
    const inspect = await openClient();
    const declared = await inspect.channel.assertQueue(options.queueName, {
      durable: true,
      arguments: { 'x-expires': 60_000, 'x-max-length': 10_000, 'x-overflow': 'drop-head', 'x-dead-letter-exchange': options.deadLetterExchange },
    });
    expect(declared).toMatchObject({ messageCount: 0, consumerCount: 1 });
  });

  it('dead-letters poison messages, keeps them in the dead-letter queue, and still delivers the next event', async () => {
    const sink = recorder();
    const { source, options, metrics } = await startSource(sink);
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const { channel } = await openClient();
    const raw = (routingKey: string, body: string) => channel.publish(options.exchange, routingKey, Buffer.from(body), { contentType: 'application/json' });
    raw('task.event.created', '{"organization_id":"org-a","data":');
    raw('task.event.created', JSON.stringify({ data: { id: 1 } }));
    raw('task.event.updated', JSON.stringify([{ organization_id: 'org-a' }]));
    raw('task.event.deleted', JSON.stringify({ organization_id: 'org-a' }));
    raw('organization.member.removed', JSON.stringify({ organization_id: 'org-a' }));
    publishEvent(channel, options.exchange, task('org-a', 'valid'));
    await channel.waitForConfirms();

    await waitFor(() => sink.tasks.length === 1, 5_000, 'the valid event');
    expect(sink.tasks[0]?.data).toBe('valid');
    expect(sink.changes).toEqual([]);
    const deadLetters = deadLetterQueueName(options.exchange);
    await waitFor(async () => (await channel.checkQueue(deadLetters)).messageCount === 5, 5_000, 'five dead letters');
    const first = await channel.get(deadLetters, { noAck: true });
    expect(first && first.content.toString()).toBe('{"organization_id":"org-a","data":');
    expect(first && first.properties.headers?.['x-death']?.[0]).toMatchObject({ reason: 'rejected', queue: options.queueName });
    for (const [reason, count] of [['malformed_json', 1], ['missing_organization', 1], ['invalid_shape', 2], ['unknown_event_type', 1]] as const) {
      expect(await metricValue(metrics, 'orgcast_events_dead_lettered_total', { reason })).toBe(count);
    }
    expect(source.isReady()).toBe(true);
  });

  it('takes the organization from the AMQP header when the body has none', async () => {
    const sink = recorder();
    const { options } = await startSource(sink);
    const { channel } = await openClient();
    const body = Buffer.from(JSON.stringify({ data: { id: 'x' } }));
    channel.publish(options.exchange, 'task.event.updated', body, { headers: { organization_id: 'org-from-header' }, timestamp: 1_700_000_000, messageId: 'mid' });
    await channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 1, 5_000, 'the event');
    expect(sink.tasks[0]).toEqual({ eventType: 'task.event.updated', organizationId: 'org-from-header', data: { id: 'x' }, publishedAtMs: 1_700_000_000_000, messageId: 'mid' });
  });

  it('requeues a message whose sink handler failed and delivers it again, redelivered', async () => {
    let failures = 0;
    const sink = recorder((event) => {
      if (event.data === 'flaky' && failures < 2) {
        failures += 1;
        throw new Error('downstream unavailable');
      }
    });
    const { options, metrics } = await startSource(sink);
    const { channel } = await openClient();
    publishEvent(channel, options.exchange, task('org-a', 'flaky'));
    await channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 1, 5_000, 'the retried event');
    expect(failures).toBe(2);
    expect(sink.tasks[0]?.data).toBe('flaky');
    expect(await metricValue(metrics, 'orgcast_events_consumed_total', { event_type: 'task.event.created' })).toBe(1);
    await waitFor(async () => (await channel.checkQueue(options.queueName)).messageCount === 0, 2_000, 'an empty queue');
    expect((await channel.checkQueue(deadLetterQueueName(options.exchange))).messageCount).toBe(0);
  });

  it('recovers from the broker closing its connections without losing events', async () => {
    const sink = recorder();
    // A first retry of at least a second keeps the source down while events are published.
    const { source, options, metrics } = await startSource(sink, { reconnectMinMs: 1_500, reconnectMaxMs: 3_000 });
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const before = await openClient();
    publishEvent(before.channel, options.exchange, task('org-a', 0));
    await before.channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 1, 5_000, 'the first event');

    await vhost.closeAllConnections();
    await waitFor(() => !source.isReady(), 2_000, 'not ready');
    const during = await openClient();
    for (let i = 1; i <= 3; i += 1) publishEvent(during.channel, options.exchange, task('org-a', i));
    await during.channel.waitForConfirms();
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(0);

    await waitFor(() => source.isReady(), 10_000, 'ready again');
    for (let i = 4; i <= 6; i += 1) publishEvent(during.channel, options.exchange, task('org-a', i));
    await during.channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 7, 5_000, 'every event');
    expect(sink.tasks.map((event) => event.data)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await metricValue(metrics, 'orgcast_broker_reconnects_total')).toBe(1);
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(1);
  });

  it('reconnects when the broker cancels its consumer, re-declaring the deleted queue', async () => {
    const sink = recorder();
    const { source, options, metrics } = await startSource(sink);
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const { channel } = await openClient();
    await channel.deleteQueue(options.queueName);
    await waitFor(async () => (await metricValue(metrics, 'orgcast_broker_reconnects_total')) === 1, 5_000, 'a reconnection');
    await waitFor(() => source.isReady(), 5_000, 'ready again');
    publishEvent(channel, options.exchange, task('org-a', 'after'));
    await channel.waitForConfirms();
    await waitFor(() => sink.tasks.length === 1, 5_000, 'the event');
  });

  it('goes not ready when its canaries stop arriving, and ready again when they come back', async () => {
    const { source, options, metrics } = await startSource(recorder());
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const { channel } = await openClient();
    await channel.unbindQueue(options.queueName, options.exchange, canaryRoutingKey(options.podName));
    const unboundAt = Date.now();
    // Window: two 200 ms intervals plus 100 ms slack after the last canary that got through.
    await waitFor(() => !source.isReady(), 3_000, 'not ready');
    expect(Date.now() - unboundAt).toBeGreaterThanOrEqual(200);
    expect(await metricValue(metrics, 'orgcast_consumer_canary_age_seconds')).toBeGreaterThan(0.2);
    await channel.bindQueue(options.queueName, options.exchange, canaryRoutingKey(options.podName));
    await waitFor(() => source.isReady(), 3_000, 'ready again');
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(1);
  });

  it('starts not ready when its vhost is missing, keeps retrying in the background, and consumes once it exists', async () => {
    const name = randomName('orgcast-test-late');
    const sink = recorder();
    const { source, options, metrics } = await startSource(sink, { url: vhostUrl(name) });
    expect(source.isReady()).toBe(false);
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(0);
    const late = await createTestVhost(name);
    try {
      await waitFor(() => source.isReady(), 5_000, 'ready once the vhost exists');
      const { channel } = await openClient(late.url);
      publishEvent(channel, options.exchange, task('org-a', 'late'));
      await channel.waitForConfirms();
      await waitFor(() => sink.tasks.length === 1, 5_000, 'the event');
      expect(await metricValue(metrics, 'orgcast_broker_reconnects_total')).toBe(0);
    } finally {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      await late.cleanup();
    }
  });

  it('starts not ready when the broker is unreachable, keeps retrying, and stops cleanly', async () => {
    const metrics = createMetrics({ collectDefaults: false });
    const source = createAmqpEventSource(sourceOptions({ url: 'amqp://guest:guest@127.0.0.1:1/none' }), { logger, metrics });
    await source.start(recorder());
    expect(source.isReady()).toBe(false);
    expect(await metricValue(metrics, 'orgcast_broker_connected')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(source.isReady()).toBe(false);
    await source.stop();
  });

  it('stops idempotently, leaves no socket or timer behind, and cannot be restarted', async () => {
    const socketsBefore = countActive('TCPSocketWrap');
    const sink = recorder();
    const { source } = await startSource(sink);
    await waitFor(() => source.isReady(), 5_000, 'the first canary');
    const first = source.stop();
    expect(source.stop()).toBe(first);
    await first;
    await source.stop();
    expect(source.isReady()).toBe(false);
    await expect(source.start(sink)).rejects.toBeInstanceOf(EventSourceStateError);
    // Only ref'd timers are listed: the canary timer and amqplib's heartbeat would show here.
    await waitFor(() => countActive('TCPSocketWrap') <= socketsBefore && countActive('Timeout') === 0, 2_000, 'sockets and timers released');
  });
});

function countActive(kind: string): number {
  return process.getActiveResourcesInfo().filter((active) => active === kind).length;
}
