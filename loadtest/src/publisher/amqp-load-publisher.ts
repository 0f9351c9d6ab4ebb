import { once } from 'node:events';
import { connect } from 'amqplib';
import { publishEvent } from '../../../gateway/src/consumer/amqp-publisher.js';
import { loadEventData, monotonicMicros } from '../protocol/payload-scan.js';
import type { EventPublisher, PublishOutcome, PublishPlan } from './event-publisher.js';
import { runRateLoop } from './rate-loop.js';

export interface AmqpLoadPublisherOptions {
  readonly url: string;
  readonly exchange: string;
}

/**
 * Publishes load events the way the task service does (gateway/src/consumer/amqp-publisher.ts:
 * routing key = event type, persistent JSON, `x-published-at-ms`) on a confirm channel, and waits
 * for the broker's confirms before reporting the final sequences, so "lost" never counts an event
 * the broker did not accept.
 */
export async function createAmqpLoadPublisher(options: AmqpLoadPublisherOptions): Promise<EventPublisher> {
  const model = await connect(options.url);
  const channel = await model.createConfirmChannel();
  await channel.assertExchange(options.exchange, 'topic', { durable: true });
  return {
    async publish(plan: PublishPlan, signal?: AbortSignal): Promise<PublishOutcome> {
      const finalSeqs = new Array<number>(plan.orgCount).fill(0);
      const pad = 'x'.repeat(plan.padBytes);
      const result = await runRateLoop(
        { ratePerSecond: plan.ratePerSecond, durationMs: plan.durationMs, maxEvents: plan.maxEvents, ...(signal !== undefined && { signal }) },
        (i) => {
          const org = plan.orgs[i % plan.orgs.length]!;
          const seq = (finalSeqs[org] ?? 0) + 1;
          finalSeqs[org] = seq;
          return publishEvent(channel, options.exchange, {
            eventType: 'task.event.created',
            organizationId: `${plan.orgPrefix}-${org}`,
            data: loadEventData(org, seq, monotonicMicros(), pad),
          });
        },
        async () => {
          await once(channel, 'drain');
        },
      );
      await channel.waitForConfirms();
      return { sent: result.sent, elapsedMs: result.elapsedMs, finalSeqs };
    },
    async close(): Promise<void> {
      await channel.close();
      await model.close();
    },
  };
}
