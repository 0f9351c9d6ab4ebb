import { readFileSync, writeFileSync } from 'node:fs';
import { renderHtmlReport } from './html-report.js';
import { markdownSummary } from './markdown.js';
import type { RunResult } from './result.js';

/**
 * `tsx loadtest/src/report/render-cli.ts <result.json>...`: writes the HTML report next to each
 * JSON result (results/published keeps only the JSON) and prints its markdown summary.
 */
for (const file of process.argv.slice(2)) {
  const result = JSON.parse(readFileSync(file, 'utf8')) as RunResult;
  const html = file.replace(/\.json$/, '.html');
  writeFileSync(html, renderHtmlReport(result));
  process.stdout.write(`${markdownSummary(result)}\nreport: ${html}\n`);
}
