import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type fc from 'fast-check';
import { brokerCaseArbitrary, concernsReserved, type BrokerCase, type BrokerContext } from './broker-arbitrary.js';
import { caseSeed, drawCase } from './seeds.js';

export interface BrokerFuzzOptions {
  readonly amqpUrl: string;
  readonly exchange: string;
  readonly context: BrokerContext;
  readonly seed: number;
  readonly messages: number;
  /** Publishing pace: the messages are spread over the run rather than dumped at once. */
  readonly perSecond: number;
  readonly deadline: number;
  readonly stopped: () => boolean;
}

export interface BrokerFuzzStats {
  published: number;
  /** Cases amqplib itself refused to encode (not sent). */
  unpublishable: number;
  /** Cases that named the watcher's organization or user, drawn again. */
  skipped: number;
  /** Times the broker closed our publishing connection. */
  reconnects: number;
  byLabel: Map<string, number>;
}

const BATCH = 10;

/** Publishes random messages to the gateway's exchange, `BATCH` at a time with publisher confirms. */
export function newBrokerStats(): BrokerFuzzStats {
  return { published: 0, unpublishable: 0, skipped: 0, reconnects: 0, byLabel: new Map() };
}

export async function fuzzBroker(options: BrokerFuzzOptions, stats: BrokerFuzzStats = newBrokerStats()): Promise<BrokerFuzzStats> {
  const arbitrary: fc.Arbitrary<BrokerCase> = brokerCaseArbitrary(options.context);
  let model: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  const open = async (): Promise<ConfirmChannel> => {
    if (channel !== undefined) return channel;
    if (model === undefined) {
      const opened = await connect(options.amqpUrl);
      opened.on('error', () => undefined);
      opened.on('close', () => {
        if (model === opened) {
          model = undefined;
          channel = undefined;
          stats.reconnects += 1;
        }
      });
      model = opened;
    }
    const opened = await model.createConfirmChannel();
    opened.on('error', () => undefined);
    opened.on('close', () => {
      if (channel === opened) channel = undefined;
    });
    channel = opened;
    return opened;
  };
  let index = 0;
  const started = Date.now();
  try {
    while (stats.published < options.messages && Date.now() < options.deadline && !options.stopped()) {
      const ch = await open();
      for (let i = 0; i < BATCH && stats.published < options.messages; ) {
        const c = drawCase(arbitrary, caseSeed(options.seed, 'broker', index));
        index += 1;
        if (concernsReserved(c, options.context.reserved)) {
          stats.skipped += 1;
          continue;
        }
        i += 1;
        try {
          ch.publish(options.exchange, c.routingKey, Buffer.from(c.body), {
            persistent: true,
            headers: c.headers,
            messageId: c.messageId,
            timestamp: c.timestamp,
            contentType: c.contentType,
          });
          stats.published += 1;
          stats.byLabel.set(c.label, (stats.byLabel.get(c.label) ?? 0) + 1);
        } catch {
          stats.unpublishable += 1;
        }
      }
      // A channel the broker closed never confirms: do not wait for it forever.
      await Promise.race([ch.waitForConfirms().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      const due = started + (stats.published / options.perSecond) * 1_000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  } finally {
    const last = model;
    model = undefined;
    await last?.close().catch(() => undefined);
  }
  return stats;
}
