import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret, mintDevToken } from './dev-token.js';
import { createAmqpTaskPublisher, parseTaskServiceEvent, type TaskServiceEvent } from './task-events.js';

const USAGE = `usage: npm run -s publish -- --org <id> [--type <event type>] [--data <json>] [--user <id>] [--url <gateway url>]

Publishes one event the way the task service does.
  With AMQP_URL set: to the RabbitMQ topic exchange AMQP_EXCHANGE (default "tasks"), waiting for the
  broker's confirm. Without it: to a running embedded gateway's POST /api/dev/events (--url, default
  http://127.0.0.1:$PORT, PORT default 8081) with a token minted from JWT_SECRET or the dev secret
  file (DEV_SECRET_FILE, default .orgcast-dev/jwt-secret).
  --type   task.event.created (default), task.event.updated,
           organization.member.added or organization.member.removed (these need --user)
  --data   the task payload as JSON (default {})`;

const NO_GATEWAY_HINT = 'Start one (npm start), or point --url (or PORT) at it. To publish to RabbitMQ instead, set AMQP_URL.';
/** What to set, by the gateway's answer to POST /api/dev/events. */
const HINTS: Record<number, string> = {
  404: 'That gateway has no dev publish endpoint: it runs connected (AMQP_URL is set where it runs), and takes events '
    + 'from RabbitMQ only. Set the same AMQP_URL (and AMQP_EXCHANGE, if not "tasks") in this shell: npm run publish then '
    + 'publishes to RabbitMQ, as the task service does. (Or start that gateway with DEV_PUBLISH_ENABLED=true.)',
  401: 'That gateway does not accept tokens signed here: set the JWT_SECRET it runs with in this shell (it signs with '
    + 'JWT_SECRET, else the dev secret file DEV_SECRET_FILE, default .orgcast-dev/jwt-secret), and the same '
    + 'JWT_ISSUER / JWT_AUDIENCE if it requires them.',
};

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): { message: TaskServiceEvent; url: string } | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        org: { type: 'string' },
        type: { type: 'string', default: 'task.event.created' },
        data: { type: 'string', default: '{}' },
        user: { type: 'string' },
        url: { type: 'string', default: `http://127.0.0.1:${env.PORT?.trim() || '8081'}` },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (values.help === true) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(values.data);
  } catch (error) {
    throw new UsageError('--data must be valid JSON', { cause: error });
  }
  const message = parseTaskServiceEvent({ eventType: values.type, organizationId: values.org, userId: values.user, data });
  if (typeof message === 'string') throw new UsageError(message);
  return { message, url: values.url };
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let request;
  try {
    request = parse(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`publish: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (request === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const amqpUrl = env.AMQP_URL?.trim();
  if (amqpUrl !== undefined && amqpUrl !== '') {
    const publisher = createAmqpTaskPublisher({ url: amqpUrl, exchange: env.AMQP_EXCHANGE?.trim() || 'tasks' });
    try {
      await publisher.publish(request.message);
    } finally {
      await publisher.close();
    }
    process.stdout.write(`published ${request.message.eventType} for ${request.message.organizationId} to RabbitMQ\n`);
    return 0;
  }
  const secret = env.JWT_SECRET?.trim() || await loadOrCreateDevSecret(env.DEV_SECRET_FILE?.trim() || '.orgcast-dev/jwt-secret');
  const token = await mintDevToken({ secret, userId: 'dev-publisher', organizations: [], ttlSeconds: 60, scopes: ['events:publish'], issuer: env.JWT_ISSUER?.trim() || undefined, audience: env.JWT_AUDIENCE?.trim() || undefined });
  const { message } = request;
  const body = 'userId' in message
    ? { event_type: message.eventType, organization_id: message.organizationId, user_id: message.userId }
    : { event_type: message.eventType, organization_id: message.organizationId, data: message.data };
  let response: Response;
  try {
    response = await fetch(new URL('/api/dev/events', request.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    process.stderr.write(`publish: no gateway answers at ${request.url} (${reason}).\n${NO_GATEWAY_HINT}\n`);
    return 1;
  }
  if (response.status !== 202) {
    const hint = HINTS[response.status];
    process.stderr.write(`publish: the gateway at ${request.url} answered ${response.status}: ${(await response.text()).trim()}${hint === undefined ? '' : `\n${hint}`}\n`);
    return 1;
  }
  process.stdout.write(`published ${message.eventType} for ${message.organizationId} via ${request.url}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`publish: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
