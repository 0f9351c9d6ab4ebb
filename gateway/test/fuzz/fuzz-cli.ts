import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { replayCase, runLiveFuzz } from './run-fuzz.js';

/**
 * `npm run fuzz -- [--frames 100000] [--requests 10000] [--messages 5000] [--seed N] [--minutes 30] [--json out.json]`
 * `npm run fuzz -- --replay http:<case seed>` (or `frames:<case seed>`): one case from a report, alone, three times.
 *
 * The long run of the live fuzz (gateway/test/fuzz/live-fuzz.test.ts is the short one): starts a
 * gateway against the local RabbitMQ and Redis, fuzzes it, prints the counts and every violation.
 * Exit code 1 when an invariant was violated.
 */
const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '10000' },
    messages: { type: 'string', default: '5000' },
    seed: { type: 'string' },
    minutes: { type: 'string', default: '30' },
    'shrink-seconds': { type: 'string', default: '180' },
    lanes: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '6' },
    'broker-rate': { type: 'string', default: '40' },
    json: { type: 'string' },
    replay: { type: 'string' },
  },
});

function count(name: keyof typeof values): number {
  const text = values[name];
  const n = Number(text);
  if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${String(text)}\n`);
    process.exit(2);
  }
  return n;
}

if (values.replay !== undefined) {
  const match = /^(http|frames):(-?\d{1,10})$/.exec(values.replay);
  if (match === null) {
    process.stderr.write(`--replay takes http:<case seed> or frames:<case seed>, got ${values.replay}\n`);
    process.exit(2);
  }
  const lines = await replayCase(match[1] as 'http' | 'frames', Number(match[2]), 3);
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(0);
}

const seed = values.seed === undefined ? Date.now() % 2 ** 31 : count('seed');
process.stdout.write(`live fuzz, seed ${seed} (replay with --seed ${seed})\n`);
const report = await runLiveFuzz({
  seed,
  frames: count('frames'),
  requests: count('requests'),
  messages: count('messages'),
  timeLimitMs: count('minutes') * 60_000,
  shrinkBudgetMs: count('shrink-seconds') * 1_000,
  lanes: count('lanes'),
  concurrency: count('concurrency'),
  brokerRate: count('broker-rate'),
  onProgress: (line) => process.stdout.write(`  ${line}\n`),
});
process.stdout.write(`\n${formatReport(report)}\n`);
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify(report, (_, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2));
}
process.exitCode = report.totalViolations > 0 ? 1 : 0;
