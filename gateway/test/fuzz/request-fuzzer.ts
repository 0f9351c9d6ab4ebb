import type fc from 'fast-check';
import { exchange, isTransportAnswer, type RawResponse } from './raw-http.js';
import { acceptValue } from './raw-ws-client.js';
import { encodeCase, httpCaseArbitrary, namesOrigin, type HttpCase, type RequestContext, type RequestSpec } from './request-arbitrary.js';
import { caseSeed, drawCase } from './seeds.js';
import { printable, type Violation } from './violations.js';

/** The 503s docs/protocol.md documents ("Refusals"); every other 5xx is a violation. */
const DOCUMENTED_503 = new Set(['at_capacity', 'draining', 'auth_unavailable', 'unavailable']);

export interface HttpTimeouts {
  /** For requests the server must answer: the longest poll wait plus slack. */
  readonly answerMs: number;
  /** For malformed input, which the server may leave unanswered. */
  readonly optionalMs: number;
}

export interface CaseOutcome {
  readonly violations: Violation[];
  /** One entry per request: the status, or 'none'. */
  readonly statuses: string[];
}

/** Sends one case and checks every response against the general invariants, then against its documented answer. */
export async function checkHttpCase(c: HttpCase, port: number, timeouts: HttpTimeouts): Promise<CaseOutcome> {
  const bytes = encodeCase(c);
  const cuts = [...new Set(c.splits.map((s) => Math.floor(s * bytes.length)))].filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b);
  const chunks = [0, ...cuts].map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length));
  const methods = c.garbage !== undefined ? ['?'] : c.requests.map((r) => r.method);
  const result = await exchange(chunks, { port, methods, timeoutMs: c.mustAnswer ? timeouts.answerMs : timeouts.optionalMs });
  const violations: Violation[] = [];
  const input = printable(bytes);
  const flag = (key: string, detail: string): void => {
    violations.push({ key, detail, input });
  };
  if (result.malformed !== undefined) {
    // A body after a HEAD answer shows up as garbage where the next status line should be.
    flag(c.requests.some((r) => r.method === 'HEAD') ? 'http:malformed-response|after-HEAD (a body in a HEAD answer?)' : 'http:malformed-response', result.malformed);
  }
  const specs: ReadonlyArray<RequestSpec | undefined> = c.garbage !== undefined ? [undefined] : c.requests;
  let closing = false;
  specs.forEach((spec, i) => {
    const response = result.responses[i];
    if (response === undefined) {
      // Pipelined requests answered asynchronously make uWS close the connection (docs/protocol.md, "Limits").
      const pipelinedClose = c.label.startsWith('pipelined') && result.ended === 'closed';
      if (c.mustAnswer && !closing && !pipelinedClose && result.malformed === undefined) {
        flag(`http:no-answer|${c.label}`, `request ${i + 1} of ${specs.length} got no answer (${result.ended === 'timeout' ? `nothing within ${timeouts.answerMs} ms` : 'the server closed the connection'})`);
      }
      return;
    }
    if (/\bclose\b/i.test(response.headers['connection'] ?? '')) closing = true;
    // A request uWS's parser could not read is answered by uWS itself (docs/protocol.md, "Limits").
    if (isTransportAnswer(response)) return;
    const label = spec?.label ?? c.label;
    const basic = generalInvariant(response, spec?.method === 'HEAD');
    if (basic !== undefined) {
      flag(`http:${basic.key}`, `${label}: ${basic.detail}`);
      return;
    }
    if (spec === undefined) return;
    if (spec.expect !== undefined && !spec.expect.statuses.includes(response.status)) {
      flag(`http:documented-answer|${label}|expected ${spec.expect.statuses.join('/')}|got ${response.status}`, `${spec.expect.why}: ${response.status} ${response.body.toString('utf8').slice(0, 300)}`);
    }
    for (const problem of specificInvariants(spec, response)) flag(`http:${problem.key}|${label}`, problem.detail);
  });
  const statusOf = (response: RawResponse | undefined): string => (response === undefined ? 'none' : isTransportAnswer(response) ? `${response.status} (uWS)` : String(response.status));
  return { violations, statuses: specs.map((_, i) => statusOf(result.responses[i])) };
}

/** No 5xx but the documented 503s; a JSON `{error, message}` body on every refusal; Retry-After on 429/503. */
function generalInvariant(response: RawResponse, head: boolean): { key: string; detail: string } | undefined {
  const body = response.body.toString('utf8');
  const summary = `${response.status} ${JSON.stringify(response.headers)} ${body.slice(0, 300)}`;
  if (response.status < 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const error = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['error'] : undefined;
  const message = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['message'] : undefined;
  if (response.status >= 500 && !(response.status === 503 && typeof error === 'string' && DOCUMENTED_503.has(error))) {
    return { key: `5xx|${response.status}|${typeof error === 'string' ? error : 'no-json-error'}`, detail: summary };
  }
  if ((!head && (typeof error !== 'string' || typeof message !== 'string')) || !/application\/json/.test(response.headers['content-type'] ?? '')) {
    return { key: `refusal-not-json|${response.status}`, detail: summary };
  }
  if ((response.status === 429 || response.status === 503) && response.headers['retry-after'] === undefined) {
    return { key: `no-retry-after|${response.status}|${error}`, detail: summary };
  }
  return undefined;
}

/** What a given route promises beyond the status: CORS on polls, the poll body, the accept key, tenant isolation. */
function specificInvariants(spec: RequestSpec, response: RawResponse): Array<{ key: string; detail: string }> {
  const problems: Array<{ key: string; detail: string }> = [];
  const routed = spec.expect !== undefined;
  // CORS concerns requests that name an origin.
  const origin = spec.headers.some(([name, value]) => name.toLowerCase() === 'origin' && namesOrigin(value));
  if ((spec.kind === 'poll' || spec.kind === 'preflight') && routed && origin && response.headers['access-control-allow-origin'] === undefined) {
    problems.push({ key: `cors-missing|${response.status}`, detail: `no Access-Control-Allow-Origin on a ${response.status}` });
  }
  if (spec.kind === 'ws' && response.status === 101 && spec.wsKey !== undefined && response.headers['sec-websocket-accept'] !== acceptValue(spec.wsKey)) {
    problems.push({ key: 'ws-accept', detail: `Sec-WebSocket-Accept ${response.headers['sec-websocket-accept']} for key ${spec.wsKey}` });
  }
  if (!spec.mayPass && ((spec.kind === 'ws' && response.status === 101) || (spec.kind !== 'ws' && response.status >= 200 && response.status < 300 && spec.kind !== 'preflight' && spec.kind !== 'other'))) {
    problems.push({ key: `passed-without-valid-token|${response.status}`, detail: `a ${response.status} although the deciding token is refused by the documented rules (${spec.token?.why ?? 'no token'})` });
  }
  if (spec.kind === 'poll' && response.status === 200) problems.push(...pollBodyProblems(response.body, spec.grants));
  return problems;
}

function pollBodyProblems(body: Buffer, grants: readonly string[] | undefined): Array<{ key: string; detail: string }> {
  let parsed: { events?: unknown; resume?: unknown; recovered?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return [{ key: 'poll-body-not-json', detail: body.toString('utf8').slice(0, 300) }];
  }
  if (!Array.isArray(parsed.events) || typeof parsed.resume !== 'string' || parsed.recovered === null || typeof parsed.recovered !== 'object') {
    return [{ key: 'poll-body-shape', detail: body.toString('utf8').slice(0, 300) }];
  }
  if (grants === undefined) return [];
  const allowed = new Set(grants);
  const foreign = parsed.events
    .map((e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>)['organization_id'] : undefined))
    .filter((org) => typeof org !== 'string' || !allowed.has(org));
  return foreign.length === 0 ? [] : [{ key: 'poll-foreign-event', detail: `events of organizations the token does not grant: ${JSON.stringify(foreign.slice(0, 3))}` }];
}

export interface HttpFuzzOptions {
  readonly context: RequestContext;
  readonly seed: number;
  readonly requests: number;
  readonly concurrency: number;
  readonly deadline: number;
  readonly timeouts: HttpTimeouts;
  readonly report: (violation: Violation) => void;
  readonly stopped: () => boolean;
}

export interface HttpFuzzStats {
  cases: number;
  requests: number;
  byStatus: Map<string, number>;
  byLabel: Map<string, number>;
}

export function newHttpStats(): HttpFuzzStats {
  return { cases: 0, requests: 0, byStatus: new Map(), byLabel: new Map() };
}

export async function fuzzHttp(options: HttpFuzzOptions, stats: HttpFuzzStats = newHttpStats()): Promise<HttpFuzzStats> {
  const arbitrary: fc.Arbitrary<HttpCase> = httpCaseArbitrary(options.context);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (stats.requests < options.requests && Date.now() < options.deadline && !options.stopped()) {
      const index = next;
      next += 1;
      const seed = caseSeed(options.seed, 'http', index);
      const c = drawCase(arbitrary, seed);
      const outcome = await checkHttpCase(c, options.context.port, options.timeouts);
      stats.cases += 1;
      stats.requests += Math.max(1, c.requests.length);
      stats.byLabel.set(c.label, (stats.byLabel.get(c.label) ?? 0) + 1);
      for (const status of outcome.statuses) stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
      for (const violation of outcome.violations) options.report({ ...violation, origin: { stream: 'http', index, seed } });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return stats;
}

