import { connect, type ConfirmChannel } from 'amqplib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../metrics/metrics.js';
import { TestPublisher } from '../../test/helpers/publisher.js';
import { createTestVhost, randomName, type TestVhost } from '../../test/helpers/rabbit.js';
import { waitFor } from '../../test/helpers/wait.js';
import type { EventTransport } from '../events/event-transport.js';
import type { InboundMembershipChange } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import { createSequencingPipeline } from '../sequencing/sequencing-pipeline.js';
import { createAmqpEventTransport, type AmqpEventTransportOptions } from './amqp-event-transport.js';
import { BrokerUnavailableError, EventSourceStateError, UnroutableOrganizationError } from './event-source-error.js';
import { canaryRoutingKey, deadLetterQueueName, ingestQueueName, routedExchangeName } from './routing-keys.js';

const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
let vhost: TestVhost;
const teardown: (() => Promise<void>)[] = [];

beforeAll(async () => {
  vhost = await createTestVhost();
});

afterEach(async () => {
  while (teardown.length > 0) await teardown.pop()?.();
});

afterAll(() => vhost?.cleanup());

/** One gateway pod: its source, and what its sink saw. */
interface Pod {
  readonly name: string;
  readonly source: EventTransport;
  readonly metrics: GatewayMetrics;
  readonly options: AmqpEventTransportOptions;
  /** Dedupe keys of the ingest messages this pod sequenced, in order. */
  readonly sequenced: string[];
  readonly memberships: InboundMembershipChange[];
  readonly frames: RoutedFrame[];
}

/** History ids (and prevs) shared by the pods of a test, as Redis would hold them: `<n>-0`. */
function createHistory() {
  const last = new Map<string, number>();
  return (organizationId: string): { id: string; prev: string } => {
    const n = (last.get(organizationId) ?? 0) + 1;
    last.set(organizationId, n);
    return { id: `${n}-0`, prev: `${n - 1}-0` };
  };
}

interface PodSetup {
  readonly exchange: string;
  readonly nextId?: (organizationId: string) => { id: string; prev: string };
  readonly overrides?: Partial<AmqpEventTransportOptions> & { readonly retryDelayMs?: number };
  /** Runs before each task is sequenced. */
  readonly beforeSequence?: (data: unknown) => Promise<void>;
}

/** Starts a pod whose sink sequences like the real one: a history id, then `publishRouted`. */
async function startPod(setup: PodSetup): Promise<Pod> {
  const name = randomName('pod');
  const nextId = setup.nextId ?? createHistory();
  const options: AmqpEventTransportOptions = {
    url: vhost.url,
    exchange: setup.exchange,
    deadLetterExchange: `${setup.exchange}.dead-letter`,
    queueName: `${setup.exchange}.${name}`,
    queueExpiresMs: 60_000,
    queueMaxLength: 1_000,
    prefetch: 50,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    canaryIntervalMs: 200,
    podName: name,
    maxEventBytes: 64 * 1024,
    stopTimeoutMs: 500,
    ...setup.overrides,
  };
  const metrics = createMetrics({ collectDefaults: false });
  const source = createAmqpEventTransport(options, { logger, metrics });
  const pod: Pod = { name, source, metrics, options, sequenced: [], memberships: [], frames: [] };
  const pipeline = createSequencingPipeline({
    runStarted: () => undefined,
    async sequence(event, dedupeKey) {
      const data: unknown = JSON.parse(event.dataJson);
      await setup.beforeSequence?.(data);
      pod.sequenced.push(dedupeKey);
      const { id, prev } = nextId(event.organizationId);
      return { organizationId: event.organizationId, id, prev, frame: JSON.stringify({ id, data }), publishedAtMs: event.publishedAtMs };
    },
    async membershipChange(change) {
      pod.sequenced.push(`membership ${change.userId}`);
      pod.memberships.push(change);
    },
  }, source, { retryDelayMs: setup.overrides?.retryDelayMs ?? 50, window: options.ingestPrefetch ?? 1000, logger, metrics, now: Date.now });
  teardown.push(() => source.stop());
  await source.start(pipeline, { onFrame: (frame) => void pod.frames.push(frame), onReconnected: () => undefined });
  return pod;
}

async function publisherFor(exchange: string): Promise<TestPublisher> {
  const publisher = new TestPublisher(vhost.url, exchange);
  teardown.push(() => publisher.close());
  return publisher;
}

/** An operator's channel on the test vhost. */
async function operatorChannel(): Promise<ConfirmChannel> {
  const model = await connect(vhost.url);
  model.on('error', (error: Error) => logger.debug({ err: error }, 'operator connection error'));
  teardown.push(() => model.close());
  return model.createConfirmChannel();
}

const dataOf = (frames: readonly RoutedFrame[]) => frames.map((frame) => (JSON.parse(frame.frame) as { data: unknown }).data);

async function counter(metrics: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))?.value ?? 0;
}

describe('createAmqpEventTransport', () => {
  it('sequences each ingest message once, on one pod, and routes its frame only to the pods bound to its organization', async () => {
    const exchange = randomName('tasks');
    const nextId = createHistory();
    const a = await startPod({ exchange, nextId });
    const b = await startPod({ exchange, nextId });
    await waitFor(() => a.source.isReady() && b.source.isReady(), 5_000, 'both pods ready');
    await a.source.bindOrganization('org-a');
    await b.source.bindOrganization('org-b');
    const publisher = await publisherFor(exchange);
    for (let i = 0; i < 20; i += 1) {
      await publisher.task(i % 2 === 0 ? 'org-a' : 'org-b', i);
      if (i === 9) await publisher.task('org-c', 'nobody is bound');
    }
    await publisher.membership('organization.member.added', 'org-a', 'user-1');
    await waitFor(() => a.frames.length + b.frames.length === 20 && a.memberships.length + b.memberships.length === 1, 5_000, 'every frame');

    // org-c's frame, sequenced among the others, reached neither pod.
    expect(a.frames.map((frame) => frame.organizationId)).toEqual(Array(10).fill('org-a'));
    expect(dataOf(a.frames)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(dataOf(b.frames)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(b.frames.map((frame) => frame.id)).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0', '6-0', '7-0', '8-0', '9-0', '10-0']);
    expect(b.frames.map((frame) => frame.prev)).toEqual(['0-0', '1-0', '2-0', '3-0', '4-0', '5-0', '6-0', '7-0', '8-0', '9-0']);
    expect(a.frames[0]).toEqual({ organizationId: 'org-a', id: '1-0', prev: '0-0', frame: '{"id":"1-0","data":0}', publishedAtMs: expect.any(Number), routedAtMs: expect.any(Number) });
    // Single active consumer: one pod sequenced all 22 messages, each once.
    const sequenced = [...a.sequenced, ...b.sequenced];
    expect(sequenced).toHaveLength(22);
    expect(new Set(sequenced).size).toBe(22);
    expect(Math.min(a.sequenced.length, b.sequenced.length)).toBe(0);
    const channel = await operatorChannel();
    // Re-declaring with the same arguments succeeds (the broker refuses one that differs).
    expect(await channel.assertQueue(ingestQueueName(exchange), {
      durable: true,
      arguments: { 'x-single-active-consumer': true, 'x-max-length': 10_000, 'x-overflow': 'reject-publish', 'x-dead-letter-exchange': `${exchange}.dead-letter` },
    })).toMatchObject({ messageCount: 0, consumerCount: 2 });
    expect(await counter(a.metrics, 'orgcast_events_consumed_total', { event_type: 'task.event.created' }) + await counter(b.metrics, 'orgcast_events_consumed_total', { event_type: 'task.event.created' })).toBe(21);
  });

  it('fails over to the next ingest consumer when the active one stops: in order, each message sequenced once', async () => {
    const exchange = randomName('tasks');
    let stall: (() => void) | undefined;
    const stalled = new Promise<void>((resolve) => {
      stall = resolve;
    });
    let blocked = false;
    // Whichever pod is active stalls from event 5 on, as a sequencer whose Redis connection hangs
    // would: every later append on that connection waits behind it.
    const stallingHook = () => {
      let stuckHere = false;
      return async (data: unknown): Promise<void> => {
        if (stuckHere) return new Promise(() => {});
        if (data !== 5 || blocked) return;
        blocked = true;
        stuckHere = true;
        stall?.();
        await new Promise(() => {});
      };
    };
    // A prefetch below the backlog: the standby must not start on later messages while the
    // active pod still holds earlier ones.
    const overrides = { ingestPrefetch: 8 };
    const pods = [await startPod({ exchange, beforeSequence: stallingHook(), overrides }), await startPod({ exchange, beforeSequence: stallingHook(), overrides })];
    const channel = await operatorChannel();
    const keys = Array.from({ length: 20 }, (_, i) => `event-${i}`);
    keys.forEach((messageId, i) => channel.publish(exchange, 'task.event.created', Buffer.from(JSON.stringify({ organization_id: 'org-a', data: i })), { messageId, persistent: true }));
    await channel.waitForConfirms();
    await stalled;
    const active = pods.find((pod) => pod.sequenced.length > 0);
    const standby = pods.find((pod) => pod !== active);
    if (active === undefined || standby === undefined) throw new Error('no pod sequenced anything');
    expect(active.sequenced).toEqual(keys.slice(0, 5));

    await active.source.stop();
    await waitFor(() => standby.sequenced.length === 15, 15_000, 'the standby pod to take over');
    expect(standby.sequenced).toEqual(keys.slice(5));
    expect(active.sequenced).toHaveLength(5);
  });

  it('retries a failed sequencing in place, so that the messages behind it never overtake it', async () => {
    const exchange = randomName('tasks');
    let failures = 0;
    const pod = await startPod({
      exchange,
      beforeSequence: async (data) => {
        if (data === 0 && failures < 2) {
          failures += 1;
          throw new Error('history unavailable');
        }
      },
    });
    await pod.source.bindOrganization('org-a');
    const publisher = await publisherFor(exchange);
    for (let i = 0; i < 5; i += 1) await publisher.task('org-a', i);
    await waitFor(() => pod.frames.length === 5, 5_000, 'every frame');
    expect(failures).toBe(2);
    expect(dataOf(pod.frames)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(pod.sequenced).size).toBe(5);
  });

  it('dead-letters poison at ingest and routed messages without an id, and goes on', async () => {
    const exchange = randomName('tasks');
    const pod = await startPod({ exchange });
    await pod.source.bindOrganization('org-a');
    const publisher = await publisherFor(exchange);
    const longOrganization = 'x'.repeat(257);
    await publisher.raw('task.event.created', '{"organization_id":');
    await publisher.raw('task.event.created', JSON.stringify({ data: 1 }));
    await publisher.raw('task.event.updated', JSON.stringify({ organization_id: longOrganization, data: 1 }));
    await publisher.raw('task.event.deleted', JSON.stringify({ organization_id: 'org-a' }));
    await publisher.raw('task.event.created', JSON.stringify({ organization_id: 'org-a', data: 'x'.repeat(64 * 1024) }));
    const channel = await operatorChannel();
    channel.publish(routedExchangeName(exchange), 'org-a', Buffer.from('{}'));
    await channel.waitForConfirms();
    const valid = JSON.stringify({ organization_id: 'org-a', data: 'valid' });
    await publisher.raw('task.event.created', valid);

    await waitFor(() => pod.frames.length === 1, 5_000, 'the valid frame');
    expect(dataOf(pod.frames)).toEqual(['valid']);
    // No message id: the key is a hash of routing key, publish time properties and body.
    expect(pod.sequenced).toHaveLength(1);
    expect(pod.sequenced[0]).toMatch(/^h:[A-Za-z0-9_-]{32}$/);
    const deadLetters = deadLetterQueueName(exchange);
    await waitFor(async () => (await channel.checkQueue(deadLetters)).messageCount === 6, 5_000, 'six dead letters');
    const deaths: unknown[] = [];
    for (let message = await channel.get(deadLetters, { noAck: true }); message !== false; message = await channel.get(deadLetters, { noAck: true })) {
      deaths.push(message.properties.headers?.['x-death']?.[0]?.queue);
    }
    expect(deaths.filter((queue) => queue === ingestQueueName(exchange))).toHaveLength(5);
    expect(deaths.filter((queue) => queue === pod.options.queueName)).toHaveLength(1);
    for (const [reason, count] of [['malformed_json', 1], ['missing_organization', 1], ['invalid_shape', 2], ['unknown_event_type', 1], ['too_large', 1]] as const) {
      expect(await counter(pod.metrics, 'orgcast_events_dead_lettered_total', { reason })).toBe(count);
    }
  });

  it('binds and unbinds live, applies quick changes in order, and keeps its bindings across reconnections', async () => {
    const exchange = randomName('tasks');
    // A slow first retry keeps the pod down long enough to bind while disconnected.
    const pod = await startPod({ exchange, overrides: { reconnectMinMs: 1_000, reconnectMaxMs: 1_500 } });
    let sent = 0;
    /** Publishes one frame per organization, in order, and waits for those of `expected`. */
    const route = async (organizations: string[], expected: string[]) => {
      const before = pod.frames.length;
      for (const organizationId of organizations) await pod.source.publishRouted({ organizationId, id: `${(sent += 1)}-0`, prev: undefined, frame: '{}', publishedAtMs: undefined });
      await waitFor(() => pod.frames.length >= before + expected.length, 5_000, `frames of ${expected.join(', ')}`);
      return pod.frames.slice(before).map((frame) => frame.organizationId);
    };
    await waitFor(() => pod.source.isReady(), 5_000, 'ready');
    await pod.source.bindOrganization('org-x');
    await pod.source.bindOrganization('org-y');
    expect(await route(['org-x', 'org-y'], ['org-x', 'org-y'])).toEqual(['org-x', 'org-y']);
    await pod.source.unbindOrganization('org-x');
    // Frames of one publisher reach a queue in order: org-y's arrival proves org-x's did not come.
    expect(await route(['org-x', 'org-y'], ['org-y'])).toEqual(['org-y']);
    await Promise.all([pod.source.unbindOrganization('org-y'), pod.source.bindOrganization('org-y'), pod.source.bindOrganization('org-z'), pod.source.unbindOrganization('org-z')]);
    expect(await route(['org-z', 'org-x', 'org-y'], ['org-y'])).toEqual(['org-y']);

    await vhost.closeAllConnections();
    await waitFor(() => !pod.source.isReady(), 2_000, 'not ready');
    await expect(pod.source.publishRouted({ organizationId: 'org-y', id: '9-9', prev: undefined, frame: '{}', publishedAtMs: undefined })).rejects.toBeInstanceOf(BrokerUnavailableError);
    let boundWhileDown = false;
    const bindWhileDown = pod.source.bindOrganization('org-w').then(() => {
      boundWhileDown = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(boundWhileDown).toBe(false);
    await bindWhileDown;
    await waitFor(() => pod.source.isReady(), 5_000, 'ready again');
    expect(await route(['org-x', 'org-z', 'org-w', 'org-y'], ['org-w', 'org-y'])).toEqual(['org-w', 'org-y']);
  });

  it('counts what a full pod queue drops as overflow, apart from poison messages, which it does not push out', async () => {
    const exchange = randomName('tasks');
    const stalled = await startPod({ exchange, overrides: { queueMaxLength: 2 } });
    await stalled.source.bindOrganization('org-a');
    await stalled.source.stop();
    // The stalled pod's queue stays (x-expires); five frames arrive for it, it holds two.
    const sender = await startPod({ exchange });
    await waitFor(() => sender.source.isReady(), 5_000, 'sender ready');
    for (let n = 1; n <= 5; n += 1) await sender.source.publishRouted({ organizationId: 'org-a', id: `${n}-0`, prev: `${n - 1}-0`, frame: '{}', publishedAtMs: undefined });
    const channel = await operatorChannel();
    await waitFor(async () => (await counter(sender.metrics, 'orgcast_pod_queue_overflow_total', {})) === 3, 5_000, 'three overflows counted');
    expect((await channel.checkQueue(stalled.options.queueName)).messageCount).toBe(2);
    expect((await channel.checkQueue(deadLetterQueueName(exchange))).messageCount).toBe(0);
    expect(await counter(sender.metrics, 'orgcast_events_dead_lettered_total', { reason: 'invalid_shape' })).toBe(0);
  });

  it('starts from a clean pod queue: bindings left by an earlier process of the same pod are gone', async () => {
    const exchange = randomName('tasks');
    const queueName = `${exchange}.pod-restarted`;
    const channel = await operatorChannel();
    await channel.assertExchange(routedExchangeName(exchange), 'direct', { durable: true });
    await channel.assertQueue(queueName, { durable: true });
    await channel.bindQueue(queueName, routedExchangeName(exchange), 'org-stale');
    const pod = await startPod({ exchange, overrides: { queueName } });
    await pod.source.bindOrganization('org-live');
    for (const organizationId of ['org-stale', 'org-live']) await pod.source.publishRouted({ organizationId, id: '1-0', prev: '0-0', frame: '{}', publishedAtMs: undefined });
    await waitFor(() => pod.frames.length > 0, 5_000, 'the live frame');
    expect(pod.frames.map((frame) => frame.organizationId)).toEqual(['org-live']);
  });

  it('is ready only while its canary comes back through the routed exchange and its own queue', async () => {
    const pod = await startPod({ exchange: randomName('tasks') });
    await waitFor(() => pod.source.isReady(), 5_000, 'ready');
    const channel = await operatorChannel();
    const routed = routedExchangeName(pod.options.exchange);
    await channel.unbindQueue(pod.options.queueName, routed, canaryRoutingKey(pod.name));
    await waitFor(() => !pod.source.isReady(), 3_000, 'not ready');
    await channel.bindQueue(pod.options.queueName, routed, canaryRoutingKey(pod.name));
    await waitFor(() => pod.source.isReady(), 3_000, 'ready again');
  });

  it('refuses to publish or bind without a broker, and ids that cannot be routing keys', async () => {
    const exchange = randomName('tasks');
    const pod = await startPod({ exchange, overrides: { url: 'amqp://guest:guest@127.0.0.1:1/none', bindTimeoutMs: 100 } });
    expect(pod.source.isReady()).toBe(false);
    await expect(pod.source.publishRouted({ organizationId: 'org-a', id: '1-0', prev: '0-0', frame: '{}', publishedAtMs: undefined })).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(pod.source.bindOrganization('org-a')).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(pod.source.bindOrganization('')).rejects.toBeInstanceOf(UnroutableOrganizationError);
    await expect(pod.source.publishRouted({ organizationId: '', id: '1-0', prev: '0-0', frame: '{}', publishedAtMs: undefined })).rejects.toBeInstanceOf(UnroutableOrganizationError);
    expect(() => createAmqpEventTransport({ ...pod.options, ingestPrefetch: 0 }, { logger, metrics: pod.metrics })).toThrow(/ingestPrefetch/);
  });

  it('stops idempotently, leaves no socket or timer behind, and cannot be restarted', async () => {
    const active = (kind: string) => process.getActiveResourcesInfo().filter((resource) => resource === kind).length;
    const sockets = active('TCPSocketWrap');
    const pod = await startPod({ exchange: randomName('tasks') });
    await waitFor(() => pod.source.isReady(), 5_000, 'ready');
    const stopping = pod.source.stop();
    expect(pod.source.stop()).toBe(stopping);
    await stopping;
    expect(pod.source.isReady()).toBe(false);
    await expect(pod.source.start({ open: () => { throw new Error('not reached'); } }, { onFrame: () => {}, onReconnected: () => {} })).rejects.toBeInstanceOf(EventSourceStateError);
    await expect(pod.source.bindOrganization('org-b')).rejects.toBeInstanceOf(EventSourceStateError);
    await waitFor(() => active('TCPSocketWrap') <= sockets && active('Timeout') === 0, 2_000, 'sockets and timers released');
  });
});
