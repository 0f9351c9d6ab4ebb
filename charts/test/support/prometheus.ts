/** A throwaway Prometheus server (Debian package "prometheus") for the live dashboard test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireBinary } from './promtool.js';

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface PrometheusServer {
  readonly url: string;
  /** Instant query; throws PrometheusError on a query error. */
  query(expr: string): Promise<PromSample[]>;
  /** Values of a label among the series matching `match`. */
  labelValues(label: string, match: string): Promise<string[]>;
  /** GET on the HTTP API, `data` of the answer. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  readonly port: number;
  readonly scrapeConfigs: readonly Record<string, unknown>[];
  /** Rule groups to load (PrometheusRule `spec.groups`). */
  readonly ruleGroups?: readonly unknown[];
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const binary = await requireBinary('prometheus', 'prometheus');
  const directory = await mkdtemp(join(tmpdir(), 'orgcast-prometheus-'));
  const config: Record<string, unknown> = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    scrape_configs: options.scrapeConfigs,
  };
  if (options.ruleGroups !== undefined) {
    await writeFile(join(directory, 'rules.yaml'), stringify({ groups: options.ruleGroups }));
    config.rule_files = [join(directory, 'rules.yaml')];
  }
  await writeFile(join(directory, 'prometheus.yaml'), stringify(config));
  const url = `http://127.0.0.1:${String(options.port)}`;
  const child: ChildProcess = spawn(binary, [
    `--config.file=${join(directory, 'prometheus.yaml')}`,
    `--storage.tsdb.path=${join(directory, 'data')}`,
    `--web.listen-address=127.0.0.1:${String(options.port)}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-4_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new PrometheusError(`${path}: ${body.error ?? response.statusText}`);
    return body.data;
  }

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  }

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await rm(directory, { recursive: true, force: true });
      throw new PrometheusError(`prometheus exited with ${String(child.exitCode)}: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new PrometheusError(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    api,
    stop,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType !== 'vector') throw new PrometheusError(`${expr}: expected a vector, got ${data.resultType}`);
      return data.result;
    },
    async labelValues(label, match) {
      return api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`);
    },
  };
}
