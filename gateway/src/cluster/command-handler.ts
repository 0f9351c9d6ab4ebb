import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionManager } from '../session/connection-manager.js';
import type { CommandHandler } from './command-bus.js';

/** Applies cross-pod commands to this pod's connections; re-reads the membership state when some may have been missed. */
export interface CommandHandlerOptions {
  /** Looks whether the store lost its data (the epoch check), before a reconcile decides what it may grant. */
  readonly checkStore: () => Promise<void>;
  readonly storeRecentlyLost: () => boolean;
  /** Wait before the next try of a failed reconcile (attempt 1, 2, ...). */
  readonly retryDelayMs: (attempt: number) => number;
}

/** Tries of a reconcile that keeps failing (Redis flapping) before it is left to the next missed command. */
const RECONCILE_ATTEMPTS = 20;

export function createCommandHandler(manager: ConnectionManager, metrics: GatewayMetrics, logger: Logger, options: CommandHandlerOptions): CommandHandler {
  let reconciling = false;
  let again = false;
  /**
   * Re-reads every connection's memberships, retried until it succeeds. After a loss of the store's
   * data only removals (a grant computed from it could undo a lost revocation): the epoch is looked
   * at first, since a counter that starts over is often heard before the periodic check sees the loss.
   */
  const reconcile = async (): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await options.checkStore();
        const changed = await manager.reconcile(!options.storeRecentlyLost());
        logger.warn({ changed }, 'cluster commands may have been missed: every connection re-read its memberships');
        return;
      } catch (error) {
        if (attempt >= RECONCILE_ATTEMPTS) throw error;
        logger.warn({ err: error, attempt }, 're-reading memberships after missed commands failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs(attempt)).unref());
      }
    }
  };
  const reconcileOnce = (): void => {
    if (reconciling) {
      again = true;
      return;
    }
    reconciling = true;
    reconcile().catch((error: unknown) => logger.error({ err: error }, 're-reading memberships after missed commands failed for good')).finally(() => {
      reconciling = false;
      if (again) {
        again = false;
        reconcileOnce();
      }
    });
  };
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
      reconcileOnce();
    },
  };
}
