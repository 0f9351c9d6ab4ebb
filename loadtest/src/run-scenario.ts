import { cpus, release, totalmem } from 'node:os';
import { compareCases } from './report/compare.js';
import { checkGoals } from './report/goals.js';
import type { Progress } from './report/progress.js';
import type { MachineInfo, RunResult } from './report/result.js';
import { writeResults } from './report/write-results.js';
import { connectScenario } from './scenarios/connect.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { idleScenario } from './scenarios/idle.js';
import { latencyScenario } from './scenarios/latency.js';
import { newRunId, type Scenario } from './scenarios/scenario-kit.js';
import { soakScenario } from './scenarios/soak.js';
import { stormScenario } from './scenarios/storm.js';
import type { RunSettings, ScenarioName } from './settings.js';

const SCENARIO_FUNCTIONS: Record<ScenarioName, Scenario> = {
  idle: idleScenario,
  connect: connectScenario,
  fanout: fanoutScenario,
  latency: latencyScenario,
  storm: stormScenario,
  soak: soakScenario,
};

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: process.platform,
    kernel: release(),
  };
}

export interface ScenarioRun {
  readonly result: RunResult;
  readonly files: { readonly json: string; readonly html: string };
}

/** Runs one scenario end to end and writes its JSON result and HTML report. */
export async function runScenario(settings: RunSettings, options: { command: string; progress: Progress; signal?: AbortSignal }): Promise<ScenarioRun> {
  const started = new Date();
  const runId = newRunId();
  const cases = await SCENARIO_FUNCTIONS[settings.scenario](settings, { runId, progress: options.progress, signal: options.signal ?? new AbortController().signal });
  const comparisons = compareCases(cases);
  const result: RunResult = {
    scenario: settings.scenario,
    command: options.command,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    machine: machineInfo(),
    options: { ...settings, runId },
    cases,
    comparisons,
    targetsChecked: checkGoals(settings.scenario, cases, comparisons, settings),
  };
  const files = await writeResults(settings.outDir, result);
  return { result, files };
}
