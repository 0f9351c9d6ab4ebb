import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../demo/server.js';
import { TaskStore } from '../demo/task-store.js';
import { createClient, type OrgcastClient, type TaskEvent } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orgcast-task-service-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the demo task store', () => {
  it('keeps tasks across a restart, versions every change, and refuses bad input', async () => {
    const file = join(dir, 'store', 'tasks.json');
    const store = await TaskStore.open(file);
    const [a, b] = await Promise.all([store.create('acme', 'Write the docs', 'alice'), store.create('acme', 'Ship it', 'bob')]);
    const moved = await store.update('acme', a.id, 'doing', 'carol');
    expect(moved).toMatchObject({ id: a.id, status: 'doing', by: 'carol', version: 2 });
    const reopened = await TaskStore.open(file);
    expect(reopened.list('acme').map((t) => `${t.id}/${t.status}/${t.version}`).sort()).toEqual([`${a.id}/doing/2`, `${b.id}/todo/1`].sort());
    expect(reopened.list('globex')).toEqual([]);
    await expect(store.create('acme', '  ', 'alice')).rejects.toMatchObject({ status: 400 });
    await expect(store.update('acme', 'nope', 'done', 'alice')).rejects.toMatchObject({ status: 404 });
  });
});

describe('the demo task service, connected: it publishes to RabbitMQ like a real service', () => {
  let demo: Demo | undefined;
  let client: OrgcastClient | undefined;
  afterAll(async () => {
    await client?.close();
    await demo?.stop();
  }, 30_000);

  it('lists, creates and moves tasks over HTTP; each change reaches the organization\'s members through the broker', { timeout: 60_000 }, async () => {
    const run = randomBytes(3).toString('hex');
    demo = await startDemo({
      tasksFile: join(dir, 'connected.json'),
      connected: { amqpUrl: 'amqp://guest:guest@127.0.0.1:5672', redisUrl: 'redis://127.0.0.1:6379', exchange: `orgcast-demo-${run}` },
      gatewayEnv: { REDIS_KEY_PREFIX: `orgcast-demo-${run}:`, POD_NAME: `demo-${run}`, DRAIN_WINDOW_MS: '200', SHUTDOWN_TIMEOUT_MS: '3000' },
    });
    expect(demo.mode).toBe('connected');
    const aliceToken = await demo.token('alice');
    const received: TaskEvent[] = [];
    client = createClient({ url: demo.gatewayUrl, getToken: () => aliceToken, WebSocket: WebSocket as never, polling: false });
    client.on('task.event.created', (e) => received.push(e));
    client.on('task.event.updated', (e) => received.push(e));
    await new Promise<void>((resolve) => client!.onStatus((s) => s.type === 'connected' && resolve()));

    const task = await demo.createTask('alice', 'acme', 'Through the broker');
    await demo.moveTask('alice', 'acme', task.id, 'doing');
    await expect.poll(() => received.map((e) => `${e.event_type}/${(e.data as { status: string }).status}`), { timeout: 10_000 })
      .toEqual(['task.event.created/todo', 'task.event.updated/doing']);
    expect(received[1]!.data).toMatchObject({ id: task.id, title: 'Through the broker', version: 2 });

    // The HTTP side: the list, and refusals for another organization or without a token.
    const list = await fetch(new URL('/tasks?organization=acme', demo.url), { headers: { authorization: `Bearer ${aliceToken}` } });
    expect(await list.json()).toMatchObject({ tasks: [{ id: task.id, status: 'doing' }] });
    expect((await fetch(new URL('/tasks?organization=globex', demo.url), { headers: { authorization: `Bearer ${aliceToken}` } })).status).toBe(403);
    expect((await fetch(new URL('/tasks?organization=acme', demo.url))).status).toBe(401);
    // No dev endpoint on a connected gateway: the events above came through RabbitMQ.
    await expect(demo.publish('task.event.created', 'acme', { id: 'x' })).rejects.toThrow(/404/);
  });
});
