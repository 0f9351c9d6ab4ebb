import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { createAmqpTaskPublisher } from '../../gateway/src/tools/task-events.js';
import { DEMO_USERS } from './demo-users.js';
import { spawnGatewayChild, type GatewayChild } from './gateway-child.js';
import { GatewayProxy } from './proxy.js';
import { createTaskService, type TaskEventPublisher } from './task-service.js';
import { TaskStore, type Column, type Task } from './task-store.js';
import { transpileFile } from './transpile.js';

const DEMO_DIR = fileURLToPath(new URL('.', import.meta.url));
const SDK_DIR = fileURLToPath(new URL('../src/', import.meta.url));
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
};
/** Where the task service keeps its tasks unless told otherwise (kept across restarts). */
export const DEFAULT_TASKS_FILE = '.orgcast-dev/demo-tasks.json';
const PUBLISHER = 'demo-task-service';

export interface DemoOptions {
  /** Port of the page (0: any free port). Default 0. */
  readonly port?: number;
  readonly host?: string;
  /** Extra gateway environment (e.g. HEARTBEAT_INTERVAL_MS). */
  readonly gatewayEnv?: Record<string, string>;
  /** Gateway log lines (JSON). Default: dropped. */
  readonly onGatewayLog?: (line: string) => void;
  /** The task service's file. Default DEFAULT_TASKS_FILE. */
  readonly tasksFile?: string;
  /**
   * Connected mode: the gateway runs against this RabbitMQ and Redis, and the task service
   * publishes its events to the exchange (`AMQP_EXCHANGE`, default "tasks") as a real service does.
   * Without it both run embedded: the task service publishes through the gateway's dev endpoint.
   */
  readonly connected?: { readonly amqpUrl: string; readonly redisUrl: string; readonly exchange?: string };
}

export interface Demo {
  /** The page, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** The gateway behind the proxy, e.g. `http://127.0.0.1:41234`. */
  readonly gatewayUrl: string;
  /** Mints a token the way the page gets one. */
  token(userId: string, scopes?: readonly string[]): Promise<string>;
  /** Publishes a raw event through the gateway's dev endpoint (embedded mode), bypassing the task service. */
  publish(eventType: 'task.event.created' | 'task.event.updated', organizationId: string, data: unknown): Promise<void>;
  /** The task service's HTTP API as a demo user calls it (the page's form and buttons do the same). */
  createTask(userId: string, organizationId: string, title: string): Promise<Task>;
  moveTask(userId: string, organizationId: string, taskId: string, status: Column): Promise<Task>;
  /** `embedded` or `connected`. */
  readonly mode: 'embedded' | 'connected';
  stop(): Promise<void>;
}

/**
 * The live task board: a gateway (a child process with a fresh HS256 secret; embedded, or against
 * RabbitMQ and Redis with `connected`) and a task service behind a small server that serves the
 * page, transpiles the SDK and the page's TypeScript on the fly, mints development tokens for the
 * demo users, answers `/tasks` (the task service) and proxies `/api/*` to the gateway.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1';
  const secret = new TextEncoder().encode(randomBytes(32).toString('base64url'));
  const store = await TaskStore.open(options.tasksFile ?? DEFAULT_TASKS_FILE);
  const connected = options.connected;
  const exchange = connected?.exchange ?? 'tasks';
  const brokerEnv: Record<string, string> = connected === undefined ? {} : { AMQP_URL: connected.amqpUrl, REDIS_URL: connected.redisUrl, AMQP_EXCHANGE: exchange };
  const gateway: GatewayChild = await spawnGatewayChild({ JWT_SECRET: new TextDecoder().decode(secret), ...brokerEnv, ...options.gatewayEnv }, options.onGatewayLog ?? (() => undefined));
  const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  const proxy = new GatewayProxy('127.0.0.1', gateway.port);

  const mint = (userId: string, organizations: readonly string[], scopes: readonly string[] = []): Promise<string> =>
    new SignJWT({ org_ids: [...organizations], ...(scopes.length > 0 && { scope: scopes.join(' ') }) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);

  const devPublish = async (eventType: 'task.event.created' | 'task.event.updated', organizationId: string, data: unknown): Promise<void> => {
    const response = await fetch(`${gatewayUrl}/api/dev/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await mint(PUBLISHER, [], ['events:publish'])}` },
      body: JSON.stringify({ event_type: eventType, organization_id: organizationId, data }),
    });
    if (response.status !== 202) throw new Error(`publish refused with HTTP ${response.status}: ${await response.text()}`);
  };
  // Connected: to the topic exchange with a publisher confirm, exactly as the publisher contract says.
  const amqp = connected === undefined ? undefined : createAmqpTaskPublisher({ url: connected.amqpUrl, exchange });
  const publishTask: TaskEventPublisher = amqp === undefined
    ? (eventType, organizationId, task) => devPublish(eventType, organizationId, task)
    : (eventType, organizationId, task) => amqp.publish({ eventType, organizationId, data: task });
  const tasks = createTaskService({ store, secret, publish: publishTask });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`demo server error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname.startsWith('/api/')) {
      proxy.http(req, res);
      return;
    }
    if (await tasks.handle(req, res)) return;
    if (req.method !== 'GET') {
      send(res, 405, 'text/plain', 'method not allowed');
      return;
    }
    if (url.pathname === '/demo/users') {
      send(res, 200, 'application/json', JSON.stringify(DEMO_USERS));
      return;
    }
    if (url.pathname === '/demo/session') {
      const user = DEMO_USERS.find((u) => u.id === url.searchParams.get('user'));
      if (user === undefined) {
        send(res, 404, 'application/json', '{"error":"no such demo user"}');
        return;
      }
      send(res, 200, 'application/json', JSON.stringify({ user, token: await mint(user.id, user.organizations), mode: connected === undefined ? 'embedded' : 'connected' }));
      return;
    }
    const page = STATIC[url.pathname];
    if (page !== undefined) {
      send(res, 200, page.type, await readFile(resolve(DEMO_DIR, page.file)));
      return;
    }
    if (url.pathname === '/app.js') {
      send(res, 200, 'text/javascript; charset=utf-8', await transpileFile(resolve(DEMO_DIR, 'app.ts')));
      return;
    }
    const source = sdkSource(url.pathname);
    if (source !== undefined) {
      try {
        send(res, 200, 'text/javascript; charset=utf-8', await transpileFile(source));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        send(res, 404, 'text/plain', 'not found');
      }
      return;
    }
    send(res, 404, 'text/plain', 'not found');
  }

  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith('/api/ws')) proxy.upgrade(req, socket, head);
    else socket.destroy();
  });
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? 0, host, () => done());
    });
  } catch (error) {
    await gateway.stop();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const pageUrl = `http://${host}:${port}/`;
  let stopping: Promise<void> | undefined;
  const userToken = (userId: string, scopes: readonly string[] = []): Promise<string> => mint(userId, DEMO_USERS.find((u) => u.id === userId)?.organizations ?? [], scopes);
  const callTasks = async (userId: string, method: string, path: string, body: unknown): Promise<Task> => {
    const response = await fetch(new URL(path, pageUrl), {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await userToken(userId)}` },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { task?: Task; error?: string };
    if (!response.ok || answer.task === undefined) throw new Error(`task service answered ${response.status}: ${answer.error ?? ''}`);
    return answer.task;
  };

  return {
    url: pageUrl,
    gatewayUrl,
    mode: connected === undefined ? 'embedded' : 'connected',
    token: userToken,
    publish: devPublish,
    createTask: (userId, organizationId, title) => callTasks(userId, 'POST', '/tasks', { organization_id: organizationId, title }),
    moveTask: (userId, organizationId, taskId, status) => callTasks(userId, 'PATCH', `/tasks/${encodeURIComponent(organizationId)}/${encodeURIComponent(taskId)}`, { status }),
    stop: () => (stopping ??= (async () => {
      proxy.closeAll();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await amqp?.close();
      await gateway.stop();
    })()),
  };
}

/** `/src/a/b.js` → `client/src/a/b.ts`, only inside client/src and never a test or a fake. */
function sdkSource(pathname: string): string | undefined {
  if (!pathname.startsWith('/src/') || !pathname.endsWith('.js')) return undefined;
  const file = resolve(SDK_DIR, `.${pathname.slice('/src'.length, -'.js'.length)}.ts`);
  if (!file.startsWith(SDK_DIR.endsWith(sep) ? SDK_DIR : SDK_DIR + sep)) return undefined;
  if (file.endsWith('.test.ts') || file.includes(`${sep}testing${sep}`)) return undefined;
  return file;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
