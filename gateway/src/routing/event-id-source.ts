/** Assigns each event an opaque id, unique within its organization. */
export interface EventIdSource {
  next(organizationId: string): string;
}

/**
 * Single-pod ids: `<pod epoch>-<sequence>` in base 36. Unique within the organization (and across
 * pods, since the pod name and start time are part of the epoch). Not resumable across pods: the
 * cluster's history store replaces it with ids shared by every pod.
 */
export function createLocalEventIdSource(podName: string, startedAtMs: number = Date.now()): EventIdSource {
  const epoch = `${podName}.${startedAtMs.toString(36)}`;
  let sequence = 0;
  return {
    next: () => {
      sequence += 1;
      return `${epoch}-${sequence.toString(36)}`;
    },
  };
}
