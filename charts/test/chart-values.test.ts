import { describe, expect, it } from 'vitest';
import { ALL_FEATURES_VALUES, CHART_DIR, helm, lintChart, renderChartError } from './support/helm.js';

describe('helm lint --strict', () => {
  it('passes with the default values', async () => {
    const { stdout } = await lintChart();
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('passes with every optional feature on', async () => {
    const { stdout } = await lintChart({ valuesFiles: [ALL_FEATURES_VALUES] });
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('values.schema.json rejects bad values with a message naming them', () => {
  it.each([
    ['a misspelt gateway variable', { 'config.MAX_CONECTIONS': '5' }, /MAX_CONECTIONS/],
    ['a gateway variable the chart sets itself', { 'config.PORT': '9000' }, /'PORT' not allowed/],
    ['a credential in plain config', { 'config.JWT_SECRET': 'x' }, /'JWT_SECRET' not allowed/],
    ['an out-of-range gateway value', { 'config.JWT_CLOCK_TOLERANCE_SECONDS': '3600' }, /JWT_CLOCK_TOLERANCE_SECONDS/],
    ['a non-numeric gateway value', { 'config.MAX_CONNECTIONS': 'lots' }, /MAX_CONNECTIONS/],
    ['an unknown log level', { 'config.LOG_LEVEL': 'verbose' }, /LOG_LEVEL/],
    ['an unknown top-level key', { replicas: '3' }, /'replicas' not allowed/],
    ['an unknown stickiness type', { 'stickiness.type': 'SourceIP' }, /stickiness\/type/],
    ['a bad duration', { 'envoyGateway.backendTrafficPolicy.connectionIdleTimeout': '1 hour' }, /connectionIdleTimeout/],
    ['an out-of-range port', { 'ports.http': '70000' }, /ports\/http/],
    ['an unknown Secret variable', { 'secret.keys.DATABASE_URL': 'db' }, /'DATABASE_URL' not allowed/],
  ])('%s', async (_label, set, message) => {
    expect(await renderChartError({ set })).toMatch(message);
  });
});

describe('cross-field checks fail the install with one message listing every problem', () => {
  it('names each inconsistent value', async () => {
    const stderr = await renderChartError({
      set: {
        'keda.enabled': 'true',
        'config.DRAIN_WINDOW_MS': '30000',
        'lifecycle.terminationGracePeriodSeconds': '20',
        'secret.name': '',
        'autoscaling.connections.enabled': 'true',
        'autoscaling.connections.targetAveragePerPod': '60000',
        'ports.management': '8081',
      },
    });
    expect(stderr).toContain('invalid values for the orgcast chart');
    expect(stderr).toContain('set autoscaling.enabled=false');
    expect(stderr).toContain('config.DRAIN_WINDOW_MS (30000) must leave at least 1000 ms of config.SHUTDOWN_TIMEOUT_MS (25000)');
    expect(stderr).toContain('lifecycle.terminationGracePeriodSeconds (20) must exceed lifecycle.preStopSleepSeconds + config.SHUTDOWN_TIMEOUT_MS/1000 = 30');
    expect(stderr).toContain('secret.name is empty but secret.keys maps AMQP_URL, JWT_SECRET, REDIS_URL');
    expect(stderr).toContain('autoscaling.connections.targetAveragePerPod (60000) must be below config.MAX_CONNECTIONS (50000)');
    expect(stderr).toContain('ports.http and ports.management must differ');
  });

  it('needs the service-account token for Kubernetes discovery', async () => {
    expect(await renderChartError({ set: { 'serviceAccount.automountServiceAccountToken': 'false' } })).toContain('keep serviceAccount.automountServiceAccountToken=true');
  });

  it('needs a Gateway for the HTTPRoute and a chart-owned Gateway for the ClientTrafficPolicy', async () => {
    expect(await renderChartError({ set: { 'gatewayApi.enabled': 'true' } })).toContain("gatewayApi.enabled=true needs gatewayApi.parentRefs, the Gateway the HTTPRoute attaches to (e.g. --set 'gatewayApi.parentRefs[0].name=public-gateway' --set 'gatewayApi.parentRefs[0].sectionName=https')");
    expect(await renderChartError({ set: { 'envoyGateway.clientTrafficPolicy.enabled': 'true' } })).toContain('needs gatewayApi.gateway.create=true');
  });
});

describe('NOTES.txt', () => {
  it('shows the port-forward commands for the gateway and its metrics', async () => {
    const { stdout } = await helm(['install', 'orgcast', CHART_DIR, '--dry-run=client', '--namespace', 'realtime']);
    const notes = stdout.slice(stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl -n realtime port-forward service/orgcast 8081:8081');
    expect(notes).toContain('kubectl -n realtime port-forward deployment/orgcast 9091:9091');
    // The defaults render no public entry, and say so and what to enable.
    expect(notes).toContain('No public entry is rendered (the default)');
    expect(notes).toContain('gatewayApi.enabled=true with gatewayApi.parentRefs naming your Gateway');
    expect(notes).toContain('add open connections per pod with autoscaling.connections.enabled=true');
    expect(notes).toContain('curl http://127.0.0.1:9091/metrics');
    expect(notes).toContain('ws://127.0.0.1:8081/api/ws');
  });
});
