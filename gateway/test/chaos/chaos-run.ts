import { compareEventIds } from '../../src/history/event-id.js';
import { historyStreamKey } from '../../src/history/history-keys.js';
import { deadLetterQueueName, ingestQueueName } from '../../src/consumer/routing-keys.js';
import { queueMessages } from './broker-control.js';
import { createClients, type ChaosClient } from './chaos-clients.js';
import { MAX_EVENT_BYTES, QUEUE_PREFIX, startChaosCluster, type ChaosCluster, type PodErrors } from './chaos-cluster.js';
import { ChaosPublisher } from './chaos-publisher.js';
import type { ClientKind } from './client-log.js';
import { auditDeadLetters, type DeadLetterAudit } from './dead-letter-audit.js';
import { FaultInjector, type FaultRecord } from './fault-injector.js';
import { FAULT_KINDS, planFaults, type FaultKind } from './fault-plan.js';
import { auditHistory, indexOf, readHistory, type HistoryAudit, type HistoryEntry } from './history-audit.js';
import { checkClients, type HistoryIndex, type OrganizationVerdict } from './integrity-checker.js';
import { PodMetrics, scrape } from './pod-metrics.js';
import { PublishLedger, type LedgerStats } from './publish-ledger.js';
import { createRandom } from './seeded-random.js';

export interface ChaosOptions {
  readonly seed: number;
  /** How long clients, publisher and faults run (settling comes on top). */
  readonly durationMs: number;
  readonly pods: number;
  readonly clients: Readonly<Record<ClientKind, number>>;
  readonly organizations: number;
  readonly eventsPerSecond: number;
  readonly faultKinds?: readonly FaultKind[];
  /** Gap between the planned starts of two faults. */
  readonly faultGapMs?: readonly [number, number];
  /** How long the system gets, after the faults, to deliver everything. */
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface ChaosReport {
  readonly seed: number;
  readonly durationMs: number;
  readonly organizations: readonly string[];
  readonly verdicts: readonly OrganizationVerdict[];
  /** Each organization's history at the end, as the verdicts saw it. */
  readonly histories: ReadonlyMap<string, HistoryIndex>;
  readonly clients: readonly ChaosClient[];
  readonly faults: readonly FaultRecord[];
  readonly publishes: LedgerStats;
  readonly history: HistoryAudit;
  readonly deadLetters: DeadLetterAudit | undefined;
  readonly podMetrics: ReadonlyMap<string, number>;
  readonly podErrors: PodErrors;
  readonly settle: { readonly settled: boolean; readonly ms: number; readonly detail: string };
  /** Everything that fails the run, each with what is known of it. */
  readonly violations: readonly string[];
  readonly aborted: boolean;
}

/** A fault-injection run: cluster, clients, publisher and faults; then settle, audit and judge. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const signal = options.signal ?? new AbortController().signal;
  const random = createRandom(options.seed);
  const organizations = organizationIds(options.organizations);
  const env = await startChaosCluster({ pods: options.pods, log });
  const ledger = new PublishLedger();
  const metrics = new PodMetrics();
  const publisher = new ChaosPublisher({
    url: env.vhost.url,
    exchange: env.exchange,
    organizations,
    maxEventBytes: MAX_EVENT_BYTES,
    keyPrefix: `${env.id}.`,
    ledger,
    random: random.fork('publish'),
    burstRandom: random.fork('burst'),
  });
  const injector = new FaultInjector({
    cluster: env.cluster,
    vhost: env.vhost.vhost,
    queuePrefix: QUEUE_PREFIX,
    redis: env.redis,
    burst: (count) => publisher.burst(count),
    identicalBurst: (bodies, copies) => publisher.identicalBurst(bodies, copies),
    metrics,
    pods: options.pods,
    log,
  }, random.fork('faults'));
  let clients: ChaosClient[] = [];
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      for (const pod of env.cluster.pods) if (pod.alive) metrics.record(pod.process.pid, await scrape(pod.managementUrl));
      await sleep(5_000, signal, () => !scraping);
    }
  })();

  try {
    clients = await createClients({
      counts: options.clients,
      organizations,
      wsUrl: env.cluster.wsUrl,
      httpUrl: env.cluster.httpUrl,
      secret: env.secret,
      tokenTtlSeconds: Math.ceil(options.durationMs / 1000) + 3_600,
      random: random.fork('clients'),
    });
    for (const client of clients) {
      client.start();
      await sleep(25, signal);
    }
    await until(() => clients.every((c) => c.log.organizations.every((o) => c.log.joined(o))), 45_000, signal);
    log(`${clients.length} clients joined ${organizations.length} organizations; publishing ${options.eventsPerSecond}/s for ${Math.round(options.durationMs / 1000)} s with faults`);

    const startedAtMs = Date.now();
    publisher.start(options.eventsPerSecond);
    const plan = planFaults(random.fork('fault-plan'), {
      durationMs: options.durationMs,
      warmupMs: Math.min(5_000, options.durationMs / 10),
      cooldownMs: Math.min(10_000, options.durationMs / 6),
      minGapMs: options.faultGapMs?.[0] ?? 6_000,
      maxGapMs: options.faultGapMs?.[1] ?? 16_000,
      kinds: options.faultKinds ?? FAULT_KINDS,
      caps: { 'broker-restart': Math.max(1, Math.floor(options.durationMs / 180_000)), 'pod-kill': Math.max(1, Math.round(options.durationMs / 40_000)) },
    });
    log(`fault plan: ${plan.map((f) => `${Math.round(f.atMs / 1000)}s ${f.kind}`).join(', ')}`);
    const faults = injector.run(plan, startedAtMs, options.durationMs - Math.min(10_000, options.durationMs / 6), signal);
    await sleep(options.durationMs, signal);
    await faults;
    await injector.revertAll();
    await injector.replenish();
    await publisher.stop(20_000);
    log(`publishing stopped: ${JSON.stringify(ledger.stats())}`);

    const settle = signal.aborted ? { settled: false, ms: 0, detail: 'aborted' } : await settleRun(env, clients, publisher, organizations, options.settleTimeoutMs ?? 60_000, signal, log);
    await Promise.all(clients.map((c) => c.stop()));
    scraping = false;
    await scraper;
    for (const pod of env.cluster.pods) if (pod.alive) metrics.record(pod.process.pid, await scrape(pod.managementUrl));

    const histories = new Map<string, HistoryEntry[]>();
    for (const organization of organizations) histories.set(organization, await readHistory(env.redis, env.keyPrefix, organization));
    const history = auditHistory(histories, ledger.groups, env.contentMatches);
    const deadLetters = await auditDeadLetters(env.vhost.url, deadLetterQueueName(env.exchange), ledger.groups).catch((error: unknown) => {
      log(`could not read the dead-letter queue: ${String(error)}`);
      return undefined;
    });
    const indexes = new Map([...histories].map(([o, e]) => [o, indexOf(e)]));
    const verdicts = checkClients(clients.map((c) => c.log), indexes, { slackMs: 1_000 });
    const report: Omit<ChaosReport, 'violations'> = {
      seed: options.seed,
      durationMs: options.durationMs,
      organizations,
      verdicts,
      histories: indexes,
      clients,
      faults: injector.records,
      publishes: ledger.stats(),
      history,
      deadLetters,
      podMetrics: metrics.totals(),
      podErrors: env.podErrors,
      settle,
      aborted: signal.aborted,
    };
    return { ...report, violations: describeViolations(report, startedAtMs, histories) };
  } finally {
    scraping = false;
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await scraper.catch(() => undefined);
    await publisher.close();
    try {
      await injector.revertAll();
    } finally {
      await env.stop();
    }
  }
}

/**
 * After the faults: every pod ready, one sentinel per organization confirmed, then until the
 * ingest queue is empty, every sentinel is in history and every client's own cursor reached its
 * organizations' last id (twice in a row), or the timeout.
 */
async function settleRun(env: ChaosCluster, clients: readonly ChaosClient[], publisher: ChaosPublisher, organizations: readonly string[], timeoutMs: number, signal: AbortSignal, log: (line: string) => void): Promise<{ settled: boolean; ms: number; detail: string }> {
  const began = Date.now();
  const deadline = began + timeoutMs;
  await until(async () => {
    const statuses = await Promise.all(env.cluster.pods.filter((p) => p.alive).map((p) => fetch(`${p.managementUrl}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0)));
    return statuses.length > 0 && statuses.every((s) => s === 200);
  }, Math.max(1_000, deadline - Date.now()), signal);
  await publisher.sentinels(Math.max(1_000, deadline - Date.now()));
  let detail = '';
  let stable = 0;
  while (Date.now() < deadline && !signal.aborted) {
    const backlog = await queueMessages(env.vhost.vhost, ingestQueueName(env.exchange));
    const last = new Map<string, string>();
    for (const organization of organizations) {
      const newest = (await env.redis.xrevrange(historyStreamKey(env.keyPrefix, organization), '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      last.set(organization, newest[0]?.[0] ?? '0-0');
    }
    const behind = clients.filter((c) => c.log.organizations.some((o) => {
      const position = c.position(o);
      return position === undefined || compareEventIds(position, last.get(o)!) < 0;
    }));
    detail = `ingest backlog ${backlog ?? '?'}, ${behind.length} clients behind${behind.length > 0 ? ` (${behind.slice(0, 5).map((c) => c.log.name).join(', ')})` : ''}`;
    stable = backlog === 0 && behind.length === 0 ? stable + 1 : 0;
    if (stable >= 2) break;
    await sleep(1_000, signal);
  }
  const ms = Date.now() - began;
  log(`settle: ${stable >= 2 ? 'settled' : 'NOT settled'} after ${ms} ms (${detail})`);
  return { settled: stable >= 2, ms, detail };
}

/** Plain ids, one with the characters a resume cursor and a Redis hash tag must escape, one longer than a routing key allows. */
function organizationIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 1 ? 'acme:eu,{1} 100%' : i === 2 ? `long-${'x'.repeat(215)}` : `org-${i}`));
}

function describeViolations(report: Omit<ChaosReport, 'violations'>, startedAtMs: number, histories: ReadonlyMap<string, readonly HistoryEntry[]>): string[] {
  const out: string[] = [];
  const keyOf = new Map<string, string | undefined>();
  for (const [organization, entries] of histories) for (const e of entries) keyOf.set(`${organization}\u0000${e.id}`, e.key);
  const at = (organization: string, id: string): string => {
    const offset = (Number(id.split('-')[0]) - startedAtMs) / 1000;
    const near = report.faults.filter((f) => offset >= f.startS - 2 && offset <= f.startS + f.durationMs / 1000 + 10).map((f) => `#${f.index} ${f.kind} ${f.target}`);
    return `${id} (t=${offset.toFixed(1)}s, key ${keyOf.get(`${organization}\u0000${id}`) ?? '?'}${near.length > 0 ? `, near ${near.join('; ')}` : ''})`;
  };
  const list = (organization: string, ids: readonly string[]): string => `${ids.slice(0, 8).map((id) => at(organization, id)).join(', ')}${ids.length > 8 ? `, … ${ids.length - 8} more` : ''}`;
  for (const v of report.verdicts) {
    const where = `${v.client} [${v.kind}] ${shortOrg(v.organization)} (joined at ${v.joinedAt ?? 'never'})`;
    if (v.joinedAt === undefined) out.push(`${where}: never joined the organization`);
    if (v.missing.length > 0) out.push(`${where}: ${v.missing.length} missing: ${list(v.organization, v.missing)}`);
    if (v.duplicated.length > 0) out.push(`${where}: ${v.duplicated.length} duplicated: ${list(v.organization, v.duplicated)}`);
    if (v.outOfOrder.length > 0) out.push(`${where}: ${v.outOfOrder.length} out of order: ${list(v.organization, v.outOfOrder)}`);
    if (v.stray.length > 0) out.push(`${where}: ${v.stray.length} not in history or before the join: ${v.stray.slice(0, 8).join(', ')}`);
    if (v.mismatched.length > 0) out.push(`${where}: ${v.mismatched.length} with another body than history's: ${list(v.organization, v.mismatched)}`);
  }
  const { history } = report;
  const publishes = (m: { messageId: string | undefined; confirmed: number; attempts: number }): string => `${m.messageId === undefined ? 'no message id' : `message id ${m.messageId}`}, ${m.attempts} publishes, ${m.confirmed} confirmed`;
  for (const m of history.lost) out.push(`history: lost ${m.key} of ${shortOrg(m.organization)} (${publishes(m)}, ${m.inHistory} in history${m.ids.length > 0 ? `: ${list(m.organization, m.ids)}` : ''})`);
  for (const m of history.duplicated) out.push(`history: ${m.key} of ${shortOrg(m.organization)} stored ${m.inHistory} times, at most ${m.expected[1]} allowed (${publishes(m)}): ${list(m.organization, m.ids)}`);
  for (const m of history.oversizedStored) out.push(`history: oversized ${m.key} stored as ${m.ids.join(', ')}`);
  for (const u of history.unexpected.slice(0, 20)) out.push(`history: unexpected entry ${u}`);
  for (const c of history.chainBreaks.slice(0, 20)) out.push(`history: prev chain broken at ${c}`);
  for (const key of report.deadLetters?.oversizedMissing ?? []) out.push(`dead letters: oversized ${key} was confirmed but is not in the dead-letter queue`);
  for (const key of report.deadLetters?.validDeadLettered ?? []) out.push(`dead letters: valid event ${key} was dead-lettered`);
  return out;
}

export function shortOrg(organization: string): string {
  return organization.length > 24 ? `${organization.slice(0, 12)}…(${organization.length})` : organization;
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    if (await predicate()) return true;
    await sleep(200, signal);
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal, stop?: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    const poll = stop === undefined ? undefined : setInterval(() => stop() && done(), 100);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
