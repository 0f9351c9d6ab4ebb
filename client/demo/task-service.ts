import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import { COLUMNS, TaskStore, TaskStoreError, type Column, type Task } from './task-store.js';

/** How a task change reaches the gateway: RabbitMQ in connected mode, the dev endpoint when embedded. */
export type TaskEventPublisher = (eventType: 'task.event.created' | 'task.event.updated', organizationId: string, task: Task) => Promise<void>;

export interface TaskService {
  /** Answers `/tasks…` requests; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  readonly store: TaskStore;
}

const MAX_BODY_BYTES = 16 * 1024;

/**
 * The demo's task service, as a real one would be: it owns the tasks (stored in a file), lets a
 * signed-in user list, create and move the tasks of their organizations, and publishes each change
 * as `task.event.created` / `task.event.updated` after it is stored. Requests carry the user's token
 * (`Authorization: Bearer`, the same JWT the gateway accepts); its `org_ids` decide what they may see.
 *
 *   GET   /tasks?organization=<org>          → 200 {"tasks": [...]}
 *   POST  /tasks {"organization_id","title"} → 201 {"task": {...}}, then task.event.created
 *   PATCH /tasks/<org>/<id> {"status"}       → 200 {"task": {...}}, then task.event.updated
 */
export function createTaskService(deps: { store: TaskStore; secret: Uint8Array; publish: TaskEventPublisher }): TaskService {
  const { store, publish } = deps;

  async function caller(req: IncomingMessage): Promise<{ userId: string; organizations: readonly string[] }> {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (token === '') throw new HttpError(401, 'send Authorization: Bearer <token>');
    try {
      const { payload } = await jwtVerify(token, deps.secret);
      const organizations = Array.isArray(payload.org_ids) ? payload.org_ids.filter((o): o is string => typeof o === 'string') : [];
      return { userId: payload.sub ?? '', organizations };
    } catch (error) {
      throw new HttpError(401, `token refused: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  function member(organizations: readonly string[], organization: unknown): string {
    if (typeof organization !== 'string' || organization === '') throw new HttpError(400, 'organization is required');
    if (!organizations.includes(organization)) throw new HttpError(403, `not a member of ${organization}`);
    return organization;
  }

  async function route(req: IncomingMessage, url: URL): Promise<{ status: number; body: unknown }> {
    const user = await caller(req);
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    if (req.method === 'GET' && parts.length === 1) {
      const organization = member(user.organizations, url.searchParams.get('organization'));
      return { status: 200, body: { tasks: store.list(organization) } };
    }
    if (req.method === 'POST' && parts.length === 1) {
      const body = await jsonBody(req);
      const organization = member(user.organizations, body.organization_id);
      const task = await store.create(organization, typeof body.title === 'string' ? body.title : '', user.userId);
      await publish('task.event.created', organization, task);
      return { status: 201, body: { task } };
    }
    if (req.method === 'PATCH' && parts.length === 3) {
      const organization = member(user.organizations, parts[1]);
      const body = await jsonBody(req);
      const status = body.status as Column;
      if (!COLUMNS.includes(status)) throw new HttpError(400, `status must be one of ${COLUMNS.join(', ')}`);
      const task = await store.update(organization, parts[2] ?? '', status, user.userId);
      await publish('task.event.updated', organization, task);
      return { status: 200, body: { task } };
    }
    throw new HttpError(405, 'GET /tasks?organization=, POST /tasks, PATCH /tasks/<org>/<id>');
  }

  return {
    store,
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://demo');
      if (url.pathname !== '/tasks' && !url.pathname.startsWith('/tasks/')) return false;
      let status: number;
      let body: unknown;
      try {
        ({ status, body } = await route(req, url));
      } catch (error) {
        if (error instanceof HttpError || error instanceof TaskStoreError) {
          status = error.status;
          body = { error: error.message };
        } else {
          throw error;
        }
      }
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
      return true;
    },
  };
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(400, `body must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'body must be a JSON object');
}
