import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, token } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';
import { startCluster, type Cluster } from './cluster.js';
import { childPids, isAlive } from './process-tree.js';

/** Connects through nginx with hash key `key`; returns the pod that answered. */
async function landsOn(cluster: Cluster, key: string): Promise<string> {
  const client = await TestClient.established(`${cluster.wsUrl}?key=${encodeURIComponent(key)}`, await token(`user-${key}`, ['acme']));
  const pod = (client.frames[0]!.data as { pod: string }).pod;
  await client.close();
  return pod;
}

describe('the local cluster harness (embedded pods behind nginx)', () => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  // About 7 s on an idle 2-core machine; the margin is for a machine busy with the rest of the suite.
  it('routes by hash key, routes around a killed pod, restarts it, and stops everything', { timeout: 60_000 }, async () => {
    cluster = await startCluster({
      pods: 2,
      hashKey: 'arg_key',
      env: { JWT_SECRET: TEST_SECRET, CONNECT_RATE_BURST: '1000', DRAIN_WINDOW_MS: '200', SHUTDOWN_TIMEOUT_MS: '5000' },
    });
    const names = cluster.pods.map((p) => p.name);
    expect(new Set(names).size).toBe(2);
    expect(cluster.pods[0]!.port).not.toBe(cluster.pods[1]!.port);

    // Through nginx, `connection.established` names the pod; the same key lands on the same pod.
    const first = await landsOn(cluster, 'k-1');
    expect(names).toContain(first);
    expect(await landsOn(cluster, 'k-1')).toBe(first);
    const other = names.find((n) => n !== first)!;

    // kill -9: the pod stays dead and its keys go to the other pod.
    const killed = cluster.pod(first);
    const killedPid = killed.process.pid;
    expect(await cluster.kill(first)).toBe('SIGKILL');
    expect(isAlive(killedPid)).toBe(false);
    expect(cluster.pod(first).alive).toBe(false);
    expect(await landsOn(cluster, 'k-1')).toBe(other);

    // restart: same name, new process on a new port, back in nginx's ring.
    const restarted = await cluster.restart(first);
    expect(restarted.name).toBe(first);
    expect(restarted.alive).toBe(true);
    expect(restarted.process.pid).not.toBe(killedPid);
    expect(restarted.port).not.toBe(killed.port);
    const landings = new Set<string>();
    for (let i = 0; i < 40 && landings.size < 2; i += 1) landings.add(await landsOn(cluster, `key-${i}`));
    expect(landings).toEqual(new Set(names));

    // stop: nginx (master and workers) and every pod exit; the temp directory is gone.
    const pids = [...cluster.pods.map((p) => p.process.pid), cluster.nginx.pid, ...childPids(cluster.nginx.pid)];
    expect(pids.length).toBeGreaterThanOrEqual(4);
    const dir = cluster.nginx.dir;
    await cluster.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dir)).toBe(false);
    cluster = undefined;
  });
});
