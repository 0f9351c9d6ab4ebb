import { connect, type Socket } from 'node:net';

/**
 * HTTP/1.1 over a bare TCP socket: the fuzzer writes requests no HTTP client would send (broken
 * request lines, pipelining, oversized heads) and reads whatever comes back, byte for byte.
 */

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface ExchangeResult {
  /** Final responses in order (interim 1xx responses other than 101 are skipped). */
  readonly responses: RawResponse[];
  /** How the exchange ended: every expected response arrived, the server closed, or we gave up. */
  readonly ended: 'complete' | 'closed' | 'timeout';
  /** Set when the bytes that came back are not HTTP/1.1. */
  readonly malformed: string | undefined;
  /** After a 101: the open socket (when asked to keep it) and the bytes that followed the head. */
  readonly upgraded: { readonly socket: Socket | undefined; readonly rest: Buffer } | undefined;
}

export interface ExchangeOptions {
  readonly port: number;
  /** Methods of the requests in `chunks`, in order: one response is expected per entry (HEAD has no body). */
  readonly methods: readonly string[];
  readonly timeoutMs: number;
  /** After a 101, hand the socket over instead of destroying it. */
  readonly keepUpgraded?: boolean;
}

/** Writes `chunks` (one `write` each) and collects the responses. */
export function exchange(chunks: readonly Buffer[], options: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const socket = connect({ port: options.port, host: '127.0.0.1', noDelay: true });
    const parser = new ResponseParser(options.methods);
    let done = false;
    const finish = (ended: ExchangeResult['ended']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      const keep = parser.upgraded !== undefined && options.keepUpgraded === true && ended === 'complete';
      // Paused, so that nothing the server sends next is emitted before the new owner listens.
      if (keep) socket.pause();
      else socket.destroy();
      resolve({
        responses: parser.responses,
        ended,
        malformed: parser.malformed,
        upgraded: parser.upgraded === undefined ? undefined : { socket: keep ? socket : undefined, rest: parser.upgraded },
      });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (parser.upgraded !== undefined || parser.malformed !== undefined || parser.responses.length >= options.methods.length) finish('complete');
    });
    socket.on('close', () => {
      parser.end();
      finish(parser.responses.length >= options.methods.length && options.methods.length > 0 ? 'complete' : 'closed');
    });
    socket.once('connect', () => {
      void writeAll(socket, chunks);
    });
  });
}

async function writeAll(socket: Socket, chunks: readonly Buffer[]): Promise<void> {
  for (const [i, chunk] of chunks.entries()) {
    if (socket.destroyed) return;
    socket.write(chunk);
    // Separate writes become separate segments on loopback only if the loop turns in between.
    if (i < chunks.length - 1) await new Promise((resolve) => setImmediate(resolve));
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Incremental HTTP/1.1 response parser (status line, headers, Content-Length / chunked / until-close bodies). */
export class ResponseParser {
  readonly responses: RawResponse[] = [];
  malformed: string | undefined;
  /** The bytes after a 101 head, once one arrived. */
  upgraded: Buffer | undefined;
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly methods: readonly string[]) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.parse(false);
  }

  /** The server closed: a body delimited by the close is complete now. */
  end(): void {
    this.parse(true);
    if (this.buffer.length > 0 && this.malformed === undefined && this.upgraded === undefined) {
      this.malformed = `truncated response: ${JSON.stringify(this.buffer.subarray(0, 200).toString('latin1'))}`;
    }
  }

  private parse(atEnd: boolean): void {
    while (this.upgraded === undefined && this.malformed === undefined && this.buffer.length > 0) {
      const headEnd = this.buffer.indexOf(HEAD_END);
      if (headEnd < 0) return;
      const lines = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
      const statusLine = /^HTTP\/1\.1 (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
      if (statusLine === null) {
        this.malformed = `bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 200))}`;
        return;
      }
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) {
          this.malformed = `bad header line ${JSON.stringify(line.slice(0, 200))}`;
          return;
        }
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const status = Number(statusLine[1]);
      const rest = this.buffer.subarray(headEnd + HEAD_END.length);
      if (status === 101) {
        this.responses.push({ status, headers, body: Buffer.alloc(0) });
        this.upgraded = rest;
        this.buffer = Buffer.alloc(0);
        return;
      }
      if (status < 200) {
        this.buffer = rest;
        continue;
      }
      const method = this.methods[this.responses.length] ?? 'GET';
      // The transport's own answer to a request it could not parse carries its body up to the
      // close whatever the method was (it never learnt the method).
      const bodiless = (method === 'HEAD' && !transportAnswerHead(status, headers)) || status === 204 || status === 304;
      const body = readBody(rest, bodiless ? 0 : headers, atEnd);
      if (body === undefined) return;
      if (typeof body === 'string') {
        this.malformed = body;
        return;
      }
      this.responses.push({ status, headers, body: body.body });
      this.buffer = rest.subarray(body.consumed);
    }
  }
}

/** Statuses uWebSockets.js answers by itself, with an HTML body and a close (docs/protocol.md, "Limits"). */
const TRANSPORT_STATUSES = new Set([400, 431, 505]);

function transportAnswerHead(status: number, headers: Readonly<Record<string, string>>): boolean {
  return TRANSPORT_STATUSES.has(status) && /\bclose\b/i.test(headers['connection'] ?? '') && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined;
}

/** uWebSockets.js's own answer to a request its parser could not read: the gateway never saw it. */
export function isTransportAnswer(response: RawResponse): boolean {
  return transportAnswerHead(response.status, response.headers) && response.body.toString('latin1').includes('<i>uWebSockets/');
}

/** The body at the start of `rest`: complete, not yet complete (undefined), or malformed (a message). */
function readBody(rest: Buffer, framing: 0 | Record<string, string>, atEnd: boolean): { body: Buffer; consumed: number } | undefined | string {
  if (framing === 0) return { body: Buffer.alloc(0), consumed: 0 };
  const encoding = framing['transfer-encoding'];
  if (encoding !== undefined && /chunked/i.test(encoding)) return readChunked(rest);
  const length = framing['content-length'];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) return `bad content-length ${JSON.stringify(length)}`;
    const size = Number(length);
    return rest.length < size ? undefined : { body: rest.subarray(0, size), consumed: size };
  }
  return atEnd ? { body: rest, consumed: rest.length } : undefined;
}

function readChunked(rest: Buffer): { body: Buffer; consumed: number } | undefined | string {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const sizeText = rest.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return `bad chunk size ${JSON.stringify(sizeText)}`;
    const size = parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = rest.indexOf('\r\n', start);
      if (trailerEnd < 0) return undefined;
      return { body: Buffer.concat(parts), consumed: trailerEnd + 2 };
    }
    if (rest.length < start + size + 2) return undefined;
    parts.push(rest.subarray(start, start + size));
    offset = start + size + 2;
  }
}
