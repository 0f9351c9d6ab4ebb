import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { createPodDeletionCost, type PodDeletionCost } from './pod-deletion-cost.js';

/** The pod-deletion-cost updater when running in Kubernetes with it enabled; otherwise none. */
export function createPodDeletionCostUpdater(config: Config, logger: Logger): PodDeletionCost | undefined {
  if (!config.cluster.podDeletionCost || config.podNamespace === undefined) return undefined;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromCluster();
  return createPodDeletionCost({ kubeConfig, namespace: config.podNamespace, podName: config.podName, logger });
}
