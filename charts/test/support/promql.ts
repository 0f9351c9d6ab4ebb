/** The PromQL the chart ships (HPA, KEDA, alerts, dashboard) and the metric names it reads. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from './helm.js';
import { CHART_DIR } from './helm.js';

export interface ChartQuery {
  /** Where the query lives, for failure messages. */
  readonly source: string;
  readonly expr: string;
}

/** Every `orgcast_*` series name in a PromQL expression (e.g. orgcast_delivery_latency_seconds_bucket). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\borgcast_[a-zA-Z0-9_]+/g) ?? [])];
}

export interface GrafanaTarget {
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat?: string;
}

export interface GrafanaPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly GrafanaTarget[];
  readonly gridPos: { h: number; w: number; x: number; y: number };
}

export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { list: readonly { name: string; type: string; definition?: string; query?: unknown }[] };
}

export const DASHBOARD_PATH = join(CHART_DIR, 'dashboards', 'orgcast.json');

export function readDashboard(path = DASHBOARD_PATH): GrafanaDashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as GrafanaDashboard;
}

export function dashboardQueries(dashboard: GrafanaDashboard): ChartQuery[] {
  const queries: ChartQuery[] = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) queries.push({ source: `dashboard panel "${panel.title}" ${target.refId}`, expr: target.expr });
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type === 'query' && variable.definition !== undefined) queries.push({ source: `dashboard variable ${variable.name}`, expr: variable.definition });
  }
  return queries;
}

interface HpaSpec { metrics?: { type: string; pods?: { metric: { name: string } } }[] }
interface ScaledObjectSpec { triggers?: { type: string; metadata: Record<string, string> }[] }
interface RuleSpec { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }

/** Queries and metric references of the rendered objects (dashboard ConfigMap included). */
export function chartQueries(objects: readonly K8sObject[]): ChartQuery[] {
  const queries: ChartQuery[] = [];
  for (const object of objects) {
    const label = `${object.kind}/${object.metadata.name}`;
    if (object.kind === 'HorizontalPodAutoscaler') {
      for (const metric of (object.spec as HpaSpec).metrics ?? []) {
        if (metric.pods !== undefined) queries.push({ source: `${label} Pods metric`, expr: metric.pods.metric.name });
      }
    } else if (object.kind === 'ScaledObject') {
      for (const trigger of (object.spec as ScaledObjectSpec).triggers ?? []) {
        const query = trigger.metadata.query;
        if (query !== undefined) queries.push({ source: `${label} ${trigger.type} trigger`, expr: query });
      }
    } else if (object.kind === 'PrometheusRule') {
      for (const group of (object.spec as unknown as RuleSpec).groups) {
        for (const rule of group.rules) queries.push({ source: `${label} ${rule.alert ?? rule.record ?? ''}`, expr: rule.expr });
      }
    } else if (object.kind === 'ConfigMap' && object.metadata.labels?.grafana_dashboard !== undefined) {
      for (const content of Object.values(object.data ?? {})) {
        for (const query of dashboardQueries(JSON.parse(content) as GrafanaDashboard)) queries.push({ source: `${label} ${query.source}`, expr: query.expr });
      }
    }
  }
  return queries;
}
