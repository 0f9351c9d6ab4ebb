import { startCluster, type Cluster } from '../../../gateway/test/harness/cluster.js';
import { childPids } from '../../../gateway/test/harness/process-tree.js';
import { createAmqpLoadPublisher } from '../publisher/amqp-load-publisher.js';
import type { WatchedProcess } from '../sampling/process-sampler.js';
import { cleanupGatewayRun, gatewayExchange, loadtestGatewayEnv, type GatewayTargetOptions } from './gateway-target.js';
import type { Target } from './target.js';

export interface ClusterTargetOptions extends GatewayTargetOptions {
  /** nginx worker processes; each holds two descriptors per proxied connection (≤ 20,000 fds). */
  readonly nginxWorkers: number;
}

/**
 * orgcast as in Kubernetes: N pods behind nginx with `hash … consistent` (the cluster harness of
 * gateway/test/harness). Clients connect to nginx; a killed pod's clients are routed to the
 * others when they reconnect. nginx is sampled with the infrastructure.
 */
export async function startClusterTarget(options: ClusterTargetOptions): Promise<Target & { readonly cluster: Cluster }> {
  const { PORT: _port, MANAGEMENT_PORT: _management, ...env } = loadtestGatewayEnv(options);
  const cluster = await startCluster({
    pods: options.pods,
    env,
    namePrefix: `lt-${options.runId}`,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    stopTimeoutMs: 10_000,
    nginx: { workerProcesses: options.nginxWorkers, workerConnections: 9_900 },
  });
  const podNames = cluster.pods.map((p) => p.name);
  let publisher;
  try {
    publisher = await createAmqpLoadPublisher({ url: options.amqpUrl, exchange: gatewayExchange(options.runId) });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const loadBalancer = (): WatchedProcess[] => [cluster.nginx.pid, ...childPids(cluster.nginx.pid)].map((pid) => ({ name: `nginx-${pid}`, role: 'infra' as const, pid }));
  return {
    kind: 'orgcast',
    protocol: 'orgcast',
    cluster,
    endpoints: () => [{ host: '127.0.0.1', port: cluster.nginx.port }],
    servers: () => [
      ...cluster.pods.filter((p) => p.alive).map((p) => ({ name: p.name, role: 'server' as const, pid: p.process.pid, metricsUrl: `${p.managementUrl}/metrics` })),
      ...loadBalancer(),
    ],
    publisher,
    killPod: async (index) => {
      const pod = cluster.pods[index];
      if (pod !== undefined) await cluster.kill(pod.name, 'SIGKILL');
    },
    restartPod: async (index) => {
      const pod = cluster.pods[index];
      if (pod !== undefined) await cluster.restart(pod.name);
    },
    stop: async () => {
      try {
        await publisher.close();
      } finally {
        await cluster.stop();
        await cleanupGatewayRun({ ...options, podNames });
      }
    },
  };
}
