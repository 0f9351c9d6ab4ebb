import { TEST_SECRET } from '../helpers/gateway.js';
import { fuzzBroker, newBrokerStats, type BrokerFuzzStats } from './broker-fuzzer.js';
import { frameBatchArbitrary } from './frame-arbitrary.js';
import { describeBatch, fuzzFrames, newFrameStats, replayBatch, type FrameFuzzStats, type FrameLimits, type FrameTimeouts } from './frame-fuzzer.js';
import { FUZZ_LIMITS, startLiveTarget, type LiveTarget } from './live-target.js';
import { encodeCase, httpCaseArbitrary, type RequestContext } from './request-arbitrary.js';
import { checkHttpCase, fuzzHttp, newHttpStats, type HttpFuzzStats, type HttpTimeouts } from './request-fuzzer.js';
import { drawCase, shrinkCase } from './seeds.js';
import { goodToken } from './token-arbitrary.js';
import { printable, Violations, type Violation, type ViolationRecord } from './violations.js';
import { Watcher } from './watcher.js';

export interface FuzzOptions {
  readonly seed: number;
  /** WebSocket frames to send (random and mutated; control, oversized, invalid UTF-8 included). */
  readonly frames: number;
  /** Upgrade, poll and other HTTP requests. */
  readonly requests: number;
  /** Random messages published to the gateway's exchange. */
  readonly messages: number;
  /** Hard bound on the fuzzing phase; the counts may not all be reached. */
  readonly timeLimitMs: number;
  /** Time given to shrinking the violations found, in all. */
  readonly shrinkBudgetMs: number;
  /** How long the end-of-run checks wait for things to settle (last watcher events, closes, the ingest queue). Default 15 s. */
  readonly settleMs?: number;
  readonly lanes?: number;
  readonly concurrency?: number;
  /** Watcher events per second (default 10). */
  readonly watcherRate?: number;
  /** Broker messages per second (default 40): spread over the run rather than dumped at once. */
  readonly brokerRate?: number;
  readonly onProgress?: (line: string) => void;
}

export interface FuzzReport {
  readonly seed: number;
  readonly durationMs: number;
  readonly frames: FrameFuzzStats;
  readonly http: HttpFuzzStats;
  readonly broker: BrokerFuzzStats;
  readonly watcher: { readonly published: number; readonly received: number; readonly maxLagMs: number };
  readonly violations: ViolationRecord[];
  readonly totalViolations: number;
  /** Whether every requested count was reached within the time limit. */
  readonly complete: boolean;
}

const FRAME_TIMEOUTS: FrameTimeouts = { answerMs: 5_000, closeMs: 2_000 };
const HTTP_TIMEOUTS: HttpTimeouts = { answerMs: FUZZ_LIMITS.pollMaxTimeoutMs + 4_000, optionalMs: 500 };

/**
 * One fuzz run against a fresh gateway process: frames, HTTP requests and broker messages at once,
 * with a watcher of another organization, then the end-of-run checks and the shrinking of what
 * failed. Never throws for a violation: everything found is in the report.
 */
export async function runLiveFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const violations = new Violations();
  const report = (violation: Violation): void => {
    if (violations.add(violation)) options.onProgress?.(`new violation: ${violation.key}`);
  };
  const target = await startLiveTarget(TEST_SECRET, report);
  try {
    return await fuzz(target, options, violations, report, started);
  } finally {
    await target.stop();
  }
}

interface FuzzSetup {
  readonly context: RequestContext;
  readonly limits: FrameLimits;
  readonly fuzzOrganizations: readonly string[];
  readonly watcherOrganization: string;
  readonly watcherUser: string;
  readonly isWatcher: (name: string) => boolean;
  readonly brokerUsers: string;
}

/** The names and limits every fuzz case is drawn against (a replay draws the same cases with them). */
function setupOf(target: LiveTarget): FuzzSetup {
  const { id, secret } = target;
  const watcherOrganization = `fz-watch-${id}`;
  const watcherUser = `fz-watcher-${id}`;
  const isWatcher = (name: string): boolean => name === watcherOrganization || name === watcherUser;
  const brokerUsers = 'fzb-';
  const fuzzOrganizations = [`fz-${id}-a`, `fz-${id}-b`];
  return {
    context: {
      port: target.gateway.port,
      secret,
      maxTokenBytes: FUZZ_LIMITS.maxTokenBytes,
      pollMaxTimeoutMs: FUZZ_LIMITS.pollMaxTimeoutMs,
      fuzzOrganizations,
      // Tokens never name the watcher, nor a user the broker fuzz may add to or remove from organizations.
      reserved: (name) => isWatcher(name) || name.startsWith(brokerUsers),
    },
    limits: { maxPayloadBytes: FUZZ_LIMITS.maxPayloadBytes, hardCapBytes: Math.max(FUZZ_LIMITS.maxPayloadBytes * 4, 64 * 1024), malformedFrameLimit: FUZZ_LIMITS.malformedFrameLimit, rateLimitStrikes: FUZZ_LIMITS.rateLimitStrikes },
    fuzzOrganizations,
    watcherOrganization,
    watcherUser,
    isWatcher,
    brokerUsers,
  };
}

/**
 * Draws one HTTP case or frame batch from its case seed (printed with every violation) and sends it
 * `times` times to a fresh gateway, alone: the lines say what was sent and what came back.
 */
export async function replayCase(stream: 'http' | 'frames', caseSeed: number, times: number): Promise<string[]> {
  const lines: string[] = [];
  const target = await startLiveTarget(TEST_SECRET, (v) => lines.push(`  monitor: ${v.key}: ${v.detail.slice(0, 500)}`));
  try {
    const { context, limits, fuzzOrganizations } = setupOf(target);
    for (let i = 0; i < times; i += 1) {
      if (stream === 'http') {
        const c = drawCase(httpCaseArbitrary(context), caseSeed);
        if (i === 0) lines.push(`input: ${printable(encodeCase(c), 20_000)}`);
        const outcome = await checkHttpCase(c, target.gateway.port, HTTP_TIMEOUTS);
        lines.push(`run ${i + 1}: statuses ${outcome.statuses.join(', ')}; violations: ${outcome.violations.map((v) => `${v.key} (${v.detail.slice(0, 300)})`).join('; ') || 'none'}`);
      } else {
        const batch = drawCase(frameBatchArbitrary(limits), caseSeed);
        if (i === 0) lines.push(`input: ${describeBatch(batch)}`);
        const keys = await replayBatch(target.gateway.port, goodToken(target.secret, `fz-replay-${target.id}-${i}`, fuzzOrganizations), batch, limits, FRAME_TIMEOUTS);
        lines.push(`run ${i + 1}: violations: ${keys.join('; ') || 'none'}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await target.stop();
  }
  return lines;
}

async function fuzz(target: LiveTarget, options: FuzzOptions, violations: Violations, report: (v: Violation) => void, started: number): Promise<FuzzReport> {
  const { id, secret } = target;
  const port = target.gateway.port;
  const { context, limits, fuzzOrganizations, watcherOrganization, watcherUser, isWatcher, brokerUsers } = setupOf(target);

  const watcher = await Watcher.start(target.wsUrl, goodToken(secret, watcherUser, [watcherOrganization]), target.amqpUrl, target.exchange, watcherOrganization);
  watcher.run(1_000 / (options.watcherRate ?? 10));
  const deadline = Date.now() + options.timeLimitMs;
  const stopped = target.dead;
  const [frames, http, broker] = [newFrameStats(), newHttpStats(), newBrokerStats()];
  await (async () => {
    const framesRun = fuzzFrames({
      port,
      limits,
      seed: options.seed,
      frames: options.frames,
      lanes: options.lanes ?? 3,
      deadline,
      token: (lane, n) => goodToken(secret, `fz-lane-${id}-${lane}-${n}`, fuzzOrganizations),
      report,
      stopped,
      timeouts: FRAME_TIMEOUTS,
    }, frames);
    const httpRun = fuzzHttp({ context, seed: options.seed, requests: options.requests, concurrency: options.concurrency ?? 6, deadline, timeouts: HTTP_TIMEOUTS, report, stopped }, http);
    const brokerRun = fuzzBroker({
      amqpUrl: target.amqpUrl,
      exchange: target.exchange,
      context: { fuzzOrganizations, reserved: isWatcher, userPrefix: brokerUsers },
      seed: options.seed,
      messages: options.messages,
      perSecond: options.brokerRate ?? 40,
      deadline,
      stopped,
    }, broker);
    const progress = setInterval(() => {
      options.onProgress?.(`${Math.round((Date.now() - started) / 1_000)} s: ${frames.frames} frames, ${http.requests} requests, ${broker.published} broker messages; watcher ${watcher.received}/${watcher.published}; violations ${violations.total} (${violations.list().length} distinct)`);
    }, 10_000);
    try {
      await Promise.all([framesRun, httpRun, brokerRun]);
    } finally {
      clearInterval(progress);
    }
  })();
  const complete = frames.frames >= options.frames && http.requests >= options.requests && broker.published >= options.messages;

  if (!target.dead()) {
    const settleMs = options.settleMs ?? 15_000;
    for (const violation of await watcher.stop(settleMs)) report(violation);
    for (const violation of await endOfRunChecks(target, settleMs)) report(violation);
    await shrinkAll(violations.list(), options.shrinkBudgetMs, target, context, limits, fuzzOrganizations, options.onProgress);
  }
  return {
    seed: options.seed,
    durationMs: Date.now() - started,
    frames,
    http,
    broker,
    watcher: { published: watcher.published, received: watcher.received, maxLagMs: watcher.maxLagMs },
    violations: violations.list(),
    totalViolations: violations.total,
    complete,
  };
}

/** After the fuzz: no handler exception counted, every connection gone, the ingest queue drained, still healthy. */
async function endOfRunChecks(target: LiveTarget, settleMs: number): Promise<Violation[]> {
  const found: Violation[] = [];
  const text = await target.metrics();
  for (const match of text.matchAll(/^orgcast_handler_errors_total\{([^}]*)\} (\d+(?:\.\d+)?)/gm)) {
    if (Number(match[2]) > 0) found.push({ key: `metrics:handler-errors|${/handler="([^"]*)"/.exec(match[1]!)?.[1] ?? ''}`, detail: `orgcast_handler_errors_total{${match[1]}} = ${match[2]}` });
  }
  const connections = async (): Promise<number> => Number(/^orgcast_connections\{[^}]*\} (\d+)/m.exec(await target.metrics())?.[1] ?? NaN);
  const settled = async <T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
    const until = Date.now() + settleMs;
    let value = await read();
    while (!done(value) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      value = await read();
    }
    return value;
  };
  const open = await settled(connections, (n) => n === 0);
  if (open !== 0) found.push({ key: 'leak:connections', detail: `orgcast_connections is ${open} ${settleMs} ms after every client left` });
  const backlog = await settled(() => target.ingestBacklog(), (n) => n === 0);
  if (backlog !== 0) found.push({ key: 'broker:ingest-not-drained', detail: `${backlog ?? 'unreadable'} messages still in the ingest queue ${settleMs} ms after the last publish (a poison message requeued in a loop?)` });
  const health = await fetch(`http://127.0.0.1:${target.gateway.managementPort}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
  if (health !== 200) found.push({ key: `healthz:final|${health}`, detail: `/healthz answered ${health} at the end` });
  return found;
}

/** Shrinks each replayable violation (HTTP cases, frame batches on a fresh connection) within the budget. */
async function shrinkAll(records: ViolationRecord[], budgetMs: number, target: LiveTarget, context: RequestContext, limits: FrameLimits, organizations: readonly string[], onProgress: FuzzOptions['onProgress']): Promise<void> {
  const until = Date.now() + budgetMs;
  const httpArbitrary = httpCaseArbitrary(context);
  const frameArbitrary = frameBatchArbitrary(limits);
  let n = 0;
  for (const record of records) {
    const origin = record.first.origin;
    const left = until - Date.now();
    if (origin === undefined || left < 500) continue;
    const limit = Math.min(left, Math.max(3_000, budgetMs / 4));
    const key = record.first.key;
    if (origin.stream === 'http') {
      const minimal = await shrinkCase(httpArbitrary, origin.seed, async (c) => (await checkHttpCase(c, target.gateway.port, HTTP_TIMEOUTS)).violations.some((v) => v.key === key), limit);
      if (minimal !== undefined) record.minimal = printable(encodeCase(minimal));
    } else if (origin.stream === 'frames') {
      const minimal = await shrinkCase(frameArbitrary, origin.seed, async (batch) => {
        n += 1;
        return (await replayBatch(target.gateway.port, goodToken(target.secret, `fz-shrink-${target.id}-${n}`, organizations), batch, limits, FRAME_TIMEOUTS)).includes(key);
      }, limit);
      if (minimal !== undefined) record.minimal = describeBatch(minimal);
    }
    onProgress?.(`shrunk ${key}: ${record.minimal === undefined ? 'did not reproduce alone' : 'done'}`);
  }
}
