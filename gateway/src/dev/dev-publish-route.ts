import type { Logger } from 'pino';
import { AuthError } from '../auth/auth-error.js';
import { extractToken } from '../auth/extract-token.js';
import type { TokenVerifier } from '../auth/principal.js';
import { EventTooLargeError } from '../events/event-too-large-error.js';
import { parseDevMessage, type DevPublishMessage } from './dev-publish-message.js';
import { replyError, replyJson, type HttpExchange, type HttpRoute } from '../http/http-exchange.js';

export const PUBLISH_SCOPE = 'events:publish';
/** Room for the request's own fields around an event's data of MAX_EVENT_BYTES. */
const BODY_OVERHEAD_BYTES = 16 * 1024;

/** Where the dev endpoint sends what it accepts: into the ingest stream (EventTransport.publishInbound). */
export type DevPublish = (message: DevPublishMessage) => Promise<void>;

/**
 * `POST /api/dev/events`: publish a task or membership event the way the task service would.
 * Exists only in embedded mode or with DEV_PUBLISH_ENABLED=true, and needs a token with the
 * `events:publish` scope.
 */
interface DevPublishDeps {
  readonly verifier: TokenVerifier;
  readonly publish: DevPublish;
  readonly logger: Logger;
  /** MAX_EVENT_BYTES: a larger event is refused with 413, as the pipeline would dead-letter it. */
  readonly maxEventBytes: number;
}

export function createDevPublishRoute(deps: DevPublishDeps): HttpRoute {
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

async function handle(exchange: HttpExchange, token: string | undefined, deps: DevPublishDeps): Promise<void> {
  // The body is read first: the transport only hands it over to a reader registered at once.
  const limit = deps.maxEventBytes + BODY_OVERHEAD_BYTES;
  const body = await exchange.body(limit);
  if (body === undefined) return;
  if (body === 'too_large') {
    replyError(exchange, 413, 'too_large', `body must be at most ${limit} bytes`);
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
  try {
    await deps.publish(message);
  } catch (error) {
    if (error instanceof EventTooLargeError) {
      replyError(exchange, 413, 'too_large', error.message);
      return;
    }
    deps.logger.warn({ err: error }, 'a dev publish was not confirmed');
    replyError(exchange, 503, 'unavailable', 'the event was not confirmed by the event transport (it may or may not have been published); retry', { 'retry-after': '1' });
    return;
  }
  replyJson(exchange, 202, { status: 'accepted' });
}
