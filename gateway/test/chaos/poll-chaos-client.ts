import { compareEventIds } from '../../src/history/event-id.js';
import { parseResume } from '../../src/protocol/resume.js';
import type { ClientLog } from './client-log.js';
import type { Random } from './seeded-random.js';

export interface PollChaosClientOptions {
  /** The load balancer's HTTP base URL. */
  readonly url: string;
  readonly token: string;
  readonly log: ClientLog;
  readonly random: Random;
}

interface PollAnswer {
  readonly events?: ReadonlyArray<{ id?: unknown; prev?: unknown; organization_id?: unknown; data?: unknown }>;
  readonly resume?: unknown;
  readonly recovered?: Readonly<Record<string, unknown>>;
}

/**
 * A long-poller on the raw HTTP API: `GET /api/poll?resume=…` or `POST /api/poll` with a JSON body,
 * at random, each with a random `timeout_ms`, passing back the answer's cursor unchanged. Pauses
 * between polls (sometimes for seconds: a tab in the background), retries after refusals and
 * network errors with the same cursor. Strict like the raw WebSocket client: records every event
 * of every answer and never repairs a gap.
 */
export class PollChaosClient {
  private cursor: string | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly marks = new Map<string, string>();

  constructor(private readonly options: PollChaosClientOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  position(organization: string): string | undefined {
    return this.cursor === undefined ? undefined : parseResume(this.cursor).get(organization);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log, random } = this.options;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const timeoutMs = this.cursor === undefined ? 0 : random.int(500, 15_000);
      let answer: PollAnswer;
      try {
        answer = await this.request(timeoutMs, random.chance(0.5) ? 'GET' : 'POST');
      } catch {
        if (this.abort.signal.aborted) return;
        log.counters.failedAttempts += 1;
        failures += 1;
        await this.sleep(Math.min(100 * 2 ** failures, 3_000) * (0.5 + random.next() / 2));
        continue;
      }
      if (failures > 0 || this.cursor === undefined) log.counters.sessions += 1;
      failures = 0;
      this.take(answer);
      await this.sleep(random.chance(0.1) ? random.int(2_000, 8_000) : random.int(0, 300));
    }
  }

  /** One poll, answer read, within `timeoutMs` + 10 s (a stopped pod never answers). */
  private async request(timeoutMs: number, method: 'GET' | 'POST'): Promise<PollAnswer> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(onAbort, timeoutMs + 10_000);
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: 'application/json' };
    try {
      let response: Response;
      if (method === 'GET') {
        const query = new URLSearchParams({ timeout_ms: String(timeoutMs) });
        if (this.cursor !== undefined) query.set('resume', this.cursor);
        response = await fetch(`${this.options.url}/api/poll?${query.toString()}`, { headers, signal: controller.signal });
      } else {
        response = await fetch(`${this.options.url}/api/poll`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ ...(this.cursor !== undefined && { resume: this.cursor }), timeout_ms: timeoutMs }),
          signal: controller.signal,
        });
      }
      if (response.status !== 200) {
        await response.arrayBuffer();
        throw new Error(`HTTP ${response.status}`);
      }
      return (await response.json()) as PollAnswer;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onAbort);
    }
  }

  private take(answer: PollAnswer): void {
    const { log } = this.options;
    if (typeof answer.resume !== 'string') {
      log.counters.failedAttempts += 1;
      return;
    }
    const first = this.cursor === undefined;
    const next = parseResume(answer.resume);
    if (first) {
      for (const [organization, position] of next) {
        log.join(organization, position);
        this.marks.set(organization, position);
      }
    }
    for (const [organization, recovered] of Object.entries(answer.recovered ?? {})) if (recovered === false) log.flag(organization, 'recovered: false');
    for (const event of answer.events ?? []) {
      if (typeof event.id !== 'string' || typeof event.organization_id !== 'string') continue;
      const mark = this.marks.get(event.organization_id);
      if (typeof event.prev === 'string' && mark !== undefined && event.prev !== mark && answer.recovered?.[event.organization_id] !== false) log.counters.chainBreaks += 1;
      log.event(event.organization_id, event.id, event.data);
      if (mark === undefined || compareEventIds(event.id, mark) > 0) this.marks.set(event.organization_id, event.id);
    }
    for (const [organization, position] of next) {
      const mark = this.marks.get(organization);
      if (mark === undefined || compareEventIds(position, mark) > 0) this.marks.set(organization, position);
    }
    this.cursor = answer.resume;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
