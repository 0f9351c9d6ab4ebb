import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgress } from '../report/progress.js';
import type { RunResult } from '../report/result.js';
import { runScenario } from '../run-scenario.js';
import { parseSettings } from '../settings.js';

/**
 * Runs a scenario the way the CLI does, with small numbers, into a temporary results folder;
 * returns the result read back from the JSON file and the HTML report text. Test support only.
 */
export async function smokeRun(args: readonly string[]): Promise<{ result: RunResult; html: string }> {
  const out = mkdtempSync(join(tmpdir(), 'orgcast-loadtest-'));
  try {
    const settings = parseSettings([...args, '--out', out, '--quiet', '--settle-ms', '300']);
    if (settings === undefined) throw new Error('smokeRun: --help given');
    const { files } = await runScenario(settings, { command: `loadtest ${args.join(' ')}`, progress: createProgress({ quiet: true }) });
    if (!existsSync(files.json) || !existsSync(files.html)) throw new Error('smokeRun: result files missing');
    return { result: JSON.parse(readFileSync(files.json, 'utf8')) as RunResult, html: readFileSync(files.html, 'utf8') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
