/**
 * What can be checked of k8s/kind and the kind workflow without a cluster: the manifests and the
 * kind values validate, and the pieces agree with each other and with up.sh.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/kube-tools.js';
import { findObject, renderChart, type K8sObject } from './support/helm.js';
import { schemaProblems, typeProblems } from './support/k8s-validate.js';

const run = promisify(execFile);
const KIND_DIR = join(REPO_ROOT, 'k8s', 'kind');
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const manifests = (path: string) => parseAllDocuments(read(path)).map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);

describe('k8s/kind', () => {
  let chart: K8sObject[];
  let dev: K8sObject[];
  let upScript: string;

  beforeAll(async () => {
    chart = await renderChart({ namespace: 'orgcast', valuesFiles: [join(KIND_DIR, 'values-kind.yaml')], set: { 'image.repository': 'orgcast', 'image.tag': 'dev' } });
    dev = [...manifests('k8s/kind/redis.yaml'), ...manifests('k8s/kind/rabbitmq.yaml'), ...manifests('k8s/kind/envoy-gateway.yaml')];
    for (const object of dev) object.metadata.namespace ??= 'orgcast';
    upScript = read('k8s/kind/up.sh');
  });

  it('has manifests and kind values that match their schemas, without unknown fields', async () => {
    const all = [...chart, ...dev];
    expect(await schemaProblems(all)).toEqual([]);
    expect(typeProblems(all)).toEqual([]);
    expect(dev.map((o) => o.kind).sort()).toEqual(['Deployment', 'Deployment', 'EnvoyProxy', 'GatewayClass', 'Service', 'Service']);
  });

  it('deploys two gateway pods behind a chart-owned Gateway with HTTP and HTTPS listeners', () => {
    const deployment = findObject(chart, 'Deployment');
    expect(at(deployment.spec, 'replicas')).toBe(2);
    expect(at(deployment.spec, 'template.spec.containers')).toEqual([expect.objectContaining({ image: 'orgcast:dev', imagePullPolicy: 'Never' })]);
    const gateway = findObject(chart, 'Gateway');
    expect(at(gateway.spec, 'gatewayClassName')).toBe(at(findObject(dev, 'GatewayClass').metadata, 'name'));
    expect((at(gateway.spec, 'listeners') as { name: string; port: number }[]).map((l) => [l.name, l.port])).toEqual([['https', 443], ['http', 80]]);
    expect(chart.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  it('pins the Envoy node ports that the kind cluster maps to localhost', () => {
    const kind = parse(read('k8s/kind/kind-config.yaml')) as { nodes: { role: string; extraPortMappings?: { containerPort: number }[] }[] };
    const mapped = kind.nodes.flatMap((n) => n.extraPortMappings ?? []).map((m) => m.containerPort).sort();
    const patched = (at(findObject(dev, 'EnvoyProxy').spec, 'provider.kubernetes.envoyService.patch.value.spec.ports') as { nodePort: number }[]).map((p) => p.nodePort).sort();
    expect(mapped).toEqual(patched);
    expect(kind.nodes.filter((n) => n.role === 'worker').length).toBeGreaterThanOrEqual(2);
  });

  it('creates the Secret keys the chart reads, pointing at the dev Services and user', () => {
    const literals = new Map([...upScript.matchAll(/--from-literal=([\w-]+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    const secretKeys = (findObject(chart, 'Deployment').spec as { template: { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } })
      .template.spec.containers[0]?.env.flatMap((e) => (e.valueFrom?.secretKeyRef === undefined ? [] : [e.valueFrom.secretKeyRef])) ?? [];
    expect(secretKeys.map((k) => k.name)).toEqual(secretKeys.map(() => 'orgcast'));
    for (const { key } of secretKeys) expect(literals.has(key), `up.sh creates ${key}`).toBe(true);

    const amqpUrl = new URL(literals.get('amqp-url') ?? '');
    const redisUrl = new URL(literals.get('redis-url') ?? '');
    const servicePort = (name: string) => (findObject(dev, 'Service', name).spec as { ports: { port: number }[] }).ports.map((p) => p.port);
    expect(servicePort(amqpUrl.hostname)).toContain(Number(amqpUrl.port));
    expect(servicePort(redisUrl.hostname)).toContain(Number(redisUrl.port));
    const rabbitEnv = (at(findObject(dev, 'Deployment', 'rabbitmq').spec, 'template.spec.containers') as { env: { name: string; value: string }[] }[])[0]?.env ?? [];
    expect(rabbitEnv).toEqual(expect.arrayContaining([{ name: 'RABBITMQ_DEFAULT_USER', value: amqpUrl.username }, { name: 'RABBITMQ_DEFAULT_PASS', value: amqpUrl.password }]));
  });

  it('has an executable up.sh that bash can parse, and a workflow that runs it', async () => {
    accessSync(join(KIND_DIR, 'up.sh'), constants.X_OK);
    await run('bash', ['-n', join(KIND_DIR, 'up.sh')]);
    expect(upScript).toContain('k8s/kind/smoke.ts');
    expect(upScript).toContain('--affinity --min-pods 2');
    const workflow = parse(read('.github/workflows/kind-e2e.yml')) as { jobs: Record<string, { steps: { run?: string; uses?: string; with?: Record<string, unknown> }[] }> };
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    expect(steps.some((s) => s.run?.includes('k8s/kind/up.sh') === true)).toBe(true);
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node') === true)?.with?.['node-version']).toBe(Number(/node:(\d+)/.exec(read('Dockerfile'))?.[1]));
  });
});
