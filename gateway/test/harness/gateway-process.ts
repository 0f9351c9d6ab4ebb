import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The repository root: the gateway runs from there (tsx, relative DEV_SECRET_FILE). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = 'gateway/src/main.ts';
const STDERR_KEPT_BYTES = 64 * 1024;

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly managementPort: number;
  /** The JSON log lines so far (the oldest dropped beyond `keepLogs`); `{ raw }` for other lines. */
  readonly logs: Array<Record<string, unknown>>;
  /** The last 64 KB of stderr. */
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnGatewayOptions {
  /** How long to wait for the listening log line. Default 20 s. */
  readonly timeoutMs?: number;
  /** How many log lines `logs` keeps. Default 10,000. */
  readonly keepLogs?: number;
  /** Called with every stdout line, parsed when it is JSON. */
  readonly onLog?: (entry: Record<string, unknown>) => void;
  /** Called with every stderr chunk. */
  readonly onStderr?: (text: string) => void;
  /** Run in its own process group, so a terminal's Ctrl-C reaches only the parent. Default false. */
  readonly detached?: boolean;
  /**
   * The command line, run in the repository root. Default: the TypeScript entry point through tsx
   * (TSX_GATEWAY_COMMAND); benchmarks may prefer the build, BUILT_GATEWAY_COMMAND after
   * `npm run build`, or add flags such as `--cpu-prof`.
   */
  readonly command?: readonly [string, ...string[]];
}

export const TSX_GATEWAY_COMMAND: readonly [string, ...string[]] = [process.execPath, '--import', 'tsx', MAIN];
export const BUILT_GATEWAY_COMMAND: readonly [string, ...string[]] = [process.execPath, 'dist/gateway/src/main.js'];

/**
 * Runs the real entry point (`gateway/src/main.ts` through tsx) with only PATH, HOME, the defaults
 * below and `env` in its environment, and waits for its listening log line (the one carrying
 * `port` and `managementPort`). A process that exits or does not listen in time is killed and the
 * promise rejects with its stderr.
 */
export async function spawnGateway(env: Record<string, string>, options: number | SpawnGatewayOptions = {}): Promise<GatewayProcess> {
  const { timeoutMs = 20_000, keepLogs = 10_000, onLog, onStderr, detached = false, command = TSX_GATEWAY_COMMAND } = typeof options === 'number' ? { timeoutMs: options } : options;
  const [executable, ...args] = command;
  const child = spawn(executable, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: '0', MANAGEMENT_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const listening = new Promise<{ port: number; managementPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        const entry = parseLine(line);
        logs.push(entry);
        if (logs.length > keepLogs) logs.splice(0, logs.length - keepLogs);
        onLog?.(entry);
        if (typeof entry.port === 'number' && typeof entry.managementPort === 'number') {
          clearTimeout(timer);
          resolve({ port: entry.port, managementPort: entry.managementPort });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-STDERR_KEPT_BYTES);
      onStderr?.(text);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening: ${stderr}`));
    });
  });
  let ports: { port: number; managementPort: number };
  try {
    ports = await listening;
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    throw error;
  }
  return {
    child,
    pid: child.pid!,
    ...ports,
    logs,
    stderr: () => stderr,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/** Runs the entry point expecting it to fail at start-up; returns exit code and stderr. */
export async function runGatewayExpectingFailure(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const [executable, ...args] = TSX_GATEWAY_COMMAND;
  const child = spawn(executable, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

function parseLine(line: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return { raw: line };
}
