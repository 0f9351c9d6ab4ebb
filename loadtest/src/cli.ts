import { createProgress } from './report/progress.js';
import { textSummary } from './report/text-summary.js';
import { runScenario } from './run-scenario.js';
import { USAGE, UsageError, parseSettings } from './settings.js';

/** `npm run loadtest -- <scenario> [options]`. The only loadtest file that touches process.exit. */
async function main(argv: readonly string[]): Promise<number> {
  let settings;
  try {
    settings = parseSettings(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`loadtest: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (settings === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nloadtest: interrupted; finishing the current case and cleaning up (Ctrl-C again to abort)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  const progress = createProgress({ quiet: settings.quiet });
  const { result, files } = await runScenario(settings, { command: `npm run loadtest -- ${argv.join(' ')}`, progress, signal: controller.signal });
  process.stdout.write(`${textSummary(result)}\nresults: ${files.json}\nreport:  ${files.html}\n`);
  return 0;
}

void main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`loadtest: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
