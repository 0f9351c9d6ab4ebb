import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnGateway, type GatewayProcess } from './gateway-process.js';
import { DEFAULT_HASH_KEY, normalizeHashKey } from './nginx-config.js';
import { startNginx, type NginxProcess, type NginxSettings } from './nginx-process.js';
import { childPids } from './process-tree.js';

export interface ClusterOptions {
  /** How many gateway processes to start. */
  readonly pods: number;
  /**
   * The environment of every pod on top of the harness defaults (HOST=127.0.0.1, PORT=0,
   * MANAGEMENT_PORT=0, TRUSTED_PROXIES=127.0.0.1); e.g. AMQP_URL, REDIS_URL, REDIS_KEY_PREFIX,
   * AMQP_EXCHANGE, JWT_SECRET. Without AMQP_URL and REDIS_URL each pod runs embedded, alone.
   * POD_NAME is always the harness's.
   */
  readonly env?: Record<string, string>;
  /** nginx's consistent-hash key (see normalizeHashKey). Default: the token (DEFAULT_HASH_KEY). */
  readonly hashKey?: string;
  /** nginx's port on 127.0.0.1. Default: a free one. */
  readonly port?: number;
  /** Pods are named `<namePrefix>-<n>`. Default `gw-<random hex>` (unique queue names per run). */
  readonly namePrefix?: string;
  /** Wait for each pod's /readyz to answer 200 before routing to it. Default true. */
  readonly waitReady?: boolean;
  /** Per pod: start-up plus readiness. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** How long a SIGTERMed pod may drain before it gets SIGKILL. Default 15 s. */
  readonly stopTimeoutMs?: number;
  readonly nginx?: { readonly workerProcesses?: number; readonly workerConnections?: number; readonly failTimeoutSeconds?: number };
  /** Every log line of every pod. */
  readonly onLog?: (pod: string, entry: Record<string, unknown>) => void;
  /** stderr of the pods (by pod name) and of nginx (`nginx`). */
  readonly onStderr?: (source: string, text: string) => void;
  /** The gateway's command line (see SpawnGatewayOptions.command). Default: the entry point through tsx. */
  readonly gatewayCommand?: readonly [string, ...string[]];
  /** Children in their own process groups (a CLI: Ctrl-C reaches only it, and it stops them in order). Default false. */
  readonly detached?: boolean;
}

export interface ClusterPod {
  readonly name: string;
  readonly port: number;
  readonly managementPort: number;
  readonly process: GatewayProcess;
  /** The pod's own WebSocket endpoint, bypassing nginx. */
  readonly wsUrl: string;
  readonly managementUrl: string;
  /** False once the process exited (killed, crashed or removed). */
  readonly alive: boolean;
}

export interface Cluster {
  /** WebSocket base URL through nginx (`ws://127.0.0.1:<port>`); the endpoint is `${url}/api/ws`. */
  readonly url: string;
  /** `${url}/api/ws`. */
  readonly wsUrl: string;
  /** HTTP base URL through nginx (for /api/poll). */
  readonly httpUrl: string;
  readonly nginx: NginxProcess;
  /** The pods nginx routes to, dead or alive, in start order. */
  readonly pods: readonly ClusterPod[];
  pod(name: string): ClusterPod;
  /**
   * Sends `signal` (default SIGKILL) and waits for the exit (another signal than SIGKILL gets a
   * SIGKILL after `stopTimeoutMs`). The pod stays in nginx's upstream: nginx routes around it.
   */
  kill(podName: string, signal?: NodeJS.Signals): Promise<number | string>;
  /** Stops the pod if it runs (SIGTERM), starts one with the same name on a new port, reloads nginx. */
  restart(podName: string): Promise<ClusterPod>;
  /** Starts one more pod (`env` on top of the cluster's) and adds it to nginx. */
  addPod(env?: Record<string, string>): Promise<ClusterPod>;
  /** Takes the pod out of nginx, then stops it gracefully (SIGTERM: it drains its clients). */
  removePod(podName: string): Promise<void>;
  /** Rewrites nginx's configuration from the current pods and reloads it. */
  reloadNginx(): Promise<void>;
  /** Stops nginx and every pod, waits for all exits, removes the temp directory. */
  stop(): Promise<void>;
}

interface PodEntry {
  readonly name: string;
  readonly process: GatewayProcess;
  readonly env: Record<string, string>;
}

/**
 * A local stand-in for the gateway in Kubernetes behind a consistent-hashing load balancer:
 * N gateway processes (the real entry point) with distinct POD_NAMEs, and nginx in front of them
 * (`hash <key> consistent`, WebSocket proxying), all children of this process.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (!Number.isInteger(options.pods) || options.pods < 1) throw new TypeError('startCluster: pods must be a positive integer');
  const hashKey = normalizeHashKey(options.hashKey ?? DEFAULT_HASH_KEY);
  const namePrefix = options.namePrefix ?? `gw-${randomBytes(3).toString('hex')}`;
  const waitReady = options.waitReady ?? true;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  const dir = mkdtempSync(join(tmpdir(), 'orgcast-cluster-'));
  // nginx's workers run as an unprivileged user when started by root: they need to reach the temp paths.
  chmodSync(dir, 0o755);

  const entries = new Map<string, PodEntry>();
  let nextIndex = 0;
  let nginx: NginxProcess | undefined;
  let reloads: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  const killEverything = (): void => {
    for (const entry of entries.values()) if (running(entry.process)) entry.process.kill('SIGKILL');
    if (nginx !== undefined) for (const pid of [nginx.pid, ...childPids(nginx.pid)]) signalQuietly(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // A last resort if the caller exits without stop(): no orphaned gateways or nginx, no temp directory.
  process.once('exit', killEverything);

  const settings = (): NginxSettings => ({
    hashKey,
    upstreams: [...entries.values()].map((e) => ({ port: e.process.port })),
    workerProcesses: options.nginx?.workerProcesses,
    workerConnections: options.nginx?.workerConnections,
    failTimeoutSeconds: options.nginx?.failTimeoutSeconds,
  });

  const view = (entry: PodEntry): ClusterPod => ({
    name: entry.name,
    port: entry.process.port,
    managementPort: entry.process.managementPort,
    process: entry.process,
    wsUrl: `ws://127.0.0.1:${entry.process.port}/api/ws`,
    managementUrl: `http://127.0.0.1:${entry.process.managementPort}`,
    get alive() {
      return running(entry.process);
    },
  });

  const entryOf = (name: string): PodEntry => {
    const entry = entries.get(name);
    if (entry === undefined) throw new Error(`no pod named ${name} in this cluster (pods: ${[...entries.keys()].join(', ')})`);
    return entry;
  };

  async function launch(name: string, env: Record<string, string>): Promise<PodEntry> {
    const gateway = await spawnGateway(
      { TRUSTED_PROXIES: '127.0.0.1', ...options.env, ...env, POD_NAME: name },
      {
        timeoutMs: startTimeoutMs,
        detached: options.detached,
        command: options.gatewayCommand,
        onLog: options.onLog && ((entry) => options.onLog!(name, entry)),
        onStderr: options.onStderr && ((text) => options.onStderr!(name, text)),
      },
    );
    const entry = { name, process: gateway, env };
    try {
      if (waitReady) await untilReady(entry, startTimeoutMs);
      // stop() began meanwhile and will not see this pod: it must not outlive the cluster.
      if (stopping !== undefined) throw new Error('the cluster stopped while a pod was starting');
    } catch (error) {
      await terminate(gateway, 'SIGKILL', stopTimeoutMs);
      throw error;
    }
    return entry;
  }

  async function terminateEntry(entry: PodEntry, signal: NodeJS.Signals): Promise<number | string> {
    return terminate(entry.process, signal, stopTimeoutMs);
  }

  function reloadNginx(): Promise<void> {
    const next = reloads.then(async () => {
      if (nginx === undefined) throw new Error('nginx is not running');
      await nginx.reload(settings());
    });
    reloads = next.catch(() => undefined);
    return next;
  }

  const assertRunning = (): void => {
    if (stopping !== undefined) throw new Error('the cluster is stopping');
  };

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      try {
        await nginx?.stop();
        await Promise.all([...entries.values()].map((entry) => terminateEntry(entry, 'SIGTERM')));
      } finally {
        process.removeListener('exit', killEverything);
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  }

  try {
    const started = await Promise.allSettled(Array.from({ length: options.pods }, () => launch(`${namePrefix}-${nextIndex++}`, {})));
    for (const result of started) if (result.status === 'fulfilled') entries.set(result.value.name, result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    nginx = await startNginx({
      dir,
      port: options.port,
      ...settings(),
      detached: options.detached,
      onStderr: options.onStderr && ((text) => options.onStderr!('nginx', text)),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const runningNginx = nginx;

  return {
    url: `ws://127.0.0.1:${runningNginx.port}`,
    wsUrl: `ws://127.0.0.1:${runningNginx.port}/api/ws`,
    httpUrl: `http://127.0.0.1:${runningNginx.port}`,
    nginx: runningNginx,
    get pods() {
      return [...entries.values()].map(view);
    },
    pod: (name) => view(entryOf(name)),
    async kill(podName, signal = 'SIGKILL') {
      return terminateEntry(entryOf(podName), signal);
    },
    async restart(podName) {
      assertRunning();
      const old = entryOf(podName);
      if (running(old.process)) await terminateEntry(old, 'SIGTERM');
      const fresh = await launch(podName, old.env);
      entries.set(podName, fresh);
      await reloadNginx();
      return view(fresh);
    },
    async addPod(env = {}) {
      assertRunning();
      const entry = await launch(`${namePrefix}-${nextIndex++}`, env);
      entries.set(entry.name, entry);
      await reloadNginx();
      return view(entry);
    },
    async removePod(podName) {
      assertRunning();
      const entry = entryOf(podName);
      entries.delete(podName);
      await reloadNginx();
      await terminateEntry(entry, 'SIGTERM');
    },
    reloadNginx,
    stop,
  };
}

function running(gateway: GatewayProcess): boolean {
  return gateway.child.exitCode === null && gateway.child.signalCode === null;
}

/** Sends `signal` unless the process already exited; SIGKILL after `timeoutMs`; resolves with the exit. */
async function terminate(gateway: GatewayProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<number | string> {
  if (running(gateway)) gateway.kill(signal);
  if (signal === 'SIGKILL') return gateway.exited;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([gateway.exited, deadline]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return outcome;
  if (running(gateway)) gateway.kill('SIGKILL');
  return gateway.exited;
}

async function untilReady(entry: PodEntry, timeoutMs: number): Promise<void> {
  const url = `http://127.0.0.1:${entry.process.managementPort}/readyz`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!running(entry.process)) throw new Error(`pod ${entry.name} exited before it was ready: ${entry.process.stderr()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pod ${entry.name} not ready within ${timeoutMs} ms (${last})`);
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
