import type { Logger } from 'pino';
import { AuthError } from '../auth/auth-error.js';
import { extractToken } from '../auth/extract-token.js';
import type { TokenVerifier } from '../auth/principal.js';
import { parseDevMessage, type DevPublishMessage } from './dev-publish-message.js';
import { replyError, replyJson, type HttpExchange, type HttpRoute } from '../http/http-exchange.js';

export const PUBLISH_SCOPE = 'events:publish';
const MAX_BODY_BYTES = 64 * 1024;

/** Where the dev endpoint sends what it accepts: into the ingest stream (EventTransport.publishInbound). */
export type DevPublish = (message: DevPublishMessage) => Promise<void>;

/**
 * `POST /api/dev/events`: publish a task or membership event the way the task service would.
 * Exists only in embedded mode or with DEV_PUBLISH_ENABLED=true, and needs a token with the
 * `events:publish` scope.
 */
export function createDevPublishRoute(deps: { verifier: TokenVerifier; publish: DevPublish; logger: Logger }): HttpRoute {
  return {
    method: 'post',
    pattern: '/api/dev/events',
    handle: (exchange) => {
      const token = extractToken(exchange.header('authorization') ?? '', '');
      handle(exchange, token, deps).catch((error: unknown) => {
        deps.logger.error({ err: error }, 'dev publish failed');
        replyError(exchange, 500, 'internal', 'publish failed');
      });
    },
  };
}

async function handle(exchange: HttpExchange, token: string | undefined, deps: { verifier: TokenVerifier; publish: DevPublish }): Promise<void> {
  const body = await exchange.body(MAX_BODY_BYTES);
  if (body === undefined) return;
  if (body === 'too_large') {
    replyError(exchange, 413, 'too_large', `body must be at most ${MAX_BODY_BYTES} bytes`);
    return;
  }
  if (token === undefined) {
    replyError(exchange, 401, 'unauthorized', 'missing token: send Authorization: Bearer <jwt>');
    return;
  }
  try {
    const principal = await deps.verifier.verify(token);
    if (!principal.scopes.includes(PUBLISH_SCOPE)) {
      replyError(exchange, 403, 'forbidden', `token lacks the ${PUBLISH_SCOPE} scope`);
      return;
    }
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    replyError(exchange, 401, 'unauthorized', error.message);
    return;
  }
  const message = parseDevMessage(body);
  if (typeof message === 'string') {
    replyError(exchange, 400, 'invalid_event', message);
    return;
  }
  await deps.publish(message);
  replyJson(exchange, 202, { status: 'accepted' });
}
