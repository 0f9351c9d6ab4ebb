import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../metrics/metrics.js';
import { OrganizationFeeds, type FeedBinder } from './organization-feeds.js';

function setup(options: Partial<{ bufferSize: number; bufferMs: number; lingerMs: number }> = {}) {
  const bound = new Set<string>();
  const calls: string[] = [];
  const binder: FeedBinder = {
    bindOrganization: async (org) => {
      calls.push(`bind ${org}`);
      bound.add(org);
    },
    unbindOrganization: async (org) => {
      calls.push(`unbind ${org}`);
      bound.delete(org);
    },
  };
  const published: Array<[string, string]> = [];
  let clock = 0;
  const feeds = new OrganizationFeeds(binder, { publish: (topic, text) => (published.push([topic, text]), 3) }, createMetrics({ collectDefaults: false }), pino({ level: 'silent' }), {
    bufferSize: 3, bufferMs: 1_000, lingerMs: 50, ...options,
  }, () => clock);
  const frame = (org: string, id: string) => ({ organizationId: org, id, frame: `{"id":"${id}"}`, publishedAtMs: undefined });
  return { feeds, bound, calls, published, frame, tick: (ms: number) => { clock += ms; } };
}

describe('OrganizationFeeds', () => {
  it('binds once on first interest and unbinds after the linger once nobody is left', async () => {
    vi.useFakeTimers();
    try {
      const { feeds, calls } = setup();
      await Promise.all([feeds.acquire('acme'), feeds.acquire('acme')]);
      expect(calls).toEqual(['bind acme']);
      feeds.release('acme');
      feeds.release('acme');
      await vi.advanceTimersByTimeAsync(20);
      await feeds.acquire('acme');
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toEqual(['bind acme']);
      feeds.release('acme');
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toEqual(['bind acme', 'unbind acme']);
      expect(feeds.isBound('acme')).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('publishes each id once, drops redeliveries and frames of unbound organizations', async () => {
    const { feeds, published, frame } = setup();
    await feeds.acquire('acme');
    expect(feeds.deliver(frame('acme', '5-0'))).toBe(3);
    expect(feeds.deliver(frame('acme', '5-0'))).toBe(0);
    expect(feeds.deliver(frame('acme', '4-9'))).toBe(0);
    expect(feeds.deliver(frame('acme', '5-1'))).toBe(3);
    expect(feeds.deliver(frame('globex', '9-0'))).toBe(0);
    expect(published.map(([topic, text]) => `${topic} ${text}`)).toEqual(['o/acme {"id":"5-0"}', 'o/acme {"id":"5-1"}']);
  });

  it('keeps recent frames for catch-up and says when the buffer no longer covers a point', async () => {
    const { feeds, frame, tick } = setup({ bufferSize: 3 });
    await feeds.acquire('acme');
    for (const id of ['1-0', '2-0', '3-0']) feeds.deliver(frame('acme', id));
    expect(feeds.framesAfter('acme', '1-0')).toEqual({ frames: [frame('acme', '2-0'), frame('acme', '3-0')], covered: true });
    feeds.deliver(frame('acme', '4-0'));
    expect(feeds.framesAfter('acme', '0-0').covered).toBe(false);
    expect(feeds.framesAfter('acme', '1-0').covered).toBe(true);
    tick(2_000);
    feeds.sweep();
    expect(feeds.framesAfter('acme', '3-0')).toEqual({ frames: [], covered: false });
    expect(feeds.framesAfter('acme', '4-0')).toEqual({ frames: [], covered: true });
  });

  it('advances to a newcomer\'s start: subscribers get the gap from history, late older frames are dropped', async () => {
    const { feeds, published, frame } = setup();
    await feeds.acquire('acme');
    feeds.deliver(frame('acme', '1-0'));
    feeds.advance('acme', '3-0', [frame('acme', '2-0'), frame('acme', '3-0'), frame('acme', '4-0')]);
    expect(feeds.lastDelivered('acme')).toBe('3-0');
    expect(published.map(([, text]) => text)).toEqual(['{"id":"1-0"}', '{"id":"2-0"}', '{"id":"3-0"}']);
    expect(feeds.deliver(frame('acme', '3-0'))).toBe(0);
    expect(feeds.deliver(frame('acme', '4-0'))).toBe(3);
    feeds.advance('acme', '2-0', []);
    expect(feeds.lastDelivered('acme')).toBe('4-0');
  });

  it('wakes long polls on the next frame of any of their organizations', async () => {
    const { feeds, frame } = setup();
    await feeds.acquire('globex');
    let woke = false;
    const waiting = feeds.waitForAny(['acme', 'globex'], 10_000).then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    feeds.deliver(frame('globex', '1-0'));
    await waiting;
    expect(woke).toBe(true);
  });
});
