import { constants, readFileSync } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report.js';
import type { RunResult } from './result.js';

/**
 * The HTML report of a real published run (the full fan-out of BENCHMARKS.md), re-rendered and
 * opened in Debian's chromium: the plots fill the page's width, the legends sit above the plots,
 * and the axes carry round numbers. The screenshot goes to test-artifacts/.
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = join(REPO, 'test-artifacts');
const RESULT = join(REPO, 'loadtest/results/published/full-2026-11-27-ordered-sequencing/fanout-2026-11-27T07-43-50Z.json');

describe('the HTML report in chromium', () => {
  let browser: Browser | undefined;
  let dir: string;
  beforeAll(async () => {
    await access(CHROMIUM, constants.X_OK);
    dir = await mkdtemp(join(tmpdir(), 'orgcast-report-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows full-width plots with the legend above each plot and round axis ticks', { timeout: 60_000 }, async () => {
    const result = JSON.parse(readFileSync(RESULT, 'utf8')) as RunResult;
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtmlReport(result));
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`file://${file}`);
    const charts = await page.locator('.charts svg').evaluateAll((svgs) => svgs.map((svg) => {
      const el = svg as SVGSVGElement;
      const container = el.parentElement!.getBoundingClientRect().width;
      const legend = (el.querySelector('.legend') as SVGGElement | null)?.getBBox();
      const plot = el.querySelector('.plot') as SVGGElement | null;
      return {
        title: el.querySelector('text')?.textContent ?? '',
        widthShare: el.getBoundingClientRect().width / container,
        legendBottom: legend === undefined ? undefined : legend.y + legend.height,
        plotTop: plot === null ? undefined : Number(plot.dataset.top ?? plot.getAttribute('data-top')),
        yTicks: [...el.querySelectorAll('.y-tick')].map((t) => t.textContent ?? ''),
      };
    }));
    expect(charts.length).toBeGreaterThanOrEqual(5);
    for (const chart of charts) {
      expect(chart.widthShare, chart.title).toBeGreaterThan(0.95);
      if (chart.plotTop === undefined) continue;
      expect(chart.legendBottom, chart.title).toBeLessThanOrEqual(chart.plotTop);
      // Round numbers: 0, s, 2s, … with s = 1, 2, 2.5 or 5 times a power of ten.
      const values = chart.yTicks.map(tickValue);
      const step = values[1]! - values[0]!;
      expect(values[0], chart.title).toBe(0);
      expect(isNiceStep(step), `${chart.title}: ${chart.yTicks.join(' ')}`).toBe(true);
      values.forEach((v, i) => expect(Math.abs(v - i * step), `${chart.title}: ${chart.yTicks.join(' ')}`).toBeLessThan(step * 1e-6));
    }
    const latency = charts.find((c) => c.title.startsWith('Latency distribution'));
    expect(latency?.yTicks.at(-1)).toBe('100%');
    expect(charts.flatMap((c) => c.yTicks)).not.toContain('105%');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'loadtest-report.png'), fullPage: true });
    await page.locator('.charts').first().screenshot({ path: join(ARTIFACTS, 'loadtest-report-plots.png') });
  });
});

/** `5,000` → 5000, `12.5k` → 12500, `2.0M` → 2e6, `75%` → 75, `40 MiB` → 40. */
function tickValue(text: string): number {
  const match = /^([\d,.]+)\s*([kM]?)/.exec(text.trim());
  if (match === null) throw new Error(`not a number: ${text}`);
  return Number(match[1]!.replaceAll(',', '')) * (match[2] === 'k' ? 1e3 : match[2] === 'M' ? 1e6 : 1);
}

function isNiceStep(step: number): boolean {
  if (!(step > 0)) return false;
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  return [1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-9);
}
