import { readFileSync } from 'node:fs';

/** File descriptors a gateway needs besides its sockets (listen sockets, Redis, RabbitMQ, files). */
export const RESERVED_DESCRIPTORS = 256;

/**
 * The soft limit on open files of this process (Linux, from /proc/self/limits), or undefined when it
 * cannot be read or is unlimited. A gateway whose MAX_CONNECTIONS exceeds it runs out of descriptors
 * before it refuses connections, and then cannot even answer its probes.
 */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      // Not Linux, or no procfs: nothing to compare with.
      return undefined;
    }
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (match === null || match[1] === 'unlimited') return undefined;
  const soft = Number(match[1]);
  return Number.isSafeInteger(soft) ? soft : undefined;
}

/**
 * The number of connections this process can hold: `maxConnections`, lowered to the open-files limit
 * minus RESERVED_DESCRIPTORS when that is less (at least 1). The capacity gate then refuses upgrades
 * with 503 while descriptors remain for the probes, the brokers and the refusals themselves.
 */
export function connectionsWithinLimit(maxConnections: number, limit: number | undefined): number {
  if (limit === undefined) return maxConnections;
  return Math.max(1, Math.min(maxConnections, limit - RESERVED_DESCRIPTORS));
}
