import type { FetchLike, ResponseLike } from '../transport/websocket-like.js';

export interface PendingPoll {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  settled: boolean;
  respond(status: number, body: unknown, headers?: Record<string, string>): void;
  fail(error: Error): void;
}

/** A scripted `/api/poll`: each request waits until the test answers it. */
export class FakePollServer {
  readonly requests: PendingPoll[] = [];

  readonly fetch: FetchLike = (url, init) => new Promise<ResponseLike>((resolve, reject) => {
    const request: PendingPoll = {
      url: new URL(url),
      headers: init.headers,
      signal: init.signal,
      settled: false,
      respond: (status, body, headers = {}) => {
        if (request.settled) return;
        request.settled = true;
        const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
        resolve({ status, headers: { get: (name) => lower.get(name.toLowerCase()) ?? null }, json: async () => (typeof body === 'string' ? JSON.parse(body) : body) });
      },
      fail: (error) => {
        if (request.settled) return;
        request.settled = true;
        reject(error);
      },
    };
    init.signal.addEventListener('abort', () => request.fail(init.signal.reason as Error), { once: true });
    this.requests.push(request);
  });

  get last(): PendingPoll {
    const request = this.requests.at(-1);
    if (request === undefined) throw new Error('no poll yet');
    return request;
  }

  get pending(): PendingPoll[] {
    return this.requests.filter((r) => !r.settled);
  }
}

export function pollBody(events: Array<{ org: string; id: string; type?: string; data?: unknown }>, resume: string, recovered: Record<string, boolean> = {}, revoked?: string[]): unknown {
  return {
    events: events.map((e) => ({ event_type: e.type ?? 'task.event.created', id: e.id, organization_id: e.org, data: e.data ?? { id: e.id }, timestamp: '2026-11-27T02:00:00.000Z' })),
    resume,
    recovered,
    ...(revoked === undefined ? {} : { revoked }),
  };
}
