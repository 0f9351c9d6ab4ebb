import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { createKubernetesDiscovery } from './kubernetes-discovery.js';
import type { PodDiscovery } from './pod-discovery.js';
import { createPresenceDiscovery } from './presence-discovery.js';

/** The pod set: EndpointSlices of the headless Service inside Kubernetes, else Redis heartbeats. */
export function createDiscovery(config: Config, presence: PresenceStore, logger: Logger): PodDiscovery {
  if (config.cluster.discovery === 'kubernetes') {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromCluster();
    return createKubernetesDiscovery({ kubeConfig, namespace: config.podNamespace!, serviceName: config.cluster.kubernetesService!, logger });
  }
  return createPresenceDiscovery({ presence, intervalMs: config.cluster.presenceHeartbeatMs, logger });
}
