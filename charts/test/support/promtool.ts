import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
  constructor(tool: string, debianPackage: string, options?: { cause?: unknown }) {
    super(`${tool} is not installed: these checks need the Debian package "${debianPackage}" (apt-get install -y --no-install-recommends ${debianPackage})`, options);
  }
}

/** Absolute path of a binary on PATH, or a MissingToolError naming the package that provides it. */
export async function requireBinary(tool: string, debianPackage: string): Promise<string> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
    const path = stdout.trim();
    if (path !== '') return path;
  } catch (error) {
    throw new MissingToolError(tool, debianPackage, { cause: error });
  }
  throw new MissingToolError(tool, debianPackage);
}

export interface ToolResult {
  readonly code: number;
  readonly output: string;
}

/** Runs promtool; resolves with its exit code and combined output (never rejects on exit code). */
export async function promtool(args: readonly string[], cwd: string): Promise<ToolResult> {
  const binary = await requireBinary('promtool', 'prometheus');
  try {
    const { stdout, stderr } = await run(binary, [...args], { cwd, timeout: 30_000 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as { code?: unknown; stdout?: unknown; stderr?: unknown };
    if (typeof failure.code !== 'number') throw error;
    return { code: failure.code, output: `${String(failure.stdout ?? '')}${String(failure.stderr ?? '')}` };
  }
}
