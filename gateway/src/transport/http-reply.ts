import type { HttpResponse } from 'uWebSockets.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Writes a complete JSON response. Call inside `res.cork` when not in the synchronous handler. */
export function replyJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`);
  res.writeHeader('content-type', 'application/json');
  res.writeHeader('cache-control', 'no-store');
  for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
  res.end(JSON.stringify(body));
}

export function replyText(res: HttpResponse, status: number, contentType: string, body: string): void {
  res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`);
  res.writeHeader('content-type', contentType);
  res.writeHeader('cache-control', 'no-store');
  res.end(body);
}

export function replyError(res: HttpResponse, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
  replyJson(res, status, { error, message }, headers);
}

const deferredOf = new WeakMap<HttpResponse, DeferredResponse>();

/**
 * A response that will be written after an await. Tracks abortion (writing to an aborted uWS
 * response crashes the process) and completion (a second answer is ignored, e.g. the late answer
 * of a request that already got a 500 after an exception), and corks the late write.
 */
export class DeferredResponse {
  private aborted = false;
  private answered = false;
  private readonly onAbort: Array<() => void> = [];

  /** The one DeferredResponse of `res` (uWS keeps a single abort handler per response). */
  static of(res: HttpResponse): DeferredResponse {
    return deferredOf.get(res) ?? new DeferredResponse(res);
  }

  constructor(private readonly res: HttpResponse) {
    deferredOf.set(res, this);
    res.onAborted(() => {
      this.aborted = true;
      for (const listener of this.onAbort.splice(0)) listener();
    });
  }

  get isAborted(): boolean {
    return this.aborted;
  }

  /** Runs `write` corked, unless the client went away or the request was already answered. */
  write(write: (res: HttpResponse) => void): void {
    if (this.aborted || this.answered) return;
    this.answered = true;
    this.res.cork(() => write(this.res));
  }

  /**
   * Runs `upgrade` (the `res.upgrade` call) uncorked, unless the client went away. Corking it is what
   * uWS recommends, but the pinned uWebSockets.js has the bug fixed upstream in
   * uNetworking/uWebSockets#1929: after an upgrade inside `res.cork`, which reallocates the socket
   * in place, the cork's epilogue still reads the socket as an HTTP response, from memory the
   * realloc freed, and shuts the new WebSocket down right after `open` whenever a small allocation
   * made meanwhile (by `open`'s work, V8, another thread) left the "Connection: close" bit there:
   * the client sees 1006, a few times per ten thousand connections, more on a fresh process. Keeping
   * `open` free of work only made it rarer. Uncorked, no epilogue runs. The costs: uWS writes the
   * 101 in small pieces (a couple of dozen `send` calls) and prints a warning about corking to
   * stderr for each upgrade. Go back to `write` once the pinned build has the fix.
   */
  upgrade(upgrade: (res: HttpResponse) => void): void {
    if (this.aborted || this.answered) return;
    this.answered = true;
    upgrade(this.res);
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.write((res) => replyJson(res, status, body, headers));
  }

  error(status: number, error: string, message: string, headers: Record<string, string> = {}): void {
    this.write((res) => replyError(res, status, error, message, headers));
  }

  /** Reads the request body up to `limit` bytes; undefined when the client aborted. */
  body(limit: number): Promise<Buffer | 'too_large' | undefined> {
    return new Promise((resolve) => {
      if (this.aborted) {
        resolve(undefined);
        return;
      }
      this.onAbort.push(() => resolve(undefined));
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      this.res.onData((chunk, isLast) => {
        if (done) return;
        size += chunk.byteLength;
        if (size > limit) {
          done = true;
          resolve('too_large');
          return;
        }
        chunks.push(Buffer.from(chunk.slice(0)));
        if (isLast) {
          done = true;
          resolve(Buffer.concat(chunks));
        }
      });
    });
  }
}
