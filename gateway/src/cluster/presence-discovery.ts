import type { Logger } from 'pino';
import type { PresenceStore } from '../presence/presence-store.js';
import type { PodDiscovery } from './pod-discovery.js';

/**
 * The live pod set from the pods' Redis heartbeats (outside Kubernetes, or when EndpointSlices are
 * not wanted): polled every `intervalMs`; a pod whose heartbeat expired drops out.
 */
export function createPresenceDiscovery(options: { presence: PresenceStore; intervalMs: number; logger: Logger }): PodDiscovery {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let running = false;
  let stopped = false;

  async function poll(onChange: (pods: readonly string[]) => void): Promise<void> {
    const pods = [...(await options.presence.livePods()).keys()].sort();
    const key = pods.join('\n');
    if (key !== last && !stopped) {
      last = key;
      onChange(pods);
    }
  }

  return {
    async start(onChange) {
      await poll(onChange);
      timer = setInterval(() => {
        if (running) return;
        running = true;
        poll(onChange)
          .catch((error: unknown) => options.logger.warn({ err: error }, 'could not read the live pods from Redis'))
          .finally(() => {
            running = false;
          });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
