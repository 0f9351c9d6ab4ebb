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
      startDemo({ tasksFile: join(profile, 'demo-tasks.json') }),
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

  /** Every answer of 400 or more the pages got (the favicon included). */
  const failedRequests: string[] = [];

  async function open(user: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${user}: ${response.status()} ${new URL(response.url()).pathname}`);
    });
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

    // Tasks of both organizations, created through the task service (which publishes each one);
    // Alice also creates one through the page's form.
    await Promise.all([alice, bob].map((page) => expect.poll(() => page.locator('body').getAttribute('data-loaded'), SOON).toBe('true')));
    const a1 = await demo.createTask('alice', 'acme', 'Write the docs');
    const g1 = await demo.createTask('bob', 'globex', 'Ship the release');
    const g2 = await demo.createTask('bob', 'globex', 'Fix the build');
    await alice.locator('#create input[name="title"]').fill('Review the chart');
    await alice.locator('#create button').click();
    await expect.poll(() => events(alice), SOON).toBe(2);
    await expect.poll(() => events(bob), SOON).toBe(2);
    const formTask = await alice.locator(`[data-task]:not([data-task="${a1.id}"])`).getAttribute('data-task');
    expect(await cards(alice)).toEqual([`acme/${a1.id}/todo`, `acme/${formTask}/todo`].sort());
    expect(await cards(bob)).toEqual([`globex/${g1.id}/todo`, `globex/${g2.id}/todo`].sort());
    // Moving a card is a PATCH to the task service; its task.event.updated comes back through the gateway.
    await alice.locator(`[data-task="${a1.id}"] button[data-move]`).click();
    await expect.poll(() => alice.locator(`[data-column="doing"] [data-task="${a1.id}"]`).count(), SOON).toBe(1);
    expect(await cards(alice)).toEqual([`acme/${a1.id}/doing`, `acme/${formTask}/todo`].sort());
    await mkdir(ARTIFACTS, { recursive: true });
    await bob.screenshot({ path: join(ARTIFACTS, 'demo-board-bob.png') });

    // Block Alice's WebSockets and cut the live one: she falls back to /api/poll.
    blocked = true;
    await Promise.all(live.map((ws) => ws.close({ code: 1011, reason: 'network change' })));
    await expect.poll(() => status(alice), SOON).toBe('polling');
    const a3 = await demo.createTask('carol', 'acme', 'Arrives by polling');
    await demo.moveTask('carol', 'acme', a1.id, 'done');
    const g3 = await demo.createTask('bob', 'globex', 'Not for Alice');
    await expect.poll(() => events(alice), SOON).toBe(5);
    expect(await status(alice)).toBe('polling');
    const aliceBoard = [`acme/${a1.id}/done`, `acme/${a3.id}/todo`, `acme/${formTask}/todo`].sort();
    expect(await cards(alice)).toEqual(aliceBoard);
    await expect.poll(() => events(bob), SOON).toBe(3);
    expect(await cards(bob)).toEqual([`globex/${g1.id}/todo`, `globex/${g2.id}/todo`, `globex/${g3.id}/todo`].sort());
    await alice.screenshot({ path: join(ARTIFACTS, 'demo-board-polling.png') });

    // Unblock: the background upgrade brings her back to a WebSocket, resuming where polling was.
    blocked = false;
    await expect.poll(() => status(alice), SOON).toBe('connected');
    const a4 = await demo.createTask('alice', 'acme', 'Back on the WebSocket');
    await expect.poll(() => events(alice), SOON).toBe(6);
    const finalBoard = [...aliceBoard, `acme/${a4.id}/todo`].sort();
    expect(await cards(alice)).toEqual(finalBoard);

    // A reload keeps the board: the page loads the task service's state, then goes live again.
    await alice.reload();
    await expect.poll(() => alice.locator('body').getAttribute('data-loaded'), SOON).toBe('true');
    expect(await cards(alice)).toEqual(finalBoard);
    await expect.poll(() => status(alice), SOON).toBe('connected');
    expect(await events(alice)).toBe(0);
    const a5 = await demo.createTask('carol', 'acme', 'After the reload');
    await expect.poll(() => cards(alice), SOON).toEqual([...finalBoard, `acme/${a5.id}/todo`].sort());
    await alice.screenshot({ path: join(ARTIFACTS, 'demo-board-after-reload.png') });
    expect(pageErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
  }, 90_000);

  it('fits a 390 px wide phone: the form\'s button is fully visible and nothing scrolls sideways', async () => {
    const page = await open('carol-phone');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${demo.url}?user=carol`);
    await expect.poll(() => page.locator('body').getAttribute('data-loaded'), SOON).toBe('true');
    await expect.poll(() => status(page), SOON).toBe('connected');
    const box = await page.locator('#create button').boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The button's text is not cut off inside the button either.
    expect(await page.locator('#create button').evaluate((b) => b.scrollWidth <= b.clientWidth)).toBe(true);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-board-390px.png'), fullPage: true });
    expect(failedRequests).toEqual([]);
  }, 60_000);
});
