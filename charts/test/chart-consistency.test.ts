import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/src/config/config.js';
import { envSchema } from '../../gateway/src/config/schema.js';
import { createMetrics } from '../../gateway/src/metrics/metrics.js';
import { REPO_ROOT } from '../../scripts/kube-tools.js';
import { CHART_MANAGED_ENV, configPropertySchemas, readValuesSchema, SECRET_ENV } from '../../scripts/chart-schema.js';
import { declaredSeries } from './support/exposition.js';
import { ALL_FEATURES_VALUES, findObject, renderChart, renderChartError, type K8sObject } from './support/helm.js';
import { chartQueries, metricNames } from './support/promql.js';

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { key: string } } }
interface Container { ports: { name: string; containerPort: number }[]; env: EnvVar[]; readinessProbe: { httpGet: { port: string } }; livenessProbe: { httpGet: { port: string } }; startupProbe: { httpGet: { port: string } }; lifecycle: { preStop: { sleep: { seconds: number } } } }
interface PodSpec { terminationGracePeriodSeconds: number; containers: Container[] }

const podSpec = (objects: readonly K8sObject[]) => (findObject(objects, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
const gatewayContainer = (objects: readonly K8sObject[]) => {
  const container = podSpec(objects).containers[0];
  if (container === undefined) throw new Error('no container');
  return container;
};

/** Sample credentials, shaped like the real ones, standing in for the Secret's values. */
const SECRET_SAMPLES: Record<string, string> = {
  JWT_SECRET: 'k'.repeat(48),
  JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
  JWT_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
  AMQP_URL: 'amqp://user:pass@rabbitmq:5672',
  REDIS_URL: 'redis://redis:6379',
};

/** The environment a pod of this Deployment would see. */
function podEnvironment(objects: readonly K8sObject[]): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const variable of gatewayContainer(objects).env) {
    if (variable.value !== undefined) environment[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') environment[variable.name] = 'orgcast-7d9f8c6b5-x2x4q';
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') environment[variable.name] = 'realtime';
    else if (variable.valueFrom?.secretKeyRef !== undefined) environment[variable.name] = SECRET_SAMPLES[variable.name] ?? 'unknown secret';
  }
  return environment;
}

/** Node's own variables the chart may set; everything else must be a gateway variable. */
const RUNTIME_ENV = new Set(['NODE_OPTIONS']);

describe('chart ↔ gateway consistency', () => {
  let defaults: K8sObject[];
  let everything: K8sObject[];
  let monitored: K8sObject[];

  beforeAll(async () => {
    [defaults, everything, monitored] = await Promise.all([
      renderChart(),
      renderChart({ valuesFiles: [ALL_FEATURES_VALUES] }),
      renderChart({ set: { 'metrics.prometheusRule.enabled': 'true', 'metrics.serviceMonitor.enabled': 'true', 'autoscaling.connections.enabled': 'true' } }),
    ]);
  });

  it('sets only environment variables the gateway reads (gateway/src/config/schema.ts)', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const objects of [defaults, everything]) {
      const unknown = gatewayContainer(objects).env.map((v) => v.name).filter((name) => !known.has(name) && !RUNTIME_ENV.has(name));
      expect(unknown).toEqual([]);
    }
    for (const name of [...CHART_MANAGED_ENV, ...SECRET_ENV]) expect(known.has(name), name).toBe(true);
  });

  it('offers every other gateway variable in values.schema.json, with the gateway\'s types and bounds', async () => {
    const schema = await readValuesSchema();
    const config = schema.properties.config as { properties: Record<string, unknown> };
    // Stale? Run: npx tsx scripts/chart-schema.ts
    expect(config.properties).toEqual(configPropertySchemas());
  });

  it('produces an environment the gateway accepts, listening on the ports the chart probes and exposes', () => {
    for (const objects of [defaults, everything]) {
      const config = loadConfig(podEnvironment(objects));
      const container = gatewayContainer(objects);
      const port = (name: string) => container.ports.find((p) => p.name === name)?.containerPort;
      expect(config.server.port).toBe(port('http'));
      expect(config.server.managementPort).toBe(port('management'));
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) expect(probe.httpGet.port).toBe('management');
      expect(config.podName).toBe('orgcast-7d9f8c6b5-x2x4q');
      expect(config.podNamespace).toBe('realtime');
      expect(config.embedded).toBe(false);
      const service = findObject(objects, 'Service', 'orgcast').spec as { ports: { targetPort: string }[] };
      expect(service.ports.map((p) => p.targetPort)).toEqual(['http']);
    }
  });

  it('produces a valid environment with Redis discovery too', async () => {
    const objects = await renderChart({ set: { 'kubernetesDiscovery.enabled': 'false', 'kubernetesDiscovery.podDeletionCost': 'false' } });
    const environment = podEnvironment(objects);
    expect([environment.DISCOVERY, environment.KUBERNETES_SERVICE, environment.POD_DELETION_COST_ENABLED]).toEqual(['redis', undefined, 'false']);
    expect(() => loadConfig(environment)).not.toThrow();
    const withoutService = { ...podEnvironment(defaults), KUBERNETES_SERVICE: '' };
    expect(() => loadConfig(withoutService)).toThrow(/KUBERNETES_SERVICE/);
  });

  it('derives the grace period from the drain the gateway will actually run, defaults included', async () => {
    const unset = await renderChart({ set: { 'config.SHUTDOWN_TIMEOUT_MS': 'null', 'config.DRAIN_WINDOW_MS': 'null' } });
    const environment = podEnvironment(unset);
    expect(environment.SHUTDOWN_TIMEOUT_MS).toBeUndefined();
    const config = loadConfig(environment);
    expect(config.lifecycle.shutdownTimeoutMs).toBe(envSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined));
    for (const objects of [defaults, unset]) {
      const shutdownMs = loadConfig(podEnvironment(objects)).lifecycle.shutdownTimeoutMs;
      const preStop = gatewayContainer(objects).lifecycle.preStop.sleep.seconds;
      expect(podSpec(objects).terminationGracePeriodSeconds).toBe(preStop + Math.ceil(shutdownMs / 1000) + 5);
    }
  });

  it('assumes the gateway\'s MAX_CONNECTIONS default when config leaves it unset', async () => {
    const gatewayDefault = envSchema.shape.MAX_CONNECTIONS.parse(undefined);
    const stderr = await renderChartError({ set: { 'config.MAX_CONNECTIONS': 'null', 'autoscaling.connections.enabled': 'true', 'autoscaling.connections.targetAveragePerPod': String(gatewayDefault) } });
    expect(stderr).toContain(`must be below config.MAX_CONNECTIONS (${String(gatewayDefault)})`);
    await expect(renderChart({ set: { 'config.MAX_CONNECTIONS': 'null', 'autoscaling.connections.enabled': 'true', 'autoscaling.connections.targetAveragePerPod': String(gatewayDefault - 1) } })).resolves.toBeDefined();
  });

  it('reads only metrics the gateway exports (HPA, KEDA, alerts, dashboard)', async () => {
    const exported = declaredSeries(await createMetrics().registry.metrics());
    const queries = [...chartQueries(defaults), ...chartQueries(everything), ...chartQueries(monitored)];
    const sources = new Set(queries.map((q) => q.source.split(' ')[0]));
    expect([...sources].sort()).toEqual(['ConfigMap/orgcast-dashboard', 'HorizontalPodAutoscaler/orgcast', 'PrometheusRule/orgcast', 'ScaledObject/orgcast']);
    const missing = queries.flatMap((q) => metricNames(q.expr).filter((name) => !exported.has(name)).map((name) => `${q.source}: ${name}`));
    expect(missing).toEqual([]);
    expect(queries.flatMap((q) => metricNames(q.expr)).length).toBeGreaterThan(40);
  });

  it('documents a runbook for every alert and the prometheus-adapter rule behind the HPA', async () => {
    const operations = await readFile(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...operations.matchAll(/^#{1,6} (.+)$/gm)].map((m) => (m[1] ?? '').toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const rule = findObject(monitored, 'PrometheusRule').spec as { groups: { rules: { alert: string; annotations: { runbook_url: string } }[] }[] };
    for (const alert of rule.groups.flatMap((g) => g.rules)) {
      const anchor = alert.annotations.runbook_url.split('#')[1] ?? '';
      expect(anchors.has(anchor), `docs/operations.md has no heading for #${anchor} (${alert.alert})`).toBe(true);
    }
    for (const anchor of ['autoscaling', 'draining', 'alerts', 'tuning', 'rbac']) expect(anchors.has(anchor), anchor).toBe(true);
    expect(operations).toMatch(/seriesQuery: 'orgcast_connections\{/);
    expect(operations).toContain('as: "orgcast_connections"');
  });
});
