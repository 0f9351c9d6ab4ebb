import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { PodDeletionCost } from './pod-deletion-cost.js';

/** The pod-deletion-cost updater when running in Kubernetes with it enabled; otherwise none. */
export async function createPodDeletionCostUpdater(config: Config, logger: Logger): Promise<PodDeletionCost | undefined> {
  if (!config.cluster.podDeletionCost || config.podNamespace === undefined) return undefined;
  const [{ KubeConfig }, { createPodDeletionCost }] = await Promise.all([import('@kubernetes/client-node'), import('./pod-deletion-cost.js')]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromCluster();
  return createPodDeletionCost({ kubeConfig, namespace: config.podNamespace, podName: config.podName, logger });
}
