import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the tests' RabbitMQ listens, with credentials, without a vhost. */
export const TEST_AMQP_BASE_URL = process.env['TEST_AMQP_BASE_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const TEST_AMQP_USER = process.env['TEST_AMQP_USER'] ?? 'guest';

export interface TestVhost {
  readonly vhost: string;
  /** AMQP URL of the vhost, e.g. `amqp://guest:guest@127.0.0.1:5672/orgcast-test-3f9a1c0e`. */
  readonly url: string;
  /** Forcibly closes every client connection of this vhost (as a broker restart would). */
  closeAllConnections(): Promise<void>;
  /** Deletes the vhost and everything in it. Idempotent. */
  cleanup(): Promise<void>;
}

/** A random name with a readable prefix, for exchanges and queues. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The AMQP URL of a vhost on the test broker (which need not exist yet). */
export function vhostUrl(vhost: string): string {
  return `${TEST_AMQP_BASE_URL}/${encodeURIComponent(vhost)}`;
}

/**
 * A private vhost for one test file, so that it can kill its broker connections without touching
 * other tests. rabbitmqctl takes about a second per call: create one vhost per file, not per test.
 */
export async function createTestVhost(vhost: string = randomName('orgcast-test')): Promise<TestVhost> {
  await rabbitmqctl('add_vhost', vhost);
  try {
    await rabbitmqctl('set_permissions', '-p', vhost, TEST_AMQP_USER, '.*', '.*', '.*');
  } catch (error) {
    await deleteVhost(vhost);
    throw error;
  }
  let deleted = false;
  return {
    vhost,
    url: vhostUrl(vhost),
    closeAllConnections: () => closeAllConnections(vhost),
    async cleanup() {
      if (deleted) return;
      deleted = true;
      await deleteVhost(vhost);
    },
  };
}

export async function deleteVhost(vhost: string): Promise<void> {
  await rabbitmqctl('delete_vhost', vhost);
}

export async function closeAllConnections(vhost: string): Promise<void> {
  await rabbitmqctl('close_all_connections', '-p', vhost, 'test');
}

async function rabbitmqctl(...args: string[]): Promise<void> {
  try {
    await run('rabbitmqctl', ['--quiet', ...args], { timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`rabbitmqctl ${args[0] ?? ''} failed${typeof stderr === 'string' && stderr !== '' ? `: ${stderr.trim()}` : ''}`, { cause: error });
  }
}
