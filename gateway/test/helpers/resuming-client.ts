import WebSocket from 'ws';
import { compareEventIds } from '../../src/history/event-id.js';
import { formatResume, parseResume } from '../../src/protocol/resume.js';

export interface ReceivedEvent {
  readonly id: string;
  readonly organization: string;
  readonly data: unknown;
}

/**
 * A test client that behaves as the SDK does on the wire: remembers the last id per organization,
 * reconnects (to whatever URL `nextUrl` gives) with `resume`, and records every event it receives,
 * duplicates included, so a test can count losses and duplicates at the client.
 */
export class ResumingClient {
  readonly received: ReceivedEvent[] = [];
  readonly lastIds = new Map<string, string>();
  readonly recoveredFlags: Array<Record<string, boolean>> = [];
  readonly closeCodes: number[] = [];
  pods: string[] = [];
  private ws: WebSocket | undefined;
  private stopped = false;
  private reconnecting = false;

  constructor(private readonly nextUrl: () => string, private readonly token: string) {}

  async connect(): Promise<void> {
    const query = new URLSearchParams({ access_token: this.token });
    if (this.lastIds.size > 0) query.set('resume', formatResume(this.lastIds));
    const ws = new WebSocket(`${this.nextUrl()}?${query.toString()}`);
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { event_type: string; id?: string; organization_id?: string; data?: unknown };
        if (frame.event_type === 'connection.established') {
          const info = frame.data as { pod: string; recovered?: Record<string, boolean>; resume: string };
          this.pods.push(info.pod);
          if (info.recovered !== undefined) this.recoveredFlags.push(info.recovered);
          // Where this connection starts: an organization without events can be resumed too.
          for (const [org, id] of parseResume(info.resume)) {
            const last = this.lastIds.get(org);
            if (last === undefined || compareEventIds(id, last) > 0) this.lastIds.set(org, id);
          }
          resolve();
          return;
        }
        if (frame.id === undefined || frame.organization_id === undefined) return;
        this.received.push({ id: frame.id, organization: frame.organization_id, data: frame.data });
        const last = this.lastIds.get(frame.organization_id);
        if (last === undefined || compareEventIds(frame.id, last) > 0) this.lastIds.set(frame.organization_id, frame.id);
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('error', reject);
      ws.on('close', (code) => {
        this.closeCodes.push(code);
        reject(new Error(`closed before established: ${code}`));
        if (!this.stopped) this.scheduleReconnect();
      });
    });
  }

  /** Sets the resume point without receiving anything (e.g. "I have seen up to here"). */
  seen(organization: string, id: string): void {
    this.lastIds.set(organization, id);
  }

  private scheduleReconnect(): void {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const attempt = (delay: number): void => {
      setTimeout(() => {
        if (this.stopped) return;
        this.connect().then(
          () => {
            this.reconnecting = false;
          },
          () => attempt(Math.min(delay * 2, 1_000)),
        );
      }, delay + Math.random() * delay);
    };
    attempt(50);
  }

  /** Events per organization, checking the ids are strictly increasing (no duplicate, in order). */
  check(): { duplicates: number; outOfOrder: number; byOrganization: Map<string, ReceivedEvent[]> } {
    const byOrganization = new Map<string, ReceivedEvent[]>();
    let duplicates = 0;
    let outOfOrder = 0;
    const seen = new Set<string>();
    for (const event of this.received) {
      const key = `${event.organization}\u0000${event.id}`;
      if (seen.has(key)) duplicates += 1;
      seen.add(key);
      const list = byOrganization.get(event.organization) ?? [];
      const previous = list[list.length - 1];
      if (previous !== undefined && compareEventIds(event.id, previous.id) <= 0) outOfOrder += 1;
      list.push(event);
      byOrganization.set(event.organization, list);
    }
    return { duplicates, outOfOrder, byOrganization };
  }

  close(): void {
    this.stopped = true;
    this.ws?.terminate();
  }
}
