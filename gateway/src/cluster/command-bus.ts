import type { InboundMembershipChange } from '../events/inbound-event.js';
import { isEventId } from '../history/event-id.js';
import { NO_COMMAND_FENCE, type CommandFence } from './command-progress.js';

/** Commands every pod applies to its own connections. */
export type ClusterCommand =
  /**
   * `position`: the organization's last history id when the change was sequenced. A member added
   * receives every event after it; a member removed, every event up to it and none after.
   */
  | { readonly type: 'membership'; readonly change: InboundMembershipChange; readonly position: string }
  | { readonly type: 'disconnect_user'; readonly userId: string; readonly reason: string };

/** What a pod does with the commands it hears. */
export interface CommandHandler {
  /** Each command, in publish order, at least once (a redelivery is harmless: applying is idempotent). */
  command(command: ClusterCommand): void;
  /**
   * Commands may have been missed (the pod was away longer than the bus keeps them, or the bus lost
   * its data): the pod re-reads the state the commands carried (the membership store).
   */
  missed(): void;
}

/**
 * Broadcast to every live pod, this one included, in publish order. A pod that was away (a Redis
 * reconnection) hears what it missed when it is back; when that cannot be known for sure, it is
 * told to re-read (`missed`). What must survive a pod restart (membership overrides) is also kept
 * in a store and read on connect.
 */
export interface CommandBus {
  start(handler: CommandHandler): Promise<void>;
  /**
   * Resolves with the command's number in the bus's order once it is on the bus; undefined when
   * the bus applies commands as they are published (nothing to wait for).
   */
  publish(command: ClusterCommand): Promise<number | undefined>;
  /** How far this pod has applied the commands (command-progress.ts). */
  readonly fence: CommandFence;
  stop(): Promise<void>;
}

/** Single node: commands go straight to this pod's handler. */
export function createLocalCommandBus(): CommandBus {
  let handler: CommandHandler | undefined;
  return {
    start: async (h) => {
      handler = h;
    },
    publish: async (command) => {
      handler?.command(command);
      return undefined;
    },
    fence: NO_COMMAND_FENCE,
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
      && typeof c.organizationId === 'string' && typeof c.userId === 'string' && typeof c.atMs === 'number' && isEventId(command.position)) {
      return { type: 'membership', change: { eventType: c.eventType, organizationId: c.organizationId, userId: c.userId, atMs: c.atMs }, position: command.position };
    }
  }
  return undefined;
}
