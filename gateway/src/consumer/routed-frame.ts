import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { RoutedFrame } from '../events/routed-frame.js';
import { isEventId } from '../history/event-id.js';
import { PublishNotConfirmedError } from './event-source-error.js';
import { PUBLISHED_AT_HEADER, publishedAtHeaderMs, timeHeaderMs } from './parse-message.js';
import { organizationRoutingKey } from './routing-keys.js';

/** Header of a routed message that carries the frame's history id. */
export const EVENT_ID_HEADER = 'x-event-id';

/** Header of a routed message that carries the organization id (the routing key may be its hash). */
export const ORGANIZATION_HEADER = 'x-organization-id';

/** Header of a routed message: the id of its organization's event before it. */
export const PREV_HEADER = 'x-prev-id';

/** Header of a routed message: when the sequencer published it (ms since the epoch). */
export const ROUTED_AT_HEADER = 'x-routed-at-ms';

/** Header of a routed message: the number of the newest cluster command sequenced before it (RoutedFrame.commandFence). */
export const COMMAND_FENCE_HEADER = 'x-command-fence';

/**
 * The routed exchange's wire format: routing key = organizationRoutingKey (the id, or its hash
 * when long), body = the frame as sent to sockets, headers `x-event-id`, `x-prev-id`,
 * `x-organization-id`, `x-published-at-ms`, `x-routed-at-ms` and `x-command-fence`. Transient on purpose:
 * the history is the record (the ingest message is acked only after this confirm, which for a
 * transient message comes as soon as it is enqueued, not after a disk sync), and a pod that lost
 * its broker connection re-reads its organizations' history after reconnecting
 * (`onBrokerReconnected`), so a frame lost with a broker restart still reaches its sockets.
 * Resolves once the broker confirmed it (an unroutable frame, with no pod bound to its
 * organization, is confirmed too and dropped); rejects when it nacks or the channel closes first.
 */
export function publishRoutedFrame(channel: ConfirmChannel, exchange: string, frame: RoutedFrame): Promise<void> {
  const headers: Record<string, unknown> = { [EVENT_ID_HEADER]: frame.id, [ORGANIZATION_HEADER]: frame.organizationId };
  if (frame.prev !== undefined) headers[PREV_HEADER] = frame.prev;
  if (frame.publishedAtMs !== undefined) headers[PUBLISHED_AT_HEADER] = frame.publishedAtMs;
  if (frame.routedAtMs !== undefined) headers[ROUTED_AT_HEADER] = frame.routedAtMs;
  if (frame.commandFence !== undefined) headers[COMMAND_FENCE_HEADER] = frame.commandFence;
  return new Promise((resolve, reject) => {
    const confirmed = (error: unknown): void => {
      if (error === null || error === undefined) resolve();
      else reject(new PublishNotConfirmedError('the broker did not confirm a routed frame', { cause: error }));
    };
    try {
      channel.publish(exchange, organizationRoutingKey(frame.organizationId), Buffer.from(frame.frame), { persistent: false, contentType: 'application/json', headers }, confirmed);
    } catch (error) {
      reject(new PublishNotConfirmedError('could not publish a routed frame (channel closed)', { cause: error }));
    }
  });
}

/**
 * The frame a routed message carries, or undefined when it has no valid `x-event-id` (not a frame).
 * Without a valid `x-prev-id` (an entry written before the history kept it) its prev is unknown.
 */
export function routedFrameOf(message: ConsumeMessage): RoutedFrame | undefined {
  const headers = message.properties.headers;
  const id = headers?.[EVENT_ID_HEADER];
  if (!isEventId(id)) return undefined;
  const organizationId = headers?.[ORGANIZATION_HEADER];
  const prev = headers?.[PREV_HEADER];
  const fence = headers?.[COMMAND_FENCE_HEADER];
  return {
    organizationId: typeof organizationId === 'string' && organizationId !== '' ? organizationId : message.fields.routingKey,
    id,
    prev: isEventId(prev) ? prev : undefined,
    frame: message.content.toString('utf8'),
    publishedAtMs: publishedAtHeaderMs(headers),
    routedAtMs: timeHeaderMs(headers, ROUTED_AT_HEADER),
    commandFence: typeof fence === 'number' && Number.isSafeInteger(fence) && fence > 0 ? fence : undefined,
  };
}
