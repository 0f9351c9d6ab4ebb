import { ClientPool, type PoolSnapshot } from '../client/client-pool.js';
import type { SigningKey } from '../auth/jwt-mint.js';
import { OrgLayout, type OrgLayoutOptions } from '../layout/org-layout.js';
import { Histogram } from '../metrics/histogram.js';
import type { PublishOutcome } from '../publisher/event-publisher.js';
import { formatBytes, formatCount, formatMicros } from '../report/format.js';
import type { Progress } from '../report/progress.js';
import type { CaseResult, DeliveryResult, ReconnectResult, TimelinePoint } from '../report/result.js';
import { ProcessSampler, cpuBetween, rssOf, type Reading, type WatchedProcess } from '../sampling/process-sampler.js';
import type { Target } from '../targets/target.js';

export interface PublishPhase {
  /** Events per second; 0 = as fast as possible. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly maxEvents: number;
  readonly padBytes: number;
  /** How long to wait for the last deliveries after the last publish. */
  readonly drainTimeoutMs: number;
}

export interface CaseContext {
  readonly pool: ClientPool;
  readonly target: Target;
  readonly progress: Progress;
  readonly established: number;
}

export interface LoadCaseOptions {
  readonly label: string;
  readonly target: Target;
  readonly pods: number;
  readonly signing: SigningKey;
  readonly layout: OrgLayoutOptions;
  readonly clientProcesses: number;
  readonly tokenInQuery: boolean;
  readonly tokenTtlSeconds: number;
  readonly sourceAddresses: readonly string[];
  readonly connect: {
    readonly concurrency: number;
    readonly ratePerSecond: number;
    readonly timeoutMs: number;
    readonly retries: number;
    readonly phaseTimeoutMs: number;
  };
  readonly heartbeatMs: number;
  readonly reconnect: boolean;
  readonly reconnectJitterMs: number;
  readonly trackIds: boolean;
  readonly targetBy: 'user' | 'org';
  readonly settleMs: number;
  /** Time connections are held (idle, soak) after settling, before any publishing. */
  readonly holdMs: number;
  readonly publish?: PublishPhase;
  /** Runs while events are published (storm: kill a pod) and reports the reconnect outcome. */
  readonly duringPublish?: (context: CaseContext) => Promise<Omit<ReconnectResult, 'reconnectLatency'>>;
  readonly progress: Progress;
  /** Extra node options of the client processes (e.g. --cpu-prof). */
  readonly clientNodeOptions?: readonly string[];
  /** How often client processes report (default 500 ms). */
  readonly statsIntervalMs?: number;
  /** Broker and Redis processes, sampled as shared infrastructure. */
  readonly infraPids: readonly { readonly name: string; readonly pid: number }[];
}

const TICK_MS = 1_000;
/** The drain ends early when no delivery arrived for this long. */
const STALL_MS = 5_000;

/**
 * One measured case against one target: start the client processes, connect every user, settle,
 * optionally hold and publish, verify deliveries against the publisher's sequences, close. Server,
 * client and infrastructure processes are sampled throughout and summarised per phase.
 */
export async function runLoadCase(options: LoadCaseOptions): Promise<CaseResult> {
  const { target, progress } = options;
  const layout = new OrgLayout(options.layout);
  const users = layout.users;
  const runStarted = Date.now();
  let phase = 'start';
  let pool: ClientPool | undefined;
  const notes: string[] = [];

  const watched = (): WatchedProcess[] => [
    ...target.servers(),
    ...(pool?.pids() ?? []).map((pid, i) => ({ name: `client-${i}`, role: 'client' as const, pid })),
    { name: 'driver', role: 'driver' as const, pid: process.pid },
    ...options.infraPids.map((p) => ({ name: p.name, role: 'infra' as const, pid: p.pid })),
  ];
  const sampler = new ProcessSampler(watched, TICK_MS);
  const isServer = (_: string, role: string): boolean => role === 'server';
  const isClient = (_: string, role: string): boolean => role === 'client';
  const isInfra = (_: string, role: string): boolean => role === 'infra';

  const timeline: TimelinePoint[] = [];
  let previous: { reading: Reading; snapshot: PoolSnapshot | undefined; atMs: number } = { reading: sampler.readNow(), snapshot: undefined, atMs: Date.now() };
  const tick = (): void => {
    const atMs = Date.now();
    const reading = sampler.readNow();
    const snapshot = pool?.snapshot();
    const seconds = Math.max(0.001, (atMs - previous.atMs) / 1000);
    const interval = pool?.takeInterval() ?? new Histogram();
    const deliveriesPerSecond = snapshot !== undefined && previous.snapshot !== undefined ? (snapshot.deliveries - previous.snapshot.deliveries) / seconds : 0;
    let lag: number | undefined;
    for (const server of target.servers()) {
      const l = sampler.maxLagMs(server.name, previous.atMs, atMs);
      if (l !== undefined) lag = Math.max(lag ?? 0, l);
    }
    const point: TimelinePoint = {
      tMs: atMs - runStarted,
      phase,
      open: snapshot?.open ?? 0,
      deliveriesPerSecond,
      p99Us: interval.quantile(0.99),
      serverRssBytes: rssOf(reading, isServer),
      serverCpuPercent: cpuBetween(previous.reading, reading, isServer) / seconds / 1e4,
      clientCpuPercent: cpuBetween(previous.reading, reading, isClient) / seconds / 1e4,
      ...(lag !== undefined && { serverLagP99Ms: lag }),
    };
    timeline.push(point);
    previous = { reading, snapshot, atMs };
    progress.update(`[${options.label} ${target.kind}] ${phase} ${((atMs - runStarted) / 1000).toFixed(0)}s | open ${formatCount(point.open)}/${formatCount(users)}`
      + ` | ${formatCount(deliveriesPerSecond)} deliv/s | p99 ${formatMicros(point.p99Us)} | server cpu ${point.serverCpuPercent.toFixed(0)}% rss ${formatBytes(point.serverRssBytes)}`
      + ` | client cpu ${point.clientCpuPercent.toFixed(0)}%${lag !== undefined ? ` | lag p99 ${lag.toFixed(1)} ms` : ''}`);
  };
  sampler.start();
  const ticker = setInterval(tick, TICK_MS);

  try {
    phase = 'baseline';
    await sleep(Math.min(1_000, options.settleMs));
    const baseline = sampler.readNow();

    pool = await ClientPool.start({
      users,
      processes: options.clientProcesses,
      nodeOptions: options.clientNodeOptions ?? [],
      config: {
        protocol: target.protocol,
        tokenInQuery: options.tokenInQuery,
        layout: options.layout,
        signing: options.signing,
        tokenTtlSeconds: options.tokenTtlSeconds,
        targets: target.endpoints(),
        targetBy: options.targetBy,
        sourceAddresses: options.sourceAddresses,
        connectConcurrency: options.connect.concurrency,
        connectRatePerSecond: options.connect.ratePerSecond,
        connectTimeoutMs: options.connect.timeoutMs,
        connectRetries: options.connect.retries,
        reconnect: options.reconnect,
        reconnectJitterMs: options.reconnectJitterMs,
        trackIds: options.trackIds,
        heartbeatMs: options.heartbeatMs,
        statsIntervalMs: options.statsIntervalMs ?? 500,
      },
    });

    phase = 'connect';
    const beforeConnect = sampler.readNow();
    const connected = await pool.connect(options.connect.phaseTimeoutMs);
    const afterConnect = sampler.readNow();
    const connectSnapshot = await pool.freshSnapshot();

    phase = 'settle';
    await sleep(options.settleMs);
    const loaded = sampler.readNow();
    const established = (await pool.freshSnapshot()).open;

    if (options.holdMs > 0) {
      phase = 'hold';
      await sleep(options.holdMs);
    }

    let delivery: DeliveryResult | undefined;
    let reconnect: Omit<ReconnectResult, 'reconnectLatency'> | undefined;
    let verified: Awaited<ReturnType<ClientPool['verify']>> | undefined;
    if (options.publish !== undefined) {
      phase = 'publish';
      pool.mark();
      await sleep(100);
      const before = sampler.readNow();
      const deliveredBefore = (await pool.freshSnapshot()).deliveries;
      const publishStarted = Date.now();
      const plan = {
        orgs: Array.from({ length: layout.organizationCount }, (_, i) => i),
        orgCount: layout.organizationCount,
        orgPrefix: layout.prefix,
        ratePerSecond: options.publish.ratePerSecond,
        durationMs: options.publish.durationMs,
        maxEvents: options.publish.maxEvents,
        padBytes: options.publish.padBytes,
      };
      const context: CaseContext = { pool, target, progress, established };
      const [outcome, reconnectOutcome] = await Promise.all([
        target.publisher.publish(plan),
        options.duringPublish?.(context),
      ]);
      reconnect = reconnectOutcome;
      phase = 'drain';
      const expectedApprox = expectedDeliveries(layout, outcome) * (established / users);
      const lastProgressAt = await waitForDeliveries(pool, deliveredBefore + expectedApprox, options.publish.drainTimeoutMs);
      const after = sampler.readNow();
      const windowMs = Math.max(1, lastProgressAt - publishStarted);
      const deliveredInWindow = (await pool.freshSnapshot()).deliveries - deliveredBefore;
      verified = await pool.verify(outcome.finalSeqs);
      const serverCpu = cpuBetween(before, after, isServer);
      const perDelivery = (cpu: number): number => (deliveredInWindow > 0 ? cpu / deliveredInWindow : Number.NaN);
      delivery = {
        published: outcome.sent,
        publishElapsedMs: outcome.elapsedMs,
        publishedPerSecond: outcome.sent / (outcome.elapsedMs / 1000),
        expected: verified.counts.expected,
        received: verified.counts.unique,
        lost: verified.counts.lost,
        duplicates: verified.counts.duplicates,
        foreign: verified.counts.foreign,
        perSecond: deliveredInWindow / (windowMs / 1000),
        latency: verified.latency.summary(),
        distribution: verified.latency.distribution(),
        serverCpuUsPerDelivery: perDelivery(serverCpu),
        infraCpuUsPerDelivery: perDelivery(cpuBetween(before, after, isInfra)),
        clientCpuUsPerDelivery: perDelivery(cpuBetween(before, after, isClient)),
        duplicateSamples: verified.duplicateSamples,
      };
      for (const l of verified.lossSamples.slice(0, 5)) {
        notes.push(`loss: user ${layout.userName(l.user)} org ${layout.orgName(l.org)} received ${l.received} of ${l.expected}, highest seq seen ${l.lastSeq}${l.lastSeq === l.expected ? ' (a hole)' : ' (the tail is missing)'}`);
      }
      for (const d of verified.duplicateSamples.slice(0, 5)) {
        const same = d.previousId !== undefined && d.previousId === d.eventId ? ' (the id it had already seen last)' : '';
        notes.push(`duplicate: user ${layout.userName(d.user)} org ${layout.orgName(d.org)} seq ${d.seq} (had seen up to ${d.lastSeq}), event id ${d.eventId ?? '?'}${same}${d.afterReconnect ? ', after a reconnect' : ''}`);
      }
      if (outcome.elapsedMs < options.publish.durationMs * 0.9 && outcome.sent < options.publish.maxEvents) {
        notes.push(`publisher stopped early after ${outcome.elapsedMs.toFixed(0)} ms`);
      }
    } else {
      verified = await pool.verify([]);
    }

    for (const c of verified.closeSamples.slice(0, 5)) {
      notes.push(`closed: user ${layout.userName(c.user)} with ${c.code} after ${c.openForMs} ms${c.stopping ? ' (while stopping)' : ''}`);
    }
    phase = 'close';
    const end = sampler.readNow();
    const final = await pool.freshSnapshot();
    const drift = options.holdMs > 0 || options.publish !== undefined ? rssOf(end, isServer) - rssOf(loaded, isServer) : undefined;
    tick();
    const connectSeconds = Math.max(0.001, connected.elapsedMs / 1000);
    const serverSeconds = (Date.now() - runStarted) / 1000;
    const result: CaseResult = {
      label: options.label,
      target: target.kind,
      pods: options.pods,
      connections: users,
      membersPerOrg: layout.membersPerOrg,
      orgsPerUser: layout.orgsPerUser,
      connect: {
        requested: users,
        established: connected.established,
        failed: connected.failed,
        elapsedMs: connected.elapsedMs,
        perSecond: connected.established / connectSeconds,
        latency: verified.connectLatency.summary(),
        refusals: connectSnapshot.refusals,
        serverCpuUsPerConnect: connected.established > 0 ? cpuBetween(beforeConnect, afterConnect, isServer) / connected.established : Number.NaN,
      },
      memory: {
        serverRssBaselineBytes: rssOf(baseline, isServer),
        serverRssLoadedBytes: rssOf(loaded, isServer),
        serverRssPerConnectionBytes: established > 0 ? (rssOf(loaded, isServer) - rssOf(baseline, isServer)) / established : Number.NaN,
        clientRssPerConnectionBytes: established > 0 ? (rssOf(loaded, isClient) - rssOf(beforeConnect, isClient)) / established : Number.NaN,
        ...(drift !== undefined && { serverRssDriftBytes: drift }),
      },
      ...(delivery !== undefined && { delivery }),
      ...(reconnect !== undefined && { reconnect: { ...reconnect, reconnectLatency: verified.reconnectLatency.summary() } }),
      openAtEnd: final.open,
      closes: final.closes,
      socketErrors: final.socketErrors,
      serverMaxLagMs: maxDefined(timeline.map((p) => p.serverLagP99Ms)),
      serverCpuPercent: cpuBetween(baseline, end, isServer) / serverSeconds / 1e4,
      clientCpuPercent: cpuBetween(baseline, end, isClient) / serverSeconds / 1e4,
      clientProcesses: pool.processCount,
      timeline,
      notes,
    };
    return result;
  } finally {
    clearInterval(ticker);
    sampler.stop();
    await pool?.close();
    progress.done();
  }
}

/** Deliveries the publisher's outcome implies if every member were connected. */
export function expectedDeliveries(layout: OrgLayout, outcome: PublishOutcome): number {
  let total = 0;
  for (let org = 0; org < outcome.finalSeqs.length; org++) total += (outcome.finalSeqs[org] ?? 0) * layout.membersOf(org);
  return total;
}

/** Waits until `target` deliveries or no progress for STALL_MS (or the timeout); returns the time of the last progress. */
async function waitForDeliveries(pool: ClientPool, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = pool.snapshot().deliveries;
  let lastProgressAt = Date.now();
  while (Date.now() < deadline) {
    const now = pool.snapshot().deliveries;
    if (now !== last) {
      last = now;
      lastProgressAt = Date.now();
    }
    if (now >= target) return lastProgressAt;
    if (Date.now() - lastProgressAt > STALL_MS) return lastProgressAt;
    await sleep(100);
  }
  return lastProgressAt;
}

function maxDefined(values: ReadonlyArray<number | undefined>): number | undefined {
  let max: number | undefined;
  for (const v of values) if (v !== undefined) max = Math.max(max ?? 0, v);
  return max;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
