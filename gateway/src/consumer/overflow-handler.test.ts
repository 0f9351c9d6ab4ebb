import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/metrics.js';
import { createOverflowHandler } from './overflow-handler.js';

/** What the handler did to the delivery on the overflow queue's channel. */
function consumerChannel(): { channel: Channel; settled: string[] } {
  const settled: string[] = [];
  const channel = {
    ack: () => void settled.push('ack'),
    nack: (_message: ConsumeMessage, _allUpTo?: boolean, requeue?: boolean) => void settled.push(requeue === true ? 'requeue' : 'reject'),
  } as unknown as Channel;
  return { channel, settled };
}

/** A confirm channel whose confirms the test gives (or withholds, or refuses) by hand. */
function confirmChannel(): { publisher: ConfirmChannel; confirms: Array<(error: unknown) => void>; published: string[] } {
  const confirms: Array<(error: unknown) => void> = [];
  const published: string[] = [];
  const publisher = {
    publish: (exchange: string, _routingKey: string, _content: Buffer, _options: Options.Publish, callback?: (error: unknown) => void) => {
      published.push(exchange);
      if (callback !== undefined) confirms.push(callback);
      return true;
    },
  } as unknown as ConfirmChannel;
  return { publisher, confirms, published };
}

function rejected(): ConsumeMessage {
  return {
    content: Buffer.from('{"not":"a frame"}'),
    fields: { routingKey: 'acme', deliveryTag: 1, redelivered: false, exchange: 'orgcast.routed', consumerTag: 'c' },
    properties: { headers: { 'x-death': [{ reason: 'rejected', queue: 'orgcast.pod.a' }] } },
  } as unknown as ConsumeMessage;
}

const handler = () => createOverflowHandler({ deadLetterExchange: 'tasks.dlx', logger: pino({ level: 'silent' }), metrics: createMetrics({ collectDefaults: false }) });

describe('createOverflowHandler', () => {
  it('acks a rejected pod-queue message only once the dead-letter exchange confirmed it', () => {
    const { channel, settled } = consumerChannel();
    const { publisher, confirms, published } = confirmChannel();
    handler()(channel, rejected(), publisher);
    expect(published).toEqual(['tasks.dlx']);
    expect(settled).toEqual([]);
    confirms[0]!(null);
    expect(settled).toEqual(['ack']);
  });

  it('requeues it when the broker refuses the forward', () => {
    const { channel, settled } = consumerChannel();
    const { publisher, confirms } = confirmChannel();
    handler()(channel, rejected(), publisher);
    confirms[0]!(new Error('nack'));
    expect(settled).toEqual(['requeue']);
  });

  it('acks a frame a full pod queue dropped at once: nothing is forwarded, the pod repairs it from history', () => {
    const { channel, settled } = consumerChannel();
    const { publisher, published } = confirmChannel();
    const message = rejected();
    message.properties.headers = { 'x-death': [{ reason: 'maxlen', queue: 'orgcast.pod.a' }] } as unknown as ConsumeMessage['properties']['headers'];
    handler()(channel, message, publisher);
    expect(published).toEqual([]);
    expect(settled).toEqual(['ack']);
  });
});
