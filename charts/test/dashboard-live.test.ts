/**
 * [prometheus] The chart against a live gateway: the gateway runs (`tsx gateway/src/main.ts`)
 * with the real RabbitMQ and Redis, a real Prometheus (Debian package "prometheus") scrapes its
 * management port, a little traffic flows, and then
 * - the probe paths of the rendered Deployment answer on the management port;
 * - every metric the chart reads (HPA, KEDA, alerts, dashboard) is emitted on /metrics;
 * - every dashboard query returns data, and the rendered alert rules evaluate without errors.
 * Fails, never skips, when prometheus is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestVhost, type TestVhost } from '../../gateway/test/helpers/rabbit.js';
import { REPO_ROOT } from '../../scripts/kube-tools.js';
import { emittedSeries } from './support/exposition.js';
import { ALL_FEATURES_VALUES, findObject, renderChart, type K8sObject } from './support/helm.js';
import { startPrometheus, type PrometheusServer, type PromSample } from './support/prometheus.js';
import { chartQueries, dashboardQueries, metricNames, readDashboard } from './support/promql.js';
import { requireBinary } from './support/promtool.js';

const NAMESPACE = 'live';
const JOB = 'orgcast-headless';
const POD = 'live-pod-0';
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntil(what: string, timeoutMs: number, predicate: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Grafana's variables as the dashboard would resolve them for this gateway. */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$namespace', NAMESPACE)
    .replaceAll('$job', JOB)
    .replaceAll('$pod', '.*');
}

const finite = (samples: readonly PromSample[]) => samples.some((s) => Number.isFinite(Number(s.value[1])));

interface Client {
  readonly socket: WebSocket;
  readonly frames: { event_type: string }[];
}

describe('[prometheus] chart and dashboard against a live gateway', () => {
  let vhost: TestVhost | undefined;
  let gateway: ChildProcess | undefined;
  let gatewayLog = '';
  let prometheus: PrometheusServer | undefined;
  const clients: Client[] = [];
  let ports: { public: number; management: number; prometheus: number };
  const secret = randomBytes(32).toString('hex');
  const redisPrefix = `orgcast-live-${randomBytes(4).toString('hex')}:`;
  let objects: K8sObject[];
  let eventsPublished = 0;

  const token = (sub: string, orgs: string[]) =>
    new SignJWT({ org_ids: orgs }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));

  async function connect(query: string): Promise<Client> {
    const socket = new WebSocket(`ws://127.0.0.1:${String(ports.public)}/api/ws?${query}`);
    const client: Client = { socket, frames: [] };
    socket.on('message', (data: Buffer) => client.frames.push(JSON.parse(data.toString('utf8')) as { event_type: string }));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${String(response.statusCode)}`)));
      socket.once('error', reject);
    });
    clients.push(client);
    await waitUntil('connection.established', 5_000, async () => client.frames.some((f) => f.event_type === 'connection.established'));
    return client;
  }

  async function refusedStatus(query: string): Promise<number> {
    const socket = new WebSocket(`ws://127.0.0.1:${String(ports.public)}/api/ws?${query}`);
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (request, response) => {
        response.resume();
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      // ws reports the destroyed request as an error: expected once the status is known.
      socket.on('error', (error) => reject(error));
      socket.once('open', () => reject(new Error('upgrade unexpectedly accepted')));
    });
  }

  beforeAll(async () => {
    // Fail at once, with the package name, when Prometheus is not installed.
    await requireBinary('prometheus', 'prometheus');
    ports = { public: await freePort(), management: await freePort(), prometheus: await freePort() };
    objects = await renderChart({ namespace: NAMESPACE, set: { 'metrics.prometheusRule.enabled': 'true' } });
    vhost = await createTestVhost();

    gateway = spawn(process.execPath, ['--import', 'tsx', join('gateway', 'src', 'main.ts')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(ports.public),
        MANAGEMENT_PORT: String(ports.management),
        LOG_LEVEL: 'silent',
        POD_NAME: POD,
        POD_NAMESPACE: NAMESPACE,
        JWT_SECRET: secret,
        AMQP_URL: vhost.url,
        AMQP_EXCHANGE: 'tasks',
        REDIS_URL,
        REDIS_KEY_PREFIX: redisPrefix,
        READINESS_CANARY_INTERVAL_MS: '500',
        SHUTDOWN_TIMEOUT_MS: '5000',
        DRAIN_WINDOW_MS: '1000',
      },
    });
    gateway.stderr?.on('data', (chunk: Buffer) => {
      gatewayLog = `${gatewayLog}${chunk.toString('utf8')}`.slice(-4_000);
    });
    await waitUntil('the gateway to report ready on /readyz', 30_000, async () => {
      if (gateway?.exitCode !== null) throw new Error(`gateway exited with ${String(gateway?.exitCode)}: ${gatewayLog}`);
      return fetch(`http://127.0.0.1:${String(ports.management)}/readyz`).then((r) => r.status === 200, () => false);
    });

    prometheus = await startPrometheus({
      port: ports.prometheus,
      scrapeConfigs: [{ job_name: JOB, static_configs: [{ targets: [`127.0.0.1:${String(ports.management)}`], labels: { namespace: NAMESPACE } }] }],
      ruleGroups: (findObject(objects, 'PrometheusRule').spec as { groups: unknown[] }).groups,
    });
    const server = prometheus;
    // A scrape before the traffic, so counters and histograms have a baseline to rate against.
    await waitUntil('a first scrape', 15_000, async () => (await server.query(`orgcast_delivery_latency_seconds_count{job="${JOB}"}`)).length > 0);

    // Traffic: members of three organizations, refusals, client frames, events, membership, poison.
    const queries = {
      alice: `access_token=${await token('alice', ['acme', 'globex'])}&affinity=acme`,
      bob: `access_token=${await token('bob', ['acme'])}`,
      carol: `access_token=${await token('carol', ['initech'])}`,
    };
    const alice = await connect(queries.alice);
    const bob = await connect(queries.bob);
    const carol = await connect(queries.carol);
    expect(await refusedStatus('')).toBe(401);
    expect(await refusedStatus('access_token=not-a-jwt')).toBe(401);

    const taskFrames = (client: Client) => client.frames.filter((f) => f.event_type.startsWith('task.event.')).length;
    const connection = await amqp.connect(vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      // Publish time in the body (milliseconds): the AMQP timestamp has whole seconds only.
      const publish = (routingKey: string, body: string) => channel.publish('tasks', routingKey, Buffer.from(body), { contentType: 'application/json' });
      publish('organization.member.added', JSON.stringify({ event_type: 'organization.member.added', organization_id: 'initech', user_id: 'bob' }));
      publish('task.event.created', 'this is not json');
      // Waves of events until every socket has received some (a pod may still be joining its cluster).
      for (let wave = 0; ; wave += 1) {
        for (let i = 0; i < 5; i += 1) {
          for (const organization of ['acme', 'globex', 'initech']) {
            publish('task.event.created', JSON.stringify({ event_type: 'task.event.created', organization_id: organization, data: { id: `t-${String(wave)}-${String(i)}` }, timestamp: Date.now() }));
            eventsPublished += 1;
          }
        }
        await channel.waitForConfirms();
        const arrived = await waitUntil('events on every socket', 2_000, async () => taskFrames(alice) > 0 && taskFrames(bob) > 0 && taskFrames(carol) > 0).then(() => true, () => false);
        if (arrived) break;
        if (wave >= 10) throw new Error(`no events reached the sockets after ${String(eventsPublished)} publishes (alice ${String(taskFrames(alice))}, bob ${String(taskFrames(bob))}, carol ${String(taskFrames(carol))})`);
      }
    } finally {
      await connection.close();
    }
    // Client frames, on sockets now known to be live: a ping and a malformed frame.
    alice.socket.send(JSON.stringify({ event_type: 'ping' }));
    alice.socket.send('this is not json');
    await waitUntil('the pong and the error frame', 5_000, async () => alice.frames.some((f) => f.event_type === 'pong') && alice.frames.some((f) => f.event_type === 'error'));
    carol.socket.close(1000, 'bye');
    await waitUntil('the close to be counted', 5_000, async () => (await fetch(`http://127.0.0.1:${String(ports.management)}/metrics`).then((r) => r.text())).includes('orgcast_connections_closed_total{'));
    await fetch(`http://127.0.0.1:${String(ports.management)}/readyz`);

    // Two scrapes after all of it: rate() needs two samples of the series the traffic created.
    await waitUntil('two scrapes after the traffic', 15_000, async () => {
      const [delivered, closed, deadLettered, clientFrames] = await Promise.all([
        server.query(`sum(orgcast_events_delivered_total{job="${JOB}"}) > 0`),
        server.query(`count_over_time(orgcast_connections_closed_total{job="${JOB}"}[1m]) >= 2`),
        server.query(`count_over_time(orgcast_events_dead_lettered_total{job="${JOB}"}[1m]) >= 2`),
        server.query(`count_over_time(orgcast_client_errors_total{job="${JOB}"}[1m]) >= 2`),
      ]);
      return delivered.length > 0 && closed.length > 0 && deadLettered.length > 0 && clientFrames.length > 0;
    });
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    if (gateway !== undefined && gateway.exitCode === null && gateway.signalCode === null) {
      const exited = new Promise((resolve) => gateway?.once('exit', resolve));
      gateway.kill('SIGKILL');
      await exited;
    }
    await prometheus?.stop();
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await vhost?.cleanup();
  }, 30_000);

  it('answers the chart\'s probe paths on the management port', async () => {
    const container = ((findObject(objects, 'Deployment').spec as { template: { spec: { containers: Record<string, { httpGet?: { path: string; port: string } }>[] } } }).template.spec.containers[0]) ?? {};
    const paths = ['startupProbe', 'livenessProbe', 'readinessProbe'].map((probe) => container[probe]?.httpGet);
    expect(paths.map((p) => p?.port)).toEqual(['management', 'management', 'management']);
    for (const probe of paths) {
      const response = await fetch(`http://127.0.0.1:${String(ports.management)}${probe?.path ?? ''}`);
      expect(response.status, probe?.path).toBe(200);
    }
    expect((await fetch(`http://127.0.0.1:${String(ports.public)}/metrics`)).status).not.toBe(200);
  });

  it('emits every metric the chart reads, on a live /metrics scrape', async () => {
    const emitted = emittedSeries(await fetch(`http://127.0.0.1:${String(ports.management)}/metrics`).then((r) => r.text()));
    const everything = await renderChart({ valuesFiles: [ALL_FEATURES_VALUES] });
    const queries = [...chartQueries(objects), ...chartQueries(everything)];
    const missing = queries.flatMap((q) => metricNames(q.expr).filter((name) => !emitted.has(name)).map((name) => `${q.source}: ${name}`));
    expect(missing).toEqual([]);
  });

  it('returns data for every dashboard query', async () => {
    const server = prometheus;
    if (server === undefined) throw new Error('prometheus did not start');
    const dashboard = readDashboard();
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const match = /^label_values\((.+), (\w+)\)$/.exec(substitute(variable.definition ?? ''));
      expect(match, variable.name).not.toBeNull();
      expect(await server.labelValues(match?.[2] ?? '', match?.[1] ?? ''), variable.name).toContain({ namespace: NAMESPACE, job: JOB, pod: POD }[variable.name]);
    }
    const empty: string[] = [];
    const queries = dashboardQueries(dashboard).filter((q) => !q.source.startsWith('dashboard variable'));
    expect(queries.length).toBeGreaterThan(30);
    for (const query of queries) {
      const samples = await server.query(substitute(query.expr));
      if (!finite(samples)) empty.push(`${query.source}: ${substitute(query.expr)} → ${JSON.stringify(samples.map((s) => s.value[1]))}`);
    }
    expect(empty).toEqual([]);
    const events = await server.query(`sum(orgcast_events_consumed_total{job="${JOB}"})`);
    expect(Number(events[0]?.value[1])).toBeGreaterThan(0);
  });

  it('evaluates the rendered alert rules without errors; the health alerts stay quiet for a healthy pod', async () => {
    const server = prometheus;
    if (server === undefined) throw new Error('prometheus did not start');
    interface RuleState { name: string; health: string; lastError?: string; state: string; lastEvaluation: string }
    let rules: RuleState[] = [];
    await waitUntil('a rule evaluation', 10_000, async () => {
      const data = await server.api<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules');
      rules = data.groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => !r.lastEvaluation.startsWith('0001'));
    });
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
    // Latency and event-loop lag measure this machine's speed during start-up, not health.
    const performance = new Set(['OrgcastDeliveryLatencyHigh', 'OrgcastEventLoopLagHigh']);
    expect(rules.filter((r) => r.state !== 'inactive' && !performance.has(r.name)).map((r) => `${r.name}: ${r.state}`)).toEqual([]);
    expect(rules).toHaveLength(17);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const child = gateway;
    if (child === undefined) throw new Error('gateway did not start');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const closes = clients.filter((c) => c.socket.readyState === WebSocket.OPEN).map((c) => new Promise<number>((resolve) => c.socket.once('close', (code: number) => resolve(code))));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await Promise.all(closes)).toEqual(closes.map(() => 1012));
  });
});

