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
