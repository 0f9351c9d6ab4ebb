import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ListeningInfo {
  readonly port: number;
  readonly metricsPort?: number;
}

export interface SpawnOptions {
  readonly name: string;
  readonly script: { readonly path: string; readonly execArgv: readonly string[] };
  readonly env: Readonly<Record<string, string>>;
  /** Recognises the line that announces the bound ports. */
  readonly parseListening: (line: string) => ListeningInfo | undefined;
  readonly ipc?: boolean;
  readonly startTimeoutMs?: number;
  /** Extra node options (e.g. --cpu-prof). */
  readonly nodeOptions?: readonly string[];
}

export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const TAIL_LINES = 30;

/**
 * A server process started for a run: node with the script, output read line by line (kept
 * flowing so the child never blocks on a full pipe; the last lines are kept for error messages),
 * ports taken from its own announcement, so port 0 can be used without races.
 */
export class SpawnedServer {
  readonly tail: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(readonly name: string, readonly child: ChildProcess, readonly listening: ListeningInfo) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  static start(options: SpawnOptions): Promise<SpawnedServer> {
    const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...options.script.execArgv, options.script.path], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc === true ? (['ipc'] as const) : [])],
    });
    const tail: string[] = [];
    const keep = (line: string): void => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    };
    return new Promise((resolve, reject) => {
      let server: SpawnedServer | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new ServerStartError(`${options.name} did not announce its port within ${options.startTimeoutMs ?? 30_000} ms:\n${tail.join('\n')}`));
      }, options.startTimeoutMs ?? 30_000);
      createInterface({ input: child.stderr! }).on('line', keep);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line);
        if (server !== undefined) return;
        const info = options.parseListening(line);
        if (info === undefined) return;
        clearTimeout(timer);
        server = new SpawnedServer(options.name, child, info);
        server.tail.push(...tail);
        resolve(server);
      });
      child.once('exit', (code, signal) => {
        if (server !== undefined) {
          server.exitCode = code ?? (signal === null ? null : -1);
          return;
        }
        clearTimeout(timer);
        reject(new ServerStartError(`${options.name} exited (${code ?? signal}) before listening:\n${tail.join('\n')}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitCode === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** `{"listening":true,"port":…}` lines printed by the baselines. */
export function parseBaselineListening(line: string): ListeningInfo | undefined {
  if (!line.startsWith('{"listening":true')) return undefined;
  const parsed = JSON.parse(line) as { port: number; metricsPort?: number };
  return { port: parsed.port, ...(parsed.metricsPort !== undefined && { metricsPort: parsed.metricsPort }) };
}

/** The gateway's pino line "gateway listening…" with `port` and `managementPort`. */
export function parseGatewayListening(line: string): ListeningInfo | undefined {
  if (!line.includes('"gateway listening')) return undefined;
  const parsed = JSON.parse(line) as { port?: number; managementPort?: number };
  if (typeof parsed.port !== 'number') return undefined;
  return { port: parsed.port, ...(typeof parsed.managementPort === 'number' && { metricsPort: parsed.managementPort }) };
}

/** Starts `count` servers in parallel; if any fails, kills the ones that started and rethrows. */
export async function startAll(count: number, start: (index: number) => Promise<SpawnedServer>): Promise<SpawnedServer[]> {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => start(i)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const started = results.filter((r): r is PromiseFulfilledResult<SpawnedServer> => r.status === 'fulfilled').map((r) => r.value);
  if (failed === undefined) return started;
  await Promise.all(started.map((s) => s.kill()));
  throw failed.reason;
}

/** Node options that write a CPU profile into `dir` at exit, or none. */
export function profileOptions(dir: string | undefined): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}
