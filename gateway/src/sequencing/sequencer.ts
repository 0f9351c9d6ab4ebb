import type { Logger } from 'pino';
import type { CommandBus } from '../cluster/command-bus.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import type { AppendOptions, HistoryStore } from '../history/history-store.js';
import type { MembershipStore } from '../membership/membership-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { taskFrameJson } from '../protocol/task-frame.js';

/**
 * The sequencing duty: gives each event its history id (once, whatever the redeliveries) and its
 * place in the organization's chain (`prev`), builds the client frame once; records membership
 * changes once, with their position in the organization's sequence, and tells every pod.
 */
export class Sequencer {
  constructor(
    private readonly history: HistoryStore,
    private readonly membership: MembershipStore,
    private readonly commands: CommandBus,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Appends the event to history (see HistoryStore.append for `options`; rejects with
   * HistoryOrderError when the append it must follow is not the last one) and returns its frame. A
   * duplicate gets its first id and prev again and must still be routed (its first routing may not
   * have happened before a crash, and the pods drop ids they already delivered), with the frame
   * built from what history stored under that id: live and replayed frames of an id are the same.
   * Undefined for a duplicate whose entry is no longer in history: nothing to route.
   */
  async sequence(event: InboundTaskEvent, dedupeKey: string, options: AppendOptions): Promise<RoutedFrame | undefined> {
    const record = { eventType: event.eventType, dataJson: event.dataJson, timestampMs: event.publishedAtMs ?? this.now() };
    const { id, prev, duplicate, stored } = await this.history.append(event.organizationId, dedupeKey, record, options);
    this.metrics.eventsSequenced.inc({ result: duplicate ? 'duplicate' : 'appended' });
    const routed = duplicate ? stored : record;
    if (routed === undefined) return undefined;
    return {
      organizationId: event.organizationId,
      id,
      prev,
      frame: taskFrameJson(routed.eventType, id, prev, event.organizationId, routed.dataJson, routed.timestampMs),
      publishedAtMs: event.publishedAtMs,
    };
  }

  /**
   * Records the change and broadcasts it with its position: the organization's last id when it was
   * sequenced (every earlier event of the ingest stream is in history by then). A member added
   * receives every event after the position; a member removed, every event up to it.
   */
  async membershipChange(change: InboundMembershipChange): Promise<void> {
    if (change.eventType === 'organization.member.removed') await this.membership.recordRemoved(change.organizationId, change.userId, change.atMs);
    else await this.membership.recordAdded(change.organizationId, change.userId, change.atMs);
    const position = await this.history.lastId(change.organizationId);
    await this.commands.publish({ type: 'membership', change, position });
    this.logger.info({ organization: change.organizationId, user: change.userId, change: change.eventType, position }, 'membership change recorded');
  }
}
