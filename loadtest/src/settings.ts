import { parseArgs } from 'node:util';
import type { TargetKind } from './targets/target.js';

export const SCENARIOS = ['idle', 'connect', 'fanout', 'latency', 'storm', 'soak'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const TARGET_KINDS: readonly TargetKind[] = ['orgcast', 'socketio', 'uws-ceiling'];

export interface RunSettings {
  readonly scenario: ScenarioName;
  readonly connections: number;
  /** Members per organization; fanout runs one case per value. */
  readonly members: readonly number[];
  readonly orgsPerUser: number;
  readonly durationMs: number;
  /** Events per second published; derived from deliveriesPerSecond when that is given. */
  readonly eventsPerSecond: number | undefined;
  readonly deliveriesPerSecond: number | undefined;
  readonly pods: number;
  readonly clientProcesses: number;
  readonly targets: readonly TargetKind[];
  readonly algorithms: ReadonlyArray<'HS256' | 'ES256'>;
  readonly concurrency: number;
  readonly connectRate: number;
  readonly heartbeatMs: number;
  readonly padBytes: number;
  readonly settleMs: number;
  readonly holdMs: number;
  readonly killAfterMs: number;
  readonly amqpUrl: string;
  readonly redisUrl: string | undefined;
  readonly gatewayEnv: Readonly<Record<string, string>>;
  readonly outDir: string;
  readonly quiet: boolean;
  readonly sourceAddresses: number;
  /** orgcast clients pass the token as ?access_token= (the browser way) instead of the header. */
  readonly tokenInQuery: boolean;
  /** Write V8 CPU profiles (--cpu-prof) of the servers and client processes into this folder. */
  readonly profileDir: string | undefined;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Hard bounds: every run is finite and loopback-sized. */
const MAX_CONNECTIONS = 200_000;
const MAX_DURATION_S = 3_600;

export const USAGE = `usage: npm run loadtest -- <scenario> [options]

scenarios: ${SCENARIOS.join(', ')}
  idle      hold N connections; server RSS per connection
  connect   connects/s and server CPU per connect, HS256 and ES256 (--alg)
  fanout    deliveries/s, CPU per delivery and latency for organizations of --members 10,100,1000
  latency   publish→receive percentiles at a fixed load (--deliveries-per-second)
  storm     kill one pod of a cluster behind nginx; time until every client is back, events lost
  soak      connections with heartbeats and a trickle of events for --duration; RSS drift

options (defaults are small: a shared machine):
  --connections N          virtual clients (2000)
  --members LIST           members per organization (fanout: 10,100,1000; others: 100; sizes
                           above --connections are left out of the default)
  --orgs-per-user K        organizations per user (1)
  --duration S             publish/hold seconds (10)
  --rate N                 events published per second (0 = as fast as possible)
  --deliveries-per-second  target deliveries/s; sets --rate = value / members (default 20000)
  --pods N                 server processes per target (1)
  --client-processes N     client processes (auto: 1 per 18,000 connections)
  --targets LIST           orgcast,socketio,uws-ceiling (all)
  --alg LIST               HS256,ES256 (connect: both; others HS256)
  --concurrency N          upgrades in flight per client process (200)
  --connect-rate N         upgrades started per second per client process (0 = unlimited)
  --heartbeat-ms N         client heartbeat period (soak: 2000; others 0 = none)
  --payload-bytes N        padding in each event's data (100)
  --settle-ms N            wait after connecting before measuring memory (2000)
  --hold-ms N              idle: hold time (3000)
  --kill-after-ms N        storm: kill a pod this long after publishing starts (3000)
  --amqp-url URL           (amqp://guest:guest@127.0.0.1:5672)
  --redis-url URL          (redis://127.0.0.1:6379); --no-redis to run the gateway without Redis
  --gateway-env K=V        extra gateway environment, repeatable
  --token-in-query         orgcast clients send ?access_token= instead of the Authorization header
  --source-addresses N     client source addresses 127.0.0.2.. (32)
  --out DIR                results folder (loadtest/results)
  --cpu-prof DIR           V8 CPU profiles of servers and client processes (open in Chrome DevTools
                           or speedscope for a flame graph); not for the storm's harness pods
  --quiet                  no progress line`;

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

function list<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: readonly T[]): T[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`--${name}: unknown value "${item}" (allowed: ${allowed.join(', ')})`);
  return items as T[];
}

export function parseSettings(argv: readonly string[]): RunSettings | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        connections: { type: 'string' },
        members: { type: 'string' },
        'orgs-per-user': { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        'deliveries-per-second': { type: 'string' },
        pods: { type: 'string' },
        'client-processes': { type: 'string' },
        targets: { type: 'string' },
        alg: { type: 'string' },
        concurrency: { type: 'string' },
        'connect-rate': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'payload-bytes': { type: 'string' },
        'settle-ms': { type: 'string' },
        'hold-ms': { type: 'string' },
        'kill-after-ms': { type: 'string' },
        'amqp-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'no-redis': { type: 'boolean' },
        'gateway-env': { type: 'string', multiple: true },
        'source-addresses': { type: 'string' },
        out: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'token-in-query': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return undefined;
  const scenario = positionals[0];
  if (scenario === undefined || !(SCENARIOS as readonly string[]).includes(scenario)) throw new UsageError(`first argument must be a scenario: ${SCENARIOS.join(', ')}`);
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const name = scenario as ScenarioName;
  const connections = positiveInt('connections', values.connections, 2_000, 1, MAX_CONNECTIONS);
  const members = values.members === undefined
    ? defaultMembers(name, connections)
    : values.members.split(',').map((m) => positiveInt('members', m.trim(), 1));
  const tooBig = members.find((m) => m > connections);
  if (tooBig !== undefined) throw new UsageError(`--members ${tooBig} exceeds --connections ${connections}`);
  const gatewayEnv: Record<string, string> = {};
  for (const pair of values['gateway-env'] ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--gateway-env expects KEY=VALUE, got "${pair}"`);
    gatewayEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const rate = values.rate === undefined ? undefined : positiveInt('rate', values.rate, 0, 0, 10_000_000);
  const deliveries = values['deliveries-per-second'] === undefined ? undefined : positiveInt('deliveries-per-second', values['deliveries-per-second'], 0, 1, 100_000_000);
  if (rate !== undefined && deliveries !== undefined) throw new UsageError('give --rate or --deliveries-per-second, not both');
  return {
    scenario: name,
    connections,
    members,
    orgsPerUser: positiveInt('orgs-per-user', values['orgs-per-user'], 1, 1, 64),
    durationMs: positiveInt('duration', values.duration, 10, 1, MAX_DURATION_S) * 1000,
    eventsPerSecond: rate,
    deliveriesPerSecond: rate === undefined ? deliveries ?? (name === 'soak' ? 1_000 : 20_000) : undefined,
    pods: positiveInt('pods', values.pods, 1, 1, 16),
    clientProcesses: positiveInt('client-processes', values['client-processes'], 1, 1, 32),
    targets: list('targets', values.targets, TARGET_KINDS, name === 'storm' ? ['orgcast'] : TARGET_KINDS),
    algorithms: list('alg', values.alg?.toUpperCase(), ['HS256', 'ES256'] as const, name === 'connect' ? ['HS256', 'ES256'] : ['HS256']),
    concurrency: positiveInt('concurrency', values.concurrency, 200, 1, 10_000),
    connectRate: positiveInt('connect-rate', values['connect-rate'], 0, 0, 1_000_000),
    heartbeatMs: positiveInt('heartbeat-ms', values['heartbeat-ms'], name === 'soak' ? 2_000 : 0, 0, 600_000),
    padBytes: positiveInt('payload-bytes', values['payload-bytes'], 100, 0, 16_000),
    settleMs: positiveInt('settle-ms', values['settle-ms'], 2_000, 0, 600_000),
    holdMs: positiveInt('hold-ms', values['hold-ms'], name === 'idle' ? 3_000 : 0, 0, MAX_DURATION_S * 1000),
    killAfterMs: positiveInt('kill-after-ms', values['kill-after-ms'], 3_000, 0, MAX_DURATION_S * 1000),
    amqpUrl: values['amqp-url'] ?? 'amqp://guest:guest@127.0.0.1:5672',
    redisUrl: values['no-redis'] === true ? undefined : values['redis-url'] ?? 'redis://127.0.0.1:6379',
    gatewayEnv,
    outDir: values.out ?? 'loadtest/results',
    quiet: values.quiet === true,
    sourceAddresses: positiveInt('source-addresses', values['source-addresses'], 32, 1, 250),
    profileDir: values['cpu-prof'],
    tokenInQuery: values['token-in-query'] === true,
  };
}

/**
 * Members per organization when --members is not given: fanout 10, 100 and 1,000, the others 100,
 * keeping only the sizes that fit in --connections (all of them, at least one organization).
 */
export function defaultMembers(scenario: ScenarioName, connections: number): number[] {
  const wanted = scenario === 'fanout' ? [10, 100, 1_000] : [100];
  const fitting = wanted.filter((m) => m <= connections);
  return fitting.length > 0 ? fitting : [connections];
}

/** Events per second that give the requested deliveries per second for organizations of `members`. */
export function eventsPerSecondFor(settings: RunSettings, members: number): number {
  if (settings.eventsPerSecond !== undefined) return settings.eventsPerSecond;
  return Math.max(1, Math.round((settings.deliveriesPerSecond ?? 20_000) / members));
}
