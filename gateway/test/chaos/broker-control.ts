import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The local RabbitMQ node through rabbitmqctl (management-free): what the fault injector does to it. */

export async function rabbitmqctl(args: readonly string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await run('rabbitmqctl', ['--quiet', ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`rabbitmqctl ${args[0] ?? ''} failed${typeof stderr === 'string' && stderr.trim() !== '' ? `: ${stderr.trim()}` : ''}`, { cause: error });
  }
}

export interface BrokerConnection {
  /** What close_connection takes: `<rabbit@host.1.2.3>`. */
  readonly pid: string;
  /** `127.0.0.1:34826 -> 127.0.0.1:5672`. */
  readonly name: string;
  /** The client's `connection_name` property (the gateway's is `orgcast <POD_NAME>`). */
  readonly clientName: string | undefined;
}

/** The client connections of one vhost (two listings joined on the peer name: only the table has a closable pid). */
export async function vhostConnections(vhost: string): Promise<BrokerConnection[]> {
  const [table, json] = await Promise.all([
    rabbitmqctl(['list_connections', '--no-table-headers', 'pid', 'vhost', 'name']),
    rabbitmqctl(['list_connections', 'name', 'vhost', 'client_properties', '--formatter', 'json']),
  ]);
  const clientNames = new Map<string, string | undefined>();
  for (const row of JSON.parse(json === '' ? '[]' : json) as Array<{ name: string; vhost: string; client_properties: unknown[] }>) {
    if (row.vhost !== vhost) continue;
    const property = row.client_properties.find((p): p is [string, string, string] => Array.isArray(p) && p[0] === 'connection_name');
    clientNames.set(row.name, property?.[2]);
  }
  return table.split('\n').flatMap((line) => {
    const [pid, host, name] = line.split('\t');
    if (pid === undefined || name === undefined || host !== vhost) return [];
    return [{ pid, name, clientName: clientNames.get(name) }];
  });
}

export async function closeConnection(pid: string, reason: string): Promise<void> {
  await rabbitmqctl(['close_connection', pid, reason]);
}

/** A policy bounding the ready messages of the queues matching `pattern` (the broker applies the smaller of policy and queue argument). */
export async function setMaxLengthPolicy(vhost: string, name: string, pattern: string, maxLength: number): Promise<void> {
  await rabbitmqctl(['set_policy', '-p', vhost, '--apply-to', 'queues', '--priority', '100', name, pattern, JSON.stringify({ 'max-length': maxLength })]);
}

export async function clearPolicy(vhost: string, name: string): Promise<void> {
  await rabbitmqctl(['clear_policy', '-p', vhost, name]);
}

export async function stopBrokerApp(): Promise<void> {
  await rabbitmqctl(['stop_app'], 60_000);
}

/** Starts the broker app and waits until it serves again. */
export async function startBrokerApp(): Promise<void> {
  await rabbitmqctl(['start_app'], 120_000);
  await rabbitmqctl(['await_startup'], 120_000);
}

/** True while the node runs the broker app (false after stop_app). */
export async function brokerAppRunning(): Promise<boolean> {
  try {
    return (await rabbitmqctl(['eval', 'rabbit:is_running().'], 15_000)).trim() === 'true';
  } catch {
    return false;
  }
}

/** Messages in a queue, ready and unacknowledged; undefined when the queue or the broker cannot be read. */
export async function queueMessages(vhost: string, queue: string): Promise<number | undefined> {
  try {
    const out = await rabbitmqctl(['list_queues', '-p', vhost, '--no-table-headers', 'name', 'messages'], 15_000);
    for (const line of out.split('\n')) {
      const [name, messages] = line.split('\t');
      if (name === queue) return Number(messages);
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** A regular expression matching exactly `text`. */
export function exactPattern(text: string): string {
  return `^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}
