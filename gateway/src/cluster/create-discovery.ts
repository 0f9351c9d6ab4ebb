import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { PresenceStore } from '../presence/presence-store.js';
import type { PodDiscovery } from './pod-discovery.js';
import { createPresenceDiscovery } from './presence-discovery.js';

/**
 * The pod set: EndpointSlices of the headless Service inside Kubernetes, else Redis heartbeats.
 * The Kubernetes client is a large library: it is loaded only when it is used.
 */
export async function createDiscovery(config: Config, presence: PresenceStore, logger: Logger): Promise<PodDiscovery> {
  if (config.cluster.discovery === 'kubernetes') {
    const [{ KubeConfig }, { createKubernetesDiscovery }] = await Promise.all([import('@kubernetes/client-node'), import('./kubernetes-discovery.js')]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromCluster();
    return createKubernetesDiscovery({ kubeConfig, namespace: config.podNamespace!, serviceName: config.cluster.kubernetesService!, logger });
  }
  return createPresenceDiscovery({ presence, intervalMs: config.cluster.presenceHeartbeatMs, logger });
}
