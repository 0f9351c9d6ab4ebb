import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { durationSeconds } from './support/duration.js';
import { ALL_FEATURES_VALUES, KUBE_PROMETHEUS_STACK_VALUES, ROUTED, findObject, renderChart, type K8sObject } from './support/helm.js';
import { schemaProblems, typeProblems } from './support/k8s-validate.js';
import { DASHBOARD_PATH, readDashboard } from './support/promql.js';

/* Loose views of the rendered objects: the validators below check their real shape. */
interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }
interface Probe { httpGet: { path: string; port: string | number } }
interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: EnvVar[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle: { preStop: { sleep: { seconds: number } } };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; runAsNonRoot: boolean; privileged: boolean; capabilities: { drop: string[] } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  serviceAccountName: string;
  securityContext: { runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } };
  containers: Container[];
  volumes: { name: string; emptyDir?: unknown }[];
  topologySpreadConstraints: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
}
interface DeploymentSpec { replicas?: number; selector: { matchLabels: Record<string, string> }; strategy: { rollingUpdate: { maxUnavailable: number | string } }; template: { spec: PodSpec } }
interface ServicePort { name: string; port: number; targetPort: string | number }

const deploymentSpec = (objects: readonly K8sObject[]) => findObject(objects, 'Deployment').spec as unknown as DeploymentSpec;
const container = (objects: readonly K8sObject[]) => {
  const found = deploymentSpec(objects).template.spec.containers.find((c) => c.name === 'gateway');
  if (found === undefined) throw new Error('no gateway container');
  return found;
};
const env = (objects: readonly K8sObject[]) => new Map(container(objects).env.map((e) => [e.name, e]));
const kinds = (objects: readonly K8sObject[]) => objects.map((o) => o.kind).sort();
const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);

describe('helm template', () => {
  let defaults: K8sObject[];
  let everything: K8sObject[];
  let headerSticky: K8sObject[];
  let querySticky: K8sObject[];
  /** Attached to an existing Gateway, as the README's install command does. */
  let routed: K8sObject[];
  /** The kube-prometheus-stack options of the README. */
  let monitoring: K8sObject[];

  beforeAll(async () => {
    [defaults, everything, headerSticky, querySticky, routed, monitoring] = await Promise.all([
      renderChart(),
      renderChart({ valuesFiles: [ALL_FEATURES_VALUES], namespace: 'realtime' }),
      renderChart({ set: { 'stickiness.type': 'Header', 'stickiness.name': 'X-Orgcast-Key', 'ingress.enabled': 'true', ...ROUTED } }),
      renderChart({ set: { 'ingress.enabled': 'true', ...ROUTED } }),
      renderChart({ set: ROUTED }),
      renderChart({ valuesFiles: [KUBE_PROMETHEUS_STACK_VALUES] }),
    ]);
  });

  it('renders only objects of built-in kinds by default (a plain cluster), and every optional one when all features are on', () => {
    expect(kinds(defaults)).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount']);
    for (const object of defaults) expect(object.apiVersion, object.kind).toMatch(/^(v1|apps\/v1|autoscaling\/v2|policy\/v1|rbac\.authorization\.k8s\.io\/v1)$/);
    expect(kinds(routed)).toEqual(['BackendTrafficPolicy', 'ConfigMap', 'Deployment', 'HTTPRoute', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount']);
    expect(kinds(monitoring)).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) expect(findObject(monitoring, kind).metadata.labels?.release, kind).toBe('kube-prometheus-stack');
    expect(findObject(monitoring, 'ConfigMap', 'orgcast-dashboard').metadata.labels?.grafana_dashboard).toBe('1');
    expect(kinds(everything)).toEqual([
      'BackendTrafficPolicy', 'ClientTrafficPolicy', 'ConfigMap', 'Deployment', 'Gateway', 'HTTPRoute', 'Ingress', 'NetworkPolicy',
      'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'ScaledObject', 'Service', 'Service', 'ServiceAccount', 'ServiceMonitor',
    ]);
    for (const object of [...defaults, ...everything]) expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBeDefined();
  });

  it('every rendered object matches its Kubernetes or CRD schema, without unknown fields', async () => {
    const all = [...defaults, ...everything, ...headerSticky, ...querySticky, ...routed, ...monitoring];
    expect(await schemaProblems(all)).toEqual([]);
    expect(typeProblems(all)).toEqual([]);
  });

  it('the validators reject an unknown field, a wrong type and a missing required field', async () => {
    const broken = structuredClone(routed);
    const spec = findObject(broken, 'Deployment').spec as unknown as DeploymentSpec & { template: { spec: { containers: (Container & { imagePullPolicyy?: string })[] } } };
    const gateway = spec.template.spec.containers[0];
    if (gateway === undefined) throw new Error('no container');
    gateway.imagePullPolicyy = 'Always';
    const route = findObject(broken, 'HTTPRoute').spec as { rules: { timeouts: Record<string, unknown> }[] };
    if (route.rules[0] !== undefined) route.rules[0].timeouts.request = 3600;
    const policy = findObject(broken, 'BackendTrafficPolicy').spec as { loadBalancer: Record<string, unknown> };
    delete policy.loadBalancer.type;

    const problems = [...await schemaProblems(broken), ...typeProblems(broken)].join('\n');
    expect(problems).toMatch(/Deployment\/orgcast: .*'"imagePullPolicyy"' does not exist/);
    expect(problems).toMatch(/HTTPRoute\/orgcast: .*(must be string|not assignable to type 'string')/);
    expect(problems).toMatch(/BackendTrafficPolicy\/orgcast: .*type/);
  });

  describe('Deployment', () => {
    it('gets pod name and namespace from the downward API, and credentials from the existing Secret', () => {
      const vars = env(defaults);
      expect(vars.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      expect(vars.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
      for (const [name, key] of [['JWT_SECRET', 'jwt-secret'], ['AMQP_URL', 'amqp-url'], ['REDIS_URL', 'redis-url']] as const) {
        expect(vars.get(name)?.valueFrom?.secretKeyRef).toEqual({ name: 'orgcast', key });
      }
      expect(vars.has('JWT_PUBLIC_KEY')).toBe(false);
      const custom = env(everything);
      expect(custom.get('JWT_PUBLIC_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'orgcast-credentials', key: 'jwt-public-key' });
      expect(custom.has('JWT_SECRET')).toBe(false);
      expect(custom.get('MAX_CONNECTIONS')?.value).toBe('1000000');
      expect(custom.get('DEV_PUBLISH_ENABLED')?.value).toBe('false');
      expect(custom.get('NODE_OPTIONS')?.value).toBe('--max-old-space-size=768');
      expect([...custom.keys()].filter((name) => name === 'HEARTBEAT_INTERVAL_MS')).toHaveLength(1);
    });

    it('discovers pods through the headless Service and keeps the pod deletion cost', () => {
      const vars = env(defaults);
      expect(vars.get('DISCOVERY')?.value).toBe('kubernetes');
      expect(vars.get('KUBERNETES_SERVICE')?.value).toBe(findObject(defaults, 'Service', 'orgcast-headless').metadata.name);
      expect(vars.get('POD_DELETION_COST_ENABLED')?.value).toBe('true');
    });

    it('probes the management port: startup and liveness on /healthz, readiness on /readyz', () => {
      const c = container(defaults);
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'management' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'management' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'management' });
      expect(c.ports.map((p) => [p.name, p.containerPort])).toEqual([['http', 8081], ['management', 9091]]);
    });

    it('waits out preStop plus the whole shutdown before the kubelet may kill the pod', () => {
      const spec = deploymentSpec(defaults).template.spec;
      const vars = env(defaults);
      const preStop = container(defaults).lifecycle.preStop.sleep.seconds;
      const shutdownSeconds = Number(vars.get('SHUTDOWN_TIMEOUT_MS')?.value) / 1000;
      expect(Number(vars.get('DRAIN_WINDOW_MS')?.value)).toBeLessThan(shutdownSeconds * 1000);
      expect(preStop).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdownSeconds);
      expect(deploymentSpec(everything).template.spec.terminationGracePeriodSeconds).toBe(60);
    });

    it('runs non-root, read-only, without privilege escalation or capabilities, with a writable /tmp', () => {
      const spec = deploymentSpec(defaults).template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      expect(container(defaults).securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(container(defaults).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(spec.volumes.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
      expect(container(defaults).resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container(defaults).resources.limits.memory).toBeDefined();
    });

    it('spreads pods across nodes and zones, and rolls without losing capacity', () => {
      const spec = deploymentSpec(defaults);
      expect(spec.template.spec.topologySpreadConstraints.map((t) => t.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const constraint of spec.template.spec.topologySpreadConstraints) expect(constraint.labelSelector.matchLabels).toEqual(spec.selector.matchLabels);
      expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect(spec.replicas).toBeUndefined();
      expect((findObject(everything, 'Deployment').spec as unknown as DeploymentSpec).replicas).toBeUndefined();
    });
  });

  describe('traffic entry', () => {
    it('exposes only the public port: the management port stays on the headless Service', () => {
      for (const objects of [routed, everything]) {
        const publicPorts = (findObject(objects, 'Service', 'orgcast').spec as { ports: ServicePort[] }).ports;
        expect(publicPorts).toEqual([expect.objectContaining({ name: 'http', port: 8081, targetPort: 'http' })]);
        const headless = findObject(objects, 'Service', 'orgcast-headless').spec as { clusterIP: string; ports: ServicePort[] };
        expect(headless.clusterIP).toBe('None');
        expect(headless.ports.map((p) => p.targetPort)).toEqual(['http', 'management']);
        const route = findObject(objects, 'HTTPRoute').spec as { rules: { backendRefs: { name: string; port: number }[] }[] };
        expect(route.rules.flatMap((r) => r.backendRefs)).toEqual([{ name: 'orgcast', port: 8081 }]);
      }
      const ingress = findObject(everything, 'Ingress').spec as { rules: { http: { paths: { path: string; backend: { service: { name: string; port: { name: string } } } }[] } }[] };
      for (const path of ingress.rules.flatMap((r) => r.http.paths)) {
        expect(path.backend.service).toEqual({ name: 'orgcast', port: { name: 'http' } });
        expect(path.path).toMatch(/^\/api\//);
      }
    });

    it('routes WebSockets and long polls without a request timeout, through an HTTPS listener', () => {
      const route = findObject(routed, 'HTTPRoute').spec as { parentRefs: { sectionName?: string }[]; rules: { matches: { path: { value: string } }[]; timeouts: { request: string } }[] };
      expect(route.parentRefs).toEqual([{ name: 'public-gateway', sectionName: 'https' }]);
      expect(route.rules[0]?.matches.map((m) => m.path.value)).toEqual(['/api/ws', '/api/poll']);
      const timeout = durationSeconds(route.rules[0]?.timeouts.request ?? '');
      expect(timeout === 0 || timeout >= 3600).toBe(true);

      const gateway = findObject(everything, 'Gateway').spec as { listeners: { name: string; protocol: string; tls?: { mode: string; certificateRefs: { name: string }[] } }[] };
      expect(gateway.listeners.find((l) => l.name === 'https')).toMatchObject({ protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: [{ name: 'orgcast-tls' }] } });
      const ownRoute = findObject(everything, 'HTTPRoute').spec as { parentRefs: unknown[]; rules: { sessionPersistence?: unknown }[] };
      expect(ownRoute.parentRefs).toEqual([{ name: 'orgcast' }]);
      expect(ownRoute.rules[0]?.sessionPersistence).toEqual({ type: 'Cookie', sessionName: 'orgcast-session', absoluteTimeout: '24h' });
      const ingress = findObject(everything, 'Ingress').spec as { tls: { secretName: string; hosts: string[] }[] };
      expect(ingress.tls).toEqual([{ hosts: ['realtime.example.com'], secretName: 'orgcast-tls' }]);
    });

    it('hashes consistently on the configured header, cookie or query parameter', () => {
      const hash = (objects: readonly K8sObject[]) => at(findObject(objects, 'BackendTrafficPolicy').spec, 'loadBalancer');
      const nginx = (objects: readonly K8sObject[]) => findObject(objects, 'Ingress').metadata.annotations?.['nginx.ingress.kubernetes.io/upstream-hash-by'];
      expect(hash(querySticky)).toEqual({ type: 'ConsistentHash', consistentHash: { type: 'QueryParams', queryParams: [{ name: 'affinity' }] } });
      expect(nginx(querySticky)).toBe('$arg_affinity');
      expect(hash(headerSticky)).toEqual({ type: 'ConsistentHash', consistentHash: { type: 'Headers', headers: [{ name: 'X-Orgcast-Key' }] } });
      expect(nginx(headerSticky)).toBe('$http_x_orgcast_key');
      expect(hash(everything)).toEqual({ type: 'ConsistentHash', consistentHash: { type: 'Cookie', cookie: { name: 'orgcast_affinity', ttl: '12h' } } });
      expect(nginx(everything)).toBe('$cookie_orgcast_affinity');
      expect(at(findObject(routed, 'BackendTrafficPolicy').spec, 'targetRefs')).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'orgcast' }]);
    });

    it('keeps tokens out of the NGINX Ingress access log (the WebSocket carries ?access_token=) unless asked', async () => {
      expect(findObject(querySticky, 'Ingress').metadata.annotations?.['nginx.ingress.kubernetes.io/enable-access-log']).toBe('false');
      const logged = findObject(await renderChart({ set: { 'ingress.enabled': 'true', 'ingress.accessLog': 'true' } }), 'Ingress');
      expect(logged.metadata.annotations?.['nginx.ingress.kubernetes.io/enable-access-log']).toBeUndefined();
    });

    it('keeps idle WebSockets open for at least an hour at every hop', () => {
      const backend = findObject(routed, 'BackendTrafficPolicy').spec;
      expect(durationSeconds(String(at(backend, 'timeout.http.connectionIdleTimeout')))).toBeGreaterThanOrEqual(3600);
      const client = findObject(everything, 'ClientTrafficPolicy').spec;
      expect(durationSeconds(String(at(client, 'timeout.http.idleTimeout')))).toBeGreaterThanOrEqual(3600);
      expect(durationSeconds(String(at(client, 'timeout.http.streamIdleTimeout')))).toBeGreaterThanOrEqual(3600);
      expect(at(client, 'targetRefs')).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'orgcast' }]);
      const annotations = findObject(everything, 'Ingress').metadata.annotations ?? {};
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    });
  });

  describe('scaling and availability', () => {
    it('autoscales on CPU by default (no custom metrics API needed), optionally on connections per pod, scaling down slowly', async () => {
      const hpa = findObject(defaults, 'HorizontalPodAutoscaler');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      const cpu = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } };
      expect(at(hpa.spec, 'metrics')).toEqual([cpu]);
      const withConnections = findObject(await renderChart({ set: { 'autoscaling.connections.enabled': 'true' } }), 'HorizontalPodAutoscaler');
      expect(at(withConnections.spec, 'metrics')).toEqual([
        cpu,
        { type: 'Pods', pods: { metric: { name: 'orgcast_connections' }, target: { type: 'AverageValue', averageValue: '20000' } } },
      ]);
      expect(Number(at(hpa.spec, 'behavior.scaleDown.stabilizationWindowSeconds'))).toBeGreaterThanOrEqual(600);
      expect(at(hpa.spec, 'behavior.scaleDown.selectPolicy')).toBe('Min');
      expect(at(hpa.spec, 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'orgcast' });
    });

    it('offers KEDA with the same targets instead of the HPA', () => {
      const scaled = findObject(everything, 'ScaledObject').spec;
      expect(at(scaled, 'triggers')).toEqual([
        { type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } },
        { type: 'prometheus', metricType: 'AverageValue', metadata: { serverAddress: 'http://prometheus-operated.monitoring.svc:9090', query: 'sum(orgcast_connections{job="orgcast-headless",namespace="realtime"})', threshold: '20000' } },
      ]);
      expect(Number(at(scaled, 'advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds'))).toBeGreaterThanOrEqual(600);
    });

    it('limits voluntary disruptions to one pod at a time', () => {
      expect(findObject(defaults, 'PodDisruptionBudget').spec).toEqual({
        maxUnavailable: 1,
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: deploymentSpec(defaults).selector.matchLabels },
      });
    });
  });

  describe('identity and network', () => {
    it('grants only EndpointSlice reads and pod get/patch in its own namespace', () => {
      const role = findObject(defaults, 'Role');
      expect(role.rules).toEqual([
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
      ]);
      const binding = findObject(defaults, 'RoleBinding');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'orgcast', namespace: 'default' }]);
      expect(deploymentSpec(defaults).template.spec.serviceAccountName).toBe('orgcast');
    });

    it('admits the public port from the traffic entry and the management port from monitoring only', () => {
      const policy = findObject(everything, 'NetworkPolicy').spec as { ingress: { ports: { port: string }[]; from: unknown[] }[] };
      expect(policy.ingress).toEqual([
        { ports: [{ port: 'http', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } }] },
        { ports: [{ port: 'management', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      ]);
    });
  });

  describe('observability', () => {
    it('scrapes the management port through the headless Service only', () => {
      const monitor = findObject(everything, 'ServiceMonitor');
      const headless = findObject(everything, 'Service', 'orgcast-headless');
      const selector = at(monitor.spec, 'selector.matchLabels') as Record<string, string>;
      for (const [key, value] of Object.entries(selector)) expect(headless.metadata.labels?.[key]).toBe(value);
      expect(findObject(everything, 'Service', 'orgcast').metadata.labels?.['app.kubernetes.io/service-role']).toBeUndefined();
      expect(at(monitor.spec, 'endpoints')).toEqual([{ port: 'management', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }]);
      expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
    });

    it('ships the dashboard file unchanged in a ConfigMap the Grafana sidecar picks up', () => {
      const configMap = findObject(defaults, 'ConfigMap', 'orgcast-dashboard');
      expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
      expect(configMap.data?.['orgcast.json']).toBe(readFileSync(DASHBOARD_PATH, 'utf8').trimEnd());
      expect(findObject(everything, 'ConfigMap', 'orgcast-dashboard').metadata.annotations).toEqual({ grafana_folder: 'orgcast' });
    });

    it('has a well-formed dashboard: unique panel ids, a query per panel, no overlapping panels', () => {
      const dashboard = readDashboard();
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const panel of dashboard.panels) {
        if (panel.type !== 'row') expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
        for (let x = panel.gridPos.x; x < panel.gridPos.x + panel.gridPos.w; x += 1) {
          for (let y = panel.gridPos.y; y < panel.gridPos.y + panel.gridPos.h; y += 1) {
            expect(cells.has(`${x},${y}`), `${panel.title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
      expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'job', 'pod']);
      const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
      for (const topic of ['connections', 'connects', 'refusals', 'events in / out', 'deliveries per event', 'latency', 'event-loop lag', 'memory', 'reconnects', 'canary']) {
        expect(titles).toContain(topic);
      }
    });
  });
});
