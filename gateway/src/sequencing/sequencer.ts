import type { Logger } from 'pino';
import type { CommandBus } from '../cluster/command-bus.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import type { AppendOptions, HistoryStore } from '../history/history-store.js';
import type { MembershipStore } from '../membership/membership-store.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { taskFrameJson } from '../protocol/task-frame.js';

/** The log message of a redelivery without message_id taken for the stored entry with its content. */
export const CONTENT_MATCH_MESSAGE = 'a redelivery without message_id was taken for the stored entry with the same content';

/** How long the sequencer trusts the command number it read, when it publishes none itself (a counter that started over is seen within this). */
const FENCE_REFRESH_MS = 5_000;

/**
 * The sequencing duty: gives each event its history id (once, whatever the redeliveries) and its
 * place in the organization's chain (`prev`), builds the client frame once; records membership
 * changes once, with their position in the organization's sequence, and tells every pod.
 */
export class Sequencer {
  /** The newest cluster command number known here (each frame's commandFence); undefined until read. */
  private fence: { readonly value: number | undefined; readonly atMs: number } | undefined;
  private fenceRead: Promise<void> | undefined;
  /** Bumped by each command published here: a read issued before one does not overwrite its number. */
  private fenceGeneration = 0;
  /** This run's number (HistoryStore.nextRun): its appends are refused once a later run appended. */
  private run: Promise<number> | undefined;

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
   * `identifiedBy`: whether `dedupeKey` is the publisher's message id or a hash of the content.
   */
  async sequence(event: InboundTaskEvent, dedupeKey: string, options: AppendOptions, identifiedBy: 'message_id' | 'content' = 'message_id'): Promise<RoutedFrame | undefined> {
    const record = { eventType: event.eventType, dataJson: event.dataJson, timestampMs: event.publishedAtMs ?? this.now() };
    // Every call waits for the same run number, so the appends are still issued in delivery order.
    const run = await this.runNumber();
    const [{ id, prev, duplicate, stored }, commandFence] = await Promise.all([this.history.append(event.organizationId, dedupeKey, record, { ...options, run }), this.commandFence()]);
    this.metrics.eventsSequenced.inc({ result: duplicate ? 'duplicate' : 'appended' });
    if (duplicate && identifiedBy === 'content' && options.dedupe !== 'record') {
      // The documented ambiguity: a redelivery of a message without id cannot be told from a
      // byte-identical twin's. Counted and logged (entry id, no content) so that it can be audited.
      this.metrics.contentRedeliveryMatches.inc();
      this.logger.info({ organization: event.organizationId, entry: id }, CONTENT_MATCH_MESSAGE);
    }
    const routed = duplicate ? stored : record;
    if (routed === undefined) return undefined;
    return {
      organizationId: event.organizationId,
      id,
      prev,
      frame: taskFrameJson(routed.eventType, id, prev, event.organizationId, routed.dataJson, routed.timestampMs),
      publishedAtMs: event.publishedAtMs,
      commandFence,
    };
  }

  /**
   * A new ingest run starts (this pod became the active sequencer, or its connection came back):
   * commands another sequencer published meanwhile are not known here, so the number is read again
   * before the next frame; and the run takes a new number for its appends.
   */
  runStarted(): void {
    this.fence = undefined;
    this.fenceGeneration += 1;
    this.run = undefined;
  }

  /**
   * The run's number, taken once per run before its first append: an append of an earlier run that
   * reaches history after one of this run (a command that timed out here and ran later) is refused.
   */
  private runNumber(): Promise<number> {
    if (this.run === undefined) {
      const run = this.history.nextRun();
      run.catch(() => {
        // Taken again by the next append.
        if (this.run === run) this.run = undefined;
      });
      this.run = run;
    }
    return this.run;
  }

  /**
   * Every membership change this sequencer published is below the number it knows; one published by
   * an earlier sequencer is too, since the number is read when a run starts. Read again now and then
   * in the background (a counter that started over comes down to where it is).
   */
  private async commandFence(): Promise<number | undefined> {
    const fence = this.fence;
    if (fence === undefined) {
      // Looks again when a read of an earlier run ends first.
      while (this.fence === undefined) await this.readFence();
      return this.fence.value;
    }
    if (this.now() - fence.atMs >= FENCE_REFRESH_MS) {
      this.readFence().catch((error: unknown) => this.logger.warn({ err: error }, 'reading the cluster command number failed; keeping the one known'));
    }
    return fence.value;
  }

  private readFence(): Promise<void> {
    if (this.fenceRead !== undefined) return this.fenceRead;
    const generation = this.fenceGeneration;
    const read = this.commands.fence.latest().then((value) => {
      if (this.fenceGeneration === generation) this.fence = { value, atMs: this.now() };
    }).finally(() => {
      if (this.fenceRead === read) this.fenceRead = undefined;
    });
    this.fenceRead = read;
    return read;
  }

  /**
   * Records the change and broadcasts it with its position: the organization's last id when it was
   * sequenced (every earlier event of the ingest stream is in history by then). A member added
   * receives every event after the position; a member removed, every event up to it.
   */
  async membershipChange(change: InboundMembershipChange): Promise<void> {
    // The ingest stream is sequential: no event of the organization is appended between these steps.
    let position: string;
    if (change.eventType === 'organization.member.removed') {
      await this.membership.recordRemoved(change.organizationId, change.userId, change.atMs);
      position = await this.history.lastId(change.organizationId);
    } else {
      // Kept with the addition: a client whose cursor predates it starts the organization there.
      position = await this.history.lastId(change.organizationId);
      await this.membership.recordAdded(change.organizationId, change.userId, change.atMs, position);
    }
    const seq = await this.commands.publish({ type: 'membership', change, position });
    // The events after the change wait, on every pod, until it has been applied there.
    this.fenceGeneration += 1;
    this.fence = { value: seq, atMs: this.now() };
    this.logger.info({ organization: change.organizationId, user: change.userId, change: change.eventType, position }, 'membership change recorded');
  }
}
