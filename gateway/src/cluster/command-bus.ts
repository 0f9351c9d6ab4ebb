import type { InboundMembershipChange } from '../consumer/event-source.js';

/** Commands every pod applies to its own connections. */
export type ClusterCommand =
  | { readonly type: 'membership'; readonly change: InboundMembershipChange }
  | { readonly type: 'disconnect_user'; readonly userId: string; readonly reason: string };

/**
 * Broadcast to every live pod, this one included. Delivery is at-most-once to the pods subscribed at
 * publish time (Redis pub/sub); what must survive a pod restart (membership overrides) is also kept
 * in a store and re-read on connect.
 */
export interface CommandBus {
  start(handler: (command: ClusterCommand) => void): Promise<void>;
  publish(command: ClusterCommand): Promise<void>;
  stop(): Promise<void>;
}

/** Single node: commands go straight to this pod's handler. */
export function createLocalCommandBus(): CommandBus {
  let handler: ((command: ClusterCommand) => void) | undefined;
  return {
    start: async (h) => {
      handler = h;
    },
    publish: async (command) => {
      handler?.(command);
    },
    stop: async () => {
      handler = undefined;
    },
  };
}

/** Parses a command received from another pod; undefined for anything malformed. */
export function parseCommand(text: string): ClusterCommand | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const command = value as Record<string, unknown>;
  if (command.type === 'disconnect_user' && typeof command.userId === 'string' && typeof command.reason === 'string') {
    return { type: 'disconnect_user', userId: command.userId, reason: command.reason };
  }
  if (command.type === 'membership' && command.change !== null && typeof command.change === 'object') {
    const c = command.change as Record<string, unknown>;
    if ((c.eventType === 'organization.member.added' || c.eventType === 'organization.member.removed')
      && typeof c.organizationId === 'string' && typeof c.userId === 'string' && typeof c.atMs === 'number') {
      return { type: 'membership', change: { eventType: c.eventType, organizationId: c.organizationId, userId: c.userId, atMs: c.atMs } };
    }
  }
  return undefined;
}
