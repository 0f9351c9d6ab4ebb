import fc from 'fast-check';
import { applyMutations, mutationArbitrary } from './mutation.js';
import { resumeArbitrary, type ResumeSpec } from './resume-arbitrary.js';
import { anyJson, tokenArbitrary, type FuzzToken, type TokenContext } from './token-arbitrary.js';

/**
 * Upgrade, poll and other HTTP requests on the public port. Each request carries the answer
 * docs/protocol.md prescribes for it when the docs do prescribe one (`expect`), else only the
 * general invariants apply (no 5xx but the documented 503s, a JSON body on every refusal).
 */

export interface Expectation {
  readonly statuses: readonly number[];
  /** A short, fixed phrase: part of the violation key. */
  readonly why: string;
}

export type RequestKind = 'ws' | 'poll' | 'preflight' | 'publish' | 'other';

export interface RequestSpec {
  readonly kind: RequestKind;
  /** Low-cardinality description of the variant (part of violation keys). */
  readonly label: string;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | undefined;
  readonly lineEnd: '\r\n' | '\n';
  readonly expect: Expectation | undefined;
  /** Organizations the request's token grants when accepted: nothing else may come back. */
  readonly grants: readonly string[] | undefined;
  /**
   * False when the docs refuse the deciding token outright (or there is none): then no 101 and no
   * 2xx may come back, whatever else is wrong with the request.
   */
  readonly mayPass: boolean;
  /** The `Sec-WebSocket-Key` sent, to check the accept value of a 101. */
  readonly wsKey: string | undefined;
  readonly token: FuzzToken | undefined;
}

export interface HttpCase {
  readonly label: string;
  /** One request, or several written back to back (HTTP/1.1 pipelining). */
  readonly requests: readonly RequestSpec[];
  /** Instead of requests: bytes that are not (or no longer) a well-formed request. */
  readonly garbage: Uint8Array | undefined;
  /** Must the server answer every request? False for malformed input, which it may just drop. */
  readonly mustAnswer: boolean;
  /** Cut points (fractions of the byte length) where the bytes are split into separate writes. */
  readonly splits: readonly number[];
}

export interface RequestContext extends TokenContext {
  readonly port: number;
  readonly pollMaxTimeoutMs: number;
  /** Organizations of the fuzz (never the watcher's), for well-formed published events. */
  readonly fuzzOrganizations: readonly string[];
}

export function encodeRequest(spec: RequestSpec): Buffer {
  const head = `${spec.method} ${spec.target} ${spec.version}${spec.lineEnd}${spec.headers.map(([n, v]) => `${n}: ${v}${spec.lineEnd}`).join('')}${spec.lineEnd}`;
  return spec.body === undefined ? Buffer.from(head, 'utf8') : Buffer.concat([Buffer.from(head, 'utf8'), spec.body]);
}

export function encodeCase(c: HttpCase): Buffer {
  return c.garbage !== undefined ? Buffer.from(c.garbage) : Buffer.concat(c.requests.map(encodeRequest));
}

/** Names whose presence decides the documented answer: random extra headers never use them. */
const DECISIVE = new Set(['host', 'authorization', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'content-length', 'transfer-encoding', 'expect', 'content-type']);

const headerValue = fc.oneof(
  { arbitrary: fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/), weight: 10 },
  { arbitrary: fc.constant(''), weight: 1 },
  { arbitrary: fc.integer({ min: 500, max: 9_000 }).map((n) => 'v'.repeat(n)), weight: 1 },
  { arbitrary: fc.constantFrom('é', 'ü€', '\u00ff\u0080'), weight: 1 },
);

const extraHeader: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,24}$/).filter((n) => !DECISIVE.has(n.toLowerCase())), headerValue),
  fc.tuple(fc.constantFrom('Origin', 'Cookie', 'User-Agent', 'Accept', 'Accept-Encoding', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'X-Request-Id', 'Forwarded', 'Referer', 'Cache-Control'), headerValue),
  fc.tuple(fc.constant('X-Forwarded-For'), fc.oneof(fc.ipV4(), fc.ipV6(), fc.array(fc.ipV4(), { minLength: 2, maxLength: 30 }).map((a) => a.join(', ')), headerValue)),
);

const extraHeaders = fc.oneof(
  { arbitrary: fc.array(extraHeader, { maxLength: 4 }), weight: 30 },
  { arbitrary: fc.array(extraHeader, { minLength: 40, maxLength: 90 }), weight: 1 },
);

/** Headers that make the documented answer uncertain (duplicates of decisive ones, odd framing). */
const chaosHeader: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.tuple(fc.constantFrom('Authorization', 'Connection', 'Upgrade', 'Host', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version'), headerValue),
  fc.constantFrom(['Transfer-Encoding', 'chunked'] as const, ['Content-Length', '0'] as const, ['Expect', '100-continue'] as const, ['Content-Length', 'abc'] as const),
);

type Placement = 'header' | 'query' | 'both' | 'none' | 'odd-scheme' | 'garbage-query';

const placementArbitrary: fc.Arbitrary<Placement> = fc.oneof(
  { arbitrary: fc.constantFrom('header' as const, 'query' as const), weight: 12 },
  { arbitrary: fc.constantFrom('both' as const, 'none' as const, 'odd-scheme' as const, 'garbage-query' as const), weight: 1 },
);

interface Credentials {
  readonly headers: Array<readonly [string, string]>;
  /** Query parameters, values already percent-encoded. */
  readonly query: Array<readonly [string, string]>;
  /** The token the docs say decides (undefined: no token at all), or 'unclear'. */
  readonly decisive: FuzzToken | undefined | 'unclear';
}

function credentials(token: FuzzToken, other: FuzzToken, placement: Placement, scheme: string, garbage: string): Credentials {
  switch (placement) {
    case 'header': return { headers: [['Authorization', `Bearer ${token.text}`]], query: [], decisive: token };
    case 'query': return { headers: [], query: [['access_token', token.text]], decisive: token };
    case 'both': return { headers: [['Authorization', `Bearer ${token.text}`]], query: [['access_token', other.text]], decisive: token };
    case 'none': return { headers: [], query: [], decisive: undefined };
    case 'odd-scheme': return { headers: [['Authorization', `${scheme}${token.text}`]], query: [], decisive: 'unclear' };
    case 'garbage-query': return { headers: [], query: [['access_token', encodeURIComponent(garbage)]], decisive: 'unclear' };
  }
}

/** What the token part of the rules says: 'accept', 'refuse' (401) or 'either'. */
function tokenOutcome(decisive: Credentials['decisive']): 'accept' | 'refuse' | 'either' {
  if (decisive === 'unclear') return 'either';
  if (decisive === undefined) return 'refuse';
  return decisive.verdict;
}

/** Whether anything in the request could let it through: the deciding token, or a chaos header that may replace it. */
function mayPass(creds: Credentials, chaos: ReadonlyArray<readonly [string, string]>): boolean {
  return tokenOutcome(creds.decisive) !== 'refuse' || chaos.some(([name]) => name.toLowerCase() === 'authorization');
}

const extraParam: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 })).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
  fc.constantFrom('%zz', '&', '=', 'a=b=c', '%', 'x=%E0%A4%A', '%00=%00', 'a[]=1', 'x=+++', 'resume', 'timeout_ms'),
  fc.integer({ min: 1_000, max: 6_000 }).map((n) => `pad=${'q'.repeat(n)}`),
);

/** `parts` values are already percent-encoded; `extras` are written as they are, at positions from `order`. */
function queryString(parts: ReadonlyArray<readonly [string, string]>, extras: readonly string[], order: number): string {
  const written = parts.map(([k, v]) => `${k}=${v}`);
  for (const [i, extra] of extras.entries()) written.splice((order + i) % (written.length + 1), 0, extra);
  return written.join('&');
}

const odds = <T>(common: T, rare: fc.Arbitrary<T>, weight = 15): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constant(common), weight }, { arbitrary: rare, weight: 1 });

/** Fields shared by every request variant built on a fuzzed token. */
function commonParts(ctx: RequestContext) {
  const tokens = tokenArbitrary(ctx);
  return {
    token: tokens,
    other: tokens,
    placement: placementArbitrary,
    scheme: fc.constantFrom('bearer ', 'BEARER ', 'Bearer  ', 'Basic ', '', 'Bearer\t', 'Token '),
    garbageToken: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', 'a.b.c', '..', 'null')),
    extras: extraHeaders,
    chaos: odds<ReadonlyArray<readonly [string, string]>>([], fc.array(chaosHeader, { minLength: 1, maxLength: 2 })),
    params: odds<readonly string[]>([], fc.array(extraParam, { minLength: 1, maxLength: 3 }), 4),
    order: fc.nat({ max: 5 }),
    headerOrder: fc.nat({ max: 5 }),
    lineEnd: odds<'\r\n' | '\n'>('\r\n', fc.constant('\n' as const), 40),
    version: odds('HTTP/1.1', fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'http/1.1'), 40),
  };
}

function withHost(ctx: RequestContext, headers: ReadonlyArray<readonly [string, string]>, order: number): Array<readonly [string, string]> {
  const all = [...headers];
  all.splice(order % (all.length + 1), 0, ['Host', `127.0.0.1:${ctx.port}`]);
  return all;
}

/** Well-formed framing: HTTP/1.1, CRLF, no chaos headers. Only then does the docs' answer apply. */
function clean(r: { chaos: ReadonlyArray<unknown>; lineEnd: string; version: string; params: readonly string[] }): boolean {
  return r.chaos.length === 0 && r.lineEnd === '\r\n' && r.version === 'HTTP/1.1' && !r.params.some((p) => /^(resume|timeout_ms|access_token)(=|$)/.test(p));
}

type Handshake = 'ok' | 'ok-case' | 'no-upgrade' | 'connection-without-upgrade' | 'upgrade-not-websocket' | 'no-key' | 'bad-key' | 'version' | 'no-version' | 'method';

function wsArbitrary(ctx: RequestContext): fc.Arbitrary<RequestSpec> {
  return fc.record({
    ...commonParts(ctx),
    handshake: fc.oneof(
      { arbitrary: fc.constant('ok' as Handshake), weight: 30 },
      { arbitrary: fc.constantFrom<Handshake>('ok-case', 'no-upgrade', 'connection-without-upgrade', 'upgrade-not-websocket', 'no-key', 'bad-key', 'version', 'no-version', 'method'), weight: 5 },
    ),
    connectionValue: fc.constantFrom('keep-alive', 'close', 'keep-alive, close', 'upgrade-please'),
    upgradeValue: fc.constantFrom('foo', 'h2c', 'websocket2', 'web socket'),
    // None of these decodes to 16 bytes (RFC 6455 4.2.1).
    badKey: fc.constantFrom('abc', '', 'AAAAAAAAAAAAAAAAAAAAAAA=', 'AAAAAAAAAAAAAAAAAAAA', 'dGhlIHNhbXBsZSBub25jZQ', '!!!!!!!!!!!!!!!!!!!!!!=='),
    versionValue: fc.constantFrom('8', '12', '14', 'abc', '13, 8', ''),
    method: fc.constantFrom('POST', 'PUT', 'HEAD', 'DELETE'),
    path: odds('/api/ws', fc.constantFrom('/api/ws/', '/API/WS', '//api/ws', '/api/ws/../ws', '/api/wss', '/api/ws%20')),
    key: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  }).chain((r) => resumeOrNone(r.token.organizations).map((resume) => ({ ...r, resume }))).map((r) => {
    const creds = credentials(r.token, r.other, r.placement, r.scheme, r.garbageToken);
    const key = r.key;
    const handshake: Array<readonly [string, string]> = [];
    const h = r.handshake;
    if (h !== 'no-upgrade') handshake.push(['Upgrade', h === 'upgrade-not-websocket' ? r.upgradeValue : h === 'ok-case' ? 'WebSocket' : 'websocket']);
    if (h !== 'no-upgrade') handshake.push(['Connection', h === 'connection-without-upgrade' ? r.connectionValue : h === 'ok-case' ? 'keep-alive, UPGRADE' : 'Upgrade']);
    if (h !== 'no-key') handshake.push(['Sec-WebSocket-Key', h === 'bad-key' ? r.badKey : key]);
    if (h !== 'no-version') handshake.push(['Sec-WebSocket-Version', h === 'version' ? r.versionValue : '13']);
    const query = queryString([...creds.query, ...(r.resume === undefined ? [] : [['resume', r.resume.inQuery] as const])], r.params, r.order);
    const headers = withHost(ctx, [...handshake, ...creds.headers, ...r.extras, ...r.chaos], r.headerOrder);
    const isClean = clean(r) && r.path === '/api/ws';
    return {
      kind: 'ws',
      label: `ws:${h}`,
      method: h === 'method' ? r.method : 'GET',
      target: `${r.path}${query === '' ? '' : `?${query}`}`,
      version: r.version,
      headers,
      body: undefined,
      lineEnd: r.lineEnd,
      expect: isClean ? wsExpectation(h, tokenOutcome(creds.decisive), r.resume) : undefined,
      grants: r.token.organizations,
      mayPass: mayPass(creds, r.chaos),
      wsKey: h === 'bad-key' ? undefined : key,
      token: r.token,
    } satisfies RequestSpec;
  });
}

function resumeOrNone(organizations: readonly string[]): fc.Arbitrary<ResumeSpec | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: resumeArbitrary(organizations), weight: 2 });
}

function wsExpectation(h: Handshake, token: 'accept' | 'refuse' | 'either', resume: ResumeSpec | undefined): Expectation | undefined {
  const form = resume?.form ?? 'well-formed';
  if (h === 'method') return { statuses: [400, 404, 405], why: 'not a GET' };
  if (h === 'no-upgrade' || h === 'connection-without-upgrade' || h === 'upgrade-not-websocket' || h === 'no-key' || h === 'bad-key') {
    return token === 'accept' ? { statuses: [400], why: 'not a WebSocket handshake' } : { statuses: [400, 401], why: 'not a WebSocket handshake, bad token' };
  }
  if (h === 'version' || h === 'no-version') {
    return token === 'accept' ? { statuses: [400, 426], why: 'unsupported WebSocket version' } : { statuses: [400, 401, 426], why: 'unsupported WebSocket version, bad token' };
  }
  if (form === 'malformed') return token === 'accept' ? { statuses: [400], why: 'malformed resume' } : { statuses: [400, 401], why: 'malformed resume, bad token' };
  if (form === 'either' || token === 'either') return undefined;
  return token === 'accept' ? { statuses: [101, 429], why: 'valid token' } : { statuses: [401], why: 'token refused' };
}

const validTimeout = (max: number): fc.Arbitrary<string | undefined> => fc.oneof(
  { arbitrary: fc.constant('0'), weight: 12 },
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: Math.min(200, max) }).map(String), weight: 2 },
  { arbitrary: fc.constant(String(max)), weight: 1 },
);

const oddTimeout = fc.constantFrom('-1', '1.5', '1e3', 'abc', '', '99999999999999999999', '0x10', ' 1', '01', 'Infinity', 'NaN', '100000', '-0');

function pollArbitrary(ctx: RequestContext): fc.Arbitrary<RequestSpec> {
  return fc.record({
    ...commonParts(ctx),
    timeout: fc.oneof({ arbitrary: validTimeout(ctx.pollMaxTimeoutMs).map((t) => ({ t, valid: true })), weight: 8 }, { arbitrary: oddTimeout.map((t) => ({ t, valid: false })), weight: 1 }),
    path: odds('/api/poll', fc.constantFrom('/api/poll/', '/API/POLL', '//api/poll', '/api/polls', '/api/poll%3F')),
    method: odds('GET', fc.constantFrom('HEAD', 'POST', 'PUT')),
  }).chain((r) => resumeOrNone(r.token.organizations).map((resume) => ({ ...r, resume }))).map((r) => {
    const creds = credentials(r.token, r.other, r.placement, r.scheme, r.garbageToken);
    const parts: Array<readonly [string, string]> = [...creds.query];
    if (r.timeout.t !== undefined) parts.push(['timeout_ms', encodeURIComponent(r.timeout.t)]);
    if (r.resume !== undefined) parts.push(['resume', r.resume.inQuery]);
    const query = queryString(parts, r.params, r.order);
    const isClean = clean(r) && r.path === '/api/poll' && r.method === 'GET';
    return {
      kind: 'poll',
      label: `poll${r.method === 'GET' ? '' : `:${r.method}`}`,
      method: r.method,
      target: `${r.path}${query === '' ? '' : `?${query}`}`,
      version: r.version,
      headers: withHost(ctx, [...creds.headers, ...r.extras, ...r.chaos], r.headerOrder),
      body: undefined,
      lineEnd: r.lineEnd,
      expect: isClean ? pollExpectation(tokenOutcome(creds.decisive), r.resume, r.timeout.valid) : undefined,
      grants: r.token.organizations,
      mayPass: mayPass(creds, r.chaos),
      wsKey: undefined,
      token: r.token,
    } satisfies RequestSpec;
  });
}

function pollExpectation(token: 'accept' | 'refuse' | 'either', resume: ResumeSpec | undefined, timeoutValid: boolean): Expectation | undefined {
  const form = resume?.form ?? 'well-formed';
  if (form === 'malformed') return token === 'accept' ? { statuses: [400], why: 'malformed resume' } : { statuses: [400, 401], why: 'malformed resume, bad token' };
  if (!timeoutValid || form === 'either' || token === 'either') return undefined;
  return token === 'accept' ? { statuses: [200], why: 'valid token' } : { statuses: [401], why: 'token refused' };
}

/** Whether an Origin value names an origin at all (a serialized origin is printable ASCII; parsers trim the spaces around it). */
export function namesOrigin(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value.trim());
}

function preflightArbitrary(ctx: RequestContext): fc.Arbitrary<RequestSpec> {
  return fc.record({
    origin: fc.option(fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 })), { nil: undefined }),
    method: fc.option(fc.constantFrom('GET', 'POST', 'DELETE', 'get', ''), { nil: undefined }),
    requestHeaders: fc.option(fc.constantFrom('authorization', 'Authorization, X-Foo', 'content-type', ''), { nil: undefined }),
    extras: extraHeaders,
    headerOrder: fc.nat({ max: 5 }),
  }).map((r) => {
    const headers: Array<readonly [string, string]> = [];
    if (r.origin !== undefined) headers.push(['Origin', r.origin]);
    if (r.method !== undefined) headers.push(['Access-Control-Request-Method', r.method]);
    if (r.requestHeaders !== undefined) headers.push(['Access-Control-Request-Headers', r.requestHeaders]);
    return {
      kind: 'preflight',
      label: 'preflight',
      method: 'OPTIONS',
      target: '/api/poll',
      version: 'HTTP/1.1',
      headers: withHost(ctx, [...headers, ...r.extras.filter(([n]) => n.toLowerCase() !== 'origin')], r.headerOrder),
      body: undefined,
      lineEnd: '\r\n',
      // Without Origin it is no CORS preflight at all; the docs then say nothing.
      expect: r.origin === undefined || !namesOrigin(r.origin) ? undefined : { statuses: [204], why: 'CORS preflight' },
      grants: undefined,
      mayPass: true,
      wsKey: undefined,
      token: undefined,
    } satisfies RequestSpec;
  });
}

type PublishBody = { readonly bytes: Uint8Array; readonly validity: 'valid' | 'invalid' | 'either' };

function publishBodyArbitrary(ctx: RequestContext): fc.Arbitrary<PublishBody> {
  const organization = fc.oneof(fc.constantFrom(...ctx.fuzzOrganizations), fc.stringMatching(/^[a-z0-9-]{1,24}$/).map((s) => `fzp-${s}`));
  const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
  return fc.oneof(
    { arbitrary: fc.record({ type: fc.constantFrom('task.event.created', 'task.event.updated'), organization, data: anyJson }).map(({ type, organization: org, data }) => ({ bytes: json({ event_type: type, organization_id: org, data }), validity: 'valid' as const })), weight: 6 },
    { arbitrary: fc.record({ type: fc.oneof(fc.constantFrom('task.event.deleted', 'ping', ''), fc.string({ maxLength: 10 })), organization }).map(({ type, organization: org }) => ({ bytes: json({ event_type: type, organization_id: org, data: null }), validity: type.startsWith('task.event.') && ['task.event.created', 'task.event.updated'].includes(type) ? ('valid' as const) : ('invalid' as const) })), weight: 1 },
    { arbitrary: fc.record({ type: fc.constant('task.event.created'), organization: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())) }).map(({ type, organization: org }) => ({ bytes: json({ event_type: type, organization_id: org }), validity: 'invalid' as const })), weight: 1 },
    { arbitrary: fc.oneof(fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))), fc.uint8Array({ maxLength: 200 })).map((bytes) => ({ bytes, validity: 'either' as const })), weight: 2 },
    { arbitrary: fc.constantFrom('', '{', 'null', '[]', '"x"').map((t) => ({ bytes: Buffer.from(t), validity: 'invalid' as const })), weight: 1 },
    { arbitrary: fc.integer({ min: 60_000, max: 80_000 }).map((n) => ({ bytes: json({ event_type: 'task.event.created', organization_id: 'fzp-big', data: 'd'.repeat(n) }), validity: 'either' as const })), weight: 1 },
    { arbitrary: fc.integer({ min: 2_000, max: 30_000 }).map((depth) => ({ bytes: Buffer.from(`{"event_type":"task.event.created","organization_id":"fzp-deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`), validity: 'valid' as const })), weight: 1 },
  );
}

function publishArbitrary(ctx: RequestContext): fc.Arbitrary<RequestSpec> {
  return fc.record({
    ...commonParts(ctx),
    body: publishBodyArbitrary(ctx),
    contentType: odds<string | undefined>('application/json', fc.constantFrom(undefined, 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/x-www-form-urlencoded'), 6),
  }).map((r) => {
    const creds = credentials(r.token, r.other, r.placement === 'query' ? 'header' : r.placement, r.scheme, r.garbageToken);
    const headers: Array<readonly [string, string]> = [...creds.headers, ['Content-Length', String(r.body.bytes.byteLength)]];
    if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType]);
    const isClean = clean(r) && r.contentType === 'application/json';
    return {
      kind: 'publish',
      label: 'publish',
      method: 'POST',
      target: '/api/dev/events',
      version: r.version,
      headers: withHost(ctx, [...headers, ...r.extras, ...r.chaos], r.headerOrder),
      body: r.body.bytes,
      lineEnd: r.lineEnd,
      expect: isClean ? publishExpectation(tokenOutcome(creds.decisive), creds.decisive, r.body) : undefined,
      grants: undefined,
      mayPass: mayPass(creds, r.chaos),
      wsKey: undefined,
      token: r.token,
    } satisfies RequestSpec;
  });
}

function publishExpectation(token: 'accept' | 'refuse' | 'either', decisive: Credentials['decisive'], body: PublishBody): Expectation | undefined {
  const large = body.bytes.byteLength > 64 * 1024;
  if (token === 'refuse') return { statuses: large ? [401, 413] : [401], why: 'token refused' };
  if (token === 'either' || typeof decisive !== 'object') return undefined;
  if (!decisive.scopes.includes('events:publish')) return { statuses: large ? [403, 413] : [403], why: 'no events:publish scope' };
  if (large) return { statuses: [413], why: 'body above 64 KiB' };
  if (body.validity === 'valid') return { statuses: [202], why: 'valid event' };
  if (body.validity === 'invalid') return { statuses: [400], why: 'invalid event' };
  return undefined;
}

function otherArbitrary(ctx: RequestContext): fc.Arbitrary<RequestSpec> {
  const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/), fc.constantFrom('api', 'ws', 'poll', 'dev', 'events', '..', '.', '%2e%2e', '%00', '%zz', 'healthz', 'metrics', 'admin'));
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO', 'get'),
    segments: fc.array(segment, { maxLength: 5 }),
    long: odds(0, fc.integer({ min: 1_000, max: 6_000 }), 20),
    extras: extraHeaders,
    headerOrder: fc.nat({ max: 5 }),
  }).map((r) => ({
    kind: 'other',
    label: `other:${r.method}`,
    method: r.method,
    target: `/${r.segments.join('/')}${r.long > 0 ? 'l'.repeat(r.long) : ''}`,
    version: 'HTTP/1.1',
    headers: withHost(ctx, r.extras, r.headerOrder),
    body: undefined,
    lineEnd: '\r\n',
    expect: undefined,
    grants: undefined,
    mayPass: true,
    wsKey: undefined,
    token: undefined,
  }) satisfies RequestSpec);
}

const splitsArbitrary = odds<readonly number[]>([], fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), 4);

const single = (ctx: RequestContext, arbitrary: fc.Arbitrary<RequestSpec>): fc.Arbitrary<HttpCase> =>
  fc.tuple(arbitrary, splitsArbitrary).map(([request, splits]) => ({
    label: request.label,
    requests: [request],
    garbage: undefined,
    mustAnswer: request.lineEnd === '\r\n' && request.version.startsWith('HTTP/1.') && !incomplete(request),
    splits,
  }));

/** Every kind of request, weighted towards the upgrade and the poll. */
export function httpCaseArbitrary(ctx: RequestContext): fc.Arbitrary<HttpCase> {
  const requestLike = fc.oneof(wsArbitrary(ctx), pollArbitrary(ctx), otherArbitrary(ctx));
  return fc.oneof(
    { arbitrary: single(ctx, wsArbitrary(ctx)), weight: 30 },
    { arbitrary: single(ctx, pollArbitrary(ctx)), weight: 30 },
    { arbitrary: single(ctx, preflightArbitrary(ctx)), weight: 3 },
    { arbitrary: single(ctx, publishArbitrary(ctx)), weight: 6 },
    { arbitrary: single(ctx, otherArbitrary(ctx)), weight: 5 },
    {
      arbitrary: fc.array(fc.oneof(pollArbitrary(ctx), otherArbitrary(ctx)), { minLength: 2, maxLength: 3 }).map((requests) => ({
        label: 'pipelined',
        requests: requests.map((r) => (r.kind === 'poll' ? noWait(r) : r)),
        garbage: undefined,
        mustAnswer: requests.every((r) => r.lineEnd === '\r\n' && r.version === 'HTTP/1.1' && !incomplete(r)),
        splits: [],
      })),
      weight: 4,
    },
    {
      arbitrary: fc.tuple(requestLike, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 })).map(([request, mutations]) => ({
        label: 'mutated',
        requests: [],
        garbage: applyMutations(encodeRequest(request), mutations),
        mustAnswer: false,
        splits: [],
      })),
      weight: 6,
    },
    {
      arbitrary: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 200 }).map((s) => Buffer.from(`${s}\r\n\r\n`)), fc.constantFrom('\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/1.1\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n').map((s) => Buffer.from(s))).map((garbage) => ({
        label: 'garbage',
        requests: [],
        garbage,
        mustAnswer: false,
        splits: [],
      })),
      weight: 3,
    },
  );
}

/** A chunked body that never comes: the server may wait for it as long as it likes. */
function incomplete(request: RequestSpec): boolean {
  return request.headers.some(([name, value]) => name.toLowerCase() === 'transfer-encoding' && /chunked/i.test(value));
}

/** A pipelined poll must not wait: the next request waits behind it. */
function noWait(request: RequestSpec): RequestSpec {
  const target = /[?&]timeout_ms=/.test(request.target) ? request.target.replace(/([?&]timeout_ms=)[^&]*/, '$10') : `${request.target}${request.target.includes('?') ? '&' : '?'}timeout_ms=0`;
  const timeoutWasValid = request.expect !== undefined;
  return { ...request, target, label: 'pipelined-poll', expect: timeoutWasValid ? request.expect : undefined };
}
