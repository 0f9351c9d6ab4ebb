import type fc from 'fast-check';
import { endsConnection, frameBatchArbitrary, frameCount, type FrameBatch, type FrameContext, type FrameItem, type ItemEffect } from './frame-arbitrary.js';
import { encodeFrame } from './raw-ws.js';
import { RawWebSocket } from './raw-ws-client.js';
import { caseSeed, drawCase } from './seeds.js';
import { printable, type Violation } from './violations.js';

/** The limits the server was started with (the answers depend on them). */
export interface FrameLimits extends FrameContext {
  readonly malformedFrameLimit: number;
  readonly rateLimitStrikes: number;
}

export interface FrameTimeouts {
  /** How long answers may take. */
  readonly answerMs: number;
  /** How long the server may take to close after a frame that must close the connection. */
  readonly closeMs: number;
}

/** Per-connection bookkeeping that the close codes are checked against. */
export class ConnectionState {
  /** Malformed-frame errors received (malformed_json, invalid_frame, binary_not_supported). */
  malformedAnswers = 0;
  /** `rate_limited` answers since the last text frame that was let through. */
  trailingRateLimited = 0;
}

export interface BatchOutcome {
  readonly violations: Violation[];
  /** The connection is over (closed by either side). */
  readonly ended: boolean;
  readonly frames: number;
  /** Server close code when it closed: number, 'none' (TCP close without a close frame) or 'client'. */
  readonly close: string | undefined;
}

const MALFORMED = new Set(['malformed_json', 'invalid_frame', 'binary_not_supported']);

function batchBytes(batch: FrameBatch): Buffer {
  return Buffer.concat(batch.items.map((item) => {
    const bytes = Buffer.concat(item.frames.map(encodeFrame));
    return item.keepBytes === undefined ? bytes : bytes.subarray(0, item.keepBytes);
  }));
}

function splitBytes(bytes: Buffer, splits: readonly number[]): Buffer[] {
  const cuts = [...new Set(splits.map((s) => Math.floor(s * bytes.length)))].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  return [0, ...cuts].map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length));
}

export function describeBatch(batch: FrameBatch): string {
  return batch.items.map((item) => `${item.label}: ${item.frames.map((f) => `[fin=${Number(f.fin)} rsv=${f.rsv} op=${f.opcode} mask=${Number(f.masked)} len=${f.length} ${printable(f.payload, 300)}]`).join(' ')}${item.keepBytes === undefined ? '' : ` (first ${item.keepBytes} bytes, then the socket is dropped)`}`).join('\n');
}

/**
 * Sends one batch on `ws` and checks, item by item, that the server did what the docs and RFC 6455
 * say: one answer per message, a pong per ping, the right close code at the right frame, never 1011.
 */
export async function runBatch(ws: RawWebSocket, batch: FrameBatch, state: ConnectionState, limits: FrameLimits, timeouts: FrameTimeouts): Promise<BatchOutcome> {
  const answersBefore = ws.answers.length;
  const pongsBefore = ws.pongs.length;
  const strays = ws.strays.length;
  const effects = batch.items.flatMap((item) => item.effects);
  const wantAnswers = effects.filter((e) => e.type === 'answer').length;
  const wantPongs = effects.filter((e) => e.type === 'pong').length;
  // Our own drop, or a frame whose effect cannot be known: the connection is dropped after it.
  const aborts = effects.some((e) => e.type === 'abort' || e.type === 'garbled');
  const terminal = batch.items.some(endsConnection) && !aborts;
  for (const chunk of splitBytes(batchBytes(batch), batch.splits)) ws.write(chunk);
  const timeoutMs = terminal ? timeouts.closeMs : timeouts.answerMs;
  const settled = await ws.until(() => !terminal && ws.answers.length - answersBefore >= wantAnswers && ws.pongs.length - pongsBefore >= wantPongs, timeoutMs);
  if (aborts) ws.destroy();

  const violations: Violation[] = [];
  const flag = (key: string, detail: string): void => {
    violations.push({ key, detail, input: describeBatch(batch) });
  };
  const answers = ws.answers.slice(answersBefore);
  const pongs = ws.pongs.slice(pongsBefore);
  const closeText = ws.closeCode === undefined ? 'none' : String(ws.closeCode);
  let ai = 0;
  let pi = 0;
  let stopped: { item: FrameItem; effect: ItemEffect } | undefined;
  walk: for (const item of batch.items) {
    for (const effect of item.effects) {
      if (effect.type === 'answer') {
        const text = answers[ai];
        if (text === undefined) {
          stopped = { item, effect };
          break walk;
        }
        ai += 1;
        const wrong = checkAnswer(text, effect.answer, state);
        if (wrong !== undefined) flag(`frames:wrong-answer|${item.label}|${wrong.expected}|${wrong.got}`, `expected ${wrong.expected}, got ${text.slice(0, 200)}`);
      } else if (effect.type === 'pong') {
        const pong = pongs[pi];
        if (pong === undefined) {
          stopped = { item, effect };
          break walk;
        }
        pi += 1;
        if (!pong.equals(effect.payload)) flag(`frames:pong-payload|${item.label}`, `pong payload ${printable(pong)} for ping ${printable(effect.payload)}`);
      } else if (effect.type !== 'silent') {
        stopped = { item, effect };
        break walk;
      }
    }
  }

  // 1011 is the server's own fault, unless it echoes a client's close frame that carried 1011.
  const clientClose = stopped?.effect.type === 'closing' ? stopped.item.frames[0]?.payload : undefined;
  const echoed1011 = clientClose !== undefined && clientClose[0] === 0x03 && clientClose[1] === 0xf3;
  if (ws.closeCode === 1011 && !echoed1011) flag('frames:close-1011', 'the server closed with 1011 (an exception in its handler)');
  if (ws.protocolProblem !== undefined) flag(`frames:server-frame|${ws.protocolProblem}`, ws.protocolProblem);
  if (ws.strays.length > strays) flag('frames:unexpected-server-frame', `unexpected frame ${ws.strays[strays]}`);
  if (stopped === undefined) {
    if (ws.closed && !aborts) flag(`frames:unexpected-close|after-all-answers|${closeText}`, `closed (${closeText}) although every frame was answered and none asks for a close`);
    if (answers.length > ai) flag('frames:extra-answer', `${answers.length - ai} answers more than frames: ${answers[ai]?.slice(0, 200)}`);
  } else {
    const { item, effect } = stopped;
    const ended = ws.closed || ws.closeCode !== undefined;
    const itemEnds = endsConnection(item);
    // Failing the connection (RFC 6455 7.1.7) may drop the answers to frames written just before,
    // in the same write: they were never owed once the server gave up on the connection.
    const lostToLaterFailure = batch.items.indexOf(item) < batch.items.findIndex(endsConnection) && ws.closeCode !== 4400 && ws.closeCode !== 4008;
    if (effect.type === 'abort' || effect.type === 'garbled' || (ended && lostToLaterFailure)) {
      // Our own drop, an unmasked frame (read as masked by the transport), or answers lost to the failure that follows.
    } else if (!ended) {
      if (settled || !itemEnds) flag(`frames:no-answer|${item.label}|${effect.type}`, `no ${effect.type} within ${timeoutMs} ms and the connection is still open`);
      else flag(`frames:not-closed|${item.label}|${effect.type === 'fail' ? effect.rule : effect.type}`, `the connection is still open ${timeoutMs} ms after a frame that must close it`);
    } else if (effect.type === 'too-big') {
      if (ws.closeCode !== 1009) flag(`frames:close-code|${item.label}|expected 1009|got ${closeText}`, `closed with ${closeText} after a message above MAX_PAYLOAD_BYTES`);
    } else if (effect.type === 'cut' || effect.type === 'fail' || effect.type === 'closing' || itemEnds) {
      // Any close will do (1011 was checked above).
    } else if (effect.type === 'answer' && ws.closeCode === 4400) {
      if (!(effect.answer.type === 'error' && effect.answer.malformed) || state.malformedAnswers !== limits.malformedFrameLimit - 1) {
        flag(`frames:early-4400|${item.label}`, `4400 after ${state.malformedAnswers} malformed frames (limit ${limits.malformedFrameLimit}) at a ${effect.answer.type} frame`);
      }
    } else if (effect.type === 'answer' && ws.closeCode === 4008) {
      if (state.trailingRateLimited !== limits.rateLimitStrikes - 1) flag(`frames:early-4008|${item.label}`, `4008 after ${state.trailingRateLimited} consecutive rate_limited answers (strikes ${limits.rateLimitStrikes})`);
    } else {
      flag(`frames:unexpected-close|${item.label}|${closeText}`, `closed (${closeText}) at a frame that must be answered with ${effect.type}`);
    }
  }
  // After a violation the answers may be out of step with the frames: start afresh.
  const ended = ws.closed || ws.closeCode !== undefined || aborts || violations.length > 0;
  return { violations, ended, frames: frameCount(batch), close: ended ? (aborts ? 'client' : closeText) : undefined };
}

/** Checks one answer against the expectation and updates the connection state; a mismatch is described. */
function checkAnswer(text: string, expected: Extract<ItemEffect, { type: 'answer' }>['answer'], state: ConnectionState): { expected: string; got: string } | undefined {
  const got = text === '{"event_type":"pong"}' ? 'pong' : errorCode(text);
  const textFrame = !(expected.type === 'error' && expected.codes.includes('binary_not_supported'));
  if (got === 'rate_limited' && textFrame) {
    state.trailingRateLimited += 1;
    return undefined;
  }
  if (textFrame) state.trailingRateLimited = 0;
  if (MALFORMED.has(got)) state.malformedAnswers += 1;
  if (expected.type === 'pong-frame') return got === 'pong' ? undefined : { expected: 'pong', got };
  return expected.codes.includes(got) ? undefined : { expected: expected.codes.join('/'), got };
}

function errorCode(text: string): string {
  try {
    const frame = JSON.parse(text) as { data?: { code?: unknown } };
    return typeof frame.data?.code === 'string' ? frame.data.code : 'error-without-code';
  } catch {
    return 'not-json';
  }
}

export interface FrameFuzzOptions {
  readonly port: number;
  readonly limits: FrameLimits;
  readonly seed: number;
  /** Frames to send in all (the last batch may overshoot). */
  readonly frames: number;
  readonly lanes: number;
  readonly deadline: number;
  /** A token for a fresh connection (lane, connection number). */
  readonly token: (lane: number, n: number) => string;
  readonly report: (violation: Violation) => void;
  readonly stopped: () => boolean;
  readonly timeouts: FrameTimeouts;
}

export interface FrameFuzzStats {
  frames: number;
  batches: number;
  connections: number;
  closes: Map<string, number>;
  events: number;
}

export function newFrameStats(): FrameFuzzStats {
  return { frames: 0, batches: 0, connections: 0, closes: new Map(), events: 0 };
}

/** Lanes of sequential connections, each fed batches until it closes or the frame budget is spent. */
export async function fuzzFrames(options: FrameFuzzOptions, stats: FrameFuzzStats = newFrameStats()): Promise<FrameFuzzStats> {
  const arbitrary: fc.Arbitrary<FrameBatch> = frameBatchArbitrary(options.limits);
  let next = 0;
  const more = (): boolean => stats.frames < options.frames && Date.now() < options.deadline && !options.stopped();
  const lane = async (id: number): Promise<void> => {
    let n = 0;
    while (more()) {
      n += 1;
      const ws = await RawWebSocket.open(options.port, options.token(id, n), options.timeouts.answerMs);
      if (typeof ws === 'string') {
        options.report({ key: 'frames:upgrade-refused', detail: `a valid token could not connect: ${ws}` });
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      stats.connections += 1;
      const state = new ConnectionState();
      for (;;) {
        if (!more()) break;
        const index = next;
        next += 1;
        const seed = caseSeed(options.seed, 'frames', index);
        const batch = drawCase(arbitrary, seed);
        const outcome = await runBatch(ws, batch, state, options.limits, options.timeouts);
        stats.frames += outcome.frames;
        stats.batches += 1;
        for (const violation of outcome.violations) options.report({ ...violation, origin: { stream: 'frames', index, seed } });
        if (outcome.ended) {
          const close = outcome.close ?? 'none';
          stats.closes.set(close, (stats.closes.get(close) ?? 0) + 1);
          break;
        }
      }
      stats.events += ws.events;
      ws.destroy();
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, (_, i) => lane(i)));
  return stats;
}

/** Replays `batch` on a fresh connection (for shrinking): the violation keys it produces. */
export async function replayBatch(port: number, token: string, batch: FrameBatch, limits: FrameLimits, timeouts: FrameTimeouts): Promise<string[]> {
  const ws = await RawWebSocket.open(port, token, timeouts.answerMs);
  if (typeof ws === 'string') return [];
  try {
    const outcome = await runBatch(ws, batch, new ConnectionState(), limits, timeouts);
    return outcome.violations.map((v) => v.key);
  } finally {
    ws.destroy();
  }
}
