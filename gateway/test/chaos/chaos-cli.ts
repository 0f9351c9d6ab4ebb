import { parseArgs } from 'node:util';
import { CLIENT_KINDS, type ClientKind } from './client-log.js';
import { formatReport, passed } from './chaos-report.js';
import { runChaos } from './chaos-run.js';
import { FAULT_KINDS, type FaultKind } from './fault-plan.js';
import { randomSeed } from './seeded-random.js';

/**
 * `npm run chaos -- [--minutes 10] [--seed N] [--pods 3] [--orgs 8] [--rate 15] [--faults a,b]
 *   [--ws-stay 40] [--ws-churn 30] [--sdk-ws 30] [--sdk-poll 10] [--poll 20] [--settle-seconds 90]`
 *
 * The long fault-injection run (gateway/test/chaos/integrity.chaos.test.ts is the short one):
 * gateway pods behind nginx against the local RabbitMQ and Redis, clients that stay, churn and
 * long-poll, a publisher, random faults; then every client's events against history. Prints the
 * table and every violation; exit code 1 on any, 130 when interrupted. Ctrl-C stops cleanly
 * (faults undone, pods stopped, vhost and keys deleted); a second Ctrl-C exits at once.
 */
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    pods: { type: 'string', default: '3' },
    orgs: { type: 'string', default: '8' },
    rate: { type: 'string', default: '15' },
    faults: { type: 'string', default: FAULT_KINDS.join(',') },
    'settle-seconds': { type: 'string', default: '90' },
    'ws-stay': { type: 'string', default: '40' },
    'ws-churn': { type: 'string', default: '30' },
    'sdk-ws': { type: 'string', default: '30' },
    'sdk-poll': { type: 'string', default: '10' },
    poll: { type: 'string', default: '20' },
  },
});

function number(name: keyof typeof values, min: number, max: number): number {
  const n = Number(values[name]);
  if (typeof values[name] !== 'string' || !Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}, got ${String(values[name])}`);
  return n;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const faults = (values.faults ?? '').split(',').filter((f) => f !== '');
const unknown = faults.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
if (unknown.length > 0) fail(`--faults: unknown ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
const clients = Object.fromEntries(CLIENT_KINDS.map((kind) => [kind, Math.round(number(kind, 0, 400))])) as Record<ClientKind, number>;
if (Object.values(clients).reduce((a, b) => a + b, 0) > 600) fail('at most 600 clients in all: the machine is shared');
const seed = values.seed === undefined ? randomSeed() : Math.round(number('seed', 0, 2 ** 32 - 1));
const minutes = number('minutes', 0.25, 24 * 60);

const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  process.stderr.write('\ninterrupted: undoing the faults and stopping (Ctrl-C again to exit at once)\n');
  abort.abort();
});

const started = Date.now();
const log = (line: string): void => {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
};
log(`chaos run, seed ${seed}, ${minutes} min, ${values.pods} pods, faults ${faults.join(', ') || 'none'}`);
const report = await runChaos({
  seed,
  durationMs: Math.round(minutes * 60_000),
  pods: Math.round(number('pods', 3, 12)),
  organizations: Math.round(number('orgs', 1, 100)),
  eventsPerSecond: number('rate', 0.1, 200),
  clients,
  faultKinds: faults as FaultKind[],
  settleTimeoutMs: number('settle-seconds', 5, 3_600) * 1_000,
  log,
  signal: abort.signal,
});
const replay = `npm run chaos -- --seed ${seed} --minutes ${minutes} --pods ${values.pods} --orgs ${values.orgs} --rate ${values.rate} --faults ${faults.join(',')} ${CLIENT_KINDS.map((k) => `--${k} ${clients[k]}`).join(' ')}`;
process.stdout.write(`\n${formatReport(report, replay)}\n`);
process.exitCode = report.aborted ? 130 : passed(report) ? 0 : 1;
// Anything still open (a socket that never closed) must not keep a finished run alive.
setTimeout(() => process.exit(), 5_000).unref();
