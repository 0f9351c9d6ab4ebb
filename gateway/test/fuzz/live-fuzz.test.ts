import { describe, expect, it } from 'vitest';
import { formatReport } from './report.js';
import { runLiveFuzz } from './run-fuzz.js';

/**
 * The short run of the live fuzz (the long one: `npm run fuzz`). A gateway process in cluster mode,
 * fuzzed at once with WebSocket frames, upgrade and poll requests and broker messages, while a
 * member of another organization must receive each of its events once and in order.
 * FUZZ_SEED replays a run; the seed is printed with every failure.
 */
const seedText = process.env['FUZZ_SEED'];
if (seedText !== undefined && !/^\d{1,10}$/.test(seedText)) throw new Error(`FUZZ_SEED must be a decimal integer, got ${seedText}`);
const seed = seedText === undefined ? Date.now() % 2 ** 31 : Number(seedText);

describe('live fuzz (short run)', () => {
  it(`no input breaks an invariant (seed ${seed})`, async () => {
    const report = await runLiveFuzz({
      seed,
      frames: 8_000,
      requests: 1_500,
      messages: 300,
      timeLimitMs: 30_000,
      shrinkBudgetMs: 8_000,
      settleMs: 6_000,
    });
    const text = formatReport(report);
    if (process.env['FUZZ_VERBOSE'] !== undefined) process.stdout.write(`${text}\n`);
    expect(report.totalViolations, `replay with FUZZ_SEED=${seed}\n${text}`).toBe(0);
  }, 120_000);
});
