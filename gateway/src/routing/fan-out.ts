import type { InboundTaskEvent } from '../consumer/event-source.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { TaskEventFrame } from '../protocol/frames.js';
import { organizationTopic, type TopicBroadcaster } from '../session/socket-port.js';
import type { EventIdSource } from './event-id-source.js';

/**
 * Turns one consumed task event into one serialised frame and publishes it to the organization's
 * topic: every member socket on this pod receives the same bytes, serialised once.
 */
export class FanOut {
  constructor(
    private readonly broadcaster: TopicBroadcaster,
    private readonly ids: EventIdSource,
    private readonly metrics: GatewayMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  deliver(event: InboundTaskEvent): number {
    const nowMs = this.now();
    const frame: TaskEventFrame = {
      event_type: event.eventType,
      id: this.ids.next(event.organizationId),
      organization_id: event.organizationId,
      data: event.data,
      timestamp: new Date(event.publishedAtMs ?? nowMs).toISOString(),
    };
    const delivered = this.broadcaster.publish(organizationTopic(event.organizationId), JSON.stringify(frame));
    this.metrics.eventsDelivered.inc(delivered);
    this.metrics.deliveriesPerEvent.observe(delivered);
    if (event.publishedAtMs !== undefined && delivered > 0) {
      this.metrics.deliveryLatency.observe(Math.max(0, nowMs - event.publishedAtMs) / 1000);
    }
    return delivered;
  }
}
