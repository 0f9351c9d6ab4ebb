import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionManager } from '../session/connection-manager.js';
import type { CommandHandler } from './command-bus.js';

/** Applies cross-pod commands to this pod's connections; re-reads the membership state when some may have been missed. */
export function createCommandHandler(manager: ConnectionManager, metrics: GatewayMetrics, logger: Logger, options: { readonly storeRecentlyLost: () => boolean }): CommandHandler {
  const command: CommandHandler['command'] = (command) => {
    metrics.commandsReceived.inc({ type: command.type });
    if (command.type === 'membership') {
      const { change, position } = command;
      const affected = manager.applyMembership(change, position);
      metrics.membershipChanges.inc({ change: change.eventType === 'organization.member.removed' ? 'removed' : 'added' });
      logger.info({ organization: change.organizationId, user: change.userId, change: change.eventType, position, affected }, 'membership change applied');
    } else {
      const closed = manager.disconnectUser(command.userId, CloseCode.Revoked, command.reason, 'revoked');
      logger.info({ user: command.userId, closed }, 'user disconnected by command');
    }
  };
  return {
    command,
    missed: () => {
      metrics.commandsReceived.inc({ type: 'missed' });
      // After a loss of the store's data, only removals: a grant computed from it could undo a lost revocation.
      manager.reconcile(!options.storeRecentlyLost()).then(
        (changed) => logger.warn({ changed }, 'cluster commands may have been missed: every connection re-read its memberships'),
        (error: unknown) => logger.error({ err: error }, 're-reading memberships after missed commands failed'),
      );
    },
  };
}
