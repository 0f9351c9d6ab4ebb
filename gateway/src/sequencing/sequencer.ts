import type { Logger } from 'pino';
import type { RoutedFrame } from '../consumer/cluster-source.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../consumer/event-source.js';
import type { HistoryStore } from '../history/history-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { MembershipStore } from '../membership/membership-store.js';
import { taskFrameJson } from '../protocol/task-frame.js';
import type { CommandBus } from '../cluster/command-bus.js';

/**
 * The sequencing duty: gives each consumed event its history id (once, whatever the redeliveries),
 * builds the client frame once, and hands it on for routing. Membership changes are recorded once
 * and broadcast to every pod.
 */
export class Sequencer {
  constructor(
    private readonly history: HistoryStore,
    private readonly route: (frame: RoutedFrame) => Promise<void> | void,
    private readonly membership: MembershipStore,
    private readonly commands: CommandBus,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sequences and routes one event (callers that run one event at a time). */
  async task(event: InboundTaskEvent, dedupeKey: string): Promise<void> {
    await this.route(await this.sequence(event, dedupeKey));
  }

  /**
   * Gives the event its history id and builds its frame, without routing it. `after`: the dedupe key
   * of the event that must already be in history (see HistoryStore.append); rejects with
   * HistoryOrderError otherwise. A duplicate gets its first id again and must still be routed: its
   * first routing may not have happened before a crash, and the pods drop ids they already delivered.
   */
  async sequence(event: InboundTaskEvent, dedupeKey: string, after?: string): Promise<RoutedFrame> {
    const timestampMs = event.publishedAtMs ?? this.now();
    const dataJson = JSON.stringify(event.data ?? null);
    const { id, duplicate } = await this.history.append(event.organizationId, dedupeKey, { eventType: event.eventType, dataJson, timestampMs }, after);
    this.metrics.eventsSequenced.inc({ result: duplicate ? 'duplicate' : 'appended' });
    return {
      organizationId: event.organizationId,
      id,
      frame: taskFrameJson(event.eventType, id, event.organizationId, dataJson, timestampMs),
      publishedAtMs: event.publishedAtMs,
    };
  }

  async membershipChange(change: InboundMembershipChange): Promise<void> {
    if (change.eventType === 'organization.member.removed') await this.membership.recordRemoved(change.organizationId, change.userId, change.atMs);
    else await this.membership.recordAdded(change.organizationId, change.userId, change.atMs);
    await this.commands.publish({ type: 'membership', change });
    this.logger.info({ organization: change.organizationId, user: change.userId, change: change.eventType }, 'membership change recorded');
  }
}
