import type { HttpRequest, HttpResponse, RecognizedString, us_socket_context_t } from 'uWebSockets.js';
import type { HttpExchange } from '../http/http-exchange.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  431: '431 Request Header Fields Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/**
 * HttpExchange over a uWS request/response pair. Reads the request line and every header at once
 * (the uWS request dies with the synchronous handler), tracks abortion (writing to an aborted uWS
 * response crashes the process) and answers once, corked.
 */
export class UwsExchange implements HttpExchange {
  readonly method: string;
  readonly url: string;
  readonly query: string;
  readonly remoteAddress: string;
  /** Request line and headers, in bytes (approximately: names, values and separators). */
  readonly headBytes: number;
  private readonly headers = new Map<string, string>();
  private abortedFlag = false;
  private answered = false;
  private readonly abortListeners: Array<() => void> = [];

  constructor(private readonly res: HttpResponse, req: HttpRequest) {
    this.method = req.getCaseSensitiveMethod();
    this.url = req.getUrl();
    this.query = req.getQuery() ?? '';
    let bytes = this.method.length + this.url.length + this.query.length + 12;
    req.forEach((name, value) => {
      bytes += name.length + value.length + 4;
      // Repeated headers are joined as RFC 9110 allows for list-valued ones.
      const previous = this.headers.get(name);
      if (value !== '') this.headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    });
    this.headBytes = bytes;
    this.remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    res.onAborted(() => {
      this.abortedFlag = true;
      for (const listener of this.abortListeners.splice(0)) listener();
    });
  }

  get aborted(): boolean {
    return this.abortedFlag;
  }

  header(name: string): string | undefined {
    return this.headers.get(name);
  }

  onAbort(listener: () => void): void {
    if (this.abortedFlag) listener();
    else this.abortListeners.push(listener);
  }

  reply(status: number, headers: Readonly<Record<string, string>>, body?: string): void {
    if (this.abortedFlag || this.answered) return;
    this.answered = true;
    // A HEAD answer has the headers of the GET answer and no body (RFC 9110 9.3.2).
    const head = this.method.toUpperCase() === 'HEAD';
    this.res.cork(() => {
      this.res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`);
      for (const [name, value] of Object.entries(headers)) this.res.writeHeader(name, value);
      // (endWithoutBody with a reported length would leave the response open: uWS then aborts.)
      if (body === undefined || head) this.res.endWithoutBody();
      else this.res.end(body);
    });
  }

  /** Answered, or the client went away: nothing more may be written. */
  get settled(): boolean {
    return this.abortedFlag || this.answered;
  }

  /**
   * Upgrades to a WebSocket, uncorked: the pinned uWebSockets.js has the bug fixed upstream in
   * uNetworking/uWebSockets#1929 (after an upgrade inside `res.cork`, the cork's epilogue reads the
   * reallocated socket as an HTTP response from freed memory, and sometimes shuts the new WebSocket
   * down right after `open`: 1006 at the client). Uncorked, no epilogue runs; uWS then writes the
   * 101 in small pieces and prints a warning about corking to stderr.
   */
  upgrade<U>(userData: U, key: RecognizedString, protocol: RecognizedString, extensions: RecognizedString, context: us_socket_context_t): void {
    if (this.settled) return;
    this.answered = true;
    this.res.upgrade<U>(userData, key, protocol, extensions, context);
  }

  body(limit: number): Promise<Buffer | 'too_large' | undefined> {
    return new Promise((resolve) => {
      if (this.abortedFlag) {
        resolve(undefined);
        return;
      }
      // No body announced (Content-Length 0, or neither it nor chunked): uWS calls no data handler.
      if (this.headers.get('content-length') === '0' || (this.headers.get('content-length') === undefined && this.headers.get('transfer-encoding') === undefined)) {
        resolve(Buffer.alloc(0));
        return;
      }
      this.abortListeners.push(() => resolve(undefined));
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
