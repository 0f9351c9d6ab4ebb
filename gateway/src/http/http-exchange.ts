/**
 * One HTTP request and its answer, as the gateway's routes see them: no transport types. The
 * transport (transport/uws-exchange.ts) reads everything a route may need from the request up
 * front, since the raw request is only valid during the synchronous handler.
 */
export interface HttpExchange {
  readonly method: string;
  /** The path, without the query. */
  readonly url: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  /** The peer's address as text (the proxy's, behind one). */
  readonly remoteAddress: string;
  /** A header by lower-case name; undefined when absent or empty. */
  header(name: string): string | undefined;
  /** The client went away: answers are dropped from now on. */
  readonly aborted: boolean;
  /** Called once if the client goes away before the answer. */
  onAbort(listener: () => void): void;
  /** Reads the body, at most `limit` bytes; undefined when the client went away. */
  body(limit: number): Promise<Buffer | 'too_large' | undefined>;
  /** Answers once; a second answer, or one after the client went away, is ignored. */
  reply(status: number, headers: Readonly<Record<string, string>>, body?: string): void;
}

/** An HTTP route on a gateway port. */
export interface HttpRoute {
  readonly method: 'get' | 'post' | 'options';
  readonly pattern: string;
  /** Must answer (now or later) or rely on the exchange's abort; an exception is answered with 500. */
  handle(exchange: HttpExchange): void;
}

/** A JSON answer, never cached. */
export function replyJson(exchange: HttpExchange, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  exchange.reply(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, typeof body === 'string' ? body : JSON.stringify(body));
}

/** Every refusal has this shape: `{"error": code, "message": text}`. */
export function replyError(exchange: HttpExchange, status: number, error: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  replyJson(exchange, status, { error, message }, headers);
}
