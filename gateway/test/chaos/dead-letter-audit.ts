import { connect } from 'amqplib';
import { keyOf } from './client-log.js';
import type { LedgerGroup } from './publish-ledger.js';

export interface DeadLetterAudit {
  /** Messages read from the dead-letter queue. */
  readonly read: number;
  /** Confirmed oversized publishes found there. */
  readonly oversizedFound: number;
  /** Confirmed oversized publishes not found there. */
  readonly oversizedMissing: readonly string[];
  /** Dead-lettered bodies within the limit (valid events that were refused). */
  readonly validDeadLettered: readonly string[];
}

/**
 * Empties the run's dead-letter queue (basic.get, bounded) and checks it against the ledger: every
 * confirmed oversized body is there, and no valid event is.
 */
export async function auditDeadLetters(url: string, queue: string, ledger: ReadonlyMap<string, LedgerGroup>, maxMessages = 20_000): Promise<DeadLetterAudit> {
  const model = await connect(url);
  const keys = new Set<string>();
  let read = 0;
  try {
    const channel = await model.createChannel();
    await channel.checkQueue(queue);
    for (; read < maxMessages; read += 1) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      try {
        const key = keyOf((JSON.parse(message.content.toString()) as { data?: unknown }).data);
        if (key !== undefined) keys.add(key);
      } catch {
        // Not one of ours.
      }
    }
  } finally {
    await model.close().catch(() => undefined);
  }
  const oversized = [...ledger.values()].filter((g) => g.oversized && g.confirmed > 0);
  return {
    read,
    oversizedFound: oversized.filter((g) => keys.has(g.key)).length,
    oversizedMissing: oversized.filter((g) => !keys.has(g.key)).map((g) => g.key),
    validDeadLettered: [...keys].filter((key) => ledger.get(key)?.oversized === false),
  };
}
