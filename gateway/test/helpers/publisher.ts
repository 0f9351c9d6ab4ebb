import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { publishEvent, publishMembershipChange } from '../../src/consumer/amqp-publisher.js';
import type { TaskEventType } from '../../src/protocol/frames.js';

/** A task-service stand-in: publishes with confirms, reconnecting after the broker dropped it. */
export class TestPublisher {
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;

  constructor(private readonly url: string, private readonly exchange: string) {}

  private async open(): Promise<ConfirmChannel> {
    if (this.channel !== undefined) return this.channel;
    const model = await connect(this.url, { noDelay: true });
    model.on('error', () => this.forget());
    model.on('close', () => this.forget());
    const channel = await model.createConfirmChannel();
    channel.on('error', () => this.forget());
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    this.model = model;
    this.channel = channel;
    return channel;
  }

  private forget(): void {
    this.model = undefined;
    this.channel = undefined;
  }

  async task(organizationId: string, data: unknown, eventType: TaskEventType = 'task.event.created'): Promise<void> {
    const channel = await this.open();
    publishEvent(channel, this.exchange, { eventType, organizationId, data });
    await channel.waitForConfirms();
  }

  /** Publishes many events, then waits for all the confirms at once. */
  async tasks(events: ReadonlyArray<{ organizationId: string; data: unknown }>, eventType: TaskEventType = 'task.event.created'): Promise<void> {
    const channel = await this.open();
    for (const event of events) {
      if (!publishEvent(channel, this.exchange, { eventType, organizationId: event.organizationId, data: event.data })) {
        await new Promise((resolve) => channel.once('drain', resolve));
      }
    }
    await channel.waitForConfirms();
  }

  async membership(eventType: 'organization.member.added' | 'organization.member.removed', organizationId: string, userId: string, timestampMs?: number): Promise<void> {
    const channel = await this.open();
    publishMembershipChange(channel, this.exchange, { eventType, organizationId, userId, timestampMs });
    await channel.waitForConfirms();
  }

  async raw(routingKey: string, body: string | Buffer, headers: Record<string, unknown> = {}): Promise<void> {
    const channel = await this.open();
    channel.publish(this.exchange, routingKey, typeof body === 'string' ? Buffer.from(body) : body, { headers, persistent: true });
    await channel.waitForConfirms();
  }

  async close(): Promise<void> {
    const model = this.model;
    this.forget();
    await model?.close();
  }
}
