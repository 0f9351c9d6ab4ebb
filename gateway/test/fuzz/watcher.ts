import { TestPublisher } from '../helpers/publisher.js';
import { TestClient } from '../helpers/ws-client.js';
import type { Violation } from './violations.js';

/**
 * A member of an organization the fuzz never targets, connected for the whole run, while its
 * events are published through RabbitMQ at a steady low rate: at the end it must have received
 * each of them once, in order (docs/protocol.md: "Events of one organization arrive in id order,
 * each exactly once per connection").
 */
export class Watcher {
  published = 0;
  /** Slowest publish → receipt seen, in ms. */
  maxLagMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly publishedAt: number[] = [];
  private publishing: Promise<void> = Promise.resolve();
  private failure: string | undefined;
  private seen = 0;

  private constructor(readonly client: TestClient, private readonly publisher: TestPublisher, readonly organization: string) {}

  static async start(wsUrl: string, token: string, amqpUrl: string, exchange: string, organization: string): Promise<Watcher> {
    const client = await TestClient.established(wsUrl, token);
    return new Watcher(client, new TestPublisher(amqpUrl, exchange), organization);
  }

  /** Publishes one event every `intervalMs` until `stop()`. */
  run(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.publishing = this.publishing.then(async () => {
        const seq = this.published;
        this.publishedAt.push(Date.now());
        this.published += 1;
        try {
          await this.publisher.task(this.organization, { seq, watcher: true });
        } catch (error) {
          this.failure ??= `publishing watcher event ${seq} failed: ${String(error)}`;
        }
      });
      this.sampleLag();
    }, intervalMs);
  }

  private sampleLag(): void {
    const events = this.client.events();
    for (; this.seen < events.length; this.seen += 1) {
      const seq = (events[this.seen]!.data as { seq?: unknown } | undefined)?.seq;
      const at = typeof seq === 'number' ? this.publishedAt[seq] : undefined;
      if (at !== undefined) this.maxLagMs = Math.max(this.maxLagMs, Date.now() - at);
    }
  }

  /** Stops publishing, waits for the last events, and checks what arrived. */
  async stop(waitMs: number): Promise<Violation[]> {
    clearInterval(this.timer);
    await this.publishing;
    await this.publisher.close().catch(() => undefined);
    const violations: Violation[] = [];
    const flag = (key: string, detail: string): void => {
      violations.push({ key: `watcher:${key}`, detail });
    };
    if (this.failure !== undefined) flag('publish-failed', this.failure);
    try {
      await this.client.waitForCount(undefined, this.published, waitMs);
    } catch {
      // Reported below with what did arrive.
    }
    // A duplicate would come right behind.
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.sampleLag();
    const events = this.client.events();
    const seqs = events.map((e) => (e.data as { seq?: unknown } | undefined)?.seq);
    const foreign = events.filter((e) => e.organization_id !== this.organization);
    if (foreign.length > 0) flag('foreign-event', `events of other organizations: ${JSON.stringify(foreign.slice(0, 3))}`);
    const expected = Array.from({ length: this.published }, (_, i) => i);
    if (JSON.stringify(seqs) !== JSON.stringify(expected)) {
      const missing = expected.filter((i) => !seqs.includes(i));
      const duplicates = seqs.filter((s, i) => seqs.indexOf(s) !== i);
      const outOfOrder = seqs.filter((s, i) => i > 0 && typeof s === 'number' && typeof seqs[i - 1] === 'number' && s < (seqs[i - 1] as number));
      flag('not-exactly-once-in-order', `published ${this.published}, received ${events.length}: ${missing.length} missing (first ${JSON.stringify(missing.slice(0, 10))}), ${duplicates.length} duplicated, ${outOfOrder.length} out of order`);
    }
    const ids = events.map((e) => e.id ?? '');
    const decreasing = ids.findIndex((id, i) => i > 0 && !idAfter(id, ids[i - 1]!));
    if (decreasing >= 0) flag('ids-not-increasing', `event id ${ids[decreasing]} after ${ids[decreasing - 1]}`);
    if (this.client.closeCode !== undefined) flag(`closed|${this.client.closeCode}`, `the watcher's connection was closed with ${this.client.closeCode} ${this.client.closeReason}`);
    const stray = this.client.frames.filter((f) => !f.event_type.startsWith('task.event.') && f.event_type !== 'connection.established');
    if (stray.length > 0) flag('stray-frame', `unexpected frames: ${JSON.stringify(stray.slice(0, 3))}`);
    await this.client.close();
    return violations;
  }

  get received(): number {
    return this.client.events().length;
  }
}

/** `<ms>-<seq>` ids compared as the docs say: both parts numerically. */
function idAfter(id: string, previous: string): boolean {
  const [ms, seq] = id.split('-').map((part) => BigInt(/^\d+$/.test(part) ? part : '0'));
  const [pms, pseq] = previous.split('-').map((part) => BigInt(/^\d+$/.test(part) ? part : '0'));
  return ms! > pms! || (ms === pms && seq! > pseq!);
}
