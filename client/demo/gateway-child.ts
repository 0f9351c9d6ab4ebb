import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayChild {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs the real gateway (`tsx gateway/src/main.ts`) in embedded mode with `env`, and resolves with
 * its port once it logs that it listens.
 */
export function spawnGatewayChild(env: Record<string, string>, onLog: (line: string) => void, timeoutMs = 30_000): Promise<GatewayChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: '0', MANAGEMENT_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let stderr = '';
    let buffered = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the gateway did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_192);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        onLog(line);
        const port = listeningPort(line);
        if (port !== undefined) {
          clearTimeout(timer);
          resolve({ port, child, stop });
        }
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited before listening: ${stderr}`));
    });
  });
}

function listeningPort(line: string): number | undefined {
  try {
    const entry = JSON.parse(line) as { port?: unknown; managementPort?: unknown };
    return typeof entry.port === 'number' && typeof entry.managementPort === 'number' ? entry.port : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
