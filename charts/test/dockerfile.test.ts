import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../gateway/src/config/schema.js';
import { REPO_ROOT } from '../../scripts/kube-tools.js';
import { dockerIgnore, execForm, parseCopy, parseDockerfile, type Dockerfile, type Stage } from './support/dockerfile.js';
import { helm, CHART_DIR } from './support/helm.js';

/** Node.js major version → N-API-independent module ABI (`process.versions.modules`). */
const NODE_ABI: Record<number, number> = { 18: 108, 20: 115, 21: 120, 22: 127, 23: 131, 24: 137 };

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

function filesUnder(directory: string): string[] {
  const absolute = join(REPO_ROOT, directory);
  if (!statSync(absolute).isDirectory()) return [directory];
  return readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(directory, entry))
    .filter((path) => statSync(join(REPO_ROOT, path)).isFile());
}

function lastStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (stage === undefined) throw new Error('Dockerfile has no FROM');
  return stage;
}

describe('Dockerfile (static checks)', () => {
  let dockerfile: Dockerfile;
  let ignored: (path: string) => boolean;
  let packageJson: { engines: { node: string }; scripts: Record<string, string>; workspaces?: string[] };

  beforeAll(() => {
    dockerfile = parseDockerfile(read('Dockerfile'));
    ignored = dockerIgnore(read('.dockerignore'));
    packageJson = JSON.parse(read('package.json')) as typeof packageJson;
  });

  it('builds on a glibc Node image whose major version has a prebuilt uWebSockets.js addon and satisfies engines', () => {
    const images = new Set(dockerfile.stages.map((s) => s.image));
    expect(images.size).toBe(1);
    const image = [...images][0] ?? '';
    expect(image).toMatch(/^node:\d+(\.\d+)*-(bookworm|bullseye|trixie)(-slim)?(@sha256:[a-f0-9]{64})?$/);
    expect(image).not.toContain('alpine');
    const major = Number(/^node:(\d+)/.exec(image)?.[1]);
    const [, minimum = '0', , maximum = '999'] = /^>=\s*(\d+)[.\d]*\s*(<\s*(\d+))?/.exec(packageJson.engines.node) ?? [];
    expect(major).toBeGreaterThanOrEqual(Number(minimum));
    expect(major).toBeLessThan(Number(maximum));
    const abi = NODE_ABI[major];
    expect(abi, `unknown module ABI for Node ${major}`).toBeDefined();
    for (const arch of ['x64', 'arm64']) {
      expect(existsSync(join(REPO_ROOT, 'node_modules', 'uWebSockets.js', 'dist', 'bin', `uws_linux_${arch}_${String(abi)}.node`)), `uws_linux_${arch}_${String(abi)}.node`).toBe(true);
    }
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const copies = dockerfile.stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map(parseCopy).filter((c) => c.from === undefined);
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies.flatMap((c) => c.sources)) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      const files = filesUnder(source).filter((f) => !/\.(test|case)\.ts$/.test(f));
      expect(files.length, `${source} has files`).toBeGreaterThan(0);
      for (const file of files) expect(ignored(file), `${file} is excluded by .dockerignore`).toBe(false);
    }
    expect(ignored('node_modules/zod/package.json')).toBe(true);
    expect(ignored('.git/HEAD')).toBe(true);
    expect(ignored('gateway/src/config/config.test.ts')).toBe(true);
  });

  it('copies everything the compiled sources import and every workspace manifest npm ci needs', () => {
    const copied = dockerfile.stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY').map(parseCopy).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    const isCopied = (path: string) => copied.some((source) => path === source || path.startsWith(`${source}/`));
    const sources = filesUnder('gateway/src').filter((f) => f.endsWith('.ts') && !/\.(test|case)\.ts$/.test(f));
    for (const file of sources) {
      for (const [, specifier = ''] of read(file).matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), specifier.replace(/\.js$/, '.ts')));
        expect(isCopied(target), `${file} imports ${target}, which the Dockerfile does not copy`).toBe(true);
      }
    }
    for (const workspace of packageJson.workspaces ?? []) expect(isCopied(`${workspace}/package.json`), `workspace ${workspace}`).toBe(true);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'gateway/src']));
  });

  it('ships production dependencies only, and the compiled gateway', () => {
    const runtime = lastStage(dockerfile);
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map(parseCopy);
    const nodeModules = copies.find((c) => c.destination.replace(/^\.\//, '') === 'node_modules');
    expect(nodeModules?.from).toBeDefined();
    const depsStage = dockerfile.stages.find((s) => s.name === nodeModules?.from);
    const install = depsStage?.instructions.find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    expect(install?.args).toContain('--omit=dev');
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.args))).toEqual([]);
    const dist = copies.find((c) => c.sources.some((s) => s.includes('/dist/')));
    expect(dist?.sources).toEqual(['/app/dist/gateway/src']);
    const buildStage = dockerfile.stages.find((s) => s.name === dist?.from);
    expect(buildStage?.instructions.some((i) => i.keyword === 'RUN' && i.args === 'npm run build')).toBe(true);
    expect(packageJson.scripts.build).toBe('tsc -p tsconfig.build.json');
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { extends: string; include: string[] };
    expect(buildConfig.include).toContain('gateway/src');
    const baseConfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect([baseConfig.compilerOptions.outDir, baseConfig.compilerOptions.rootDir]).toEqual(['dist', '.']);
  });

  it('starts the documented command in exec form, as a numeric non-root user, stopping on SIGTERM', () => {
    const runtime = lastStage(dockerfile);
    const entrypoint = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT');
    expect(entrypoint).toHaveLength(1);
    const command = execForm(entrypoint[0] as (typeof entrypoint)[number]);
    expect(command).toEqual(['scripts/run-gateway.sh', 'node', 'dist/gateway/src/main.js']);
    // The wrapper execs its arguments (node stays PID 1) and is copied into the image.
    expect(read('scripts/run-gateway.sh')).toMatch(/^exec "\$@" 2> >\(/m);
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && i.args.includes('scripts/run-gateway.sh'))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'CMD')).toBe(false);

    // npm start = build, then the same node command; the README documents npm start.
    expect(packageJson.scripts.start?.split('&&').map((s) => s.trim()).at(-1)).toBe(command?.join(' '));
    const readme = read('README.md');
    expect(readme).toMatch(/npm (ci && npm )?start/);
    for (const [documented] of readme.matchAll(/node dist\/\S+/g)) expect(documented).toBe(command?.slice(1).join(' '));
    expect(existsSync(join(REPO_ROOT, 'gateway', 'src', 'main.ts')), 'gateway/src/main.ts (compiled to dist/gateway/src/main.js)').toBe(true);

    const users = runtime.instructions.filter((i) => i.keyword === 'USER');
    const user = users.at(-1)?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(runtime.instructions.findIndex((i) => i.keyword === 'USER')).toBeLessThan(runtime.instructions.findIndex((i) => i.keyword === 'ENTRYPOINT'));
    expect(runtime.instructions.find((i) => i.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM');
  });

  it('matches the chart: exposed ports, user, and a writable path only under /tmp', async () => {
    const runtime = lastStage(dockerfile);
    const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(' ')).map(Number);
    expect(exposed).toEqual([envSchema.shape.PORT.parse(undefined), envSchema.shape.MANAGEMENT_PORT.parse(undefined)]);
    const { stdout } = await helm(['template', 'orgcast', CHART_DIR, '--show-only', 'templates/deployment.yaml']);
    expect(stdout).toContain(`containerPort: ${String(exposed[0])}`);
    expect(stdout).toContain(`containerPort: ${String(exposed[1])}`);
    expect(stdout).toMatch(new RegExp(`runAsUser: ${(runtime.instructions.find((i) => i.keyword === 'USER')?.args ?? '').split(':')[0] ?? ''}\\b`));
    expect(stdout).toContain('readOnlyRootFilesystem: true');
    expect(stdout).toContain('mountPath: /tmp');
    const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    const secretFile = /DEV_SECRET_FILE=(\S+)/.exec(env)?.[1] ?? '';
    expect(secretFile).toMatch(/^\/tmp\//);
    expect(Object.keys(envSchema.shape)).toContain('DEV_SECRET_FILE');
  });

  it('carries the OCI labels', () => {
    const labels = lastStage(dockerfile).instructions.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'licenses', 'source', 'version', 'revision', 'created']) expect(labels).toContain(`org.opencontainers.image.${key}=`);
  });
});
