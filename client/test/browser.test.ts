import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../demo/server.js';

/**
 * The live task board in a real browser: Debian's chromium driven by playwright-core (never a
 * downloaded browser), against the demo server and a real embedded gateway.
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Fast retries and upgrades, so the test sees the fallback and the way back within seconds. */
const TUNING = 'pollAfter=2&baseDelayMs=100&maxDelayMs=300&upgradeMs=1000';
/** Generous: CI runs other test files in parallel on two cores. */
const SOON = { timeout: 15_000 };

describe('live task board in chromium', () => {
  let demo: Demo;
  let profile: string;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await access(CHROMIUM, constants.X_OK).catch((error: unknown) => {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does)`, { cause: error });
    });
    profile = await mkdtemp(join(tmpdir(), 'orgcast-chromium-'));
    const [started, launched] = await Promise.allSettled([
      startDemo(),
      chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1100, height: 700 } }),
    ]);
    if (started.status === 'fulfilled') demo = started.value;
    if (launched.status === 'fulfilled') context = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await demo?.stop();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  async function open(user: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
    return page;
  }

  const status = (page: Page): Promise<string | null> => page.locator('#status').getAttribute('data-status');
  /** The cards on the board as sorted `org/task/column` strings. */
  const cards = (page: Page): Promise<string[]> =>
    page.locator('[data-task]').evaluateAll((elements) => elements.map((e) => {
      const d = (e as HTMLElement).dataset;
      return `${d.org}/${d.task}/${d.status}`;
    }).sort());
  const events = async (page: Page): Promise<number> => Number(await page.locator('body').getAttribute('data-events') ?? 0);

  it('shows each user only their organization\'s tasks, live, and keeps updating through polling when WebSockets are blocked', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    // Alice's WebSockets pass through a switch the test can flip to "blocked".
    let blocked = false;
    const live: WebSocketRoute[] = [];
    await alice.routeWebSocket(/\/api\/ws/, (ws) => {
      if (blocked) {
        void ws.close({ code: 1011, reason: 'blocked by the test' });
        return;
      }
      ws.connectToServer();
      live.push(ws);
    });
    await Promise.all([alice.goto(`${demo.url}?user=alice&${TUNING}`), bob.goto(`${demo.url}?user=bob&${TUNING}`)]);
    await expect.poll(() => status(alice), SOON).toBe('connected');
    await expect.poll(() => status(bob), SOON).toBe('connected');
    await expect(alice.locator('#who').textContent()).resolves.toContain('acme');

    // Events of both organizations; Alice also creates one through the page's form.
    await demo.publish('task.event.created', 'acme', { id: 'a1', title: 'Write the docs', status: 'todo' });
    await demo.publish('task.event.created', 'globex', { id: 'g1', title: 'Ship the release', status: 'todo' });
    await demo.publish('task.event.created', 'globex', { id: 'g2', title: 'Fix the build', status: 'todo' });
    await alice.locator('#create input[name="title"]').fill('Review the chart');
    await alice.locator('#create button').click();
    await expect.poll(() => events(alice), SOON).toBe(2);
    await expect.poll(() => events(bob), SOON).toBe(2);
    const formTask = await alice.locator('[data-task]:not([data-task="a1"])').getAttribute('data-task');
    expect(await cards(alice)).toEqual(['acme/a1/todo', `acme/${formTask}/todo`].sort());
    expect(await cards(bob)).toEqual(['globex/g1/todo', 'globex/g2/todo']);
    // Moving a card publishes task.event.updated; it comes back through the gateway.
    await alice.locator('[data-task="a1"] button[data-move]').click();
    await expect.poll(() => alice.locator('[data-column="doing"] [data-task="a1"]').count(), SOON).toBe(1);
    expect(await cards(alice)).toEqual(['acme/a1/doing', `acme/${formTask}/todo`].sort());
    await mkdir(ARTIFACTS, { recursive: true });
    await bob.screenshot({ path: join(ARTIFACTS, 'demo-board-bob.png') });

    // Block Alice's WebSockets and cut the live one: she falls back to /api/poll.
    blocked = true;
    await Promise.all(live.map((ws) => ws.close({ code: 1011, reason: 'network change' })));
    await expect.poll(() => status(alice), SOON).toBe('polling');
    await demo.publish('task.event.created', 'acme', { id: 'a3', title: 'Arrives by polling', status: 'todo' });
    await demo.publish('task.event.updated', 'acme', { id: 'a1', title: 'Write the docs', status: 'done' });
    await demo.publish('task.event.created', 'globex', { id: 'g3', title: 'Not for Alice', status: 'todo' });
    await expect.poll(() => events(alice), SOON).toBe(5);
    expect(await status(alice)).toBe('polling');
    expect(await cards(alice)).toEqual(['acme/a1/done', 'acme/a3/todo', `acme/${formTask}/todo`].sort());
    await expect.poll(() => events(bob), SOON).toBe(3);
    expect(await cards(bob)).toEqual(['globex/g1/todo', 'globex/g2/todo', 'globex/g3/todo']);
    await alice.screenshot({ path: join(ARTIFACTS, 'demo-board-polling.png') });

    // Unblock: the background upgrade brings her back to a WebSocket, resuming where polling was.
    blocked = false;
    await expect.poll(() => status(alice), SOON).toBe('connected');
    await demo.publish('task.event.created', 'acme', { id: 'a4', title: 'Back on the WebSocket', status: 'todo' });
    await expect.poll(() => events(alice), SOON).toBe(6);
    expect(await cards(alice)).toEqual(['acme/a1/done', 'acme/a3/todo', 'acme/a4/todo', `acme/${formTask}/todo`].sort());
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
