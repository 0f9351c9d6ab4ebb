import WebSocket from 'ws';
import { createClient, decodeResume, type FetchLike, type OrgcastClient, type ResponseLike, type WebSocketFactory } from '../../../client/src/index.js';
import type { ClientLog } from './client-log.js';
import type { Random } from './seeded-random.js';

export interface SdkChaosClientOptions {
  /** The load balancer's HTTP base URL: the SDK derives `/api/ws` and `/api/poll` from it. */
  readonly url: string;
  readonly token: string;
  readonly log: ClientLog;
  readonly random: Random;
  /** Long-poll from the start (`pollingAfterFailures: 0`); the SDK tries the WebSocket again now and then. */
  readonly polling: boolean;
  /** The WebSocket is cut (as a network would) every `minMs`–`maxMs`; the SDK reconnects and resumes. */
  readonly churn?: { readonly minMs: number; readonly maxMs: number };
}

/**
 * An application on `@orgcast/client`: what it is handed (`'*'` events, `resync` notices) is what
 * gets checked. The SDK checks every event's `prev` and resumes on a gap; those repairs are counted.
 * The WebSocket and fetch it uses are wrapped to see where its first session started (the join
 * position) and to cut its socket from outside.
 */
export class SdkChaosClient {
  private client: OrgcastClient | undefined;
  private readonly sockets = new Set<WebSocket>();
  private churnTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: SdkChaosClientOptions) {}

  start(): void {
    const { log, random, token } = this.options;
    const client = createClient({
      url: this.options.url,
      getToken: () => token,
      WebSocket: this.trackedWebSocket(),
      fetch: this.trackedFetch(),
      pollingAfterFailures: this.options.polling ? 0 : 3,
      pollTimeoutMs: this.options.polling ? random.int(2_000, 15_000) : 25_000,
      // Some pollers try the WebSocket again within the run (a transport switch), others stay polling.
      upgradeIntervalMs: this.options.polling ? (random.chance(0.5) ? 20_000 : 3_600_000) : 15_000,
      baseDelayMs: 200,
      maxDelayMs: 3_000,
      connectTimeoutMs: 6_000,
      pongTimeoutMs: 6_000,
      random: () => random.next(),
    });
    this.client = client;
    client.on('*', (event) => log.event(event.organization_id, event.id, event.data));
    client.on('resync', (notice) => log.flag(notice.organizationId, `sdk resync: ${notice.reason}`));
    client.on('error', (error) => {
      if (error.name === 'ProtocolError' && /did not arrive/.test(error.message)) log.counters.sdkRepairs += 1;
    });
    let live = false;
    client.onStatus((status) => {
      if (status.type === 'connected' || status.type === 'polling') {
        if (!live) log.counters.sessions += 1;
        live = true;
      } else if (status.type === 'reconnecting') {
        if (live) log.counters.drops += 1;
        else log.counters.failedAttempts += 1;
        live = false;
      }
    });
    this.scheduleChurn();
  }

  /** Where the SDK would resume now, per organization. */
  position(organization: string): string | undefined {
    const cursor = this.client?.resumeCursor();
    return cursor === undefined ? undefined : decodeResume(cursor).get(organization);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.churnTimer);
    await Promise.race([this.client?.close(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    for (const socket of this.sockets) socket.terminate();
  }

  private scheduleChurn(): void {
    const churn = this.options.churn;
    if (churn === undefined || this.stopped) return;
    this.churnTimer = setTimeout(() => {
      for (const socket of this.sockets) if (socket.readyState === WebSocket.OPEN) socket.terminate();
      this.scheduleChurn();
    }, this.options.random.int(churn.minMs, churn.maxMs));
  }

  /** Where a session started, for organizations the client has not joined yet. */
  private joinAt(resume: unknown): void {
    if (typeof resume !== 'string') return;
    const { log } = this.options;
    for (const [organization, position] of decodeResume(resume)) if (!log.joined(organization)) log.join(organization, position);
  }

  private trackedWebSocket(): WebSocketFactory {
    const sockets = this.sockets;
    const joinAt = (resume: unknown): void => this.joinAt(resume);
    return class TrackedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { handshakeTimeout: 5_000 });
        sockets.add(this);
        this.on('close', () => sockets.delete(this));
        this.on('message', (data, isBinary) => {
          if (isBinary) return;
          const text = data.toString();
          if (text.length > 16_384 || !text.includes('"connection.established"')) return;
          try {
            const frame = JSON.parse(text) as { event_type?: unknown; data?: { resume?: unknown } };
            if (frame.event_type === 'connection.established') joinAt(frame.data?.resume);
          } catch {
            // The SDK reports unreadable frames itself.
          }
        });
      }
    };
  }

  private trackedFetch(): FetchLike {
    return async (url, init) => {
      const response = await fetch(url, init);
      const wrapped: ResponseLike = {
        status: response.status,
        headers: response.headers,
        json: async () => {
          const body: unknown = await response.json();
          if (response.status === 200 && typeof body === 'object' && body !== null) this.joinAt((body as { resume?: unknown }).resume);
          return body;
        },
      };
      return wrapped;
    };
  }
}
