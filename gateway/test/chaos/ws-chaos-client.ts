import WebSocket from 'ws';
import { compareEventIds } from '../../src/history/event-id.js';
import { formatResume, parseResume } from '../../src/protocol/resume.js';
import type { ClientLog } from './client-log.js';
import type { Random } from './seeded-random.js';

export interface WsChaosClientOptions {
  /** `ws://…/api/ws` through the load balancer. */
  readonly url: string;
  readonly token: string;
  readonly log: ClientLog;
  readonly random: Random;
  /** Churners close their socket every `churnEveryMs` (uniform in the range) and stay away up to `offlineMaxMs`. */
  readonly churn?: { readonly minMs: number; readonly maxMs: number; readonly offlineMaxMs: number };
  /** A socket without `connection.established` this long after the request is given up. Default 8 s. */
  readonly establishTimeoutMs?: number;
}

interface Frame {
  readonly event_type?: unknown;
  readonly id?: unknown;
  readonly prev?: unknown;
  readonly organization_id?: unknown;
  readonly data?: unknown;
}

/**
 * A client on the raw wire, strict: it records every event frame the gateway sends, resumes with
 * the last id it has per organization after any disconnection (its own churn, a pod's death, a
 * close), and never repairs a gap itself, so that what it lacks at the end is what the gateway
 * failed to send. A `prev` that is not its last id is counted as a chain break (a gap on the wire).
 */
export class WsChaosClient {
  private readonly marks = new Map<string, string>();
  /** Organizations whose next event starts a new chain (after organization.resync). */
  private readonly chainReset = new Set<string>();
  private socket: WebSocket | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private churnTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: WsChaosClientOptions) {}

  start(): void {
    this.connect();
  }

  /** Where a resume would start now, per organization. */
  position(organization: string): string | undefined {
    return this.marks.get(organization);
  }

  /** Whether a session is established now. */
  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.churnTimer);
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.terminate();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  }

  private connect(): void {
    if (this.stopped) return;
    const { log, random } = this.options;
    const query = new URLSearchParams({ access_token: this.options.token, affinity: `a${random.int(0, 1e9)}` });
    if (this.marks.size > 0) query.set('resume', formatResume(this.marks));
    const socket = new WebSocket(`${this.options.url}?${query.toString()}`, { handshakeTimeout: 5_000 });
    this.socket = socket;
    let established = false;
    let leaving = false;
    const establishTimer = setTimeout(() => {
      if (!established) socket.terminate();
    }, this.options.establishTimeoutMs ?? 8_000);

    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (frame.event_type === 'connection.established') {
        established = true;
        clearTimeout(establishTimer);
        this.failures = 0;
        log.counters.sessions += 1;
        this.onEstablished(frame.data as { resume?: string; recovered?: Record<string, boolean> });
        this.scheduleChurn(socket, () => {
          leaving = true;
        });
        return;
      }
      if (frame.event_type === 'organization.resync') {
        const organization = (frame.data as { organization_id?: unknown } | undefined)?.organization_id;
        if (typeof organization === 'string') {
          log.flag(organization, 'organization.resync');
          this.chainReset.add(organization);
        }
        return;
      }
      if (typeof frame.id === 'string' && typeof frame.organization_id === 'string') this.onEvent(frame.organization_id, frame.id, frame.prev, frame.data);
    });
    socket.on('error', () => undefined);
    socket.on('close', (code) => {
      clearTimeout(establishTimer);
      if (established) log.closed(code);
      clearTimeout(this.churnTimer);
      if (this.socket !== socket || this.stopped) return;
      if (!established) {
        log.counters.failedAttempts += 1;
        this.failures += 1;
        this.retry(Math.min(100 * 2 ** this.failures, 3_000) * (0.5 + random.next() / 2));
        return;
      }
      if (leaving) {
        this.retry(random.int(0, this.options.churn?.offlineMaxMs ?? 0));
        return;
      }
      log.counters.drops += 1;
      this.retry(random.int(50, 500));
    });
  }

  private onEstablished(data: { resume?: string; recovered?: Record<string, boolean> }): void {
    const { log } = this.options;
    for (const [organization, recovered] of Object.entries(data.recovered ?? {})) {
      if (!recovered) {
        log.flag(organization, 'recovered: false');
        this.chainReset.add(organization);
      }
    }
    const start = parseResume(data.resume ?? '');
    for (const organization of log.organizations) {
      const position = start.get(organization);
      if (position === undefined) continue;
      log.join(organization, position);
      const mark = this.marks.get(organization);
      if (mark === undefined || compareEventIds(position, mark) > 0) {
        // The gateway starts this connection after the client's mark: only right after a flag.
        if (mark !== undefined && !this.chainReset.has(organization)) log.counters.chainBreaks += 1;
        this.marks.set(organization, position);
      }
    }
  }

  private onEvent(organization: string, id: string, prev: unknown, data: unknown): void {
    const { log } = this.options;
    const mark = this.marks.get(organization);
    if (typeof prev === 'string' && mark !== undefined && prev !== mark && !this.chainReset.has(organization)) log.counters.chainBreaks += 1;
    this.chainReset.delete(organization);
    log.event(organization, id, data);
    if (mark === undefined || compareEventIds(id, mark) > 0) this.marks.set(organization, id);
  }

  private scheduleChurn(socket: WebSocket, leaving: () => void): void {
    const churn = this.options.churn;
    if (churn === undefined) return;
    clearTimeout(this.churnTimer);
    this.churnTimer = setTimeout(() => {
      if (this.stopped || this.socket !== socket) return;
      leaving();
      if (this.options.random.chance(0.5)) {
        socket.close(1000, 'churn');
        // A stopped pod never answers the close: do not wait for ws's 30 s.
        setTimeout(() => socket.terminate(), 1_000).unref();
      } else {
        socket.terminate();
      }
    }, this.options.random.int(churn.minMs, churn.maxMs));
  }

  private retry(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }
}
