import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownSummary } from './report/markdown.js';
import { createProgress } from './report/progress.js';
import { textSummary } from './report/text-summary.js';
import { machineInfo, runScenario } from './run-scenario.js';
import { parseSettings } from './settings.js';

/**
 * `npm run bench [-- --size small] [--only fanout,latency]`: the benchmark suite behind
 * BENCHMARKS.md, one scenario after the other, each against orgcast and the baselines. `full` is
 * the size BENCHMARKS.md reports (it needs the machine to itself, about 50 minutes); `small` is
 * a quick check of the same steps.
 */
const FULL: ReadonlyArray<readonly string[]> = [
  ['idle', '--connections', '19000', '--hold-ms', '10000', '--concurrency', '500', '--client-processes', '2'],
  ['idle', '--connections', '76000', '--pods', '4', '--targets', 'orgcast', '--client-processes', '5', '--concurrency', '500', '--hold-ms', '10000'],
  ['connect', '--connections', '19000', '--concurrency', '500', '--client-processes', '2'],
  ['fanout', '--connections', '19000', '--members', '10,100,1000', '--deliveries-per-second', '50000', '--duration', '30', '--client-processes', '2'],
  ['latency', '--connections', '19000', '--members', '100', '--deliveries-per-second', '50000', '--duration', '30', '--client-processes', '2'],
  // 4 pods of 12,500: the 3 survivors can absorb a killed pod's clients within the 20,000 open files
  // a process may hold here (4 pods of 19,000 cannot: the survivors would need 25,000 each).
  ['storm', '--pods', '4', '--connections', '50000', '--members', '100', '--rate', '100', '--duration', '40', '--kill-after-ms', '15000', '--client-processes', '3', '--concurrency', '500'],
  ['soak', '--connections', '19000', '--members', '100', '--deliveries-per-second', '2000', '--duration', '600', '--heartbeat-ms', '25000', '--targets', 'orgcast'],
];

const SMALL: ReadonlyArray<readonly string[]> = [
  ['idle', '--connections', '2000'],
  ['connect', '--connections', '2000'],
  ['fanout', '--connections', '2000', '--members', '10,100,1000', '--deliveries-per-second', '20000', '--duration', '10'],
  ['latency', '--connections', '2000', '--members', '100', '--deliveries-per-second', '20000', '--duration', '10'],
  ['storm', '--pods', '2', '--connections', '2000', '--members', '100', '--rate', '50', '--duration', '12', '--kill-after-ms', '5000'],
  ['soak', '--connections', '2000', '--members', '100', '--deliveries-per-second', '1000', '--duration', '15', '--targets', 'orgcast'],
];

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { size: { type: 'string', default: 'full' }, only: { type: 'string' }, out: { type: 'string', default: 'loadtest/results' } } });
  if (values.size !== 'full' && values.size !== 'small') {
    process.stderr.write('bench: --size must be full or small\n');
    return 2;
  }
  const only = values.only?.split(',');
  const steps = (values.size === 'full' ? FULL : SMALL).filter((step) => only === undefined || only.includes(step[0]!));
  const progress = createProgress();
  const started = new Date();
  const machine = machineInfo();
  const sections: string[] = [
    `## Benchmark run ${started.toISOString()} (${values.size})`,
    '',
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${(machine.memoryBytes / 1024 ** 3).toFixed(0)} GiB, Node ${machine.node}, ${machine.platform} ${machine.kernel}.`,
    '',
  ];
  for (const step of steps) {
    const command = `npm run loadtest -- ${step.join(' ')}`;
    progress.log(`bench: ${command}`);
    const settings = parseSettings([...step, '--out', values.out]);
    if (settings === undefined) continue;
    const { result, files } = await runScenario(settings, { command, progress });
    process.stdout.write(`${textSummary(result)}\n`);
    sections.push(markdownSummary(result, files));
  }
  await mkdir(values.out, { recursive: true });
  const file = join(values.out, `bench-${values.size}-${started.toISOString().replace(/[:.]/g, '-')}.md`);
  await writeFile(file, sections.join('\n'));
  process.stdout.write(`bench summary: ${file}\n`);
  return 0;
}

void main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
