import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionManager } from '../session/connection-manager.js';
import type { ClusterCommand } from './command-bus.js';

/** Applies a cross-pod command to this pod's connections. */
export function createCommandHandler(manager: ConnectionManager, metrics: GatewayMetrics, logger: Logger): (command: ClusterCommand) => void {
  return (command) => {
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
}
