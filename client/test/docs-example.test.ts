import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../gateway/src/tools/dev-token.js';
import { spawnGatewayChild, type GatewayChild } from '../demo/gateway-child.js';

/**
 * The examples of docs/client.md, taken from the page (the blocks marked `<!-- docs-test: NAME -->`)
 * and used as they are, from outside the SDK's own folder: through the name `@orgcast/client`.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'node_modules', '.bin');
const run = promisify(execFile);

function docsBlock(name: string): string {
  const page = readFileSync(join(REPO_ROOT, 'docs', 'client.md'), 'utf8');
  const match = new RegExp(String.raw`<!-- docs-test: ${name} -->\n\x60\x60\x60ts\n([\s\S]*?)\x60\x60\x60`).exec(page);
  if (match?.[1] === undefined) throw new Error(`docs/client.md has no ts block marked docs-test: ${name}`);
  return match[1];
}

describe('docs/client.md examples', () => {
  const secret = randomBytes(32).toString('hex');
  let gateway: GatewayChild | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orgcast-docs-example-'));
    // An application folder outside the repository that sees the repository's node_modules
    // (where the workspace links @orgcast/client to client/).
    await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'docs-example', private: true, type: 'module' }));
    // The package's entry point is client/dist: build it from the current sources.
    const [, started] = await Promise.all([
      run('npm', ['run', '-s', 'build', '--prefix', 'client'], { cwd: REPO_ROOT }),
      spawnGatewayChild({ JWT_SECRET: secret }, () => undefined),
    ]);
    gateway = started;
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the Node program as written: it connects and prints a published event', { timeout: 30_000 }, async () => {
    await writeFile(join(dir, 'follow.ts'), docsBlock('node'));
    const url = `http://127.0.0.1:${gateway!.port}`;
    const token = await mintDevToken({ secret, userId: 'alice', organizations: ['acme'], ttlSeconds: 300 });
    const child = spawn(join(BIN, 'tsx'), ['follow.ts'], { cwd: dir, env: { PATH: process.env.PATH ?? '', ORGCAST_URL: url, TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => output, { timeout: 15_000 }).toContain('status connected');
      const publisher = await mintDevToken({ secret, userId: 'docs', organizations: [], ttlSeconds: 60, scopes: ['events:publish'] });
      const response = await fetch(`${url}/api/dev/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: 'task.event.created', organization_id: 'acme', data: { id: 't-1', title: 'Write the docs' } }),
      });
      expect(response.status).toBe(202);
      await expect.poll(() => output, { timeout: 10_000 }).toContain('created acme {"id":"t-1","title":"Write the docs"}');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('status closed');
  });

  it('type-checks the first example against the built package (the page supplies only board and badge)', { timeout: 60_000 }, async () => {
    const app = join(dir, 'browser');
    await mkdir(app);
    await symlink(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'));
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'docs-browser-example', private: true, type: 'module' }));
    const page = 'declare const board: { add(org: string, task: unknown): void; update(org: string, task: unknown): void; refetch(org: string): void };\n'
      + 'declare const badge: { show(status: string): void };\n';
    await writeFile(join(app, 'example.ts'), `${page}${docsBlock('browser')}`);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true },
      files: ['example.ts'],
    }));
    const checked = await run(join(BIN, 'tsc'), ['-p', app]).then(() => ({ code: 0, stdout: '' }), (error: { code: number; stdout: string }) => error);
    expect(checked.stdout).toBe('');
    expect(checked.code).toBe(0);
  });

  it('packs into a tarball that an application outside the repository installs and imports', { timeout: 90_000 }, async () => {
    const { stdout } = await run('npm', ['pack', '--workspace', 'client', '--pack-destination', dir, '--json'], { cwd: REPO_ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    expect(packed!.files.map((f) => f.path).every((path) => path === 'package.json' || path.startsWith('dist/') || /^(README|LICENSE)/i.test(path))).toBe(true);
    expect(packed!.files.map((f) => f.path)).toContain('dist/index.js');
    const app = join(dir, 'outside-app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'outside-app', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], { cwd: app });
    const { stdout: imported } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('@orgcast/client'); console.log(typeof m.createClient, typeof m.encodeResume)"], { cwd: app });
    expect(imported.trim()).toBe('function function');
  });
});
