import type { Logger } from 'pino';
import { replyError, replyJson, type HttpRoute } from '../http/http-exchange.js';
import { createBearerCheck } from './bearer-credential.js';

export interface AdminRoutesDeps {
  /** The bearer credential every admin request must carry (ADMIN_TOKEN). */
  readonly adminToken: string;
  /** Closes every connection of a user on every pod (4403, no automatic reconnect). */
  readonly disconnectUser: (userId: string, reason: string) => Promise<void>;
  readonly logger: Logger;
}

const DISCONNECT = /^\/admin\/users\/([^/]+)\/disconnect$/;

/** `POST /admin/users/<id>/disconnect` on the management port (only built when ADMIN_TOKEN is set). */
export function createAdminRoutes(deps: AdminRoutesDeps): HttpRoute[] {
  const allowed = createBearerCheck(deps.adminToken);
  return [{
    method: 'post',
    pattern: '/admin/users/:user/disconnect',
    handle: (exchange) => {
      if (!allowed(exchange.header('authorization') ?? '')) {
        deps.logger.warn('admin request refused: missing or wrong ADMIN_TOKEN bearer credential');
        replyError(exchange, 401, 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>', { 'www-authenticate': 'Bearer' });
        return;
      }
      const userId = decodedUserId(exchange.url);
      if (userId === undefined) {
        replyError(exchange, 400, 'invalid_request', 'a percent-encoded user id is required');
        return;
      }
      deps.disconnectUser(userId, 'disconnected by an operator').then(
        () => replyJson(exchange, 202, { status: 'accepted', user_id: userId }),
        (error: unknown) => {
          deps.logger.error({ err: error }, 'disconnect command failed');
          replyError(exchange, 503, 'unavailable', 'could not broadcast the command');
        },
      );
    },
  }];
}

function decodedUserId(url: string): string | undefined {
  const raw = DISCONNECT.exec(url)?.[1];
  if (raw === undefined) return undefined;
  try {
    const userId = decodeURIComponent(raw);
    return userId === '' ? undefined : userId;
  } catch {
    return undefined;
  }
}
