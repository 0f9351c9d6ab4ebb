import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { runGatewayExpectingFailure, spawnGateway, TSX_GATEWAY_COMMAND, type GatewayProcess } from './helpers/gateway-process.js';
import { TEST_SECRET, token } from './helpers/gateway.js';
import { freePort } from './harness/free-port.js';
import { TestClient, expectRefused } from './helpers/ws-client.js';

describe('the gateway process', () => {
  const processes: GatewayProcess[] = [];
  afterEach(() => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) p.kill('SIGKILL');
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const { code, stderr } = await runGatewayExpectingFailure({ PORT: 'abc', MAX_CONNECTIONS: '-1', JWT_CLOCK_TOLERANCE_SECONDS: '3600', JWT_SECRET: 'too-short' });
    expect(code).toBe(78);
    for (const name of ['PORT', 'MAX_CONNECTIONS', 'JWT_CLOCK_TOLERANCE_SECONDS', 'JWT_SECRET']) expect(stderr).toContain(name);
    expect(stderr).not.toContain('too-short');
  });

  it('names a weak JWT_PUBLIC_KEY with every other problem, exit 78, no stack trace', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { code, stderr } = await runGatewayExpectingFailure({ JWT_PUBLIC_KEY: weak, PORT: '1e3', HEARTBEAT_INTERVAL_MS: '70000' });
    expect(code).toBe(78);
    for (const name of ['JWT_PUBLIC_KEY', 'PORT', 'HEARTBEAT_INTERVAL_MS']) expect(stderr).toContain(`${name}:`);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start on a port already in use (no shared listen socket), naming the port, with a non-zero exit', async () => {
    // Fixed ports, as in production (a port the OS picked for the first is not shareable anyway).
    const first = await spawnGateway({ JWT_SECRET: TEST_SECRET, PORT: String(await freePort()), MANAGEMENT_PORT: String(await freePort()) });
    processes.push(first);
    for (const ports of [{ PORT: String(first.port), MANAGEMENT_PORT: '0' }, { PORT: '0', MANAGEMENT_PORT: String(first.managementPort) }]) {
      const { code, stderr } = await runGatewayExpectingFailure({ JWT_SECRET: TEST_SECRET, HOST: '127.0.0.1', ...ports });
      expect(code).not.toBe(0);
      const busy = ports.PORT === '0' ? first.managementPort : first.port;
      expect(stderr).toContain(`127.0.0.1:${busy} is already in use`);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    // The first one still holds both ports alone.
    expect((await fetch(`http://127.0.0.1:${first.managementPort}/healthz`)).status).toBe(200);
    expect(first.child.exitCode).toBeNull();
  });

  it('on SIGTERM: not ready at once, closes clients with 1012 over the drain window, exits 0 in time', async () => {
    const gw = await spawnGateway({ JWT_SECRET: TEST_SECRET, DRAIN_WINDOW_MS: '1500', SHUTDOWN_TIMEOUT_MS: '6000' });
    processes.push(gw);
    const url = `ws://127.0.0.1:${gw.port}/api/ws`;
    const clients = await Promise.all(Array.from({ length: 200 }, async (_, i) => TestClient.established(url, await token(`user-${i}`, ['acme']))));
    const closedAt: number[] = [];
    for (const c of clients) void c.closed.then(() => closedAt.push(Date.now()));
    await new Promise((r) => setTimeout(r, 200));
    expect(clients.filter((c) => c.closeCode !== undefined)).toEqual([]);
    const signalledAt = Date.now();
    gw.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`http://127.0.0.1:${gw.managementPort}/readyz`)).status).toBe(503);
    const code = await gw.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(6_000);
    expect(new Set(await Promise.all(clients.map((c) => c.closed)))).toEqual(new Set([1012]));
    // Spread out, not one herd: the closes span a good part of the drain window.
    const drained = closedAt.filter((t) => t >= signalledAt).sort((a, b) => a - b);
    expect(drained.length).toBe(clients.length);
    expect(drained[drained.length - 1]! - drained[0]!).toBeGreaterThan(500);
    expect(gw.logs.some((l) => l.msg === 'gateway stopped')).toBe(true);
  });

  it('holds no more connections than its open-files limit leaves room for, and says so at start', async () => {
    const limit = 320;
    const gw = await spawnGateway({ JWT_SECRET: TEST_SECRET, MAX_CONNECTIONS: '1000', CONNECT_RATE_BURST: '1000' }, {
      command: ['prlimit', `--nofile=${limit}:${limit}`, '--', process.execPath, '--import', 'tsx', 'gateway/src/main.ts'],
    });
    processes.push(gw);
    const allowed = limit - 256;
    expect(gw.logs.find((l) => l.effectiveMaxConnections !== undefined)).toMatchObject({ level: 'warn', maxConnections: 1000, openFilesLimit: limit, effectiveMaxConnections: allowed });
    const metrics = await (await fetch(`http://127.0.0.1:${gw.managementPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^orgcast_max_connections\\{[^}]*\\} ${allowed}$`, 'm'));
    const url = `ws://127.0.0.1:${gw.port}/api/ws`;
    const clients = await Promise.all(Array.from({ length: allowed }, async (_, i) => TestClient.established(url, await token(`fd-${i}`, ['acme']))));
    expect(await expectRefused(url, { token: await token('one-too-many', ['acme']) })).toMatchObject({ status: 503, body: { error: 'at_capacity' } });
    expect((await fetch(`http://127.0.0.1:${gw.managementPort}/healthz`)).status).toBe(200);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a second signal exits at once', async () => {
    const gw = await spawnGateway({ JWT_SECRET: TEST_SECRET, DRAIN_WINDOW_MS: '20000', SHUTDOWN_TIMEOUT_MS: '30000' });
    processes.push(gw);
    const url = `ws://127.0.0.1:${gw.port}/api/ws`;
    const clients = await Promise.all(Array.from({ length: 50 }, async (_, i) => TestClient.established(url, await token(`user-${i}`, ['acme']))));
    gw.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const before = Date.now();
    gw.kill('SIGTERM');
    expect(await gw.exited).toBe(130);
    expect(Date.now() - before).toBeLessThan(2_000);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('starts in embedded mode with no configuration and mints working dev tokens', async () => {
    const secretFile = `/tmp/orgcast-test-${process.pid}-${Date.now()}/secret`;
    const gw = await spawnGateway({ DEV_SECRET_FILE: secretFile });
    processes.push(gw);
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('embedded single-node mode'))).toBe(true);
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/tools/token-cli.ts', '--user', 'alice', '--org', 'acme'], {
      env: { PATH: process.env.PATH ?? '', DEV_SECRET_FILE: secretFile },
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    const client = await TestClient.established(`ws://127.0.0.1:${gw.port}/api/ws`, cli.stdout.trim());
    expect(client.frames[0]!.data).toMatchObject({ user_id: 'alice', organizations: ['acme'] });
    gw.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  });

  it('behind scripts/run-gateway.sh (the image\'s entry point), stderr holds none of the uWS upgrade warnings the bare process prints per connection', async () => {
    const warning = 'uWS.HttpResponse writes must be made from within a corked callback';
    const stderrAfterConnects = async (command: readonly [string, ...string[]]): Promise<{ stderr: string; stdout: Array<Record<string, unknown>> }> => {
      const gw = await spawnGateway({ JWT_SECRET: TEST_SECRET }, { command });
      processes.push(gw);
      const url = `ws://127.0.0.1:${gw.port}/api/ws`;
      const clients = await Promise.all(Array.from({ length: 5 }, async (_, i) => TestClient.established(url, await token(`w-${i}`, ['acme']))));
      await Promise.all(clients.map((c) => c.close()));
      gw.kill('SIGTERM');
      expect(await gw.exited).toBe(0); // the wrapper execs: the gateway gets the signal and its code is the exit code
      return { stderr: gw.stderr(), stdout: gw.logs };
    };
    // Without the filter the pinned build warns for each connection; if it stops, this filter can go.
    const bare = await stderrAfterConnects(TSX_GATEWAY_COMMAND);
    expect(bare.stderr.split(warning).length - 1).toBeGreaterThanOrEqual(5);
    const wrapped = await stderrAfterConnects(['scripts/run-gateway.sh', ...TSX_GATEWAY_COMMAND]);
    expect(wrapped.stderr).not.toContain(warning);
    expect(wrapped.stdout.filter((entry) => 'raw' in entry)).toEqual([]); // stdout: JSON lines only
    expect(wrapped.stdout.some((entry) => entry['msg'] === 'connection closed' || typeof entry['port'] === 'number')).toBe(true);
  }, 60_000);

  it('passes every other stderr line through the filter unchanged', () => {
    const run = spawnSync('scripts/run-gateway.sh', ['bash', '-c', 'echo "a real problem" >&2; echo "Warning: uWS.HttpResponse writes must be made from within a corked callback. See documentation for uWS.HttpResponse.cork and consult the user manual." >&2; echo "and another" >&2; exit 3'], { encoding: 'utf8' });
    expect(run.status).toBe(3);
    expect(run.stderr).toBe('a real problem\nand another\n');
  });
});
