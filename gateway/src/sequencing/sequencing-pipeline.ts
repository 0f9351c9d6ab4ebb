import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { IngestConsumer, IngestMessage, IngestRun, IngestRunContext } from '../events/event-transport.js';
import type { InboundMembershipChange, InboundTaskEvent } from '../events/inbound-event.js';
import type { RoutedFrame } from '../events/routed-frame.js';
import type { AppendOptions } from '../history/history-store.js';
import { HistoryOrderError } from '../history/history-order-error.js';
import type { GatewayMetrics } from '../metrics/metrics.js';

/** What the pipeline needs of the sequencer (sequencer.ts). */
export interface SequencingPort {
  /** Undefined: a duplicate whose entry is no longer in history, nothing to route. */
  sequence(event: InboundTaskEvent, dedupeKey: string, options: AppendOptions, identifiedBy: 'message_id' | 'content'): Promise<RoutedFrame | undefined>;
  membershipChange(change: InboundMembershipChange): Promise<void>;
  /** A run starts: what the sequencer knows of the cluster's state from an earlier run is read again. */
  runStarted(): void;
}

/** What the pipeline needs of the transport: routed publishes, issued at once, confirmed later. */
export interface RoutedPublisher {
  publishRouted(frame: RoutedFrame): Promise<void>;
}

export interface SequencingPipelineOptions {
  /** Wait between two attempts of a failed step. */
  readonly retryDelayMs: number;
  /** Messages in flight at once (pipelined, in order). Default 1: one at a time. */
  readonly window?: number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
}

/** A task in flight, as the tasks after it see it. */
interface ChainLink {
  /** Identifies its append; the next task of its organization appends after it while its fate is unknown. */
  readonly token: string;
  /** Its history append is known to have happened (or to be a duplicate). */
  sequenced: boolean;
  /** True once its routed publish was issued; false when it was given up (its message comes back, unacked). */
  readonly issued: Promise<boolean>;
}

/**
 * The sequencing pipeline: ingest messages in, history appends and routed frames out, every message
 * acked once its work is done. One run per connection of the ingest source (`open`): a run's state
 * (the chain of tasks in flight) never outlives its connection, so a redelivery after a reconnection
 * starts a clean chain.
 *
 * Pipelined: up to `window` messages are in flight at once. The sequencer issues its history append
 * at once, on one Redis connection, so appends (and the ids they get) follow delivery order. `handle`
 * returns as soon as the message is in flight (or waits for room).
 *
 * A failing step is retried in place every `retryDelayMs`, not requeued: messages behind it are
 * already prefetched, and a requeue would let them overtake it. While any message is failing no new
 * one is started, and the failing ones retry one at a time, in delivery order (each once every
 * earlier message is finished, at once if the retry before it succeeded). The retry ends when the
 * connection goes or the source stops; the message, still unacked, then comes back (in order) to
 * whichever ingest consumer is active, and history's dedupe keeps it from making a second entry.
 *
 * Ordering rules, so that frames of one organization reach the pods in id order:
 * - each task is appended after the previous task of its organization while that one's fate is
 *   unknown (`afterToken`): an append never lands ahead of an earlier one that failed;
 * - each task is routed only after the previous task's routed publish was issued (of any
 *   organization: a member of several sees their events in delivery order too); when that one is
 *   given up, so is this one, and both come back in order.
 * A routed publish the broker nacks is retried in place while later frames may already have gone
 * out: the pods see their `prev` differ from what they delivered and read the missing frame from
 * history (routing/organization-feeds.ts), then drop the retried one as already delivered.
 */
export interface SequencingPipeline extends IngestConsumer {
  /** When the oldest message in flight on the current run was received (ms), or undefined when none is. */
  oldestInFlightSince(): number | undefined;
}

export function createSequencingPipeline(sequencer: SequencingPort, publisher: RoutedPublisher, options: SequencingPipelineOptions): SequencingPipeline {
  const runs: Array<{ oldest(): number | undefined }> = [];
  return {
    open: (context) => {
      sequencer.runStarted();
      const run = openRun(sequencer, publisher, options, context);
      runs.splice(0, runs.length, run);
      return run;
    },
    oldestInFlightSince: () => runs[0]?.oldest(),
  };
}

function openRun(sequencer: SequencingPort, publisher: RoutedPublisher, options: SequencingPipelineOptions, context: IngestRunContext): IngestRun & { oldest(): number | undefined } {
  const { logger, metrics } = options;
  const { isCurrent, sleep } = context;
  const window = options.window ?? 1;
  const runId = randomBytes(6).toString('hex');
  let appends = 0;
  const inFlight = new Set<Promise<void>>();
  /** When each message in flight was received, in delivery order. */
  const received = new Map<Promise<void>, number>();
  /** Per organization, its newest task in flight. */
  const organizationTails = new Map<string, ChainLink>();
  /** The newest task in flight. */
  let tail: ChainLink | undefined;
  let failing = 0;
  /** The latest retry succeeded: the next failing message retries at once, without the delay. */
  let recovered = false;
  /** Settles once every message started so far is finished (acked, or given up). */
  let startedSettled: Promise<void> = Promise.resolve();

  /**
   * Runs `step`, retrying it in place while it fails, once every earlier message is finished (so the
   * failing ones retry one at a time, in delivery order, whatever order their failures came in).
   * Resolves with its result, or undefined when given up.
   */
  async function retrying<T>(step: () => Promise<T>, earlier: Promise<unknown>, message: IngestMessage, what: string): Promise<{ readonly value: T } | undefined> {
    try {
      return { value: await step() };
    } catch (firstError) {
      failing += 1;
      try {
        let error: unknown = firstError;
        await earlier;
        for (let attempt = 1; ; attempt += 1) {
          // Messages that failed together (a Redis stall) go on at once when the one before recovered.
          const delayMs = attempt === 1 && recovered ? 0 : options.retryDelayMs;
          if (what === 'sequence' && !(error instanceof HistoryOrderError)) metrics.historyAppendFailures.inc();
          if (error instanceof HistoryOrderError) {
            // Expected: the append before it in its organization has not landed yet.
            logger.debug({ step: what, messageId: message.messageId, attempt }, 'an append waits for the one before it in its organization; retrying');
          } else {
            logger.warn({ err: error, step: what, messageId: message.messageId, attempt, retryDelayMs: delayMs }, 'an ingest message failed; retrying it in place');
          }
          if (!(await sleep(delayMs)) || !isCurrent()) return undefined;
          try {
            const value = await step();
            recovered = true;
            return { value };
          } catch (next) {
            recovered = false;
            error = next;
          }
        }
      } finally {
        failing -= 1;
        if (failing === 0) recovered = false;
      }
    }
  }

  async function task(message: IngestMessage, event: InboundTaskEvent, earlier: Promise<unknown>): Promise<void> {
    const { organizationId, eventType } = event;
    if (event.publishedAtMs !== undefined) metrics.eventStages.observe('ingest_wait', (message.receivedAtMs - event.publishedAtMs) / 1000);
    const sameOrganization = organizationTails.get(organizationId);
    const previous = tail;
    let markIssued: (issued: boolean) => void = () => undefined;
    appends += 1;
    const link: ChainLink = { token: `${runId}.${appends}`, sequenced: false, issued: new Promise((resolve) => (markIssued = resolve)) };
    organizationTails.set(organizationId, link);
    tail = link;
    try {
      // The condition holds only while the previous append's fate is unknown; once it is known to
      // be in history, this one (issued later on the same connection) can only land after it.
      const appendOptions = (): AppendOptions => ({
        dedupe: message.dedupe,
        token: link.token,
        ...(sameOrganization !== undefined && !sameOrganization.sequenced && { afterToken: sameOrganization.token }),
      });
      const sequenced = await retrying(() => sequencer.sequence(event, message.dedupeKey, appendOptions(), message.messageId === undefined ? 'content' : 'message_id'), earlier, message, 'sequence');
      if (sequenced === undefined) return;
      link.sequenced = true;
      if (previous !== undefined && !(await previous.issued)) return;
      if (!isCurrent()) return;
      const frame = sequenced.value;
      if (frame === undefined) {
        // A duplicate of an entry trimmed from history long ago: the pods had it or never will.
        markIssued(true);
        metrics.eventsConsumed.inc({ event_type: eventType });
        message.ack();
        return;
      }
      let observed = false;
      const routed = await retrying(async () => {
        const routedAtMs = options.now();
        const publish = publisher.publishRouted({ ...frame, routedAtMs });
        if (!observed) metrics.eventStages.observe('sequencing', (routedAtMs - message.receivedAtMs) / 1000);
        observed = true;
        markIssued(true);
        await publish;
      }, earlier, message, 'route');
      if (routed === undefined) return;
      metrics.eventsConsumed.inc({ event_type: eventType });
      message.ack();
    } finally {
      markIssued(false); // no effect once issued
      if (organizationTails.get(organizationId) === link) organizationTails.delete(organizationId);
      if (tail === link) tail = undefined;
    }
  }

  async function membership(message: IngestMessage, change: InboundMembershipChange, earlier: Promise<unknown>): Promise<void> {
    const done = await retrying(() => sequencer.membershipChange(change), earlier, message, 'membership');
    if (done === undefined) return;
    metrics.eventsConsumed.inc({ event_type: change.eventType });
    message.ack();
  }

  return {
    async handle(message) {
      // Membership changes wait for everything before them: their position must include it.
      const exclusive = message.body.kind === 'membership';
      while (inFlight.size >= window || (failing > 0 && inFlight.size > 0) || (exclusive && inFlight.size > 0)) await Promise.race(inFlight);
      if (!isCurrent()) return;
      const earlier = startedSettled;
      const work: Promise<void> = (message.body.kind === 'task'
        ? task(message, message.body.event, earlier)
        : membership(message, message.body.change, earlier)
      ).finally(() => {
        inFlight.delete(work);
        received.delete(work);
      });
      inFlight.add(work);
      received.set(work, message.receivedAtMs);
      // Settles to nothing: a chain of settled results would keep every earlier one alive.
      startedSettled = Promise.allSettled([earlier, work]).then(() => undefined);
      // Membership changes go one at a time: they are rare, and their order with task events is kept simply.
      if (exclusive || window === 1) await work;
    },
    async drained() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    oldest: () => received.values().next().value,
  };
}
