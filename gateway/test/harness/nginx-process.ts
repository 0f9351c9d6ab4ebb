import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { renderNginxConfig, type NginxConfigOptions } from './nginx-config.js';
import { childPids, isAlive } from './process-tree.js';

const STDERR_KEPT_BYTES = 64 * 1024;

export type NginxSettings = Omit<NginxConfigOptions, 'dir' | 'port'>;

export interface StartNginxOptions extends NginxSettings {
  /** The prefix directory; must exist. */
  readonly dir: string;
  /** Default: a free port. */
  readonly port?: number;
  /** The nginx binary. Default `nginx` from PATH (Debian package `nginx`). */
  readonly binary?: string;
  readonly onStderr?: (text: string) => void;
  /** How long start-up and each reload may take. Default 10 s. */
  readonly timeoutMs?: number;
  /** Run in its own process group, so a terminal's Ctrl-C reaches only the parent. Default false. */
  readonly detached?: boolean;
}

export interface NginxProcess {
  readonly pid: number;
  readonly port: number;
  readonly dir: string;
  readonly exited: Promise<number | string>;
  /** The last 64 KB of nginx's error log (stderr). */
  stderr(): string;
  /** Writes and checks a new configuration, reloads it (SIGHUP) and waits for the new workers. */
  reload(settings: NginxSettings): Promise<void>;
  /** Fast shutdown (SIGTERM): open connections are cut; waits for master and workers to exit. */
  stop(): Promise<void>;
}

export class NginxError extends Error {
  override readonly name = 'NginxError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Runs nginx in the foreground as a child process with its configuration, pid file and temp
 * files in `dir`; resolves once it accepts connections. Its error log (stderr) reaches `stderr()`
 * and `onStderr` line by line without query strings (see withoutQueryStrings). A port it picked itself that turns out
 * taken is retried with another.
 */
export async function startNginx(options: StartNginxOptions): Promise<NginxProcess> {
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort());
    try {
      return await launch({ ...options, port });
    } catch (error) {
      const portTaken = error instanceof NginxError && /Address already in use/.test(error.message);
      if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function launch(options: StartNginxOptions & { port: number }): Promise<NginxProcess> {
  const { dir, port } = options;
  const binary = options.binary ?? 'nginx';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const args = ['-p', `${dir}/`, '-c', 'nginx.conf', '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`];
  /** Writes the configuration where nginx reads it, after `nginx -t` accepted it. */
  const configure = (settings: NginxSettings): void => {
    mkdirSync(join(dir, 'temp'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'nginx.conf.next'), renderNginxConfig({ maxOpenFiles: hardOpenFilesLimit(), ...settings, dir, port }));
    const testArgs = args.map((arg) => (arg === 'nginx.conf' ? 'nginx.conf.next' : arg));
    const check = spawnSync(binary, [...testArgs, '-t', '-q'], { encoding: 'utf8' });
    if (check.error !== undefined) throw new NginxError(`cannot run ${binary} (install the Debian package "nginx"): ${check.error.message}`, { cause: check.error });
    if (check.status !== 0) throw new NginxError(`nginx rejected the configuration: ${check.stderr}`);
    renameSync(join(dir, 'nginx.conf.next'), join(dir, 'nginx.conf'));
  };
  configure(options);

  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: options.detached ?? false });
  let stderr = '';
  let total = 0;
  const lines: Array<() => void> = [];
  let partialLine = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    // Whole lines only, so that a query string split across two chunks is still recognised.
    partialLine += chunk.toString();
    const end = partialLine.lastIndexOf('\n');
    if (end < 0 && partialLine.length < STDERR_KEPT_BYTES) return;
    const text = withoutQueryStrings(end < 0 ? partialLine : partialLine.slice(0, end + 1));
    partialLine = end < 0 ? '' : partialLine.slice(end + 1);
    stderr = (stderr + text).slice(-STDERR_KEPT_BYTES);
    total += text.length;
    options.onStderr?.(text);
    for (const listener of [...lines]) listener();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new NginxError(`cannot run ${binary} (install the Debian package "nginx"): ${error.message}`, { cause: error })));
  });
  spawnError.catch(() => undefined);

  /** Resolves when nginx's log, after `from`, shows new workers; rejects on [emerg] or exit. */
  const workersStarted = (from: number, what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const since = (): string => stderr.slice(Math.max(0, stderr.length - (total - from)));
      const done = (error?: Error): void => {
        clearTimeout(timer);
        lines.splice(lines.indexOf(check), 1);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        const log = since();
        if (/\[emerg\]/.test(log)) done(new NginxError(`nginx ${what} failed: ${log}`));
        else if (/start worker process/.test(log)) done();
      };
      const timer = setTimeout(() => done(new NginxError(`nginx ${what} did not finish within ${timeoutMs} ms: ${since()}`)), timeoutMs);
      lines.push(check);
      check();
      void exited.then((code) => done(new NginxError(`nginx exited with ${code} during ${what}: ${since()}`)));
    });

  try {
    await Promise.race([workersStarted(0, 'start-up'), spawnError]);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  const pid = child.pid!;

  let stopping: Promise<void> | undefined;
  return {
    pid,
    port,
    dir,
    exited,
    stderr: () => stderr,
    async reload(settings) {
      if (child.exitCode !== null || child.signalCode !== null) throw new NginxError('nginx is not running');
      configure(settings);
      const from = total;
      const started = workersStarted(from, 'reload');
      child.kill('SIGHUP');
      await started;
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const workers = childPids(pid);
        child.kill('SIGTERM');
        const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
        if ((await Promise.race([exited, deadline])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
        for (const worker of workers) if (isAlive(worker)) process.kill(worker, 'SIGKILL');
      })();
      return stopping;
    },
  };
}

/**
 * nginx's error lines quote the request line and the upstream URL, query string included, and the
 * WebSocket's query string carries the token (`access_token`): every query string becomes `?…`.
 * nginx cannot leave it out itself (the error log has no format), so the harness does.
 */
export function withoutQueryStrings(text: string): string {
  return text.replace(/(\/[^\s"?]*)\?[^\s"]*/g, '$1?…');
}

/** This process's hard limit of open files (what nginx, started by it, may raise itself to); Linux only. */
export function hardOpenFilesLimit(): number | undefined {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  return hard === undefined || hard === 'unlimited' ? undefined : Number(hard);
}
