/**
 * Smoke test of a deployed gateway (used by k8s/kind/up.sh):
 *   npx tsx k8s/kind/smoke.ts --url ws://127.0.0.1:18081/api/ws --secret <JWT_SECRET> --amqp amqp://…
 * connects with a development token, publishes a task event to RabbitMQ and waits for it.
 * Through a Gateway add --host orgcast.local (Host header and TLS server name), --insecure for a
 * self-signed certificate, and --affinity to check sticky routing: connections with the same
 * `affinity` key land on the same pod and different keys reach at least --min-pods pods. With
 * --host, the management endpoints must not be routed.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

class SmokeError extends Error {
  override readonly name = 'SmokeError';
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    secret: { type: 'string' },
    amqp: { type: 'string' },
    exchange: { type: 'string', default: 'tasks' },
    host: { type: 'string' },
    insecure: { type: 'boolean', default: false },
    affinity: { type: 'boolean', default: false },
    'min-pods': { type: 'string', default: '2' },
    timeout: { type: 'string', default: '15000' },
  },
});
const url = values.url ?? '';
const secret = values.secret ?? '';
if (url === '' || secret === '') throw new SmokeError('usage: smoke.ts --url ws://host:port/api/ws --secret <JWT_SECRET> [--amqp URL] [--host NAME] [--insecure] [--affinity]');
const timeoutMs = Number(values.timeout);
const log = (message: string) => process.stdout.write(`smoke: ${message}\n`);

interface Frame { event_type: string; data?: { pod?: string; id?: string } }

async function token(user: string, organizations: string[]): Promise<string> {
  return new SignJWT({ org_ids: organizations }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));
}

interface Connection { socket: WebSocket; frames: Frame[]; pod: string }

async function connect(query: Record<string, string>): Promise<Connection> {
  const target = new URL(url);
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
  // ws hands TLS options such as servername through to tls.connect (its types omit them).
  const options: WebSocket.ClientOptions & { servername?: string } = {
    headers: values.host === undefined ? {} : { host: values.host },
    servername: values.host,
    rejectUnauthorized: !values.insecure,
  };
  const socket = new WebSocket(target, options);
  const frames: Frame[] = [];
  socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Frame));
  let failure: Error | undefined;
  socket.on('error', (error: Error) => {
    failure ??= error;
  });
  socket.once('unexpected-response', (request, response) => {
    failure ??= new SmokeError(`upgrade refused with HTTP ${String(response.statusCode)}`);
    response.resume();
    request.destroy();
  });
  const deadline = Date.now() + timeoutMs;
  let established: Frame | undefined;
  while (established === undefined) {
    established = frames.find((f) => f.event_type === 'connection.established');
    if (established !== undefined) break;
    if (failure !== undefined || Date.now() > deadline) {
      if (socket.readyState === WebSocket.OPEN) socket.terminate();
      throw failure ?? new SmokeError(`no connection.established from ${target.origin} within ${String(timeoutMs)} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { socket, frames, pod: established.data?.pod ?? '' };
}

async function waitFor(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new SmokeError(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** HTTP status of a plain GET through the same entry (Host header and TLS name applied). */
async function httpStatus(path: string): Promise<number> {
  const target = new URL(path, url.replace(/^ws/, 'http'));
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(target, { headers: values.host === undefined ? {} : { host: values.host }, servername: values.host, rejectUnauthorized: !values.insecure }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

/** The first connection retries until the deadline: a route may take a moment to reach the proxy. */
async function connectWithRetry(query: Record<string, string>): Promise<Connection> {
  const deadline = Date.now() + 2 * timeoutMs;
  for (;;) {
    try {
      return await connect(query);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      log(`not yet: ${error instanceof Error ? error.message : String(error)}; retrying`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

const opened: Connection[] = [];
try {
  const organization = `smoke-${randomUUID().slice(0, 8)}`;
  const member = await connectWithRetry({ access_token: await token('smoke-user', [organization]) });
  opened.push(member);
  log(`connected to pod ${member.pod}`);

  if (values.amqp !== undefined) {
    const id = randomUUID();
    const connection = await amqp.connect(values.amqp);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(values.exchange, 'task.event.created', Buffer.from(JSON.stringify({ event_type: 'task.event.created', organization_id: organization, data: { id }, timestamp: Date.now() })), { contentType: 'application/json', persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    await waitFor('the published event', () => member.frames.some((f) => f.event_type === 'task.event.created' && f.data?.id === id));
    log('published event delivered');
  }

  if (values.affinity) {
    const placements = new Map<string, Set<string>>();
    for (let k = 0; k < 16; k += 1) {
      const key = `key-${String(k)}-${randomUUID().slice(0, 6)}`;
      const pods = new Set<string>();
      for (let i = 0; i < 3; i += 1) {
        const connection = await connect({ access_token: await token(`user-${String(k)}-${String(i)}`, ['smoke']), affinity: key });
        opened.push(connection);
        pods.add(connection.pod);
      }
      placements.set(key, pods);
    }
    const split = [...placements].filter(([, pods]) => pods.size !== 1);
    if (split.length > 0) throw new SmokeError(`same affinity key on several pods: ${split.map(([key, pods]) => `${key} → ${[...pods].join(', ')}`).join('; ')}`);
    const used = new Set([...placements.values()].flatMap((pods) => [...pods]));
    log(`16 keys × 3 connections: every key stayed on one pod; pods used: ${[...used].join(', ')}`);
    if (used.size < Number(values['min-pods'])) throw new SmokeError(`expected keys on at least ${values['min-pods']} pods, got ${String(used.size)}: is hashing spreading the keys?`);
  }

  if (values.host !== undefined) {
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      const status = await httpStatus(path);
      if (status !== 404) throw new SmokeError(`${path} through the entry answered ${String(status)}; the management port must not be routed`);
    }
    log('management endpoints are not routed');
  }
  log('ok');
} finally {
  for (const connection of opened) connection.socket.close(1000, 'smoke test done');
}
