import { readFile } from 'node:fs/promises';
import ts from 'typescript';

const cache = new Map<string, { source: string; code: string }>();

/**
 * TypeScript → browser ESM, one file at a time (the SDK and the demo are written with
 * `isolatedModules`, so no type information is needed). Cached per file content.
 */
export async function transpileFile(path: string): Promise<string> {
  const source = await readFile(path, 'utf8');
  const cached = cache.get(path);
  if (cached !== undefined && cached.source === source) return cached.code;
  const output = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true, inlineSources: true, verbatimModuleSyntax: true },
  });
  cache.set(path, { source: source, code: output.outputText });
  return output.outputText;
}
