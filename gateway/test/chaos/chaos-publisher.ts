import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { LedgerGroup, PublishFate, PublishLedger } from './publish-ledger.js';
import type { Random } from './seeded-random.js';

export interface ChaosPublisherOptions {
  readonly url: string;
  readonly exchange: string;
  readonly organizations: readonly string[];
  /** The gateway's MAX_EVENT_BYTES: a few bodies are made larger than this. */
  readonly maxEventBytes: number;
  /** Prefix of every publisher key (`data.k`). */
  readonly keyPrefix: string;
  readonly ledger: PublishLedger;
  /** Draws of the regular stream of events. */
  readonly random: Random;
  /** Draws of the bursts the fault injector asks for (apart, so they never shift the regular stream). */
  readonly burstRandom: Random;
}

/** One body as it goes on the wire, with the properties of its first publish. */
interface Body {
  readonly group: LedgerGroup;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly properties: Options.Publish;
}

/** Messages with a message id are published again (same id, same body) after a nack or a lost confirm, up to this many times. */
const MAX_ATTEMPTS = 6;
/** Confirms awaited at once. */
const MAX_IN_FLIGHT = 200;
const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * A task service under chaos: publishes task events as the publisher contract says (topic exchange,
 * routing key = event type, persistent JSON, confirms), of random sizes (a few above
 * MAX_EVENT_BYTES), half with a `message_id` (retried with the same id until confirmed) and half
 * without, and some bodies again byte for byte without a message id, with the first publish's
 * properties or fresh ones: distinct events each. Every attempt and its fate go to the ledger.
 */
export class ChaosPublisher {
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private opening: Promise<ConfirmChannel> | undefined;
  private closed = false;
  private counter = 0;
  private inFlight = 0;
  private readonly retries: Body[] = [];
  /** Bodies without message id within the limit: candidates for repeats. */
  private readonly repeatable: Body[] = [];
  private loop: Promise<void> | undefined;
  private stopLoop = false;

  constructor(private readonly options: ChaosPublisherOptions) {}

  /** Publishes at about `ratePerSecond` (exponential gaps, the odd burst) until `stop`. */
  start(ratePerSecond: number): void {
    this.loop ??= this.run(ratePerSecond);
  }

  /** Ends the regular stream, then waits (bounded) for every confirm and retry. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopLoop = true;
    await this.loop;
    const deadline = Date.now() + timeoutMs;
    while ((this.inFlight > 0 || this.retries.length > 0) && Date.now() < deadline && !this.closed) {
      await this.flushRetries(deadline);
      await sleep(100);
    }
  }

  /** `count` small events at once (the fault injector's queue overflow). */
  async burst(count: number): Promise<void> {
    for (let i = 0; i < count && !this.closed; i += 1) await this.send(this.fresh(this.options.burstRandom, 'small'), 'first');
  }

  /**
   * `copies` byte-identical publishes (same properties too: one timestamp second, no message id) of
   * each of `bodies` new small bodies, interleaved, without waiting for confirms: a task service
   * publishing the same update twice within a second. Each is a distinct event.
   */
  async identicalBurst(bodies: number, copies: number): Promise<void> {
    const random = this.options.burstRandom;
    const built = Array.from({ length: bodies }, () => this.build(random.pick(this.options.organizations), random.int(80, 600), false, random.chance(0.5) ? 'contract' : 'bare', false));
    for (let copy = 0; copy < copies; copy += 1) for (const body of built) await this.send(body, copy === 0 ? 'first' : 'identical-repeat');
  }

  /** One event per organization with a message id, published until confirmed (bounded). */
  async sentinels(timeoutMs: number): Promise<void> {
    const bodies = this.options.organizations.map((organization) => this.build(organization, 200, true, 'contract', true));
    for (const body of bodies) await this.send(body, 'first');
    const deadline = Date.now() + timeoutMs;
    while (bodies.some((b) => b.group.confirmed === 0) && Date.now() < deadline && !this.closed) {
      await this.flushRetries(deadline);
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopLoop = true;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    await model?.close().catch(() => undefined);
  }

  private async run(ratePerSecond: number): Promise<void> {
    const { random } = this.options;
    while (!this.stopLoop && !this.closed) {
      await this.flushRetries(Date.now() + 1_000);
      if (random.chance(0.01)) {
        const count = random.int(10, 30);
        for (let i = 0; i < count && !this.stopLoop; i += 1) await this.send(this.fresh(random, 'small'), 'first');
      } else if (random.chance(0.1) && this.repeatable.length > 0) {
        const original = random.pick(this.repeatable.slice(-50));
        const identical = random.chance(0.6);
        const times = random.chance(0.3) ? random.int(2, 3) : 1;
        for (let i = 0; i < times; i += 1) await this.send(identical ? original : this.refreshed(original), identical ? 'identical-repeat' : 'repeat');
      } else {
        await this.send(this.fresh(random, 'any'), 'first');
      }
      await sleep(-Math.log(1 - random.next()) * (1000 / ratePerSecond));
    }
  }

  /** A new event: size from the mix, message id or not. */
  private fresh(random: Random, sizes: 'any' | 'small'): Body {
    const organization = random.pick(this.options.organizations);
    const roll = sizes === 'small' ? 0 : random.next();
    const bytes = roll < 0.55 ? random.int(80, 1_000)
      : roll < 0.85 ? random.int(1_000, 8_000)
        : roll < 0.99 ? random.int(8_000, 48_000)
          : random.int(this.options.maxEventBytes + 1, this.options.maxEventBytes + 24_000);
    const withMessageId = random.chance(0.5);
    const body = this.build(organization, bytes, withMessageId, random.chance(0.5) ? 'contract' : 'bare', false);
    if (!withMessageId && !body.group.oversized) this.repeatable.push(body);
    return body;
  }

  private build(organization: string, bytes: number, withMessageId: boolean, style: 'contract' | 'bare', sentinel: boolean): Body {
    const n = this.counter++;
    const key = `${this.options.keyPrefix}${sentinel ? 's' : ''}${n}`;
    const eventType = n % 3 === 0 ? 'task.event.updated' : 'task.event.created';
    const nowMs = Date.now();
    const envelope = (pad: string): string => JSON.stringify({ event_type: eventType, organization_id: organization, data: { k: key, n, pad }, timestamp: new Date(nowMs).toISOString() });
    const bare = Buffer.byteLength(envelope(''));
    const content = Buffer.from(envelope(padding(Math.max(0, bytes - bare), n)));
    const messageId = withMessageId ? `m-${key}` : undefined;
    const group = this.options.ledger.open({ key, organization, bytes: content.length, oversized: content.length > this.options.maxEventBytes, messageId, sentinel, firstAtMs: nowMs });
    const properties: Options.Publish = {
      persistent: true,
      contentType: 'application/json',
      ...(messageId !== undefined && { messageId }),
      ...(style === 'contract' && { timestamp: Math.floor(nowMs / 1000), headers: { 'x-published-at-ms': nowMs } }),
    };
    return { group, routingKey: eventType, content, properties };
  }

  /** The same bytes with fresh publish properties (timestamp, x-published-at-ms). */
  private refreshed(original: Body): Body {
    const nowMs = Date.now();
    return { ...original, properties: { ...original.properties, timestamp: Math.floor(nowMs / 1000), headers: { 'x-published-at-ms': nowMs } } };
  }

  private async flushRetries(deadline: number): Promise<void> {
    while (this.retries.length > 0 && Date.now() < deadline && !this.closed) await this.send(this.retries.shift()!, 'retry');
  }

  /** Publishes once the channel is up and in-flight confirms allow; the fate lands in the ledger. */
  private async send(body: Body, kind: 'first' | 'retry' | 'repeat' | 'identical-repeat'): Promise<void> {
    while (this.inFlight >= MAX_IN_FLIGHT && !this.closed) await sleep(20);
    const channel = await this.channelWithRetry();
    if (channel === undefined) return;
    const settle = this.options.ledger.attempt(body.group, kind);
    this.inFlight += 1;
    let done = false;
    const finish = (fate: PublishFate): void => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      settle(fate);
      if (fate !== 'confirmed' && body.group.messageId !== undefined && body.group.confirmed === 0 && body.group.attempts < MAX_ATTEMPTS) this.retries.push(body);
    };
    try {
      const ok = channel.publish(this.options.exchange, body.routingKey, body.content, body.properties, (error: unknown) => {
        finish(error === null || error === undefined ? 'confirmed' : /nack/i.test(String(error)) ? 'nacked' : 'unknown');
      });
      if (!ok) await Promise.race([new Promise((resolve) => channel.once('drain', resolve)), sleep(2_000)]);
    } catch {
      finish('unknown');
    }
  }

  /** The confirm channel, reconnecting with a growing delay while the broker is away (bounded by close). */
  private async channelWithRetry(): Promise<ConfirmChannel | undefined> {
    let delayMs = 100;
    while (!this.closed) {
      try {
        return await this.open();
      } catch {
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
    return undefined;
  }

  private open(): Promise<ConfirmChannel> {
    if (this.channel !== undefined) return Promise.resolve(this.channel);
    this.opening ??= (async () => {
      try {
        const model = await connect(this.options.url, { clientProperties: { connection_name: 'chaos publisher' } });
        const forget = (): void => {
          if (this.model === model) this.forget();
        };
        model.on('error', forget);
        model.on('close', forget);
        const channel = await model.createConfirmChannel();
        channel.on('error', forget);
        channel.on('close', forget);
        await channel.assertExchange(this.options.exchange, 'topic', { durable: true });
        this.model = model;
        this.channel = channel;
        return channel;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /** Drops the connection (closing it, in case only the channel went). */
  private forget(): void {
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    model?.close().catch(() => undefined);
  }
}

function padding(length: number, offset: number): string {
  if (length === 0) return '';
  const start = offset % PAD.length;
  const unit = PAD.slice(start) + PAD.slice(0, start);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
