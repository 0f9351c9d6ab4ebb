import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtmlReport } from './html-report.js';
import type { RunResult } from './result.js';

/** Writes `<scenario>-<timestamp>.json` and `.html` into `dir`; returns both paths. */
export async function writeResults(dir: string, result: RunResult): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  const base = join(dir, `${result.scenario}-${stamp}`);
  const json = `${base}.json`;
  const html = `${base}.html`;
  // Compact: timelines and histograms make indented files large; `jq` reads them.
  await writeFile(json, `${JSON.stringify(result, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
  await writeFile(html, renderHtmlReport(result));
  return { json, html };
}
