import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ensureKubeTool, REPO_ROOT } from '../../../scripts/kube-tools.js';

const run = promisify(execFile);

export const CHART_DIR = join(REPO_ROOT, 'charts', 'orgcast');
export const FIXTURES_DIR = join(REPO_ROOT, 'charts', 'test', 'fixtures');
export const ALL_FEATURES_VALUES = join(FIXTURES_DIR, 'all-features.values.yaml');
/** The monitoring options the README gives for kube-prometheus-stack. */
export const KUBE_PROMETHEUS_STACK_VALUES = join(FIXTURES_DIR, 'kube-prometheus-stack.values.yaml');
/** The README's HTTPRoute attached to an existing Gateway's HTTPS listener (`--set` values). */
export const ROUTED: Readonly<Record<string, string>> = {
  'gatewayApi.enabled': 'true',
  'gatewayApi.parentRefs[0].name': 'public-gateway',
  'gatewayApi.parentRefs[0].sectionName': 'https',
};

/** A rendered Kubernetes object, as far as these tests care. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export class HelmError extends Error {
  override readonly name = 'HelmError';
  constructor(message: string, readonly stderr: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface HelmResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the helm binary from the npm package (see scripts/kube-tools.ts); rejects with HelmError. */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const binary = await ensureKubeTool('helm');
  try {
    const { stdout, stderr } = await run(binary, [...args], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
      // Keep helm away from the user's repositories, caches and plugins.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELM_CACHE_HOME: join(REPO_ROOT, '.tools', 'helm-home', 'cache'), HELM_CONFIG_HOME: join(REPO_ROOT, '.tools', 'helm-home', 'config'), HELM_DATA_HOME: join(REPO_ROOT, '.tools', 'helm-home', 'data') },
    });
    return { stdout, stderr };
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new HelmError(`helm ${args.join(' ')} failed: ${stderr.trim()}`, stderr, { cause: error });
  }
}

export interface RenderOptions {
  readonly valuesFiles?: readonly string[];
  readonly set?: Readonly<Record<string, string>>;
  readonly release?: string;
  readonly namespace?: string;
}

function renderArgs(options: RenderOptions): string[] {
  const args = ['--namespace', options.namespace ?? 'default'];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  return args;
}

/** `helm template` → parsed objects (comments and empty documents dropped). */
export async function renderChart(options: RenderOptions = {}): Promise<K8sObject[]> {
  const { stdout } = await helm(['template', options.release ?? 'orgcast', CHART_DIR, ...renderArgs(options)]);
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(stdout)) {
    if (document.errors.length > 0) throw new HelmError(`helm rendered invalid YAML: ${document.errors[0]?.message ?? ''}`, '');
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** `helm template` that is expected to fail: resolves with helm's error output. */
export async function renderChartError(options: RenderOptions): Promise<string> {
  try {
    await renderChart(options);
  } catch (error) {
    if (error instanceof HelmError) return error.stderr;
    throw error;
  }
  throw new Error(`helm template succeeded with ${JSON.stringify(options)}; expected a failure`);
}

export async function lintChart(options: RenderOptions = {}): Promise<HelmResult> {
  return helm(['lint', '--strict', CHART_DIR, ...renderArgs(options)]);
}

export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0] as K8sObject;
}
